/**
 * The CustomResourceDefinition berth installs for OCIRepository, generated from ./schema.ts.
 *
 * Target: source-controller v1.7.4's CRD (v1 storage + v1beta2 served/deprecated) with what later releases added.
 * Differences between upstream v1.7.4 and upstream main @ 39b711b1 (v1.9.1 + one annotation), found by diffing
 * the two files in ../shared/crd/:
 *  - `spec.names.categories: [all, fluxcd, fluxcd-sources]` (v1.9.1)            → included
 *  - v1 `spec.verify.trustedRootSecretRef {name}` (v1.9.0; never in v1beta2)     → included in v1 only
 *  - v1beta2 version entry removed (v1.8.0)                                      → kept, served + deprecated
 *  - annotation `controller-gen.kubebuilder.io/version` v0.19.0 → v0.21.0          → omitted (berth is not controller-gen)
 *  - annotation `kustomize.toolkit.fluxcd.io/substitute: disabled` (main only)   → included: the schema's
 *    patterns hold `$`, which a Flux Kustomization's post-build substitution must not touch
 *  - doc strings                                                                  → omitted (see ./schema.ts)
 */
import { ocirepositorySchema, type JSONSchemaProps } from "./schema.ts";
import {
  OCIREPOSITORY_CATEGORIES,
  OCIREPOSITORY_CRD_NAME,
  OCIREPOSITORY_KIND,
  OCIREPOSITORY_LIST_KIND,
  OCIREPOSITORY_PLURAL,
  OCIREPOSITORY_SHORT_NAMES,
  OCIREPOSITORY_SINGULAR,
  OCIREPOSITORY_VERSION_V1,
  OCIREPOSITORY_VERSION_V1BETA2,
  SOURCE_GROUP,
  V1BETA2_DEPRECATION_WARNING,
} from "./ocirepository.ts";

/** One `spec.versions[]` entry of a CRD. */
export interface CRDVersion {
  name: string;
  served: boolean;
  storage: boolean;
  deprecated?: boolean;
  deprecationWarning?: string;
  additionalPrinterColumns: { name: string; type: string; jsonPath: string }[];
  schema: { openAPIV3Schema: JSONSchemaProps };
  subresources: { status: Record<string, never> };
}

/** apiextensions.k8s.io/v1 CustomResourceDefinition, restricted to what this CRD uses. */
export interface CustomResourceDefinition {
  apiVersion: "apiextensions.k8s.io/v1";
  kind: "CustomResourceDefinition";
  metadata: { name: string; annotations?: Record<string, string>; labels?: Record<string, string> };
  spec: {
    group: string;
    names: { kind: string; listKind: string; plural: string; singular: string; shortNames: string[]; categories: string[] };
    scope: "Namespaced";
    versions: CRDVersion[];
  };
}

/** Options of `ocirepositoryCRD`. */
export interface CRDOptions {
  /** Also serve the deprecated v1beta2 (for Flux ≤ 2.5 consumers). Default: true. */
  serveV1beta2?: boolean;
  /** Extra labels on the CRD object (e.g. `app.kubernetes.io/part-of`). Default: none. */
  labels?: Record<string, string>;
}

/** Defaults of `CRDOptions`. */
export const DEFAULT_CRD_OPTIONS: Required<CRDOptions> = { serveV1beta2: true, labels: {} };

const printerColumns = (): CRDVersion["additionalPrinterColumns"] => [
  { name: "URL", type: "string", jsonPath: ".spec.url" },
  { name: "Ready", type: "string", jsonPath: '.status.conditions[?(@.type=="Ready")].status' },
  { name: "Status", type: "string", jsonPath: '.status.conditions[?(@.type=="Ready")].message' },
  { name: "Age", type: "date", jsonPath: ".metadata.creationTimestamp" },
];

/** Builds the OCIRepository CRD: v1 (served, storage) and optionally v1beta2 (served, deprecated). */
export function ocirepositoryCRD(options: CRDOptions = {}): CustomResourceDefinition {
  const serveV1beta2 = options.serveV1beta2 ?? DEFAULT_CRD_OPTIONS.serveV1beta2;
  const labels = options.labels ?? DEFAULT_CRD_OPTIONS.labels;
  const versions: CRDVersion[] = [
    {
      name: OCIREPOSITORY_VERSION_V1,
      served: true,
      storage: true,
      additionalPrinterColumns: printerColumns(),
      schema: { openAPIV3Schema: ocirepositorySchema("v1") },
      subresources: { status: {} },
    },
  ];
  if (serveV1beta2) {
    versions.push({
      name: OCIREPOSITORY_VERSION_V1BETA2,
      served: true,
      storage: false,
      deprecated: true,
      deprecationWarning: V1BETA2_DEPRECATION_WARNING,
      additionalPrinterColumns: printerColumns(),
      schema: { openAPIV3Schema: ocirepositorySchema("v1beta2") },
      subresources: { status: {} },
    });
  }
  return {
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "CustomResourceDefinition",
    metadata: {
      name: OCIREPOSITORY_CRD_NAME,
      annotations: { "kustomize.toolkit.fluxcd.io/substitute": "disabled" },
      ...(Object.keys(labels).length > 0 ? { labels: { ...labels } } : {}),
    },
    spec: {
      group: SOURCE_GROUP,
      names: {
        kind: OCIREPOSITORY_KIND,
        listKind: OCIREPOSITORY_LIST_KIND,
        plural: OCIREPOSITORY_PLURAL,
        singular: OCIREPOSITORY_SINGULAR,
        shortNames: [...OCIREPOSITORY_SHORT_NAMES],
        categories: [...OCIREPOSITORY_CATEGORIES],
      },
      scope: "Namespaced",
      versions,
    },
  };
}
