/**
 * A CredentialProvider backed by a cloud identity: the CLI's `--provider aws|azure|gcp`, as in
 * `flux push artifact --provider`. Each registry host gets one exchange, reused through the cache.
 */
import { CoreError } from "../../errors.ts";
import type { CredentialProvider } from "../credentials.ts";
import { CLOUD_EXCHANGES, CloudTokenCache, type CloudContext, type CloudProviderName } from "./index.ts";

/** Options of {@link cloudCredentials}. */
export interface CloudCredentialsOptions {
  /** Environment for the provider (credentials, token files, endpoint overrides). */
  env: Record<string, string | undefined>;
  /** HTTP client of the exchanges. Default global `fetch`. */
  fetch?: typeof fetch;
  /** Reads token files named by the environment. Default: node:fs. */
  readFile?: (path: string) => Promise<string>;
  /** Endpoint overrides (private clouds, tests). Default: from `env`, else the public ones. */
  endpoints?: CloudContext["endpoints"];
  /** Default: a cache of its own. */
  cache?: CloudTokenCache;
}

/** Credentials from `provider`'s ambient identity; a failed exchange is AUTH_FAILED naming the provider. */
export function cloudCredentials(provider: CloudProviderName, opts: CloudCredentialsOptions): CredentialProvider {
  const cache = opts.cache ?? new CloudTokenCache();
  const ctx: CloudContext = {
    env: opts.env,
    fetch: opts.fetch ?? fetch,
    readFile: opts.readFile ?? (async (p) => (await import("node:fs/promises")).readFile(p, "utf8")),
    endpoints: opts.endpoints,
  };
  return {
    async get(registry) {
      try {
        const t = await cache.get(`${provider}/${registry}`, () => CLOUD_EXCHANGES[provider](registry, ctx));
        return { kind: "basic", username: t.username, password: t.password };
      } catch (e) {
        throw new CoreError({
          code: "AUTH_FAILED",
          message: `failed to get credential from ${provider}: ${e instanceof Error ? e.message : String(e)}`,
          details: { hint: `run where a ${provider} identity is available (or its environment variables are set), or log in with docker login and omit --provider` },
          cause: e,
        });
      }
    },
  };
}
