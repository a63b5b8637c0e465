/**
 * The parts of npm undici that berth uses, loaded module by module instead of through
 * `undici/index.js`, whose entry point also evaluates fetch, WebSocket, caches, cookies, mocks and
 * the SQLite cache store: several MiB of resident memory a long-running controller never uses.
 *
 * Why npm undici at all and not the bare `undici`: under Bun the bare specifier resolves to Bun's
 * built-in copy, whose Agent ignores `connect.ca`/`cert`/`key` (design §2.7). These file paths load
 * the npm package, which runs on node:tls and honours them, on Bun, in compiled binaries, on Node
 * and on Deno.
 */
import Agent from "undici/lib/dispatcher/agent.js";
import ProxyAgent from "undici/lib/dispatcher/proxy-agent.js";
import Dispatcher from "undici/lib/dispatcher/dispatcher.js";
import api from "undici/lib/api/index.js";
import undiciGlobal from "undici/lib/global.js";

// undici's entry point mixes request/stream/pipeline/upgrade/connect into every dispatcher; ProxyAgent
// relies on `connect` for its CONNECT tunnel, so the same mix-in is done here.
Object.assign(Dispatcher.prototype, api);

export { Agent, ProxyAgent, Dispatcher };

/** Options of `request`: undici's request options with the dispatcher made mandatory. */
export type RequestOptions = Omit<Dispatcher.RequestOptions, "origin" | "path" | "method"> & {
  /** Default GET. */
  method?: Dispatcher.HttpMethod;
  /** The pool or proxy agent that sends the request. Default undici's global one. */
  dispatcher?: Dispatcher;
};

/** One HTTP request through `opts.dispatcher`, as undici's top-level `request(url, opts)`. */
export function request(url: string | URL, opts: RequestOptions): Promise<Dispatcher.ResponseData> {
  const u = typeof url === "string" ? new URL(url) : url;
  const { dispatcher = undiciGlobal.getGlobalDispatcher(), ...rest } = opts;
  return api.request.call(dispatcher, { ...rest, origin: u.origin, path: u.pathname + u.search, method: opts.method ?? "GET" });
}
