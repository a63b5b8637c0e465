/**
 * JSON over HTTP for the Sigstore services keyless signing talks to (Fulcio, Rekor, an OIDC token
 * endpoint). Small on purpose: a POST or GET, a few retries for transient failures, capped bodies,
 * and errors that never carry the secrets of the request. Uses the npm undici (../registry/undici.ts)
 * for the same reason as the registry transport: Bun's built-in one ignores TLS options.
 */
import { request, type Dispatcher } from "../registry/undici.ts";
import { CoreError, isAbort } from "../errors.ts";
import { sleep } from "../timers.ts";

/** Options shared by every service call. */
export interface ServiceHttpOptions {
  /** undici dispatcher (proxy, custom CA). Default undici's global one. */
  dispatcher?: Dispatcher;
  signal?: AbortSignal;
  /** Per-attempt timeout for headers and body. Default 60 s. */
  timeoutMs?: number;
  /** Attempts for network errors, 429 and 5xx. Default 3. */
  attempts?: number;
  /** User-Agent header. Default `berth`. */
  userAgent?: string;
}

const MAX_BODY = 4 << 20;
const MAX_ERROR_TEXT = 300;

/**
 * Replaces every occurrence of each secret in `text`, and anything shaped like a JWT, so server
 * echoes and URLs cannot leak them. Runs before any truncation, which could leave a prefix.
 */
export function redact(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const s of secrets) if (s.length >= 4) out = out.split(s).join("[REDACTED]");
  return out.replace(/eyJ[\w-]*\.[\w-]+\.?[\w-]*/g, "[REDACTED]");
}

/** One JSON request to `service` (named in errors). `secrets` are scrubbed from every error message. */
export async function serviceJSON(
  service: string,
  url: URL,
  init: { method: "GET" | "POST"; headers?: Record<string, string>; body?: unknown },
  secrets: readonly string[],
  o: ServiceHttpOptions = {},
): Promise<unknown> {
  const attempts = Math.max(1, o.attempts ?? 3);
  const where = `${service} ${url.origin}${url.pathname}`;
  const headers: Record<string, string> = { accept: "application/json", "user-agent": o.userAgent ?? "berth", ...init.headers };
  const body = init.body === undefined ? undefined : JSON.stringify(init.body);
  if (body !== undefined) headers["content-type"] = "application/json";
  let last: CoreError | undefined;
  for (let i = 0; i < attempts; i++) {
    if (i > 0) {
      await sleep(500 * 2 ** (i - 1), o.signal).catch(() => {
        throw new CoreError({ code: "CANCELLED", message: "cancelled" });
      });
    }
    let res: Dispatcher.ResponseData;
    try {
      res = await request(url, {
        method: init.method,
        headers,
        body,
        dispatcher: o.dispatcher,
        signal: o.signal,
        headersTimeout: o.timeoutMs ?? 60_000,
        bodyTimeout: o.timeoutMs ?? 60_000,
      });
    } catch (e) {
      if (o.signal?.aborted || (isAbort(e) && !(e instanceof Error && e.name === "TimeoutError"))) {
        throw new CoreError({ code: "CANCELLED", message: `${where}: cancelled` });
      }
      // The cause is dropped on purpose: undici errors can carry the request, headers included.
      last = new CoreError({ code: "REGISTRY_UNAVAILABLE", message: `${where}: ${redact((e as Error).message ?? String(e), secrets)}` });
      continue;
    }
    const text = await readText(res.body);
    if (res.statusCode >= 200 && res.statusCode < 300) {
      try {
        return JSON.parse(text);
      } catch {
        throw new CoreError({ code: "MANIFEST_INVALID", message: `${where} answered ${res.statusCode} with a body that is not JSON` });
      }
    }
    const detail = errorText(redact(text, secrets));
    const msg = `${where} answered ${res.statusCode}${detail ? `: ${detail}` : ""}`;
    if (res.statusCode === 429 || res.statusCode >= 500) {
      last = new CoreError({ code: "REGISTRY_UNAVAILABLE", message: msg, details: { status: res.statusCode } });
      continue;
    }
    const code = res.statusCode === 401 || res.statusCode === 403 ? "AUTH_FAILED" : res.statusCode === 404 ? "NOT_FOUND" : "VERIFY_FAILED";
    throw new CoreError({ code, message: msg, details: { status: res.statusCode } });
  }
  throw last!;
}

/** The `message` of a JSON error body, else the first line of the text, capped. */
function errorText(text: string): string {
  let t = text.trim();
  try {
    const j = JSON.parse(t) as { message?: unknown; error?: unknown };
    if (typeof j.message === "string") t = j.message;
    else if (typeof j.error === "string") t = j.error;
  } catch {
    // not JSON: keep the text
  }
  t = t.split("\n")[0] ?? "";
  return t.length > MAX_ERROR_TEXT ? `${t.slice(0, MAX_ERROR_TEXT)}…` : t;
}

async function readText(body: Dispatcher.ResponseData["body"]): Promise<string> {
  const parts: Buffer[] = [];
  let n = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    n += chunk.byteLength;
    if (n > MAX_BODY) {
      body.destroy();
      throw new CoreError({ code: "SIZE_EXCEEDED", message: `service response is larger than ${MAX_BODY} bytes` });
    }
    parts.push(chunk);
  }
  return Buffer.concat(parts).toString("utf8");
}

