/**
 * Cloud registry credentials for `spec.provider` aws|azure|gcp (spec §4.5): each provider turns the
 * controller's ambient cloud identity into a registry user/password; a small cache keeps them until
 * 80% of their lifetime (at most an hour) has passed.
 */
import { awsExchange } from "./aws.ts";
import { azureExchange } from "./azure.ts";
import { gcpExchange } from "./gcp.ts";

/** A registry login obtained from a cloud provider. */
export interface CloudToken {
  username: string;
  password: string;
  /** When the provider says the password stops working, ms since the epoch. */
  expiresAt: number;
}

/**
 * Endpoint overrides; each wins over the matching environment variable and the well-known address.
 * For tests (local stand-ins) and for clouds with private endpoints.
 */
export interface CloudEndpoints {
  /** ECR API base URL. Env `AWS_ENDPOINT_URL_ECR` / `AWS_ENDPOINT_URL`; default `https://api.ecr.<region>.<domain>`. */
  ecr?: string;
  /** ECR Public API base URL. Default `https://api.ecr-public.us-east-1.amazonaws.com`. */
  ecrPublic?: string;
  /** STS base URL. Env `AWS_ENDPOINT_URL_STS`; default `https://sts.<region>.amazonaws.com`. */
  sts?: string;
  /** EC2 instance metadata base URL. Env `AWS_EC2_METADATA_SERVICE_ENDPOINT`; default `http://169.254.169.254`. */
  awsIMDS?: string;
  /** GCE metadata base URL. Env `GCE_METADATA_HOST` (host only); default `http://metadata.google.internal`. */
  gcpMetadata?: string;
  /** Azure IMDS base URL. Env `AZURE_POD_IDENTITY_AUTHORITY_HOST`; default `http://169.254.169.254`. */
  azureIMDS?: string;
  /** Entra authority. Env `AZURE_AUTHORITY_HOST`; default `https://login.microsoftonline.com`. */
  entra?: string;
  /** Full URL of the ACR token exchange. Default `https://<registry>/oauth2/exchange`. */
  acrExchange?: string;
}

/** What a provider exchange may use. */
export interface CloudContext {
  env: Record<string, string | undefined>;
  fetch: typeof fetch;
  readFile: (path: string) => Promise<string>;
  endpoints?: CloudEndpoints;
  signal?: AbortSignal;
  /** Clock in ms. Default Date.now. */
  now?: () => number;
}

/** A provider's credential exchange for one registry host (`host[:port]`). Throws Error with a message safe to show. */
export type CloudExchange = (registry: string, ctx: CloudContext) => Promise<CloudToken>;

/** Provider names with a credential exchange. */
export type CloudProviderName = "aws" | "azure" | "gcp";

/** The exchanges by `spec.provider`. */
export const CLOUD_EXCHANGES: Record<CloudProviderName, CloudExchange> = { aws: awsExchange, azure: azureExchange, gcp: gcpExchange };

/** Options of CloudTokenCache; every field optional. */
export interface CloudTokenCacheOptions {
  /** Entries kept (oldest dropped first). Default 100 (`--token-cache-max-size`). */
  maxSize?: number;
  /** Longest time a token is reused, ms. Default 1 h (`--token-cache-max-duration`). */
  maxAgeMs?: number;
  /** Clock in ms. Default Date.now. */
  now?: () => number;
}

/** Tokens by key, reused until 80% of their lifetime; concurrent misses share one exchange. */
export class CloudTokenCache {
  private readonly entries = new Map<string, { token: CloudToken; refreshAt: number }>();
  private readonly pending = new Map<string, Promise<CloudToken>>();
  private readonly maxSize: number;
  private readonly maxAgeMs: number;
  private readonly now: () => number;

  constructor(opts: CloudTokenCacheOptions = {}) {
    this.maxSize = opts.maxSize ?? 100;
    this.maxAgeMs = opts.maxAgeMs ?? 3_600_000;
    this.now = opts.now ?? Date.now;
  }

  /** The cached token for `key`, or a fresh one from `fetchToken`. Failures are not cached. */
  get(key: string, fetchToken: () => Promise<CloudToken>): Promise<CloudToken> {
    const hit = this.entries.get(key);
    if (hit && this.now() < hit.refreshAt) return Promise.resolve(hit.token);
    let p = this.pending.get(key);
    if (!p) {
      p = fetchToken()
        .then((token) => {
          const start = this.now();
          this.entries.delete(key);
          this.entries.set(key, { token, refreshAt: start + Math.min(0.8 * (token.expiresAt - start), this.maxAgeMs) });
          while (this.entries.size > this.maxSize) this.entries.delete(this.entries.keys().next().value!);
          return token;
        })
        .finally(() => this.pending.delete(key));
      this.pending.set(key, p);
    }
    return p;
  }
}

/** Host of `host[:port]`. */
export function hostOf(registry: string): string {
  return registry.startsWith("[") ? registry.slice(1, registry.indexOf("]")) : registry.split(":")[0]!;
}

/**
 * One HTTP call of an exchange, bounded by `timeoutMs` (metadata addresses hang off-cloud). Non-2xx
 * throws with `what`, the status and the start of the body (provider error bodies hold no secrets).
 */
export async function cloudCall(ctx: CloudContext, what: string, url: string, init: RequestInit, timeoutMs = 10_000): Promise<Response> {
  const signal = ctx.signal ? AbortSignal.any([ctx.signal, AbortSignal.timeout(timeoutMs)]) : AbortSignal.timeout(timeoutMs);
  let res: Response;
  try {
    res = await ctx.fetch(url, { ...init, signal });
  } catch (e) {
    throw new Error(`${what}: cannot reach ${new URL(url).origin}: ${(e as Error).message}`);
  }
  if (!res.ok) {
    const text = (await res.text().catch(() => "")).slice(0, 300).replace(/\s+/g, " ").trim();
    throw new Error(`${what}: HTTP ${res.status}${text ? `: ${text}` : ""}`);
  }
  return res;
}

/** `exp` of a JWT in ms, or undefined when `token` is not a JWT with one. */
export function jwtExpiry(token: string): number | undefined {
  const part = token.split(".")[1];
  if (!part) return undefined;
  try {
    const exp = (JSON.parse(Buffer.from(part, "base64url").toString("utf8")) as { exp?: unknown }).exp;
    return typeof exp === "number" ? exp * 1000 : undefined;
  } catch {
    return undefined;
  }
}

/** `base` without trailing slashes. */
export const trimSlash = (base: string) => base.replace(/\/+$/, "");
