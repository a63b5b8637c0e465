/**
 * The legacy cosign signature image (`sha256-<hex>.sig`, spec §1.2–§1.3 and §1.7): one layer per
 * signature, payload blob = simple-signing JSON, signature in a layer annotation. Pure builders;
 * I/O lives in `attach.ts` and `referrers.ts`.
 */
import type { Descriptor } from "../content/store.ts";
import { digestOf } from "../oci/digest.ts";
import { encodeManifest, goJSON, type ImageManifest } from "../oci/manifest.ts";
import { DOCKER_CONFIG, DOCKER_MANIFEST, OCI_CONFIG, OCI_MANIFEST } from "../oci/media-types.ts";

/** Media type of a legacy signature layer. */
export const SIMPLE_SIGNING_MEDIA_TYPE = "application/vnd.dev.cosign.simplesigning.v1+json";
/** Layer annotation holding the base64 signature over the payload. */
export const SIGNATURE_ANNOTATION = "dev.cosignproject.cosign/signature";
/** Layer annotation holding a signing certificate PEM (keyless, or `--certificate`). */
export const CERTIFICATE_ANNOTATION = "dev.sigstore.cosign/certificate";
/** Layer annotation holding the PEM chain that issued the certificate (intermediates, then root). */
export const CHAIN_ANNOTATION = "dev.sigstore.cosign/chain";
/** Layer annotation holding the Rekor v1 proof JSON. */
export const REKOR_BUNDLE_ANNOTATION = "dev.sigstore.cosign/bundle";

/** Tag of the signature image for a digest: `sha256:abc…` → `sha256-abc….sig`. */
export function signatureTag(digest: string): string {
  return `${digest.replace(":", "-")}.sig`;
}

/** Tag of the referrers-tag-schema index for a digest: `sha256:abc…` → `sha256-abc…`. */
export function referrersTag(digest: string): string {
  return digest.replace(":", "-");
}

/** A legacy signature image under construction or as read: its layers in order. */
export interface SignatureImage {
  /** `application/vnd.oci.image.manifest.v1+json` or Docker schema 2, kept when rewriting. */
  mediaType: string;
  layers: Descriptor[];
  /** Annotations of the manifest itself, preserved when appending. */
  annotations?: Record<string, string>;
}

/** The serialised image: config and manifest bytes plus their descriptors. */
export interface EncodedSignatureImage {
  config: Descriptor;
  configBytes: Uint8Array;
  manifest: Descriptor;
  manifestBytes: Uint8Array;
}

/**
 * Serialises a signature image the way go-containerregistry's `empty.Image` plus appended layers
 * does: a config with one zero-time history entry and one diff_id per layer (the payloads are
 * uncompressed, so diff_id = layer digest), in Go's field order.
 */
export function encodeSignatureImage(img: SignatureImage): EncodedSignatureImage {
  const config = {
    architecture: "",
    created: "0001-01-01T00:00:00Z",
    history: img.layers.map(() => ({ created: "0001-01-01T00:00:00Z" })),
    os: "",
    rootfs: { type: "layers", diff_ids: img.layers.map((l) => l.digest) },
    config: {},
  };
  const configBytes = new TextEncoder().encode(goJSON(config));
  const docker = img.mediaType === DOCKER_MANIFEST;
  const configDesc: Descriptor = { mediaType: docker ? DOCKER_CONFIG : OCI_CONFIG, digest: digestOf(configBytes), size: configBytes.byteLength };
  const m: ImageManifest = { schemaVersion: 2, mediaType: docker ? DOCKER_MANIFEST : OCI_MANIFEST, config: configDesc, layers: img.layers, annotations: img.annotations };
  const manifestBytes = encodeManifest(m);
  return {
    config: configDesc,
    configBytes,
    manifest: { mediaType: m.mediaType, digest: digestOf(manifestBytes), size: manifestBytes.byteLength },
    manifestBytes,
  };
}

/** The layer descriptor of one signature: payload blob plus the base64 signature annotation (and any extra annotations). */
export function signatureLayer(payload: Uint8Array, signatureB64: string, extra: Record<string, string> = {}): Descriptor {
  return {
    mediaType: SIMPLE_SIGNING_MEDIA_TYPE,
    digest: digestOf(payload),
    size: payload.byteLength,
    annotations: { ...extra, [SIGNATURE_ANNOTATION]: signatureB64 },
  };
}

/**
 * Whether `existing` already holds the signature `candidate` would add (cosign's de-duplication):
 * same payload digest and media type, and every non-signature annotation of the candidate present
 * with the same value. The caller adds the cryptographic check (the stored signature verifies with
 * the new signer's key).
 */
export function sameSignatureLayer(existing: Descriptor, candidate: Descriptor): boolean {
  if (existing.digest !== candidate.digest || existing.mediaType !== candidate.mediaType) return false;
  for (const [k, v] of Object.entries(candidate.annotations ?? {})) {
    if (k === SIGNATURE_ANNOTATION) continue;
    if (existing.annotations?.[k] !== v) return false;
  }
  return true;
}
