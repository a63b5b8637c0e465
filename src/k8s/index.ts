/**
 * Public surface of berth's Kubernetes layer (design §2.1); the TUI and CLI import from here only.
 * Anything not re-exported is internal to src/k8s.
 */
export {
  SOURCE_GROUP,
  OCIREPOSITORY_VERSION_V1,
  OCIREPOSITORY_VERSION_V1BETA2,
  OCIREPOSITORY_KIND,
  OCIREPOSITORY_LIST_KIND,
  OCIREPOSITORY_PLURAL,
  OCIREPOSITORY_SINGULAR,
  OCIREPOSITORY_SHORT_NAMES,
  OCIREPOSITORY_CATEGORIES,
  OCIREPOSITORY_CRD_NAME,
  OCIREPOSITORY_GVR,
  OCIREPOSITORY_V1BETA2_GVR,
  OCIREPOSITORY_DEFAULTS,
  OCIREPOSITORY_URL_PREFIX,
  V1BETA2_DEPRECATION_WARNING,
  SOURCE_FINALIZER,
  RECONCILE_REQUEST_ANNOTATION,
  OCI_PROVIDERS,
  LAYER_OPERATIONS,
  VERIFY_PROVIDERS,
  parseOCIRepository,
  effectiveRef,
  effectiveLayerSelector,
  type OCIRepository,
  type OCIRepositorySpec,
  type OCIRepositoryStatus,
  type OCIRepositoryVersion,
  type OCIRepositoryRefSpec,
  type OCIRepositoryVerification,
  type OCILayerSelector,
  type OCILayerOperation,
  type OCIProvider,
  type VerifyProvider,
  type OIDCIdentityMatch,
  type LocalObjectReference,
  type SourceArtifact,
  type Condition,
  type ObjectMeta,
  type GroupVersionResource,
} from "./api/ocirepository.ts";
export { ocirepositoryCRD, DEFAULT_CRD_OPTIONS, type CRDOptions, type CustomResourceDefinition, type CRDVersion } from "./api/crd.ts";
export { ocirepositorySchema, type JSONSchemaProps, type SchemaVersion } from "./api/schema.ts";
export {
  findCondition,
  hasStatus,
  isTrue,
  isFalse,
  isUnknown,
  setCondition,
  markTrue,
  markFalse,
  markUnknown,
  markReconciling,
  markStalled,
  markProgressing,
  removeCondition,
  sortConditions,
  formatConditionTime,
  readySummary,
  summarizeReady,
  notReadyAfterSuccess,
  OCIREPOSITORY_SUMMARY,
  MAX_CONDITION_MESSAGE,
  type ConditionInput,
  type ConditionStatus,
  type SetOptions,
  type SummaryConfig,
  type ReadySummary,
} from "./api/conditions.ts";
export {
  READY,
  RECONCILING,
  STALLED,
  ARTIFACT_IN_STORAGE,
  ARTIFACT_OUTDATED,
  SOURCE_VERIFIED,
  FETCH_FAILED,
  STORAGE_OPERATION_FAILED,
  Reasons,
  ERROR_REASONS,
  reasonFor,
  type ConditionType,
  type Reason,
  type ErrorKind,
  type ReasonMapping,
} from "./api/reasons.ts";

// Artifact storage and the file server that serves `status.artifact.url`.
export { ArtifactStore, artifactPathFor, artifactFileName, type StoredArtifact } from "./storage/artifact-store.ts";
export { ArtifactFileServer } from "./storage/file-server.ts";

// The controller: Kubernetes client, informer, work queue, reconciler and their wiring (`berth --controller`).
export { KubeClient, loadKubeConnection, kubeStatusOf, type KubeConnection, type WatchEvent, type KubeRequestOptions } from "./client/kube.ts";
export { Informer, type InformerOptions } from "./watch/informer.ts";
export { WorkQueue, SYSTEM_CLOCK, DEFAULT_WORK_QUEUE_OPTIONS, type Clock, type WorkResult, type WorkQueueOptions } from "./controller/queue.ts";
export { OCIRepositoryReconciler, splitKey, type ReconcilerOptions } from "./controller/reconciler.ts";
export { startController, type ControllerOptions, type RunningController } from "./controller/controller.ts";

// Waiting for OCIRepositories (`berth wait`, `berth promote --wait`, `berth reconcile --wait`).
export {
  waitForRevision,
  waitForReconcile,
  requestReconcile,
  findTrackingOCIRepositories,
  revisionMatches,
  digestOfRevision,
  evaluateRevision,
  evaluateReconcile,
  toWaitUpdate,
  ocirepositoriesPath,
  type WaitResult,
  type WaitStatus,
  type WaitUpdate,
  type WaitTarget,
  type WaitOptions,
  type TrackingOCIRepository,
} from "./wait/wait.ts";

// The reconciler's helpers, events and shared registry look-ups.
export { validateRepositoryURL, checkDigest, canonicalRef, contentConfigChanged, verificationDue, statusPatch, type Resolution } from "./controller/reconciler.ts";
export {
  KubeEventRecorder,
  NOOP_EVENT_RECORDER,
  DEFAULT_EVENT_RECORDER_OPTIONS,
  redactSecrets,
  type EventRecorder,
  type EventType,
  type InvolvedObject,
  type KubeEventRecorderOptions,
} from "./controller/events.ts";
export { SharedLookups, DEFAULT_SHARED_LOOKUPS_OPTIONS, type SharedLookupsOptions, type LookupRequest, type LookupSource } from "./controller/lookups.ts";
