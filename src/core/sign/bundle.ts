/**
 * cosign v3's bundle format (spec §2.1–§2.3): a Sigstore bundle v0.3 holding a DSSE envelope over an
 * in-toto statement, stored as the single layer of an OCI 1.1 referrer manifest whose `subject` is
 * the signed manifest. Pure builders; I/O lives in `attach.ts` and `referrers.ts`.
 */
import type { Descriptor } from "../content/store.ts";
import { digestOf } from "../oci/digest.ts";
import { encodeManifest, type ImageManifest } from "../oci/manifest.ts";
import { ANNOTATION_CREATED, OCI_EMPTY, OCI_MANIFEST } from "../oci/media-types.ts";
import { COSIGN_SIGN_PREDICATE, IN_TOTO_PAYLOAD_TYPE } from "./payload.ts";

/** Media type (and referrer artifactType) of a v0.3 Sigstore bundle. */
export const BUNDLE_V03_MEDIA_TYPE = "application/vnd.dev.sigstore.bundle.v0.3+json";
/** Prefix every Sigstore bundle media type starts with; cosign's bundle discovery matches on it. */
export const BUNDLE_MEDIA_TYPE_PREFIX = "application/vnd.dev.sigstore.bundle";
/** Referrer manifest annotation naming the bundle content kind. */
export const BUNDLE_CONTENT_ANNOTATION = "dev.sigstore.bundle.content";
/** Referrer manifest annotation naming the statement's predicate type. */
export const BUNDLE_PREDICATE_ANNOTATION = "dev.sigstore.bundle.predicateType";
/** The 2-byte `{}` blob OCI 1.1 artifacts use as config. */
export const EMPTY_JSON = new TextEncoder().encode("{}");

/**
 * The bundle JSON cosign v3 `sign --key` writes without a transparency log: v0.3, public-key hint =
 * base64(sha256(SPKI DER)), DSSE with exactly one signature and **no keyid** — cosign skips a DSSE
 * signature whose keyid differs from its own computed one (spec §2.5).
 */
export function encodeKeyBundle(opts: { statement: Uint8Array; signature: Uint8Array; keyHint: Uint8Array }): Uint8Array {
  const doc = {
    mediaType: BUNDLE_V03_MEDIA_TYPE,
    verificationMaterial: { publicKey: { hint: Buffer.from(opts.keyHint).toString("base64") } },
    dsseEnvelope: {
      payload: Buffer.from(opts.statement).toString("base64"),
      payloadType: IN_TOTO_PAYLOAD_TYPE,
      signatures: [{ sig: Buffer.from(opts.signature).toString("base64") }],
    },
  };
  return new TextEncoder().encode(JSON.stringify(doc));
}

/** A referrer manifest ready to push by digest, with the blobs it names. */
export interface EncodedReferrer {
  manifest: Descriptor;
  manifestBytes: Uint8Array;
  config: Descriptor;
  layer: Descriptor;
}

/**
 * The referrer manifest cosign's `WriteReferrer` pushes for a bundle: empty config, one bundle
 * layer, `subject` = the signed manifest, created/content/predicate annotations.
 * `created` is RFC 3339 UTC with seconds.
 */
export function encodeBundleReferrer(bundle: Uint8Array, subject: Descriptor, created: Date): EncodedReferrer {
  const config: Descriptor = { mediaType: OCI_EMPTY, digest: digestOf(EMPTY_JSON), size: EMPTY_JSON.byteLength };
  const layer: Descriptor = { mediaType: BUNDLE_V03_MEDIA_TYPE, digest: digestOf(bundle), size: bundle.byteLength };
  const m: ImageManifest = {
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    artifactType: BUNDLE_V03_MEDIA_TYPE,
    config,
    layers: [layer],
    subject: { mediaType: subject.mediaType, digest: subject.digest, size: subject.size },
    annotations: {
      [ANNOTATION_CREATED]: created.toISOString().replace(/\.\d{3}Z$/, "Z"),
      [BUNDLE_CONTENT_ANNOTATION]: "dsse-envelope",
      [BUNDLE_PREDICATE_ANNOTATION]: COSIGN_SIGN_PREDICATE,
    },
  };
  const manifestBytes = encodeManifest(m);
  return {
    manifest: { mediaType: OCI_MANIFEST, digest: digestOf(manifestBytes), size: manifestBytes.byteLength, artifactType: BUNDLE_V03_MEDIA_TYPE },
    manifestBytes,
    config,
    layer,
  };
}
