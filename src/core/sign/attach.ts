/**
 * Signs a manifest digest and stores the signature in the target, in either cosign format:
 * `legacy` appends a layer to the `sha256-<hex>.sig` image (spec §1.9), `bundle` pushes a Sigstore
 * bundle as an OCI 1.1 referrer and maintains the `sha256-<hex>` referrers tag when the target has
 * no referrers API (spec §2.3). All I/O goes through the injected Target.
 */
import { verify as cryptoVerify } from "node:crypto";
import type { Descriptor, OpOptions, Target } from "../content/store.ts";
import { hasPushReference } from "../content/store.ts";
import { CoreError, fail, wrapError } from "../errors.ts";
import { digestOf } from "../oci/digest.ts";
import { encodeIndex, parseManifest, type ImageIndex } from "../oci/manifest.ts";
import { DOCKER_MANIFEST, OCI_INDEX, OCI_MANIFEST } from "../oci/media-types.ts";
import { EMPTY_JSON, encodeBundleReferrer, encodeKeyBundle } from "./bundle.ts";
import { keyFingerprint } from "./keys.ts";
import { encodeSignatureImage, referrersTag, sameSignatureLayer, SIGNATURE_ANNOTATION, signatureLayer, signatureTag, type SignatureImage } from "./legacy.ts";
import { cosignStatement, IN_TOTO_PAYLOAD_TYPE, preAuthEncoding, simpleSigningPayload } from "./payload.ts";
import { fetchTagged, listReferrers, readReferrersIndex } from "./referrers.ts";
import type { Signer, SignatureWitness } from "./signer.ts";

/** Which of cosign's two storage formats to write. */
export type SignatureFormat = "legacy" | "bundle";

/** Options of signArtifact. */
export interface SignArtifactOptions extends OpOptions {
  /** Storage format. Default `bundle` (cosign v3's default). */
  format?: SignatureFormat;
  /** `-a key=value` annotations covered by the signature. Default none. */
  annotations?: Record<string, string>;
  /** Clock for the referrer's created annotation. Default `new Date()`. */
  now?: () => Date;
  /** Certificate and transparency-log material for each signature (keyless). Default none (key signature). */
  witness?: SignatureWitness;
}

/** Defaults of SignArtifactOptions. */
export const DEFAULT_SIGN_ARTIFACT_OPTIONS = { format: "bundle" as SignatureFormat, annotations: {} as Record<string, string> };

/** What was written. */
export interface SignArtifactResult {
  format: SignatureFormat;
  /** The signed manifest digest. */
  digest: string;
  /** Tag written (`sha256-<hex>.sig`, or the referrers tag when it had to be maintained). */
  tag?: string;
  /** Digest of the signature manifest (.sig image or referrer manifest). */
  signatureManifest: string;
  /** False when an identical signature was already there (legacy de-duplication) and nothing was pushed. */
  pushed: boolean;
}

/**
 * Signs `subject` (a manifest descriptor, already resolved — never a tag, so the signature cannot
 * race a moving tag) and stores the signature in `target`. `dockerReference` is the
 * `<registry>/<repository>` recorded in a legacy payload.
 */
export async function signArtifact(
  target: Target,
  subject: Descriptor,
  dockerReference: string,
  signer: Signer,
  options: SignArtifactOptions = {},
): Promise<SignArtifactResult> {
  const o = { ...DEFAULT_SIGN_ARTIFACT_OPTIONS, ...options };
  try {
    return o.format === "legacy"
      ? await signLegacy(target, subject, dockerReference, signer, o.annotations, o.witness, o)
      : await signBundle(target, subject, signer, o.annotations, o.now ?? (() => new Date()), o.witness, o);
  } catch (e) {
    throw wrapError(e, `signing ${target.name}@${subject.digest} failed`);
  }
}

async function pushIfMissing(target: Target, desc: Descriptor, bytes: Uint8Array, opts: OpOptions): Promise<void> {
  if (!(await target.exists(desc, opts))) await target.push(desc, bytes, opts);
}

async function pushTagged(target: Target, desc: Descriptor, bytes: Uint8Array, tag: string, opts: OpOptions): Promise<void> {
  if (hasPushReference(target)) return target.pushReference(desc, bytes, tag, opts);
  await pushIfMissing(target, desc, bytes, opts);
  await target.tag(desc, tag, opts);
}

async function signLegacy(
  target: Target,
  subject: Descriptor,
  dockerReference: string,
  signer: Signer,
  annotations: Record<string, string>,
  witness: SignatureWitness | undefined,
  opts: OpOptions,
): Promise<SignArtifactResult> {
  const payload = simpleSigningPayload(dockerReference, subject.digest, annotations);
  const signature = await signer.sign(payload);
  const extra = witness ? await witness.legacyAnnotations(payload, signature, subject.digest, opts) : {};
  const layer = signatureLayer(payload, Buffer.from(signature).toString("base64"), extra);
  const tag = signatureTag(subject.digest);
  const img: SignatureImage = { mediaType: OCI_MANIFEST, layers: [] };
  const existing = await fetchTagged(target, tag, opts);
  if (existing) {
    const p = parseManifest(existing.bytes, existing.desc.mediaType);
    if (p.kind !== "manifest") fail("MANIFEST_INVALID", `${target.name}:${tag} is an index, not a signature image`);
    img.mediaType = p.manifest.mediaType === DOCKER_MANIFEST ? DOCKER_MANIFEST : OCI_MANIFEST;
    img.layers = p.manifest.layers;
    img.annotations = p.manifest.annotations;
    // cosign's de-duplication: the same payload already signed by this key needs no new layer.
    const dup = img.layers.some((l) => {
      const b64 = l.annotations?.[SIGNATURE_ANNOTATION];
      return sameSignatureLayer(l, layer) && b64 !== undefined && cryptoVerify("sha256", payload, signer.publicKey, Buffer.from(b64, "base64"));
    });
    if (dup) return { format: "legacy", digest: subject.digest, tag, signatureManifest: existing.desc.digest, pushed: false };
  }
  img.layers = [...img.layers, layer];
  const enc = encodeSignatureImage(img);
  await pushIfMissing(target, layer, payload, opts);
  await pushIfMissing(target, enc.config, enc.configBytes, opts);
  await pushTagged(target, enc.manifest, enc.manifestBytes, tag, opts);
  return { format: "legacy", digest: subject.digest, tag, signatureManifest: enc.manifest.digest, pushed: true };
}

async function signBundle(
  target: Target,
  subject: Descriptor,
  signer: Signer,
  annotations: Record<string, string>,
  now: () => Date,
  witness: SignatureWitness | undefined,
  opts: OpOptions,
): Promise<SignArtifactResult> {
  const statement = cosignStatement(subject.digest, annotations);
  const signature = await signer.sign(preAuthEncoding(IN_TOTO_PAYLOAD_TYPE, statement));
  const bundle = witness
    ? await witness.bundle(statement, signature, subject.digest, opts)
    : encodeKeyBundle({ statement, signature, keyHint: keyFingerprint(signer.publicKey) });
  const ref = encodeBundleReferrer(bundle, subject, now());
  await pushIfMissing(target, ref.config, EMPTY_JSON, opts);
  await pushIfMissing(target, ref.layer, bundle, opts);
  await target.push(ref.manifest, ref.manifestBytes, opts);
  // A registry with the referrers API lists the new manifest by itself; otherwise keep the tag-schema index.
  const listed = await listReferrers(target, subject.digest, opts);
  if (listed.some((d) => d.digest === ref.manifest.digest)) {
    return { format: "bundle", digest: subject.digest, signatureManifest: ref.manifest.digest, pushed: true };
  }
  const tag = referrersTag(subject.digest);
  const ix: ImageIndex = (await readReferrersIndex(target, subject.digest, opts)) ?? { schemaVersion: 2, mediaType: OCI_INDEX, manifests: [] };
  if (ix.schemaVersion !== 2) throw new CoreError({ code: "MANIFEST_INVALID", message: `${target.name}:${tag} has schemaVersion ${ix.schemaVersion}` });
  if (!ix.manifests.some((d) => d.digest === ref.manifest.digest)) {
    ix.manifests = [...ix.manifests, ref.manifest].sort((a, b) => (a.digest < b.digest ? -1 : a.digest > b.digest ? 1 : 0));
  }
  const bytes = encodeIndex(ix);
  await pushTagged(target, { mediaType: OCI_INDEX, digest: digestOf(bytes), size: bytes.byteLength }, bytes, tag, opts);
  return { format: "bundle", digest: subject.digest, tag, signatureManifest: ref.manifest.digest, pushed: true };
}
