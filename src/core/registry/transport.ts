/**
 * The HTTP layer under every registry request: scheme detection by ping, authentication (Basic,
 * Bearer tokens cached per scope), retries with jittered backoff, manual redirects that drop
 * credentials across origins, body caps, and one error mapping.
 *
 * Sent with npm undici through ./undici.ts (not Bun's built-in copy, which ignores custom CAs).
 */
import { rootCertificates } from "node:tls";
import { Agent, ProxyAgent, request, type Dispatcher } from "./undici.ts";
import { CoreError, fail, isAbort } from "../errors.ts";
import { MAX_ERROR_BODY_BYTES } from "../oci/media-types.ts";
import { sleep } from "../timers.ts";
import {
  mergeScopes,
  parseTokenResponse,
  parseWwwAuthenticate,
  pickChallenge,
  TokenCache,
  type Challenge,
} from "./auth.ts";
import type { Credential, CredentialProvider } from "./credentials.ts";
import { cancelledError, classifyNetworkError, formatTarget, httpError, isRetryableNetworkError, networkError, type ErrorContext } from "./errors.ts";
import { bypassesProxy, isHttpCapable, isPrivateAddress, parseRetryAfter } from "./headers.ts";

/** Retry policy; every field optional, defaults in DEFAULT_RETRY. */
export interface RetryOptions {
  /** Attempts per request including the first. Default 5. */
  maxAttempts?: number;
  /** First backoff delay; doubles per attempt, jittered to 50–100 %. Default 250 ms. */
  baseDelayMs?: number;
  /** Cap of one backoff delay (a server's Retry-After may ask for longer). Default 10 s. */
  maxDelayMs?: number;
  /** No retry starts once this much time has passed since the first attempt. Default 120 s. */
  maxTotalMs?: number;
}

/** Default retry policy. */
export const DEFAULT_RETRY: Required<RetryOptions> = { maxAttempts: 5, baseDelayMs: 250, maxDelayMs: 10_000, maxTotalMs: 120_000 };

/** Statuses that may succeed when sent again (ggcr's list plus Cloudflare's 522/524). */
export const RETRY_STATUSES: ReadonlySet<number> = new Set([408, 429, 499, 500, 502, 503, 504, 522, 524]);

/** Everything the transport needs, resolved from RegistryClientOptions. */
export interface TransportOptions {
  insecure: boolean;
  ca?: string;
  cert?: string;
  key?: string;
  credentials?: CredentialProvider;
  userAgent: string;
  retry: Required<RetryOptions>;
  proxy?: { https?: string; http?: string; noProxy?: string };
  /** Test seam: the random source for jitter. */
  random?: () => number;
}

/** HTTP methods the registry client uses. */
export type Method = "GET" | "HEAD" | "PUT" | "POST" | "PATCH" | "DELETE";

/** One registry request. */
export interface RegistryRequest {
  /** For error messages: operation and name. `ctx.registry` is the registry addressed. */
  ctx: ErrorContext;
  method: Method;
  /** Path below the registry root (`/v2/…`), or a full URL (Location, Link). */
  path: string | URL;
  headers?: Record<string, string>;
  /** Request body; always replayable (the client never streams an unbounded body). */
  body?: Uint8Array;
  /** Token scopes this request needs; [] for none. */
  scopes: string[];
  /** Stats label, e.g. "manifest", "blob", "upload". */
  kind: string;
  signal?: AbortSignal;
  /** Follow 3xx responses (blob GET); credentials are dropped on cross-origin hops. Default false. */
  followRedirects?: boolean;
  /** Statuses handed back to the caller; anything else throws the mapped CoreError. */
  expect: readonly number[];
}

/** A response with its body still to be read (or dumped) by the caller. */
export interface RegistryResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Dispatcher.ResponseData["body"];
  /** URL that answered (after redirects). */
  url: URL;
}

interface RegistryState {
  base: string;
  challenge?: Challenge;
}

const MAX_REDIRECTS = 10;

/** First value of a response header. */
export function header(res: { headers: Record<string, string | string[] | undefined> }, name: string): string | undefined {
  const v = res.headers[name.toLowerCase()];
  return Array.isArray(v) ? v[0] : v;
}

/**
 * Discards a response body without reading it. The error listener matters: destroying an undici
 * body emits an AbortError, which would be an uncaught exception without one.
 */
export function discard(body: Dispatcher.ResponseData["body"]): void {
  body.on("error", () => {});
  body.destroy();
}

/** Reads a body up to `max` bytes (the rest is discarded), for error and token bodies. */
export async function readCapped(body: Dispatcher.ResponseData["body"], max: number): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  let n = 0;
  try {
    for await (const chunk of body as AsyncIterable<Uint8Array>) {
      const take = Math.min(chunk.byteLength, max - n);
      if (take > 0) parts.push(chunk.subarray(0, take));
      n += take;
      if (n >= max) break;
    }
  } catch {
    // a broken error body still leaves the status to report
  } finally {
    discard(body);
  }
  return Buffer.concat(parts);
}

async function drain(res: { body: Dispatcher.ResponseData["body"] }): Promise<void> {
  try {
    await res.body.dump({ limit: 1 << 20 });
  } catch {
    discard(res.body);
  }
}

/**
 * Backoff before attempt `attempt + 1`: `base·2^(attempt-1)` capped at `maxDelayMs`, scaled by a
 * random factor in [0.5, 1) so that parallel clients spread out. A Retry-After wins when given.
 */
export function backoffDelay(attempt: number, retry: Required<RetryOptions>, retryAfterMs?: number, random = Math.random): number {
  if (retryAfterMs !== undefined) return retryAfterMs;
  const exp = Math.min(retry.maxDelayMs, retry.baseDelayMs * 2 ** (attempt - 1));
  return Math.round(exp * (0.5 + random() / 2));
}

/** What an auth error may say about a credential: its source only (null: none was sent). */
function credentialSource(cred: Credential | undefined): { from?: string } | null {
  if (!cred) return null;
  return cred.from ? { from: cred.from } : {};
}

function basic(c: { username: string; password: string }): string {
  return "Basic " + Buffer.from(`${c.username}:${c.password}`).toString("base64");
}

/** The HTTP machinery shared by all repositories of one client. */
export class Transport {
  readonly tokens = new TokenCache();
  readonly counters = { requests: 0, tokens: 0, byKind: {} as Record<string, number> };
  private readonly agent: Agent;
  private readonly proxies = new Map<string, ProxyAgent>();
  private readonly registries = new Map<string, Promise<RegistryState>>();
  private readonly pendingTokens = new Map<string, Promise<string>>();
  private readonly creds = new Map<string, Promise<Credential | undefined>>();
  private readonly tlsOptions: { ca?: string[]; cert?: string; key?: string; rejectUnauthorized: boolean };

  constructor(readonly opts: TransportOptions) {
    // A custom CA is added to, not substituted for, the system roots, so one client can reach both.
    this.tlsOptions = {
      ...(opts.ca ? { ca: [...rootCertificates, opts.ca] } : {}),
      ...(opts.cert ? { cert: opts.cert } : {}),
      ...(opts.key ? { key: opts.key } : {}),
      rejectUnauthorized: !opts.insecure,
    };
    this.agent = new Agent({
      connect: { ...this.tlsOptions, timeout: 30_000 },
      headersTimeout: 120_000,
      bodyTimeout: 120_000,
      connections: 16,
    });
  }

  async close(): Promise<void> {
    await Promise.all([this.agent.close(), ...[...this.proxies.values()].map((p) => p.close())]);
  }

  private dispatcher(url: URL): Dispatcher {
    const proxy = url.protocol === "https:" ? this.opts.proxy?.https : this.opts.proxy?.http;
    if (!proxy || bypassesProxy(url.host, this.opts.proxy?.noProxy)) return this.agent;
    let p = this.proxies.get(proxy);
    if (!p) {
      p = new ProxyAgent({ uri: proxy, requestTls: this.tlsOptions });
      this.proxies.set(proxy, p);
    }
    return p;
  }

  private credential(registry: string, repository: string | undefined): Promise<Credential | undefined> {
    if (!this.opts.credentials) return Promise.resolve(undefined);
    const k = `${registry}/${repository ?? ""}`;
    let p = this.creds.get(k);
    if (!p) {
      p = this.opts.credentials.get(registry, repository ?? "");
      this.creds.set(k, p);
      p.catch(() => this.creds.delete(k));
    }
    return p;
  }

  /**
   * One HTTP exchange with retries. Returns the last response (retryable statuses included once
   * attempts or time run out); throws the mapped CoreError for transport failures.
   */
  private async send(
    url: URL,
    method: Method,
    headers: Record<string, string>,
    body: Uint8Array | undefined,
    ctx: ErrorContext,
    kind: string,
    signal: AbortSignal | undefined,
    retry: Required<RetryOptions> = this.opts.retry,
  ): Promise<Dispatcher.ResponseData> {
    const started = Date.now();
    for (let attempt = 1; ; attempt++) {
      if (signal?.aborted) throw cancelledError(ctx, signal.reason);
      let res: Dispatcher.ResponseData;
      try {
        this.counters.requests++;
        const key = `${method} ${kind}`;
        this.counters.byKind[key] = (this.counters.byKind[key] ?? 0) + 1;
        res = await request(url, {
          method,
          headers: { "user-agent": this.opts.userAgent, ...headers },
          body: body === undefined ? undefined : Buffer.from(body.buffer, body.byteOffset, body.byteLength),
          signal,
          dispatcher: this.dispatcher(url),
        });
      } catch (e) {
        if (signal?.aborted || isAbort(e)) throw cancelledError(ctx, signal?.reason ?? e);
        const delay = backoffDelay(attempt, retry, undefined, this.opts.random);
        if (isRetryableNetworkError(e) && attempt < retry.maxAttempts && Date.now() - started + delay <= retry.maxTotalMs) {
          await this.pause(delay, signal, ctx);
          continue;
        }
        throw networkError(e, ctx, attempt);
      }
      if (RETRY_STATUSES.has(res.statusCode) && attempt < retry.maxAttempts) {
        const after = parseRetryAfter(header(res, "retry-after"));
        const delay = backoffDelay(attempt, retry, after, this.opts.random);
        if (Date.now() - started + delay <= retry.maxTotalMs) {
          await drain(res);
          await this.pause(delay, signal, ctx);
          continue;
        }
      }
      return res;
    }
  }

  private async pause(ms: number, signal: AbortSignal | undefined, ctx: ErrorContext): Promise<void> {
    try {
      await sleep(ms, signal);
    } catch (e) {
      throw cancelledError(ctx, e);
    }
  }

  /** The scheme and challenge of a registry, found once per client by pinging `/v2/`. */
  registry(registry: string, signal?: AbortSignal): Promise<RegistryState> {
    let p = this.registries.get(registry);
    if (!p) {
      p = this.ping(registry, signal);
      this.registries.set(registry, p);
      p.catch(() => this.registries.delete(registry));
    }
    return p;
  }

  /**
   * `GET /v2/` without credentials. HTTPS first; plain HTTP is tried after any transport failure
   * when --insecure-registry is set or the host is loopback/private (as ggcr and Docker do), and the
   * scheme that answered is kept for the client's life. When both fail, the HTTPS error is reported
   * (it names the TLS problem) unless HTTPS hit a plain-HTTP server.
   */
  async ping(registry: string, signal?: AbortSignal): Promise<RegistryState> {
    const ctx: ErrorContext = { op: "ping", registry };
    const schemes = this.opts.insecure || isHttpCapable(registry) ? ["https", "http"] : ["https"];
    let firstError: unknown;
    for (const scheme of schemes) {
      const base = `${scheme}://${registry}`;
      let res: Dispatcher.ResponseData;
      // With plain HTTP to fall back on, a failed HTTPS probe is not retried: the failure (a reset
      // or refusal from a plain-HTTP port) is the answer, and retries would only add seconds.
      const probe = scheme === "https" && schemes.length > 1 ? { ...this.opts.retry, maxAttempts: 1 } : this.opts.retry;
      try {
        res = await this.send(new URL(base + "/v2/"), "GET", {}, undefined, ctx, "ping", signal, probe);
      } catch (e) {
        if ((e as CoreError).code === "CANCELLED") throw e;
        if (firstError === undefined) firstError = e;
        else if (classifyNetworkError((firstError as CoreError).cause) === "plain-http") firstError = e;
        continue;
      }
      if (res.statusCode === 200) {
        await drain(res);
        return { base };
      }
      if (res.statusCode === 401) {
        const challenge = pickChallenge(parseWwwAuthenticate(res.headers["www-authenticate"]));
        await drain(res);
        return challenge ? { base, challenge } : { base };
      }
      const body = await readCapped(res.body, MAX_ERROR_BODY_BYTES);
      // Plain HTTP to a TLS port gets a 400 from Go servers; the HTTPS failure is the real story.
      if (firstError !== undefined) throw firstError;
      throw httpError({ ...ctx, status: res.statusCode, method: "GET", body });
    }
    throw firstError;
  }

  /** Authorization header for a request, fetching a token when the registry wants Bearer. */
  private async authorization(
    state: RegistryState,
    req: RegistryRequest,
    scopes: string[],
    fresh: boolean,
  ): Promise<string | undefined> {
    const registry = req.ctx.registry;
    const cred = await this.credential(registry, req.ctx.repository);
    if (cred?.kind === "bearer") return `Bearer ${cred.token}`;
    const ch = state.challenge;
    if (!ch || ch.scheme === "basic") return cred?.kind === "basic" ? basic(cred) : undefined;
    if (ch.scheme !== "bearer") return undefined;
    if (!fresh) {
      const cached = this.tokens.get(registry, scopes);
      if (cached) return `Bearer ${cached}`;
    }
    const key = `${registry}\n${mergeScopes(scopes).join(" ")}\n${fresh}`;
    let p = this.pendingTokens.get(key);
    if (!p) {
      p = this.fetchToken(state, ch, req, scopes, cred).finally(() => this.pendingTokens.delete(key));
      this.pendingTokens.set(key, p);
    }
    return `Bearer ${await p}`;
  }

  /**
   * The docker token protocol: POST a refresh token (OAuth2) for identity credentials, falling back
   * to GET on 404; GET with Basic credentials or anonymously otherwise. The realm must be HTTPS and
   * may not point at a private address unless the registry itself is insecure or private (SSRF guard).
   */
  private async fetchToken(
    state: RegistryState,
    ch: Challenge,
    req: RegistryRequest,
    scopes: string[],
    cred: Credential | undefined,
  ): Promise<string> {
    const registry = req.ctx.registry;
    const ctx = { ...req.ctx, stage: "token server" };
    const realmText = ch.params.realm;
    if (!realmText) fail("AUTH_FAILED", `${req.ctx.op} ${formatTarget(req.ctx)}: malformed WWW-Authenticate, missing realm`);
    let realm: URL;
    try {
      realm = new URL(realmText);
    } catch {
      return fail("AUTH_FAILED", `${req.ctx.op} ${formatTarget(req.ctx)}: token realm ${JSON.stringify(realmText)} is not a URL`);
    }
    const relaxed = this.opts.insecure || isHttpCapable(registry);
    if (realm.protocol !== "https:" && !(realm.protocol === "http:" && relaxed)) {
      fail("AUTH_FAILED", `${req.ctx.op} ${formatTarget(req.ctx)}: refusing token realm ${realm.origin}: it must use https`);
    }
    if (isPrivateAddress(realm.host) && !relaxed) {
      fail("AUTH_FAILED", `${req.ctx.op} ${formatTarget(req.ctx)}: refusing token realm ${realm.origin} on a private address`);
    }
    const service = ch.params.service;
    let res: Dispatcher.ResponseData | undefined;
    let method: Method = "GET";
    if (cred?.kind === "identity") {
      const form = new URLSearchParams({ grant_type: "refresh_token", refresh_token: cred.identityToken, client_id: "berth" });
      if (service) form.set("service", service);
      if (scopes.length) form.set("scope", scopes.join(" "));
      method = "POST";
      res = await this.send(
        realm,
        "POST",
        { "content-type": "application/x-www-form-urlencoded" },
        new TextEncoder().encode(form.toString()),
        ctx,
        "token",
        req.signal,
      );
      if (res.statusCode === 404) {
        await drain(res);
        res = undefined;
      }
    }
    if (!res) {
      method = "GET";
      const url = new URL(realm);
      for (const s of scopes) url.searchParams.append("scope", s);
      if (service) url.searchParams.set("service", service);
      const headers: Record<string, string> = cred?.kind === "basic" ? { authorization: basic(cred) } : {};
      res = await this.send(url, "GET", headers, undefined, ctx, "token", req.signal);
    }
    if (res.statusCode !== 200) {
      const body = await readCapped(res.body, MAX_ERROR_BODY_BYTES);
      throw httpError({ ...ctx, status: res.statusCode, method, body, credential: credentialSource(cred) });
    }
    const text = new TextDecoder().decode(await readCapped(res.body, MAX_ERROR_BODY_BYTES));
    const parsed = parseTokenResponse(text);
    if (!parsed) fail("AUTH_FAILED", `${req.ctx.op} ${formatTarget(req.ctx)}: token server ${realm.host} sent no token`);
    this.counters.tokens++;
    this.tokens.set(registry, scopes, parsed.token, parsed.expiresIn);
    return parsed.token;
  }

  /**
   * Sends a registry request: ping on first use, authorize, send with retries, follow redirects if
   * asked, and on a 401 with a challenge re-authorize once (wider scope or a refused token).
   * Statuses outside `expect` become the mapped CoreError, with the body read up to 64 KiB.
   */
  async request(req: RegistryRequest): Promise<RegistryResponse> {
    const state = await this.registry(req.ctx.registry, req.signal);
    let scopes = req.scopes;
    let auth = await this.authorization(state, req, scopes, false);
    let url = typeof req.path === "string" ? new URL(state.base + req.path) : req.path;
    const origin = new URL(state.base).origin;
    let reauthed = false;
    let redirects = 0;
    for (;;) {
      const sameOrigin = url.origin === origin;
      const headers = { ...req.headers, ...(auth && sameOrigin ? { authorization: auth } : {}) };
      const res = await this.send(url, req.method, headers, req.body, req.ctx, req.kind, req.signal);
      const status = res.statusCode;
      // Read before re-authorizing, so the connection is free whether we retry or report it.
      let errorBody: Uint8Array | undefined;
      if (status === 401 && sameOrigin && !reauthed) {
        errorBody = await readCapped(res.body, MAX_ERROR_BODY_BYTES);
        const ch = pickChallenge(parseWwwAuthenticate(res.headers["www-authenticate"]));
        const cred = await this.credential(req.ctx.registry, req.ctx.repository);
        if (ch && cred?.kind !== "bearer") {
          reauthed = true;
          if (auth?.startsWith("Bearer ")) this.tokens.invalidate(req.ctx.registry, auth.slice(7));
          state.challenge = ch;
          if (ch.scheme === "bearer" && ch.params.scope) scopes = mergeScopes(scopes, [ch.params.scope]);
          const next = await this.authorization(state, req, scopes, true);
          if (next !== undefined && (next !== auth || ch.scheme === "bearer")) {
            auth = next;
            continue;
          }
        }
      }
      if (req.followRedirects && [301, 302, 303, 307, 308].includes(status)) {
        const loc = header(res, "location");
        await drain(res);
        if (!loc) fail("UNSUPPORTED", `${req.ctx.op} ${formatTarget(req.ctx)}: redirect ${status} without Location`);
        if (++redirects > MAX_REDIRECTS) fail("REGISTRY_UNAVAILABLE", `${req.ctx.op} ${formatTarget(req.ctx)}: more than ${MAX_REDIRECTS} redirects`);
        const next = new URL(loc, url);
        if (next.origin !== origin && isPrivateAddress(next.host) && !this.opts.insecure && !isHttpCapable(req.ctx.registry)) {
          fail("REGISTRY_UNAVAILABLE", `${req.ctx.op} ${formatTarget(req.ctx)}: refusing redirect to private address ${next.host}`);
        }
        url = next;
        continue;
      }
      if (req.expect.includes(status) && errorBody === undefined) return { status, headers: res.headers, body: res.body, url };
      let body = errorBody;
      if (body === undefined && req.method !== "HEAD") body = await readCapped(res.body, MAX_ERROR_BODY_BYTES);
      else if (body === undefined) await drain(res);
      if (req.method === "HEAD") body = undefined;
      const after = parseRetryAfter(header(res, "retry-after"));
      // A refusal names where the credential came from (or that there was none), so the hint says
      // what to fix. Other origins (a blob redirect) never got the credential, so they say nothing.
      const refused = (status === 401 || status === 403) && sameOrigin ? credentialSource(await this.credential(req.ctx.registry, req.ctx.repository)) : undefined;
      throw httpError({
        ...req.ctx,
        ...(refused !== undefined ? { credential: refused } : {}),
        status,
        method: req.method,
        ...(body ? { body } : {}),
        ...(after !== undefined ? { retryAfter: Math.ceil(after / 1000) } : {}),
      });
    }
  }
}
