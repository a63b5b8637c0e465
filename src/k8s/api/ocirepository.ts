/**
 * `source.toolkit.fluxcd.io` OCIRepository: types, identity constants, defaults and a validating parser.
 * Field semantics: ../shared/spec/ocirepository.md §1. v1 is the storage version; v1beta2 is served beside it
 * with the same schema except `status.contentConfigChecksum` (v1beta2 only) and
 * `spec.verify.trustedRootSecretRef` (v1 only).
 */
import { fail } from "../../core/index.ts";
import { INTERVAL_PATTERN, TIMEOUT_PATTERN, URL_PATTERN } from "./schema.ts";

/** API group of all Flux source kinds. */
export const SOURCE_GROUP = "source.toolkit.fluxcd.io";
/** The storage version; the controller reconciles this one only. */
export const OCIREPOSITORY_VERSION_V1 = "v1";
/** Served and deprecated in source-controller v1.6–v1.7; dropped upstream in v1.8. */
export const OCIREPOSITORY_VERSION_V1BETA2 = "v1beta2";
/** Both versions berth's CRD serves. */
export type OCIRepositoryVersion = typeof OCIREPOSITORY_VERSION_V1 | typeof OCIREPOSITORY_VERSION_V1BETA2;
export const OCIREPOSITORY_KIND = "OCIRepository";
export const OCIREPOSITORY_LIST_KIND = "OCIRepositoryList";
export const OCIREPOSITORY_PLURAL = "ocirepositories";
export const OCIREPOSITORY_SINGULAR = "ocirepository";
export const OCIREPOSITORY_SHORT_NAMES: readonly string[] = ["ocirepo"];
/** Added by source-controller v1.9.1. */
export const OCIREPOSITORY_CATEGORIES: readonly string[] = ["all", "fluxcd", "fluxcd-sources"];
/** `metadata.name` of the CRD: `<plural>.<group>`. */
export const OCIREPOSITORY_CRD_NAME = `${OCIREPOSITORY_PLURAL}.${SOURCE_GROUP}`;
/** Shown by the API server to clients that use v1beta2. */
export const V1BETA2_DEPRECATION_WARNING = "v1beta2 OCIRepository is deprecated, upgrade to v1";

/** Group/version/resource triple, the address of a resource in the API server's REST paths. */
export interface GroupVersionResource {
  group: string;
  version: string;
  resource: string;
}

/** GVR of the storage version. */
export const OCIREPOSITORY_GVR: GroupVersionResource = {
  group: SOURCE_GROUP,
  version: OCIREPOSITORY_VERSION_V1,
  resource: OCIREPOSITORY_PLURAL,
};
/** GVR of the deprecated served version (Flux ≤ 2.5 consumers read it). */
export const OCIREPOSITORY_V1BETA2_GVR: GroupVersionResource = { ...OCIREPOSITORY_GVR, version: OCIREPOSITORY_VERSION_V1BETA2 };

/** The finalizer source-controller puts on every object it reconciles. */
export const SOURCE_FINALIZER = "finalizers.fluxcd.io";
/** Annotation whose changed value requests an immediate reconcile (`flux reconcile`). */
export const RECONCILE_REQUEST_ANNOTATION = "reconcile.fluxcd.io/requestedAt";
/** Scheme prefix `spec.url` must carry. */
export const OCIREPOSITORY_URL_PREFIX = "oci://";

/** Credential providers (`spec.provider`). */
export const OCI_PROVIDERS = ["generic", "aws", "azure", "gcp"] as const;
export type OCIProvider = (typeof OCI_PROVIDERS)[number];
/** Layer operations (`spec.layerSelector.operation`). */
export const LAYER_OPERATIONS = ["extract", "copy"] as const;
export type OCILayerOperation = (typeof LAYER_OPERATIONS)[number];
/** Signature verification providers (`spec.verify.provider`). */
export const VERIFY_PROVIDERS = ["cosign", "notation"] as const;
export type VerifyProvider = (typeof VERIFY_PROVIDERS)[number];

/** Defaults applied by the CRD schema (API server) or, where noted, by the controller. */
export const OCIREPOSITORY_DEFAULTS = {
  /** CRD default of `spec.timeout`. */
  timeout: "60s",
  /** CRD default of `spec.provider`. */
  provider: "generic" as OCIProvider,
  /** CRD default of `spec.verify.provider`. */
  verifyProvider: "cosign" as VerifyProvider,
  /** Controller default: no `ref`, or a `ref` with every field empty, means this tag. */
  tag: "latest",
  /** Controller default: an empty `layerSelector.operation` means extract. */
  layerOperation: "extract" as OCILayerOperation,
  /** CRD default of `status`: `{observedGeneration: -1}`. */
  observedGeneration: -1,
  /** `spec.interval` has no default: it is required. */
} as const;

/** `{name}` reference to a Secret in the object's namespace. */
export interface LocalObjectReference {
  name: string;
}

/** `spec.ref`: digest beats semver beats tag (spec §1.3). */
export interface OCIRepositoryRefSpec {
  digest?: string;
  semver?: string;
  /** RE2 regex applied to tags before semver matching; ignored without `semver`. */
  semverFilter?: string;
  tag?: string;
}

/** `spec.layerSelector` / `status.observedLayerSelector`. */
export interface OCILayerSelector {
  mediaType?: string;
  operation?: OCILayerOperation;
}

/** One keyless identity: both are RE2 regexes. */
export interface OIDCIdentityMatch {
  issuer: string;
  subject: string;
}

/** `spec.verify`. */
export interface OCIRepositoryVerification {
  provider: VerifyProvider;
  secretRef?: LocalObjectReference;
  matchOIDCIdentity?: OIDCIdentityMatch[];
  /** v1 only (source-controller v1.9.0+): Secret holding `trusted_root.json`. */
  trustedRootSecretRef?: LocalObjectReference;
}

/** `spec` of an OCIRepository, with CRD defaults applied when it came through `parseOCIRepository`. */
export interface OCIRepositorySpec {
  url: string;
  ref?: OCIRepositoryRefSpec;
  layerSelector?: OCILayerSelector;
  provider?: OCIProvider;
  secretRef?: LocalObjectReference;
  verify?: OCIRepositoryVerification;
  serviceAccountName?: string;
  certSecretRef?: LocalObjectReference;
  proxySecretRef?: LocalObjectReference;
  interval: string;
  timeout?: string;
  ignore?: string;
  insecure?: boolean;
  suspend?: boolean;
}

/** metav1.Condition. */
export interface Condition {
  type: string;
  status: "True" | "False" | "Unknown";
  observedGeneration?: number;
  /** RFC 3339, UTC, whole seconds. */
  lastTransitionTime: string;
  reason: string;
  message: string;
}

/** fluxcd meta.Artifact (`status.artifact`). */
export interface SourceArtifact {
  /** Digest of the stored file bytes, `<algo>:<hex>`. */
  digest: string;
  /** `ocirepository/<ns>/<name>/<file>` relative to the storage root. */
  path: string;
  url: string;
  /** `<tag>@sha256:<hex>` or `sha256:<hex>` of the OCI manifest. */
  revision: string;
  lastUpdateTime: string;
  size?: number;
  /** The pulled manifest's annotations. */
  metadata?: Record<string, string>;
}

/** `status` of an OCIRepository. */
export interface OCIRepositoryStatus {
  observedGeneration?: number;
  conditions?: Condition[];
  url?: string;
  artifact?: SourceArtifact;
  observedIgnore?: string;
  observedLayerSelector?: OCILayerSelector;
  lastHandledReconcileAt?: string;
  /** v1beta2 only, deprecated; the controller writes "" or nothing. */
  contentConfigChecksum?: string;
}

/** The object metadata fields the controller reads. */
export interface ObjectMeta {
  name: string;
  namespace: string;
  generation?: number;
  resourceVersion?: string;
  uid?: string;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  finalizers?: string[];
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

/** A whole OCIRepository object as read from the API server. */
export interface OCIRepository {
  apiVersion: `${typeof SOURCE_GROUP}/${OCIRepositoryVersion}`;
  kind: typeof OCIREPOSITORY_KIND;
  metadata: ObjectMeta;
  spec: OCIRepositorySpec;
  status: OCIRepositoryStatus;
}

type Obj = Record<string, unknown>;

const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);

function invalid(path: string, why: string): never {
  fail("USAGE", `invalid OCIRepository: ${path} ${why}`, { hint: "fix the OCIRepository manifest and apply it again" });
}

function optString(o: Obj, key: string, path: string, pattern?: string): string | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "string") invalid(`${path}.${key}`, `must be a string, got ${typeof v}`);
  if (pattern !== undefined && !new RegExp(pattern).test(v)) invalid(`${path}.${key}`, `"${v}" does not match ${pattern}`);
  return v;
}

function optBool(o: Obj, key: string, path: string): boolean | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "boolean") invalid(`${path}.${key}`, `must be a boolean, got ${typeof v}`);
  return v;
}

function optEnum<T extends string>(o: Obj, key: string, path: string, allowed: readonly T[]): T | undefined {
  const v = optString(o, key, path);
  if (v === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(v)) invalid(`${path}.${key}`, `"${v}" is not one of ${allowed.join(", ")}`);
  return v as T;
}

function optObj(o: Obj, key: string, path: string): Obj | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (!isObj(v)) invalid(`${path}.${key}`, "must be an object");
  return v;
}

function optLocalRef(o: Obj, key: string, path: string): LocalObjectReference | undefined {
  const r = optObj(o, key, path);
  if (r === undefined) return undefined;
  const name = optString(r, "name", `${path}.${key}`);
  if (name === undefined) invalid(`${path}.${key}.name`, "is required");
  return { name };
}

function optLayerSelector(o: Obj, key: string, path: string): OCILayerSelector | undefined {
  const ls = optObj(o, key, path);
  if (ls === undefined) return undefined;
  return compact({ mediaType: optString(ls, "mediaType", `${path}.${key}`), operation: optEnum(ls, "operation", `${path}.${key}`, LAYER_OPERATIONS) });
}

/** Drops undefined members so parsed objects deep-equal hand-written ones. */
function compact<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

function parseSpec(raw: unknown, version: OCIRepositoryVersion): OCIRepositorySpec {
  if (!isObj(raw)) invalid("spec", "is required");
  const p = "spec";
  const url = optString(raw, "url", p);
  if (url === undefined) invalid("spec.url", "is required");
  if (!new RegExp(URL_PATTERN).test(url)) {
    fail("REF_INVALID", `invalid OCIRepository: spec.url "${url}" must start with ${OCIREPOSITORY_URL_PREFIX}`, {
      ref: url,
      hint: "write the repository address as oci://<host>/<path>",
    });
  }
  const interval = optString(raw, "interval", p, INTERVAL_PATTERN);
  if (interval === undefined) invalid("spec.interval", "is required");
  const refObj = optObj(raw, "ref", p);
  const ref = refObj
    ? compact({
        digest: optString(refObj, "digest", "spec.ref"),
        semver: optString(refObj, "semver", "spec.ref"),
        semverFilter: optString(refObj, "semverFilter", "spec.ref"),
        tag: optString(refObj, "tag", "spec.ref"),
      })
    : undefined;
  const verifyObj = optObj(raw, "verify", p);
  let verify: OCIRepositoryVerification | undefined;
  if (verifyObj) {
    const ids = verifyObj.matchOIDCIdentity;
    let matchOIDCIdentity: OIDCIdentityMatch[] | undefined;
    if (ids !== undefined && ids !== null) {
      if (!Array.isArray(ids)) invalid("spec.verify.matchOIDCIdentity", "must be an array");
      matchOIDCIdentity = ids.map((m, i) => {
        const at = `spec.verify.matchOIDCIdentity[${i}]`;
        if (!isObj(m)) invalid(at, "must be an object");
        const issuer = optString(m, "issuer", at);
        const subject = optString(m, "subject", at);
        if (issuer === undefined) invalid(`${at}.issuer`, "is required");
        if (subject === undefined) invalid(`${at}.subject`, "is required");
        return { issuer, subject };
      });
    }
    const trustedRootSecretRef = optLocalRef(verifyObj, "trustedRootSecretRef", "spec.verify");
    if (trustedRootSecretRef && version !== OCIREPOSITORY_VERSION_V1) invalid("spec.verify.trustedRootSecretRef", "exists only in v1");
    verify = compact({
      provider: optEnum(verifyObj, "provider", "spec.verify", VERIFY_PROVIDERS) ?? OCIREPOSITORY_DEFAULTS.verifyProvider,
      secretRef: optLocalRef(verifyObj, "secretRef", "spec.verify"),
      matchOIDCIdentity,
      trustedRootSecretRef,
    });
  }
  return compact({
    url,
    ref,
    layerSelector: optLayerSelector(raw, "layerSelector", p),
    provider: optEnum(raw, "provider", p, OCI_PROVIDERS) ?? OCIREPOSITORY_DEFAULTS.provider,
    secretRef: optLocalRef(raw, "secretRef", p),
    verify,
    serviceAccountName: optString(raw, "serviceAccountName", p),
    certSecretRef: optLocalRef(raw, "certSecretRef", p),
    proxySecretRef: optLocalRef(raw, "proxySecretRef", p),
    interval,
    timeout: optString(raw, "timeout", p, TIMEOUT_PATTERN) ?? OCIREPOSITORY_DEFAULTS.timeout,
    ignore: optString(raw, "ignore", p),
    insecure: optBool(raw, "insecure", p),
    suspend: optBool(raw, "suspend", p),
  });
}

function parseStatus(raw: unknown): OCIRepositoryStatus {
  if (raw === undefined || raw === null) return { observedGeneration: OCIREPOSITORY_DEFAULTS.observedGeneration };
  if (!isObj(raw)) invalid("status", "must be an object");
  const og = raw.observedGeneration;
  if (og !== undefined && og !== null && !Number.isInteger(og)) invalid("status.observedGeneration", "must be an integer");
  const conds = raw.conditions;
  if (conds !== undefined && conds !== null && !Array.isArray(conds)) invalid("status.conditions", "must be an array");
  const conditions = (conds as unknown[] | undefined | null)?.map((c, i): Condition => {
    const at = `status.conditions[${i}]`;
    if (!isObj(c)) invalid(at, "must be an object");
    const type = optString(c, "type", at);
    if (type === undefined) invalid(`${at}.type`, "is required");
    const status = optEnum(c, "status", at, ["True", "False", "Unknown"] as const);
    if (status === undefined) invalid(`${at}.status`, "is required");
    const cog = c.observedGeneration;
    return compact({
      type,
      status,
      observedGeneration: typeof cog === "number" ? cog : undefined,
      lastTransitionTime: optString(c, "lastTransitionTime", at) ?? "",
      reason: optString(c, "reason", at) ?? "",
      message: optString(c, "message", at) ?? "",
    });
  });
  // The artifact and the observed fields are written by the controller itself; they are passed through
  // with a shape check only.
  const artifact = optObj(raw, "artifact", "status") as SourceArtifact | undefined;
  return compact({
    observedGeneration: (og as number | undefined | null) ?? OCIREPOSITORY_DEFAULTS.observedGeneration,
    conditions,
    url: optString(raw, "url", "status"),
    artifact,
    observedIgnore: optString(raw, "observedIgnore", "status"),
    observedLayerSelector: optLayerSelector(raw, "observedLayerSelector", "status"),
    lastHandledReconcileAt: optString(raw, "lastHandledReconcileAt", "status"),
    contentConfigChecksum: optString(raw, "contentConfigChecksum", "status"),
  });
}

/**
 * Validates an object as an OCIRepository of either served version and applies the CRD defaults
 * (`provider: generic`, `timeout: 60s`, `verify.provider: cosign`, `status.observedGeneration: -1`), so the
 * controller sees what the API server would have stored. Unknown fields are dropped, as the API server's
 * pruning would. Throws `REF_INVALID` for a bad `spec.url` and `USAGE` for every other violation.
 */
export function parseOCIRepository(obj: unknown): OCIRepository {
  if (!isObj(obj)) invalid("object", "must be a JSON object");
  const apiVersion = obj.apiVersion;
  const version = typeof apiVersion === "string" && apiVersion.startsWith(`${SOURCE_GROUP}/`) ? apiVersion.slice(SOURCE_GROUP.length + 1) : undefined;
  if (version !== OCIREPOSITORY_VERSION_V1 && version !== OCIREPOSITORY_VERSION_V1BETA2) {
    invalid("apiVersion", `"${String(apiVersion)}" is not ${SOURCE_GROUP}/v1 or ${SOURCE_GROUP}/v1beta2`);
  }
  if (obj.kind !== OCIREPOSITORY_KIND) invalid("kind", `"${String(obj.kind)}" is not ${OCIREPOSITORY_KIND}`);
  const md = obj.metadata;
  if (!isObj(md)) invalid("metadata", "is required");
  const name = optString(md, "name", "metadata");
  if (!name) invalid("metadata.name", "is required");
  const namespace = optString(md, "namespace", "metadata") ?? "default";
  const metadata: ObjectMeta = { ...(md as Partial<ObjectMeta>), name, namespace };
  const status = parseStatus(obj.status);
  if (version === OCIREPOSITORY_VERSION_V1) delete status.contentConfigChecksum;
  return {
    apiVersion: `${SOURCE_GROUP}/${version}`,
    kind: OCIREPOSITORY_KIND,
    metadata,
    spec: parseSpec(obj.spec, version),
    status,
  };
}

/** The ref the controller resolves: digest, else semver (+filter), else tag, else `latest` (spec §1.3). */
export function effectiveRef(spec: Pick<OCIRepositorySpec, "ref">): OCIRepositoryRefSpec {
  const r = spec.ref ?? {};
  if (r.digest) return { digest: r.digest };
  if (r.semver) return r.semverFilter ? { semver: r.semver, semverFilter: r.semverFilter } : { semver: r.semver };
  return { tag: r.tag || OCIREPOSITORY_DEFAULTS.tag };
}

/** The layer selection the controller applies: absent media type = first layer; empty operation = extract. */
export function effectiveLayerSelector(spec: Pick<OCIRepositorySpec, "layerSelector">): Required<Pick<OCILayerSelector, "operation">> & OCILayerSelector {
  const ls = spec.layerSelector ?? {};
  return { ...ls, operation: ls.operation ?? OCIREPOSITORY_DEFAULTS.layerOperation };
}
