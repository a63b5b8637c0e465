/**
 * A small Kubernetes REST client: just what the OCIRepository controller needs (get, list, watch,
 * merge patches). Built on npm undici loaded through core/registry/undici.ts: under Bun the bare
 * specifier is Bun's built-in copy, which ignores a custom CA (design §2.7), and every cluster has one.
 */
import { readFile } from "node:fs/promises";
import { homedir } from "node:os";
import { join } from "node:path";
import { parse as parseYaml } from "yaml";
import { CoreError, fail, type ErrorCode, HttpAgent as Agent, httpRequest as request, type HttpDispatcher as Dispatcher } from "../../core/index.ts";

/** Connection settings taken from a kubeconfig or the in-cluster service account. */
export interface KubeConnection {
  /** `https://host:port`, no trailing slash. */
  server: string;
  /** PEM CA bundle. Default: system roots. */
  ca?: string;
  /** PEM client certificate and key, for certificate users. */
  cert?: string;
  key?: string;
  /** Bearer token. */
  token?: string;
  /**
   * File the token came from (kubeconfig `tokenFile`, the service account's `token`). Projected
   * service-account tokens rotate (about hourly), so the client re-reads it; see KubeClient.
   */
  tokenFile?: string;
  /** Skip TLS verification (`insecure-skip-tls-verify`). Default false. */
  insecure?: boolean;
  /** The context's namespace, or the service account's. */
  namespace?: string;
}

const SA_DIR = "/var/run/secrets/kubernetes.io/serviceaccount";

type Obj = Record<string, any>;

async function fileOrData(data: unknown, file: unknown, base: string): Promise<string | undefined> {
  if (typeof data === "string" && data) return Buffer.from(data, "base64").toString("utf8");
  if (typeof file === "string" && file) return readFile(file.startsWith("/") ? file : join(base, file), "utf8");
  return undefined;
}

/**
 * Loads the connection: `path` (else `$KUBECONFIG`'s first entry, else `~/.kube/config`) when it exists,
 * else the in-cluster service account. Only token and client-certificate users are supported.
 */
export async function loadKubeConnection(opts: { path?: string; env?: Record<string, string | undefined>; context?: string } = {}): Promise<KubeConnection> {
  const env = opts.env ?? {};
  const path = opts.path ?? env.KUBECONFIG?.split(":")[0] ?? join(env.HOME ?? homedir(), ".kube", "config");
  let text: string | undefined;
  try {
    text = await readFile(path, "utf8");
  } catch (e) {
    if (opts.path) fail("USAGE", `cannot read kubeconfig ${path}: ${(e as Error).message}`, { hint: "pass an existing file with --kubeconfig" });
  }
  if (text === undefined) return inCluster(env);
  const cfg = (parseYaml(text) ?? {}) as Obj;
  const ctxName = opts.context ?? cfg["current-context"];
  const ctx = (cfg.contexts ?? []).find((c: Obj) => c.name === ctxName)?.context as Obj | undefined;
  if (!ctx) fail("USAGE", `kubeconfig ${path} has no context ${JSON.stringify(ctxName)}`, { hint: "set current-context in the kubeconfig" });
  const cluster = (cfg.clusters ?? []).find((c: Obj) => c.name === ctx.cluster)?.cluster as Obj | undefined;
  if (!cluster?.server) fail("USAGE", `kubeconfig ${path}: cluster ${JSON.stringify(ctx.cluster)} has no server`);
  const user = ((cfg.users ?? []).find((u: Obj) => u.name === ctx.user)?.user ?? {}) as Obj;
  const base = join(path, "..");
  const tokenFile = typeof user.token !== "string" && typeof user.tokenFile === "string" && user.tokenFile ? user.tokenFile : undefined;
  const token = typeof user.token === "string" ? user.token : tokenFile ? (await readFile(tokenFile, "utf8")).trim() : undefined;
  return {
    server: String(cluster.server).replace(/\/+$/, ""),
    ca: await fileOrData(cluster["certificate-authority-data"], cluster["certificate-authority"], base),
    cert: await fileOrData(user["client-certificate-data"], user["client-certificate"], base),
    key: await fileOrData(user["client-key-data"], user["client-key"], base),
    token,
    ...(tokenFile ? { tokenFile } : {}),
    insecure: cluster["insecure-skip-tls-verify"] === true,
    namespace: typeof ctx.namespace === "string" ? ctx.namespace : undefined,
  };
}

async function inCluster(env: Record<string, string | undefined>): Promise<KubeConnection> {
  const host = env.KUBERNETES_SERVICE_HOST;
  const port = env.KUBERNETES_SERVICE_PORT ?? "443";
  if (!host) fail("USAGE", "no kubeconfig found and not running in a cluster", { hint: "pass --kubeconfig or set KUBECONFIG" });
  const [token, ca, namespace] = await Promise.all(["token", "ca.crt", "namespace"].map((f) => readFile(join(SA_DIR, f), "utf8").catch(() => undefined)));
  return {
    server: `https://${host.includes(":") ? `[${host}]` : host}:${port}`,
    ca,
    token: token?.trim(),
    ...(token !== undefined ? { tokenFile: join(SA_DIR, "token") } : {}),
    namespace: namespace?.trim(),
  };
}

/** A `watch` event as the API server streams it, one JSON object per line. */
export interface WatchEvent<T = Obj> {
  type: "ADDED" | "MODIFIED" | "DELETED" | "BOOKMARK" | "ERROR";
  object: T;
}

/** Options of one request. */
export interface KubeRequestOptions {
  /** JSON-encoded. */
  body?: unknown;
  /** Default `application/json`; merge patches use `application/merge-patch+json`. */
  contentType?: string;
  signal?: AbortSignal;
}

function codeForStatus(status: number): ErrorCode {
  if (status === 401 || status === 403) return "AUTH_FAILED";
  if (status === 404) return "NOT_FOUND";
  if (status === 400 || status === 422) return "USAGE";
  if (status === 408 || status === 429 || status >= 500) return "REGISTRY_UNAVAILABLE";
  return "INTERNAL";
}

/** The HTTP status behind a client error, if any (410 means "relist", 409 "conflict"). */
export function kubeStatusOf(e: unknown): number | undefined {
  return e instanceof CoreError ? e.details.status : undefined;
}

/** Options of KubeClient. */
export interface KubeClientOptions {
  /** Age after which `conn.tokenFile` is read again before a request. Default 60 s (client-go re-reads about every minute). */
  tokenMaxAgeMs?: number;
}

/**
 * A Kubernetes API client bound to one connection. Call `close()` when done. With `conn.tokenFile`
 * the bearer token is re-read when older than `tokenMaxAgeMs` and after a 401 (the request is then
 * sent once more if the file held a different token), so rotated service-account tokens are picked up.
 */
export class KubeClient {
  readonly conn: KubeConnection;
  private readonly agent: Dispatcher;
  private token: string | undefined;
  private tokenReadAt: number;
  private readonly tokenMaxAgeMs: number;

  constructor(conn: KubeConnection, opts: KubeClientOptions = {}) {
    this.conn = conn;
    this.token = conn.token;
    this.tokenReadAt = Date.now();
    this.tokenMaxAgeMs = opts.tokenMaxAgeMs ?? 60_000;
    this.agent = new Agent({
      connect: { ca: conn.ca, cert: conn.cert, key: conn.key, rejectUnauthorized: !conn.insecure },
      // Watches stay open for minutes with no bytes; the server ends them (timeoutSeconds).
      bodyTimeout: 0,
      headersTimeout: 30_000,
    });
  }

  /**
   * The bearer token, re-read from `conn.tokenFile` when older than the maximum age or when `force`d.
   * A failed read keeps the token in hand: the kubelet replaces the file atomically, so a failure is
   * an odd moment, and the API server's answer to the old token says more than the read error would.
   */
  private async currentToken(force = false): Promise<string | undefined> {
    const file = this.conn.tokenFile;
    if (!file || (!force && Date.now() - this.tokenReadAt < this.tokenMaxAgeMs)) return this.token;
    try {
      const t = (await readFile(file, "utf8")).trim();
      if (t) this.token = t;
    } catch {
      // keep the previous token (see above)
    }
    this.tokenReadAt = Date.now();
    return this.token;
  }

  private async send(method: string, path: string, opts: KubeRequestOptions = {}): Promise<Dispatcher.ResponseData> {
    let body: string | undefined;
    if (opts.body !== undefined) body = JSON.stringify(opts.body);
    let token = await this.currentToken();
    for (let retried = false; ; retried = true) {
      const headers: Record<string, string> = { accept: "application/json" };
      if (token) headers.authorization = `Bearer ${token}`;
      if (body !== undefined) headers["content-type"] = opts.contentType ?? "application/json";
      let res: Dispatcher.ResponseData;
      try {
        res = await request(`${this.conn.server}${path}`, { method: method as Dispatcher.HttpMethod, headers, body, dispatcher: this.agent, signal: opts.signal });
      } catch (e) {
        if (opts.signal?.aborted) throw new CoreError({ code: "CANCELLED", message: `${method} ${path}: cancelled`, cause: e });
        throw new CoreError({ code: "REGISTRY_UNAVAILABLE", message: `${method} ${path}: cannot reach the API server ${this.conn.server}: ${(e as Error).message}`, cause: e });
      }
      if (res.statusCode === 401 && !retried && this.conn.tokenFile) {
        const fresh = await this.currentToken(true);
        // Same token again: the 401 is the answer, reported below.
        if (fresh !== token) {
          await res.body.dump().catch(() => {});
          token = fresh;
          continue;
        }
      }
      return this.checked(method, path, res);
    }
  }

  private async checked(method: string, path: string, res: Dispatcher.ResponseData): Promise<Dispatcher.ResponseData> {
    if (res.statusCode >= 300) {
      const text = await res.body.text().catch(() => "");
      let message = text.slice(0, 500);
      try {
        message = (JSON.parse(text) as { message?: string }).message ?? message;
      } catch {
        // not a Status object
      }
      throw new CoreError({ code: codeForStatus(res.statusCode), message: `${method} ${path}: HTTP ${res.statusCode}: ${message}`, details: { status: res.statusCode } });
    }
    return res;
  }

  /** A JSON request; resolves to the parsed body. */
  async json<T = Obj>(method: string, path: string, opts: KubeRequestOptions = {}): Promise<T> {
    const res = await this.send(method, path, opts);
    return (await res.body.json()) as T;
  }

  /** GET `path`. */
  get<T = Obj>(path: string, signal?: AbortSignal): Promise<T> {
    return this.json<T>("GET", path, { signal });
  }

  /** POST `body` to a collection path (creates an object); resolves to the created object. */
  create<T = Obj>(collectionPath: string, body: unknown, signal?: AbortSignal): Promise<T> {
    return this.json<T>("POST", collectionPath, { body, signal });
  }

  /** JSON merge patch of `path` (append `/status` for the status subresource). */
  mergePatch<T = Obj>(path: string, patch: unknown, signal?: AbortSignal): Promise<T> {
    return this.json<T>("PATCH", path, { body: patch, contentType: "application/merge-patch+json", signal });
  }

  /**
   * Streams watch events of a collection from `resourceVersion`. Ends when the server closes the
   * stream; an ERROR event with a 410 Status throws a CoreError whose `details.status` is 410.
   */
  async *watch<T = Obj>(collectionPath: string, resourceVersion: string, signal?: AbortSignal, timeoutSeconds = 300): AsyncGenerator<WatchEvent<T>> {
    const sep = collectionPath.includes("?") ? "&" : "?";
    const q = `watch=1&allowWatchBookmarks=true&resourceVersion=${encodeURIComponent(resourceVersion)}&timeoutSeconds=${timeoutSeconds}`;
    const res = await this.send("GET", `${collectionPath}${sep}${q}`, { signal });
    const decoder = new TextDecoder();
    let buf = "";
    try {
      for await (const chunk of res.body as AsyncIterable<Uint8Array>) {
        buf += decoder.decode(chunk, { stream: true });
        let nl: number;
        while ((nl = buf.indexOf("\n")) >= 0) {
          const line = buf.slice(0, nl).trim();
          buf = buf.slice(nl + 1);
          if (!line) continue;
          const ev = JSON.parse(line) as WatchEvent<T>;
          if (ev.type === "ERROR") {
            const st = ev.object as Obj;
            const code = Number(st.code ?? 500);
            throw new CoreError({ code: code === 410 ? "NOT_FOUND" : codeForStatus(code), message: `watch ${collectionPath}: ${st.message ?? "error"}`, details: { status: code } });
          }
          yield ev;
        }
      }
    } catch (e) {
      if (signal?.aborted && !(e instanceof CoreError)) throw new CoreError({ code: "CANCELLED", message: `watch ${collectionPath}: cancelled`, cause: e });
      throw e;
    } finally {
      res.body.destroy();
    }
  }

  /** Closes the connection pool. */
  async close(): Promise<void> {
    await this.agent.close();
  }
}
