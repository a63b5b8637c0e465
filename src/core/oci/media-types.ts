/** OCI, Docker and Flux media types and annotation keys, verbatim. */
export const OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
export const OCI_INDEX = "application/vnd.oci.image.index.v1+json";
export const OCI_CONFIG = "application/vnd.oci.image.config.v1+json";
export const OCI_LAYER_TAR_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip";
export const OCI_EMPTY = "application/vnd.oci.empty.v1+json";
export const OCI_LAYOUT_VERSION = "1.0.0";

export const DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json";
export const DOCKER_MANIFEST_LIST = "application/vnd.docker.distribution.manifest.list.v2+json";
export const DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json";
export const DOCKER_LAYER_TAR_GZIP = "application/vnd.docker.image.rootfs.diff.tar.gzip";
export const DOCKER_MANIFEST_V1 = "application/vnd.docker.distribution.manifest.v1+json";
export const DOCKER_MANIFEST_V1_SIGNED = "application/vnd.docker.distribution.manifest.v1+prettyjws";

export const FLUX_CONFIG = "application/vnd.cncf.flux.config.v1+json";
export const FLUX_CONTENT_TAR_GZIP = "application/vnd.cncf.flux.content.v1.tar+gzip";
/** Helm chart layer; OCIRepository maps `_` in tags to `+` only when the layer selector names it. */
export const HELM_CHART_LAYER_MEDIA_TYPE = "application/vnd.cncf.helm.chart.content.v1.tar+gzip";

export const ANNOTATION_SOURCE = "org.opencontainers.image.source";
export const ANNOTATION_REVISION = "org.opencontainers.image.revision";
export const ANNOTATION_CREATED = "org.opencontainers.image.created";
export const ANNOTATION_REF_NAME = "org.opencontainers.image.ref.name";

/** Accept list for manifest GET/HEAD: every single-image and index type we can read. Schema 1 is not accepted. */
export const MANIFEST_ACCEPT = [OCI_MANIFEST, DOCKER_MANIFEST, OCI_INDEX, DOCKER_MANIFEST_LIST] as const;

export function isManifestType(mt: string): boolean {
  return mt === OCI_MANIFEST || mt === DOCKER_MANIFEST;
}
export function isIndexType(mt: string): boolean {
  return mt === OCI_INDEX || mt === DOCKER_MANIFEST_LIST;
}

/** Manifests and tag pages are read into memory only up to this size (design 2.6 #2). */
export const MAX_MANIFEST_BYTES = 4 << 20;
/** Error bodies are read only up to this size. */
export const MAX_ERROR_BODY_BYTES = 64 << 10;
