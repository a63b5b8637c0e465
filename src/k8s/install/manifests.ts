/**
 * The objects that run berth as an OCIRepository controller in a cluster (`berth install`), shaped
 * after source-controller's stock install (spec §7): one replica, `Recreate`, `emptyDir` for `/data`
 * and `/tmp`, a read-only root filesystem, and a Service whose port 80 serves artifacts, so that
 * `status.artifact.url` works for Flux's consumers exactly as source-controller's does.
 */
import { fail } from "../../core/index.ts";
import { ocirepositoryCRD } from "../api/crd.ts";
import { OCIREPOSITORY_PLURAL, SOURCE_GROUP } from "../api/ocirepository.ts";

/** Namespace Flux itself installs into, and berth's default. */
export const DEFAULT_INSTALL_NAMESPACE = "flux-system";
/** Repository of berth's controller image; the tag is berth's version. */
export const BERTH_IMAGE_REPOSITORY = "ghcr.io/berth/berth";
/** Name of the Deployment, ServiceAccount, Service and ClusterRole. */
export const CONTROLLER_NAME = "berth-controller";
/** Port the artifact file server binds in the pod (`--storage-addr`). */
export const STORAGE_PORT = 9090;
/** Port of `/metrics` (`--metrics-addr`). */
export const METRICS_PORT = 8080;
/** Port of `/healthz` and `/readyz` (`--health-addr`). */
export const HEALTH_PORT = 9440;

/** A Kubernetes object as written to the API server: only the fields every kind shares are typed. */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [field: string]: unknown;
}

/** Options of {@link installManifests}. */
export interface InstallOptions {
  /** Namespace of the controller's namespaced objects. Default {@link DEFAULT_INSTALL_NAMESPACE}. */
  namespace?: string;
  /** Controller image reference. Default `${BERTH_IMAGE_REPOSITORY}:<version>`. */
  image?: string;
  /** berth's version, for the default image tag and the `app.kubernetes.io/version` label. Default "latest" (no label). */
  version?: string;
}

/** Defaults of {@link InstallOptions} (`image` is derived from `version`). */
export const DEFAULT_INSTALL_OPTIONS = { namespace: DEFAULT_INSTALL_NAMESPACE, version: "latest" } as const;

/** RFC 1123 label: what Kubernetes accepts as a namespace name. */
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/**
 * The manifests in apply order: CRD, Namespace, ServiceAccount, ClusterRole, ClusterRoleBinding, Role
 * and RoleBinding (leader-election leases), Service, Deployment. Pure; throws USAGE for a namespace
 * name the API server would refuse.
 */
export function installManifests(options: InstallOptions = {}): KubeObject[] {
  const namespace = options.namespace ?? DEFAULT_INSTALL_OPTIONS.namespace;
  const version = options.version ?? DEFAULT_INSTALL_OPTIONS.version;
  const image = options.image ?? `${BERTH_IMAGE_REPOSITORY}:${version}`;
  if (namespace.length > 63 || !DNS_LABEL.test(namespace)) {
    fail("USAGE", `invalid namespace ${JSON.stringify(namespace)}: use lower-case letters, digits and '-', at most 63 characters`);
  }
  if (image === "" || /\s/.test(image)) fail("USAGE", `invalid image reference ${JSON.stringify(image)}`);

  const labels: Record<string, string> = {
    "app.kubernetes.io/name": CONTROLLER_NAME,
    "app.kubernetes.io/component": "controller",
    "app.kubernetes.io/part-of": "berth",
    ...(version !== "latest" ? { "app.kubernetes.io/version": version } : {}),
  };
  // Selector labels must never change across upgrades (a Deployment's selector is immutable).
  const selector = { app: CONTROLLER_NAME };
  const meta = (name: string, ns?: string) => ({ name, ...(ns ? { namespace: ns } : {}), labels: { ...labels } });

  const leaderElection = `${CONTROLLER_NAME}-leader-election`;
  const crd = ocirepositoryCRD() as unknown as KubeObject;
  return [
    crd,
    { apiVersion: "v1", kind: "Namespace", metadata: meta(namespace) },
    { apiVersion: "v1", kind: "ServiceAccount", metadata: meta(CONTROLLER_NAME, namespace) },
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "ClusterRole",
      metadata: meta(CONTROLLER_NAME),
      rules: [
        { apiGroups: [SOURCE_GROUP], resources: [OCIREPOSITORY_PLURAL], verbs: ["get", "list", "watch", "create", "update", "patch", "delete"] },
        { apiGroups: [SOURCE_GROUP], resources: [`${OCIREPOSITORY_PLURAL}/status`], verbs: ["get", "update", "patch"] },
        { apiGroups: [SOURCE_GROUP], resources: [`${OCIREPOSITORY_PLURAL}/finalizers`], verbs: ["get", "create", "update", "patch", "delete"] },
        { apiGroups: [""], resources: ["secrets", "serviceaccounts"], verbs: ["get", "list", "watch"] },
        { apiGroups: [""], resources: ["serviceaccounts/token"], verbs: ["create"] },
        { apiGroups: ["", "events.k8s.io"], resources: ["events"], verbs: ["create", "patch"] },
      ],
    },
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "ClusterRoleBinding",
      // Cluster-scoped: the namespace in the name lets installs in two namespaces coexist.
      metadata: meta(`${CONTROLLER_NAME}-${namespace}`),
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: CONTROLLER_NAME },
      subjects: [{ kind: "ServiceAccount", name: CONTROLLER_NAME, namespace }],
    },
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "Role",
      metadata: meta(leaderElection, namespace),
      rules: [{ apiGroups: ["coordination.k8s.io"], resources: ["leases"], verbs: ["get", "list", "watch", "create", "update", "patch", "delete"] }],
    },
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "RoleBinding",
      metadata: meta(leaderElection, namespace),
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: leaderElection },
      subjects: [{ kind: "ServiceAccount", name: CONTROLLER_NAME, namespace }],
    },
    {
      apiVersion: "v1",
      kind: "Service",
      metadata: meta(CONTROLLER_NAME, namespace),
      spec: {
        type: "ClusterIP",
        selector,
        ports: [{ name: "http", port: 80, protocol: "TCP", targetPort: "http" }],
      },
    },
    deployment(meta(CONTROLLER_NAME, namespace), labels, selector, image),
  ];
}

function deployment(metadata: KubeObject["metadata"], labels: Record<string, string>, selector: Record<string, string>, image: string): KubeObject {
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata,
    spec: {
      replicas: 1,
      // Two pods would each hold their own emptyDir storage; the old one must be gone first.
      strategy: { type: "Recreate" },
      selector: { matchLabels: selector },
      template: {
        metadata: { labels: { ...labels, ...selector } },
        spec: {
          serviceAccountName: CONTROLLER_NAME,
          terminationGracePeriodSeconds: 10,
          nodeSelector: { "kubernetes.io/os": "linux" },
          securityContext: { fsGroup: 1337 },
          containers: [
            {
              name: "manager",
              image,
              imagePullPolicy: "IfNotPresent",
              command: ["/usr/local/bin/berth"],
              args: [
                "--controller",
                "--storage-path=/data",
                `--storage-addr=:${STORAGE_PORT}`,
                // The Service's port 80 maps to the file server, so artifact URLs carry no port.
                `--storage-adv-addr=${CONTROLLER_NAME}.$(RUNTIME_NAMESPACE).svc.cluster.local.`,
                "--enable-leader-election",
                `--metrics-addr=:${METRICS_PORT}`,
                `--health-addr=:${HEALTH_PORT}`,
              ],
              env: [{ name: "RUNTIME_NAMESPACE", valueFrom: { fieldRef: { fieldPath: "metadata.namespace" } } }],
              ports: [
                { containerPort: STORAGE_PORT, name: "http", protocol: "TCP" },
                { containerPort: METRICS_PORT, name: "http-prom", protocol: "TCP" },
                { containerPort: HEALTH_PORT, name: "healthz", protocol: "TCP" },
              ],
              livenessProbe: { httpGet: { path: "/healthz", port: "healthz" } },
              // As source-controller: ready means "serves artifacts", which only the leader does, so
              // the Service never routes to a standby during a fail-over.
              readinessProbe: { httpGet: { path: "/", port: "http" } },
              resources: { limits: { cpu: "1000m", memory: "1Gi" }, requests: { cpu: "50m", memory: "64Mi" } },
              securityContext: {
                allowPrivilegeEscalation: false,
                readOnlyRootFilesystem: true,
                runAsNonRoot: true,
                capabilities: { drop: ["ALL"] },
                seccompProfile: { type: "RuntimeDefault" },
              },
              volumeMounts: [
                { name: "data", mountPath: "/data" },
                { name: "tmp", mountPath: "/tmp" },
              ],
            },
          ],
          volumes: [
            { name: "data", emptyDir: {} },
            { name: "tmp", emptyDir: {} },
          ],
        },
      },
    },
  };
}

/** Where a kind lives in the API: group/version prefix, plural and whether it is namespaced. */
interface KindPath {
  prefix: string;
  plural: string;
  namespaced: boolean;
}

/** The kinds `installManifests` emits, keyed `apiVersion/kind`. */
const KIND_PATHS: Record<string, KindPath> = {
  "apiextensions.k8s.io/v1/CustomResourceDefinition": { prefix: "/apis/apiextensions.k8s.io/v1", plural: "customresourcedefinitions", namespaced: false },
  "v1/Namespace": { prefix: "/api/v1", plural: "namespaces", namespaced: false },
  "v1/ServiceAccount": { prefix: "/api/v1", plural: "serviceaccounts", namespaced: true },
  "v1/Service": { prefix: "/api/v1", plural: "services", namespaced: true },
  "rbac.authorization.k8s.io/v1/ClusterRole": { prefix: "/apis/rbac.authorization.k8s.io/v1", plural: "clusterroles", namespaced: false },
  "rbac.authorization.k8s.io/v1/ClusterRoleBinding": { prefix: "/apis/rbac.authorization.k8s.io/v1", plural: "clusterrolebindings", namespaced: false },
  "rbac.authorization.k8s.io/v1/Role": { prefix: "/apis/rbac.authorization.k8s.io/v1", plural: "roles", namespaced: true },
  "rbac.authorization.k8s.io/v1/RoleBinding": { prefix: "/apis/rbac.authorization.k8s.io/v1", plural: "rolebindings", namespaced: true },
  "apps/v1/Deployment": { prefix: "/apis/apps/v1", plural: "deployments", namespaced: true },
};

/** The REST path of one object (`/apis/apps/v1/namespaces/ns/deployments/name`). Throws INTERNAL for a kind not in the table. */
export function objectPath(obj: KubeObject): string {
  const k = KIND_PATHS[`${obj.apiVersion}/${obj.kind}`];
  if (!k) fail("INTERNAL", `no API path known for ${obj.apiVersion} ${obj.kind}`);
  const ns = obj.metadata.namespace;
  if (k.namespaced && !ns) fail("INTERNAL", `${obj.kind}/${obj.metadata.name} needs a namespace`);
  const scope = k.namespaced ? `/namespaces/${encodeURIComponent(ns!)}` : "";
  return `${k.prefix}${scope}/${k.plural}/${encodeURIComponent(obj.metadata.name)}`;
}

/** `Kind/name` (and ` in <namespace>` for namespaced kinds), as the CLI prints objects. */
export function describeObject(obj: KubeObject): string {
  return `${obj.kind}/${obj.metadata.name}${obj.metadata.namespace ? ` in ${obj.metadata.namespace}` : ""}`;
}
