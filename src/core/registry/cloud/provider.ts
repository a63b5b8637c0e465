/**
 * A CredentialProvider backed by a cloud identity: the CLI's `--provider aws|azure|gcp`, as in
 * `flux push artifact --provider`, and the controller's `spec.provider`. Each registry host gets one
 * exchange, reused through the cache.
 */
import { CoreError, isCoreError } from "../../errors.ts";
import type { Credential, CredentialProvider } from "../credentials.ts";
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
  /** Cancels the exchanges; a cancelled exchange is rethrown as it is. Default: none. */
  signal?: AbortSignal;
  /** The hint of a failed exchange. Default: the CLI's (where a cloud identity comes from, or docker login). */
  hint?: string;
}

/** The registry login `provider` gives for `registry`, as a Basic credential. */
export type CloudCredential = Extract<Credential, { kind: "basic" }>;

/**
 * Credentials from `provider`'s ambient identity; a failed exchange is AUTH_FAILED
 * `failed to get credential from <provider>: <err>` (spec §2.3's wording).
 */
export function cloudCredentials(provider: CloudProviderName, opts: CloudCredentialsOptions): CredentialProvider & { get(registry: string): Promise<CloudCredential> } {
  const cache = opts.cache ?? new CloudTokenCache();
  const ctx: CloudContext = {
    env: opts.env,
    fetch: opts.fetch ?? fetch,
    readFile: opts.readFile ?? (async (p) => (await import("node:fs/promises")).readFile(p, "utf8")),
    ...(opts.endpoints ? { endpoints: opts.endpoints } : {}),
    ...(opts.signal ? { signal: opts.signal } : {}),
  };
  return {
    async get(registry) {
      try {
        const t = await cache.get(`${provider}\n${registry}`, () => CLOUD_EXCHANGES[provider](registry, ctx));
        return { kind: "basic", username: t.username, password: t.password };
      } catch (e) {
        if (isCoreError(e, "CANCELLED") || opts.signal?.aborted) throw e;
        throw new CoreError({
          code: "AUTH_FAILED",
          message: `failed to get credential from ${provider}: ${e instanceof Error ? e.message : String(e)}`,
          details: { hint: opts.hint ?? `run where a ${provider} identity is available (or its environment variables are set), or log in with docker login and omit --provider` },
          cause: e,
        });
      }
    },
  };
}
