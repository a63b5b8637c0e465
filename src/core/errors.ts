/**
 * The one error shape of berth's core. Callers switch on `code`, never on the message.
 * Codes are never renamed or reused: the CLI exit table and the Flux reason table are
 * exhaustive `Record<ErrorCode, …>` maps, so a new code is a type error until mapped.
 */
export type ErrorCode =
  | "USAGE"
  | "REF_INVALID"
  | "AUTH_FAILED"
  | "NOT_FOUND"
  | "NO_MATCHING_VERSION"
  | "REGISTRY_UNAVAILABLE"
  | "DIGEST_MISMATCH"
  | "MANIFEST_INVALID"
  | "VERIFY_FAILED"
  | "UNTRUSTED_SIGNER"
  | "STORAGE_FAILED"
  | "ARCHIVE_INVALID"
  | "SIZE_EXCEEDED"
  | "UNSUPPORTED"
  | "CANCELLED"
  | "INTERNAL";

/** Context attached to an error; every field optional. */
export interface ErrorDetails {
  /** The reference being worked on, as the user typed it. */
  ref?: string;
  digest?: string;
  /** HTTP status of the response that failed, when there was one. */
  status?: number;
  /** Registry error code (`MANIFEST_UNKNOWN`, …) from the response body. */
  registryCode?: string;
  /** A one-line suggestion telling the user how to fix the problem. */
  hint?: string;
  /** Seconds the server asked us to wait (Retry-After). */
  retryAfter?: number;
}

export interface CoreErrorInit {
  code: ErrorCode;
  message: string;
  cause?: unknown;
  details?: ErrorDetails;
}

export class CoreError extends Error {
  readonly code: ErrorCode;
  readonly details: ErrorDetails;
  constructor(init: CoreErrorInit) {
    super(init.message, init.cause === undefined ? undefined : { cause: init.cause });
    this.name = "CoreError";
    this.code = init.code;
    this.details = init.details ?? {};
  }
}

/** Builds and throws a CoreError; typed `never` so it ends control flow. */
export function fail(code: ErrorCode, message: string, details?: ErrorDetails, cause?: unknown): never {
  throw new CoreError({ code, message, details, cause });
}

/**
 * Whether `e` is a CoreError. Checked by shape, not only `instanceof`: a bundle may hold two copies of
 * this module (Bun's node-target bundle duplicates modules reached both statically and through
 * `import()`), and errors cross worker boundaries.
 */
export function isCoreError(e: unknown, code?: ErrorCode): e is CoreError {
  const shaped =
    e instanceof CoreError ||
    (e instanceof Error && e.name === "CoreError" && typeof (e as { code?: unknown }).code === "string" && typeof (e as { details?: unknown }).details === "object");
  return shaped && (code === undefined || (e as CoreError).code === code);
}

/** Whether an operation that failed with this code may succeed if tried again. Defined once. */
export function isRetryable(code: ErrorCode): boolean {
  return code === "REGISTRY_UNAVAILABLE";
}

/**
 * Prefixes an error's message with an operation ("pull ghcr.io/x/y:1.0: …") and keeps its code.
 * Non-core errors become INTERNAL unless `fallback` names another code.
 */
export function wrapError(e: unknown, prefix: string, fallback: ErrorCode = "INTERNAL"): CoreError {
  if (e instanceof CoreError) {
    return new CoreError({ code: e.code, message: `${prefix}: ${e.message}`, cause: e.cause ?? e, details: e.details });
  }
  if (isAbort(e)) return new CoreError({ code: "CANCELLED", message: `${prefix}: cancelled`, cause: e });
  const msg = e instanceof Error ? e.message : String(e);
  return new CoreError({ code: fallback, message: `${prefix}: ${msg}`, cause: e });
}

export function isAbort(e: unknown): boolean {
  return e instanceof Error && (e.name === "AbortError" || e.name === "TimeoutError");
}
