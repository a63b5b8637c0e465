import type { ErrorCode } from "../core/errors.ts";

/**
 * The single table from error code to process exit code. Exhaustive: a new ErrorCode is a type
 * error here until it is given an exit code. 1 is reserved for "diff found differences".
 */
export const EXIT_CODES: Record<ErrorCode, number> = {
  USAGE: 2,
  REF_INVALID: 2,
  UNSUPPORTED: 2,
  AUTH_FAILED: 3,
  NOT_FOUND: 4,
  NO_MATCHING_VERSION: 4,
  REGISTRY_UNAVAILABLE: 5,
  DIGEST_MISMATCH: 6,
  MANIFEST_INVALID: 6,
  ARCHIVE_INVALID: 6,
  SIZE_EXCEEDED: 6,
  VERIFY_FAILED: 7,
  UNTRUSTED_SIGNER: 7,
  STORAGE_FAILED: 8,
  CANCELLED: 130,
  INTERNAL: 70,
};

/** `diff artifact` found differences (diff(1) convention). */
export const EXIT_DIFFERENT = 1;

/** `wait`, `promote --wait`, `reconcile --wait`: the timeout passed before the object reported the wanted state. */
export const EXIT_TIMEOUT = 9;

/**
 * `wait`, `promote --wait`, `reconcile --wait`: the object reported a failure waiting cannot fix
 * (Stalled, or a handled reconcile with Ready=False). A failed signature verification exits 7 instead.
 */
export const EXIT_RECONCILE_FAILED = 10;
