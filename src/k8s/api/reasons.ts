/**
 * Flux condition types and reason strings (verbatim from source-controller and fluxcd/pkg/apis/meta, as listed
 * in ../shared/spec/ocirepository.md §2.1–2.2), and the one table that maps a core ErrorCode to the
 * condition, reason and error kind the reconciler reports (design §2.3).
 */
import type { ErrorCode } from "../../core/index.ts";

/** Condition types the OCIRepository reconciler owns. */
export const READY = "Ready";
export const RECONCILING = "Reconciling";
export const STALLED = "Stalled";
export const ARTIFACT_IN_STORAGE = "ArtifactInStorage";
export const ARTIFACT_OUTDATED = "ArtifactOutdated";
export const SOURCE_VERIFIED = "SourceVerified";
export const FETCH_FAILED = "FetchFailed";
export const STORAGE_OPERATION_FAILED = "StorageOperationFailed";

/** One of the owned condition types. */
export type ConditionType =
  | typeof READY
  | typeof RECONCILING
  | typeof STALLED
  | typeof ARTIFACT_IN_STORAGE
  | typeof ARTIFACT_OUTDATED
  | typeof SOURCE_VERIFIED
  | typeof FETCH_FAILED
  | typeof STORAGE_OPERATION_FAILED;

/** Reason strings, exactly as Flux spells them (consumers and alerts match on them). */
export const Reasons = {
  Succeeded: "Succeeded",
  Progressing: "Progressing",
  ProgressingWithRetry: "ProgressingWithRetry",
  NewRevision: "NewRevision",
  AuthenticationFailed: "AuthenticationFailed",
  URLInvalid: "URLInvalid",
  ReadOperationFailed: "ReadOperationFailed",
  OCIArtifactPullFailed: "OCIArtifactPullFailed",
  OCIArtifactLayerOperationFailed: "OCIArtifactLayerOperationFailed",
  VerificationError: "VerificationError",
  FeatureGateDisabled: "FeatureGateDisabled",
  DirectoryCreationFailed: "DirectoryCreationFailed",
  StatOperationFailed: "StatOperationFailed",
  InvalidPath: "InvalidPath",
  ArchiveOperationFailed: "ArchiveOperationFailed",
  PatchOperationFailed: "PatchOperationFailed",
  Failed: "Failed",
  SourceIgnoreError: "SourceIgnoreError",
  GarbageCollectionFailed: "GarbageCollectionFailed",
  ReconciliationFailed: "ReconciliationFailed",
  ArtifactUpToDate: "ArtifactUpToDate",
  SymlinkUpdateFailed: "SymlinkUpdateFailed",
  GarbageCollectionSucceeded: "GarbageCollectionSucceeded",
  ArtifactVerificationFailed: "ArtifactVerificationFailed",
  NewArtifact: "NewArtifact",
} as const;

/** One Flux reason string. */
export type Reason = (typeof Reasons)[keyof typeof Reasons];

/**
 * How the reconciler treats a failure: `stalling` = the user must change the spec, no retry (Stalled=True);
 * `waiting` = requeue after a delay, no error backoff; `generic` = error, rate-limited retry.
 */
export type ErrorKind = "stalling" | "waiting" | "generic";

/** What the reconciler records for one ErrorCode. */
export interface ReasonMapping {
  /** The condition to mark, or null when none is marked (the error only shows in Ready via the retry path). */
  condition: ConditionType | null;
  /** Status to give `condition`: True for the negative-polarity types, False for SourceVerified. */
  status: "True" | "False";
  reason: Reason;
  kind: ErrorKind;
}

/**
 * ErrorCode → condition/reason/kind. Exhaustive on purpose: a new ErrorCode fails to compile until mapped.
 * Rows marked "berth" have no source-controller counterpart and are our choice.
 */
export const ERROR_REASONS: Record<ErrorCode, ReasonMapping> = {
  // berth: the only USAGE error the controller can meet is an object parseOCIRepository rejects; the spec
  // must change, so it stalls. The API server's schema normally rejects such objects first.
  USAGE: { condition: STALLED, status: "True", reason: Reasons.ReconciliationFailed, kind: "stalling" },
  REF_INVALID: { condition: FETCH_FAILED, status: "True", reason: Reasons.URLInvalid, kind: "stalling" },
  // Upstream uses AuthenticationFailed for credential loading; registry 401/403 mapped here too (design §2.3 ¹).
  AUTH_FAILED: { condition: FETCH_FAILED, status: "True", reason: Reasons.AuthenticationFailed, kind: "generic" },
  NOT_FOUND: { condition: FETCH_FAILED, status: "True", reason: Reasons.OCIArtifactPullFailed, kind: "generic" },
  NO_MATCHING_VERSION: { condition: FETCH_FAILED, status: "True", reason: Reasons.ReadOperationFailed, kind: "generic" },
  REGISTRY_UNAVAILABLE: { condition: FETCH_FAILED, status: "True", reason: Reasons.OCIArtifactPullFailed, kind: "generic" },
  DIGEST_MISMATCH: { condition: FETCH_FAILED, status: "True", reason: Reasons.OCIArtifactLayerOperationFailed, kind: "generic" },
  MANIFEST_INVALID: { condition: FETCH_FAILED, status: "True", reason: Reasons.OCIArtifactLayerOperationFailed, kind: "generic" },
  VERIFY_FAILED: { condition: SOURCE_VERIFIED, status: "False", reason: Reasons.VerificationError, kind: "generic" },
  UNTRUSTED_SIGNER: { condition: SOURCE_VERIFIED, status: "False", reason: Reasons.VerificationError, kind: "generic" },
  STORAGE_FAILED: { condition: STORAGE_OPERATION_FAILED, status: "True", reason: Reasons.ArchiveOperationFailed, kind: "generic" },
  // berth: a layer that is not a valid gzip'ed tar fails in extract, which upstream reports this way.
  ARCHIVE_INVALID: { condition: FETCH_FAILED, status: "True", reason: Reasons.OCIArtifactLayerOperationFailed, kind: "generic" },
  // berth: upstream has no size limit; exceeding ours is a layer operation failure.
  SIZE_EXCEEDED: { condition: FETCH_FAILED, status: "True", reason: Reasons.OCIArtifactLayerOperationFailed, kind: "generic" },
  // Upstream's "unsupported layer operation" is a generic layer-operation failure.
  UNSUPPORTED: { condition: FETCH_FAILED, status: "True", reason: Reasons.OCIArtifactLayerOperationFailed, kind: "generic" },
  // berth: cancellation means shutdown or a superseded pass; nothing is marked and the object is requeued.
  CANCELLED: { condition: null, status: "True", reason: Reasons.ProgressingWithRetry, kind: "waiting" },
  INTERNAL: { condition: READY, status: "False", reason: Reasons.ReconciliationFailed, kind: "generic" },
};

/** The mapping for one code (a function so callers need not index the table). */
export function reasonFor(code: ErrorCode): ReasonMapping {
  return ERROR_REASONS[code];
}
