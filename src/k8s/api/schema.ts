/**
 * berth's OpenAPI v3 schema for `source.toolkit.fluxcd.io` OCIRepository, as plain data.
 *
 * Written by hand from the field table of ../shared/spec/ocirepository.md §1.2–1.5 so that the CRD berth
 * installs is structurally the one source-controller installs (checked against the upstream YAML by
 * test/unit/k8s/api/crd.test.ts). Upstream doc strings are deliberately not reproduced: the CRD carries
 * no `description` fields, which the API server treats as pure documentation.
 */

/** The subset of JSON-Schema-props the OCIRepository CRD uses. */
export interface JSONSchemaProps {
  type?: "object" | "array" | "string" | "integer" | "boolean";
  format?: string;
  pattern?: string;
  enum?: string[];
  default?: unknown;
  minimum?: number;
  minLength?: number;
  maxLength?: number;
  required?: string[];
  properties?: Record<string, JSONSchemaProps>;
  additionalProperties?: JSONSchemaProps;
  items?: JSONSchemaProps;
}

/** Go `time.ParseDuration` strings limited to ms/s/m/h, as `spec.interval` accepts. */
export const INTERVAL_PATTERN = "^([0-9]+(\\.[0-9]+)?(ms|s|m|h))+$";
/** Like INTERVAL_PATTERN without hours, as `spec.timeout` accepts. */
export const TIMEOUT_PATTERN = "^([0-9]+(\\.[0-9]+)?(ms|s|m))+$";
/** `spec.url` must carry the `oci://` scheme. */
export const URL_PATTERN = "^oci://.*$";
/** `status.artifact.digest`: `<algorithm>:<encoded>`. */
export const ARTIFACT_DIGEST_PATTERN = "^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$";
/** metav1.Condition `reason`. */
export const CONDITION_REASON_PATTERN = "^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$";
/** metav1.Condition `type`: an optionally DNS-prefixed qualified name. */
export const CONDITION_TYPE_PATTERN =
  "^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$";

const str = (extra: JSONSchemaProps = {}): JSONSchemaProps => ({ type: "string", ...extra });
const localRef = (): JSONSchemaProps => ({ type: "object", properties: { name: str() }, required: ["name"] });
const layerSelector = (): JSONSchemaProps => ({
  type: "object",
  properties: { mediaType: str(), operation: str({ enum: ["extract", "copy"] }) },
});

const condition: JSONSchemaProps = {
  type: "object",
  properties: {
    lastTransitionTime: str({ format: "date-time" }),
    message: str({ maxLength: 32768 }),
    observedGeneration: { type: "integer", format: "int64", minimum: 0 },
    reason: str({ maxLength: 1024, minLength: 1, pattern: CONDITION_REASON_PATTERN }),
    status: str({ enum: ["True", "False", "Unknown"] }),
    type: str({ maxLength: 316, pattern: CONDITION_TYPE_PATTERN }),
  },
  required: ["lastTransitionTime", "message", "reason", "status", "type"],
};

const artifact: JSONSchemaProps = {
  type: "object",
  properties: {
    digest: str({ pattern: ARTIFACT_DIGEST_PATTERN }),
    lastUpdateTime: str({ format: "date-time" }),
    metadata: { type: "object", additionalProperties: str() },
    path: str(),
    revision: str(),
    size: { type: "integer", format: "int64" },
    url: str(),
  },
  required: ["digest", "lastUpdateTime", "path", "revision", "url"],
};

/** Which served version a schema is for; the two differ in two fields only (see `ocirepositorySchema`). */
export type SchemaVersion = "v1" | "v1beta2";

/**
 * The `openAPIV3Schema` of one served version. v1 has `spec.verify.trustedRootSecretRef` (source-controller
 * v1.9.0+); v1beta2 has the deprecated `status.contentConfigChecksum`. Everything else is shared.
 */
export function ocirepositorySchema(version: SchemaVersion): JSONSchemaProps {
  const verify: JSONSchemaProps = {
    type: "object",
    properties: {
      matchOIDCIdentity: {
        type: "array",
        items: { type: "object", properties: { issuer: str(), subject: str() }, required: ["issuer", "subject"] },
      },
      provider: str({ default: "cosign", enum: ["cosign", "notation"] }),
      secretRef: localRef(),
      ...(version === "v1" ? { trustedRootSecretRef: localRef() } : {}),
    },
    required: ["provider"],
  };
  const spec: JSONSchemaProps = {
    type: "object",
    properties: {
      certSecretRef: localRef(),
      ignore: str(),
      insecure: { type: "boolean" },
      interval: str({ pattern: INTERVAL_PATTERN }),
      layerSelector: layerSelector(),
      provider: str({ default: "generic", enum: ["generic", "aws", "azure", "gcp"] }),
      proxySecretRef: localRef(),
      ref: { type: "object", properties: { digest: str(), semver: str(), semverFilter: str(), tag: str() } },
      secretRef: localRef(),
      serviceAccountName: str(),
      suspend: { type: "boolean" },
      timeout: str({ default: "60s", pattern: TIMEOUT_PATTERN }),
      url: str({ pattern: URL_PATTERN }),
      verify,
    },
    required: ["interval", "url"],
  };
  const status: JSONSchemaProps = {
    type: "object",
    default: { observedGeneration: -1 },
    properties: {
      artifact,
      conditions: { type: "array", items: condition },
      ...(version === "v1beta2" ? { contentConfigChecksum: str() } : {}),
      lastHandledReconcileAt: str(),
      observedGeneration: { type: "integer", format: "int64" },
      observedIgnore: str(),
      observedLayerSelector: layerSelector(),
      url: str(),
    },
  };
  return {
    type: "object",
    properties: { apiVersion: str(), kind: str(), metadata: { type: "object" }, spec, status },
  };
}
