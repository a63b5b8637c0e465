/** The registry client: one connection pool, token cache and set of counters for many repositories. */
import pkg from "../../../package.json" with { type: "json" };
import type { OpOptions } from "../content/store.ts";
import type { ProgressSink } from "../progress.ts";
import type { CredentialProvider } from "./credentials.ts";
import { RemoteRepository, type RegistryRepository, type RepositoryName } from "./repository.ts";
import { DEFAULT_RETRY, Transport, type RetryOptions } from "./transport.ts";

/**
 * Blobs up to this size go up in one PUT (POST + PUT); larger ones in PATCH chunks of this size.
 * 8 MiB keeps memory bounded (one chunk is buffered so that it can be resent), sends typical Flux
 * artifacts in two requests, and is above the 5 MiB minimum chunk that S3-backed registries (ECR) demand.
 */
export const DEFAULT_CHUNK_SIZE = 8 << 20;
/** Tags asked for per page (`n`), ggcr's default. */
export const DEFAULT_TAG_PAGE_SIZE = 1000;
/** Default User-Agent. */
export const DEFAULT_USER_AGENT = `berth/${pkg.version}`;

/** Options of {@link createRegistryClient}; every field optional. */
export interface RegistryClientOptions {
  /** Plain HTTP allowed and TLS verification skipped (flux --insecure-registry). Default false. */
  insecure?: boolean;
  /** PEM CA bundle (contents) added to the system roots. Default: system roots only. */
  ca?: string;
  /** PEM client certificate (contents) for mTLS. Default none. */
  cert?: string;
  /** PEM client key (contents) for mTLS. Default none. */
  key?: string;
  /** Where credentials come from. Default: anonymous. */
  credentials?: CredentialProvider;
  /** Default DEFAULT_USER_AGENT ("berth/<version>"). */
  userAgent?: string;
  /** Retry policy for 408/429/5xx and connection failures. Default DEFAULT_RETRY (5 attempts, 250 ms doubling to 10 s, 120 s total). */
  retry?: RetryOptions;
  /** HTTPS_PROXY / HTTP_PROXY / NO_PROXY values, passed in by the caller (core never reads env; see proxyFromEnv). Default: no proxy. */
  proxy?: ProxySettings;
  /** Monolithic upload limit and PATCH chunk size in bytes. Default DEFAULT_CHUNK_SIZE (8 MiB). */
  chunkSize?: number;
  /** `n` of each tags/list page. Default DEFAULT_TAG_PAGE_SIZE (1000). */
  tagPageSize?: number;
  /** Upload progress (start/advance/done per blob, id = digest). Default: none. */
  onProgress?: ProgressSink;
}

/** Counters for tests and benchmarks. */
export interface RegistryClientStats {
  /** HTTP requests sent, retries and token requests included. */
  requests: number;
  /** Bearer tokens fetched from token servers. */
  tokens: number;
  /** Requests per `"<METHOD> <kind>"`, e.g. "HEAD blob", "PATCH upload", "GET token". */
  byKind: Record<string, number>;
}

/** A registry client. Repositories made from one client share its connections, tokens and stats. */
export interface RegistryClient {
  /** A repository of this client; `docker.io` is addressed as `index.docker.io`. */
  repository(name: RepositoryName): RegistryRepository;
  /**
   * Checks that a registry answers `/v2/` (choosing http or https) and, when credentials for it
   * exist, that they are accepted. Throws the mapped CoreError otherwise.
   */
  ping(registry: string, opts?: OpOptions): Promise<void>;
  /** Closes idle connections; the client must not be used afterwards. */
  close(): Promise<void>;
  stats(): RegistryClientStats;
}

/** Creates a registry client; see RegistryClientOptions for the defaults. */
export function createRegistryClient(opts: RegistryClientOptions = {}): RegistryClient {
  const transport = new Transport({
    insecure: opts.insecure ?? false,
    ...(opts.ca ? { ca: opts.ca } : {}),
    ...(opts.cert ? { cert: opts.cert } : {}),
    ...(opts.key ? { key: opts.key } : {}),
    ...(opts.credentials ? { credentials: opts.credentials } : {}),
    userAgent: opts.userAgent ?? DEFAULT_USER_AGENT,
    retry: { ...DEFAULT_RETRY, ...opts.retry },
    ...(opts.proxy ? { proxy: opts.proxy } : {}),
  });
  const repoOpts = {
    chunkSize: opts.chunkSize && opts.chunkSize > 0 ? opts.chunkSize : DEFAULT_CHUNK_SIZE,
    tagPageSize: opts.tagPageSize && opts.tagPageSize > 0 ? opts.tagPageSize : DEFAULT_TAG_PAGE_SIZE,
    ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
  };
  return {
    // `docker.io` has no registry API of its own; Docker and ggcr talk to index.docker.io.
    repository: (name) =>
      new RemoteRepository(name.registry === "docker.io" ? { ...name, registry: "index.docker.io" } : name, transport, repoOpts),
    async ping(registry, pingOpts = {}) {
      await transport.registry(registry, pingOpts.signal);
      const cred = await opts.credentials?.get(registry, "");
      if (!cred) return;
      const res = await transport.request({
        ctx: { op: "log in to", registry },
        method: "GET",
        path: "/v2/",
        scopes: [],
        kind: "ping",
        signal: pingOpts.signal,
        expect: [200],
      });
      await res.body.dump().catch(() => {});
    },
    close: () => transport.close(),
    stats: () => ({ requests: transport.counters.requests, tokens: transport.counters.tokens, byKind: { ...transport.counters.byKind } }),
  };
}

/** Proxy URLs of `RegistryClientOptions.proxy`. */
export interface ProxySettings {
  https?: string;
  http?: string;
  noProxy?: string;
}

/**
 * The proxy settings an environment gives, as Go's ProxyFromEnvironment reads them: upper case first,
 * then lower case. Every field is undefined when none is set.
 */
export function proxyFromEnv(env: Record<string, string | undefined>): ProxySettings {
  return { https: env.HTTPS_PROXY ?? env.https_proxy, http: env.HTTP_PROXY ?? env.http_proxy, noProxy: env.NO_PROXY ?? env.no_proxy };
}
