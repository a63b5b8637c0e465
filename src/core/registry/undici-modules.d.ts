/**
 * Types for the npm undici modules that src/core/registry/undici.ts loads one by one. The package
 * ships types for its entry point only; these map each module to the matching declaration.
 */
declare module "undici/lib/dispatcher/agent.js" {
  import Agent from "undici/types/agent";
  export default Agent;
}

declare module "undici/lib/dispatcher/proxy-agent.js" {
  import ProxyAgent from "undici/types/proxy-agent";
  export default ProxyAgent;
}

declare module "undici/lib/dispatcher/dispatcher.js" {
  import Dispatcher from "undici/types/dispatcher";
  export default Dispatcher;
}

declare module "undici/lib/api/index.js" {
  import type Dispatcher from "undici/types/dispatcher";
  /** The methods undici's entry point mixes into Dispatcher.prototype; each runs with `this` = a dispatcher. */
  const api: {
    request: (this: Dispatcher, opts: Dispatcher.RequestOptions) => Promise<Dispatcher.ResponseData>;
    stream: Dispatcher["stream"];
    pipeline: Dispatcher["pipeline"];
    upgrade: Dispatcher["upgrade"];
    connect: Dispatcher["connect"];
  };
  export default api;
}

declare module "undici/lib/global.js" {
  import type Dispatcher from "undici/types/dispatcher";
  const global: {
    /** The process-wide default dispatcher (an Agent created on first use). */
    getGlobalDispatcher(): Dispatcher;
  };
  export default global;
}
