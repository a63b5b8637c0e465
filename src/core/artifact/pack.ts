import type { Descriptor } from "../content/store.ts";
import { digestOf } from "../oci/digest.ts";
import { encodeManifest, goJSON, type ImageManifest } from "../oci/manifest.ts";
import {
  DOCKER_CONFIG,
  DOCKER_LAYER_TAR_GZIP,
  DOCKER_MANIFEST,
  FLUX_CONFIG,
  FLUX_CONTENT_TAR_GZIP,
  OCI_MANIFEST,
} from "../oci/media-types.ts";

/**
 * Which bytes the config blob holds. Part of the manifest, so it changes the artifact digest.
 * - `flux-2.9`: the constant 115-byte document flux 2.9 pushes (spec §3.3). Default.
 * - `flux-2.8`: the 233-byte Docker-style config with history and the layer's diffID (flux ≤ 2.8).
 */
export type ConfigProfile = "flux-2.9" | "flux-2.8";

/** `flux`: Flux's media types (default). `docker`: RFC-0003's original Docker types, for registries that reject custom ones. */
export type MediaTypeProfile = "flux" | "docker";

export interface PackOptions {
  /** Default `flux-2.9`. */
  configProfile?: ConfigProfile;
  /** Default `flux`. */
  mediaTypes?: MediaTypeProfile;
}

export interface PackedArtifact {
  manifest: ImageManifest;
  manifestBytes: Uint8Array;
  manifestDescriptor: Descriptor;
  configBytes: Uint8Array;
  configDescriptor: Descriptor;
  layerDescriptor: Descriptor;
}

const ZERO_TIME = "0001-01-01T00:00:00Z";

/** The config blob for a profile; `diffId` is the sha256 of the uncompressed layer tar. */
export function configBlob(profile: ConfigProfile, diffId: string): Uint8Array {
  // Key order follows ggcr's ConfigFile struct; Go prints a nil slice as null.
  const doc =
    profile === "flux-2.8"
      ? { architecture: "", created: ZERO_TIME, history: [{ created: ZERO_TIME }], os: "", rootfs: { type: "layers", diff_ids: [diffId] }, config: {} }
      : { architecture: "", created: ZERO_TIME, os: "", rootfs: { type: "layers", diff_ids: null }, config: {} };
  return new TextEncoder().encode(goJSON(doc));
}

/**
 * Builds the manifest for a Flux artifact: one gzip tar layer, a config blob, and annotations.
 * Pure: the layer was already built and hashed (artifact/build.ts).
 */
export function packArtifact(
  layer: { digest: string; size: number; diffId: string },
  annotations: Record<string, string>,
  opts: PackOptions = {},
): PackedArtifact {
  const docker = (opts.mediaTypes ?? "flux") === "docker";
  const profile: ConfigProfile = opts.configProfile ?? (docker ? "flux-2.8" : "flux-2.9");
  const configBytes = configBlob(profile, layer.diffId);
  const configDescriptor: Descriptor = {
    mediaType: docker ? DOCKER_CONFIG : FLUX_CONFIG,
    size: configBytes.byteLength,
    digest: digestOf(configBytes),
  };
  const layerDescriptor: Descriptor = {
    mediaType: docker ? DOCKER_LAYER_TAR_GZIP : FLUX_CONTENT_TAR_GZIP,
    size: layer.size,
    digest: layer.digest,
  };
  const manifest: ImageManifest = {
    schemaVersion: 2,
    mediaType: docker ? DOCKER_MANIFEST : OCI_MANIFEST,
    config: configDescriptor,
    layers: [layerDescriptor],
    annotations,
  };
  const manifestBytes = encodeManifest(manifest);
  return {
    manifest,
    manifestBytes,
    manifestDescriptor: { mediaType: manifest.mediaType, size: manifestBytes.byteLength, digest: digestOf(manifestBytes) },
    configBytes,
    configDescriptor,
    layerDescriptor,
  };
}
