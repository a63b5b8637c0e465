import { CoreError, isAbort, type ErrorCode } from "../errors.ts";
import { MAX_ERROR_BODY_BYTES } from "../oci/media-types.ts";

/** One entry of a distribution-spec error body `{"errors":[{code,message,detail}]}`. */
export interface RegistryErrorEntry {
  code: string;
  message: string;
  detail?: unknown;
}

/** What was being done when a request failed; becomes the message prefix `<op> <registry>/<repo>[:ref]`. */
export interface ErrorContext {
  /** Verb in the message, e.g. "fetch manifest", "push blob", "list tags". */
  op: string;
  registry: string;
  /** Empty for registry-wide requests (ping, token). */
  repository?: string;
  /** Tag (`:tag`) or digest (`@sha256:…`) appended to the name. */
  reference?: string;
  /** Which step of the operation failed, e.g. "token server"; printed after the name. */
  stage?: string;
}

/**
 * Hint for an authentication failure. `credential`: what was sent, when known: null for anonymous
 * (none was found), or the credential, whose `from` names the file, helper or flag to fix.
 */
export function authHint(registry: string, credential?: { from?: string } | null): string {
  if (credential === null) return `no credentials were found for ${registry}: pass --creds, or run docker login ${registry}`;
  if (credential?.from) return `the registry refused the credentials from ${credential.from}: fix them, or run docker login ${registry}`;
  return `check --creds or run docker login ${registry}`;
}
/** Hint for a TLS trust failure (unknown CA, self-signed, wrong host name). */
export const TLS_HINT = "use --ca-file to trust the registry's CA, or --insecure-registry to skip verification";
/** Hint when an HTTPS request reached a plain-HTTP server. */
export const PLAIN_HTTP_HINT = "the registry speaks plain HTTP: use --insecure-registry";

/** `<registry>/<repo>[:tag|@digest]`, the name part of every registry error message. */
export function formatTarget(ctx: ErrorContext): string {
  let s = ctx.repository ? `${ctx.registry}/${ctx.repository}` : ctx.registry;
  if (ctx.reference) s += ctx.reference.startsWith("sha256:") ? `@${ctx.reference}` : `:${ctx.reference}`;
  return s;
}

/**
 * Parses a distribution error body. Returns [] for anything that is not the documented shape
 * (HTML error pages from proxies, empty HEAD bodies), so callers fall back to the HTTP status.
 */
export function parseErrorBody(body: Uint8Array | string | undefined): RegistryErrorEntry[] {
  if (body === undefined) return [];
  const text = typeof body === "string" ? body : new TextDecoder().decode(body.subarray(0, MAX_ERROR_BODY_BYTES));
  if (!text.trim()) return [];
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return [];
  }
  const errors = (parsed as { errors?: unknown } | null)?.errors;
  if (!Array.isArray(errors)) return [];
  const out: RegistryErrorEntry[] = [];
  for (const e of errors) {
    if (!e || typeof e !== "object") continue;
    const { code, message, detail } = e as Record<string, unknown>;
    if (typeof code !== "string") continue;
    out.push({ code, message: typeof message === "string" ? message : "", ...(detail !== undefined ? { detail } : {}) });
  }
  return out;
}

/**
 * The one mapping from a registry error code to a CoreError code; undefined for codes we do not
 * know, so the HTTP status decides. MANIFEST_BLOB_UNKNOWN is not NOT_FOUND on purpose: it means
 * the pushed manifest names blobs the repository lacks, a broken push rather than a missing artifact.
 */
export function codeForRegistryCode(code: string): ErrorCode | undefined {
  switch (code) {
    case "UNAUTHORIZED":
    case "DENIED":
      return "AUTH_FAILED";
    case "MANIFEST_BLOB_UNKNOWN":
    case "MANIFEST_INVALID":
    case "MANIFEST_UNVERIFIED":
    case "DIGEST_INVALID":
      return "MANIFEST_INVALID";
    case "BLOB_UNKNOWN":
    case "MANIFEST_UNKNOWN":
    case "NAME_UNKNOWN":
    case "BLOB_UPLOAD_UNKNOWN":
      return "NOT_FOUND";
    case "NAME_INVALID":
    case "TAG_INVALID":
      return "REF_INVALID";
    case "SIZE_INVALID":
      return "DIGEST_MISMATCH";
    case "TOOMANYREQUESTS":
    case "BLOB_UPLOAD_INVALID": // the upload session broke (e.g. a lost chunk); a fresh upload may succeed
      return "REGISTRY_UNAVAILABLE";
    case "UNSUPPORTED":
      return "UNSUPPORTED";
    default:
      return undefined;
  }
}

/**
 * HTTP status → CoreError code when the body names no known registry code. Other 4xx become
 * UNSUPPORTED: the registry refused the request as such, and retrying it cannot help.
 */
export function codeForStatus(status: number): ErrorCode {
  if (status === 401 || status === 403) return "AUTH_FAILED";
  if (status === 404) return "NOT_FOUND";
  if (status === 408 || status === 429 || status >= 500) return "REGISTRY_UNAVAILABLE";
  if (status === 413) return "SIZE_EXCEEDED";
  return "UNSUPPORTED";
}

function describeStatus(code: ErrorCode, status: number): string {
  switch (code) {
    case "AUTH_FAILED":
      return status === 403 ? `access denied (HTTP ${status})` : `authentication required (HTTP ${status})`;
    case "NOT_FOUND":
      return `not found (HTTP ${status})`;
    case "REGISTRY_UNAVAILABLE":
      return status === 429 ? `rate limited (HTTP 429)` : `registry unavailable (HTTP ${status})`;
    case "MANIFEST_INVALID":
      return `rejected as invalid (HTTP ${status})`;
    case "DIGEST_MISMATCH":
      return `size or digest rejected (HTTP ${status})`;
    case "REF_INVALID":
      return `invalid name or reference (HTTP ${status})`;
    case "SIZE_EXCEEDED":
      return `too large for the registry (HTTP ${status})`;
    default:
      return `unexpected status ${status}`;
  }
}

/** Input of {@link httpError}. */
export interface HttpErrorInput extends ErrorContext {
  status: number;
  method: string;
  /** Up to MAX_ERROR_BODY_BYTES of the response body; absent for HEAD. */
  body?: Uint8Array;
  /** Seconds from Retry-After, when the server sent one. */
  retryAfter?: number;
  /** The credential the request was made with, null when anonymous, undefined when not known (see {@link authHint}). */
  credential?: { from?: string } | null;
}

/**
 * Turns a failed HTTP response into a CoreError: registry code first (the first known one wins),
 * the status otherwise. Message: `<op> <registry>/<repo>[:ref]: <what> (<CODE>: <message>)`.
 */
export function httpError(input: HttpErrorInput): CoreError {
  const entries = parseErrorBody(input.body);
  let code: ErrorCode | undefined;
  for (const e of entries) {
    code = codeForRegistryCode(e.code);
    if (code) break;
  }
  // A 401/403 always means the credentials are wrong or lack rights, whatever code the body uses.
  if (input.status === 401 || input.status === 403) code = "AUTH_FAILED";
  code ??= codeForStatus(input.status);
  const stage = input.stage ? `${input.stage}: ` : "";
  let msg = `${input.op} ${formatTarget(input)}: ${stage}${describeStatus(code, input.status)}`;
  if (entries.length > 0) msg += ` (${entries.map((e) => (e.message ? `${e.code}: ${e.message}` : e.code)).join("; ")})`;
  else if (input.method === "HEAD" && code !== "NOT_FOUND") msg += " (HEAD responses have no body)";
  const hint = code === "AUTH_FAILED" ? authHint(input.registry, input.credential) : undefined;
  return new CoreError({
    code,
    message: msg,
    details: {
      status: input.status,
      ...(entries[0] ? { registryCode: entries[0].code } : {}),
      ...(hint ? { hint } : {}),
      ...(input.retryAfter !== undefined ? { retryAfter: input.retryAfter } : {}),
    },
  });
}

const TLS_TRUST_CODES = new Set([
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "CERT_HAS_EXPIRED",
  "CERT_NOT_YET_VALID",
  "CERT_UNTRUSTED",
  "CERT_SIGNATURE_FAILURE",
  "ERR_TLS_CERT_ALTNAME_INVALID",
  "HOSTNAME_MISMATCH",
]);

const NETWORK_CODES = new Set([
  "ECONNRESET",
  "ECONNREFUSED",
  "ECONNABORTED",
  "EPIPE",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EAI_AGAIN",
  "ENOTFOUND",
  "UND_ERR_SOCKET",
  "UND_ERR_CLOSED",
  "UND_ERR_CONNECT_TIMEOUT",
  "UND_ERR_HEADERS_TIMEOUT",
  "UND_ERR_BODY_TIMEOUT",
  "UND_ERR_REQ_CONTENT_LENGTH_MISMATCH",
  "UND_ERR_RES_CONTENT_LENGTH_MISMATCH",
]);

/** Network failures worth sending again: resets, refusals and timeouts. DNS "not found" is not. */
const RETRYABLE_NETWORK_CODES = new Set([...NETWORK_CODES].filter((c) => c !== "ENOTFOUND"));

/** The `code` of an error or of any error in its cause chain (undici wraps socket errors). */
export function errnoCode(e: unknown): string | undefined {
  for (let cur: unknown = e, depth = 0; cur && depth < 5; depth++) {
    const code = (cur as { code?: unknown }).code;
    if (typeof code === "string" && code !== "") return code;
    cur = (cur as { cause?: unknown }).cause;
  }
  return undefined;
}

function messages(e: unknown): string {
  const parts: string[] = [];
  for (let cur: unknown = e, depth = 0; cur && depth < 5; depth++) {
    if (cur instanceof Error) parts.push(cur.message);
    cur = (cur as { cause?: unknown }).cause;
  }
  return parts.join(": ");
}

/** Kinds of transport failure, decided once from the error's code and text. */
export type NetworkFailure = "tls-trust" | "tls-client" | "plain-http" | "network" | "cancelled" | "other";

/**
 * Classifies a thrown transport error. "plain-http" is TLS spoken to an HTTP server (OpenSSL reports
 * a wrong version number or packet length; Bun and Node word it differently, hence the text match).
 */
export function classifyNetworkError(e: unknown): NetworkFailure {
  if (isAbort(e) || errnoCode(e) === "ABORT_ERR" || errnoCode(e) === "UND_ERR_ABORTED") return "cancelled";
  const code = errnoCode(e) ?? "";
  const text = messages(e).toLowerCase();
  if (TLS_TRUST_CODES.has(code) || /self[- ]signed|unable to verify|unknown ca|certificate verify failed|altname/.test(text)) {
    return "tls-trust";
  }
  // OpenSSL words these with spaces, BoringSSL (Bun) with underscores in upper case.
  if (/wrong[ _]version[ _]number|packet[ _]length[ _]too[ _]long|http[ _]request/.test(text)) return "plain-http";
  if (/certificate[ _]required|handshake[ _]failure|bad[ _]certificate|tlsv13[ _]alert|sslv3[ _]alert/.test(text)) return "tls-client";
  if (NETWORK_CODES.has(code) || /socket hang up|other side closed|connection (reset|refused)|timeout/.test(text)) return "network";
  return "other";
}

/** Whether a transport error may go away when the request is sent again. */
export function isRetryableNetworkError(e: unknown): boolean {
  if (classifyNetworkError(e) !== "network") return false;
  const code = errnoCode(e);
  return code === undefined || RETRYABLE_NETWORK_CODES.has(code);
}

/** CANCELLED for an operation whose AbortSignal fired, whatever reason the signal carries. */
export function cancelledError(ctx: ErrorContext, cause?: unknown): CoreError {
  return new CoreError({ code: "CANCELLED", message: `${ctx.op} ${formatTarget(ctx)}: cancelled`, cause });
}

/**
 * Turns a thrown transport error into a CoreError. TLS trust failures are AUTH_FAILED: the server
 * could not prove who it is, which needs the user's action (a CA file or --insecure-registry), not
 * a retry. TLS to a plain-HTTP server is USAGE: only a flag fixes it.
 */
export function networkError(e: unknown, ctx: ErrorContext, attempts = 1): CoreError {
  if (e instanceof CoreError) return e;
  const where = `${ctx.op} ${formatTarget(ctx)}${ctx.stage ? `: ${ctx.stage}` : ""}`;
  const cause = messages(e) || String(e);
  const kind = classifyNetworkError(e);
  switch (kind) {
    case "cancelled":
      return cancelledError(ctx, e);
    case "tls-trust":
      return new CoreError({
        code: "AUTH_FAILED",
        message: `${where}: TLS certificate of ${ctx.registry} is not trusted (${cause})`,
        cause: e,
        details: { hint: TLS_HINT },
      });
    case "tls-client":
      return new CoreError({
        code: "AUTH_FAILED",
        message: `${where}: TLS handshake with ${ctx.registry} failed (${cause})`,
        cause: e,
        details: { hint: "the registry may require a client certificate: use --cert-file and --key-file" },
      });
    case "plain-http":
      return new CoreError({
        code: "USAGE",
        message: `${where}: server gave an HTTP response to an HTTPS request (${cause})`,
        cause: e,
        details: { hint: PLAIN_HTTP_HINT },
      });
    case "network": {
      const tries = attempts > 1 ? ` after ${attempts} attempts` : "";
      return new CoreError({
        code: "REGISTRY_UNAVAILABLE",
        message: `${where}: cannot reach ${ctx.registry}${tries} (${cause})`,
        cause: e,
        details: { hint: "check the registry address, your network and proxy settings" },
      });
    }
    case "other":
      return new CoreError({ code: "REGISTRY_UNAVAILABLE", message: `${where}: ${cause}`, cause: e });
    default:
      return kind satisfies never;
  }
}
