/**
 * Finds the signatures stored for a digest, the way cosign v3 looks for them (spec §1.1, §2.4):
 * bundles among the digest's referrers (OCI 1.1 API or the `sha256-<hex>` tag schema), and the
 * layers of the legacy `sha256-<hex>.sig` image. The only module of `sign/` that reads, and only
 * through the injected Target.
 */
import type { Descriptor, OpOptions, Target } from "../content/store.ts";
import { CoreError, isCoreError } from "../errors.ts";
import { readAll } from "../oci/digest.ts";
import { parseManifest, type ImageIndex, type ImageManifest } from "../oci/manifest.ts";
import { isIndexType, MAX_MANIFEST_BYTES, OCI_INDEX } from "../oci/media-types.ts";
import { ANNOTATION_CREATED } from "../oci/media-types.ts";
import { BUNDLE_MEDIA_TYPE_PREFIX } from "./bundle.ts";
import { referrersTag, signatureTag } from "./legacy.ts";

/** Lists the manifests that name `digest` as their subject (RegistryRepository implements it). */
export interface ReferrerLister {
  referrers(digest: string, artifactType?: string, opts?: OpOptions): Promise<Descriptor[]>;
}

/** artifactType of a legacy signature image pushed as an OCI 1.1 referrer (`--registry-referrers-mode=oci-1-1`, spec §1.8). */
export const COSIGN_SIG_ARTIFACT_TYPE = "application/vnd.dev.cosign.artifact.sig.v1+json";

/** Cap for one signature payload or bundle read into memory. cosign allows 128 MiB; real ones are < 10 KiB. */
export const MAX_SIGNATURE_BYTES = MAX_MANIFEST_BYTES;
/** cosign refuses `.sig` images with more layers than this. */
export const MAX_SIGNATURE_LAYERS = 1000;

/** A legacy signature: one layer of the `.sig` image. */
export interface LegacySignature {
  kind: "legacy";
  payload: Uint8Array;
  /** The layer descriptor's annotations (signature, certificate, Rekor bundle…). */
  annotations: Record<string, string>;
  /** Where it came from, for messages: `<tag> layer <n>`. */
  source: string;
}

/** A Sigstore bundle found as a referrer. */
export interface BundleSignature {
  kind: "bundle";
  /** The bundle JSON, parsed but not validated. */
  json: unknown;
  /** `org.opencontainers.image.created` of the referrer manifest (unsigned, informational). */
  created?: string;
  /** Digest of the referrer manifest. */
  source: string;
}

/** A signature of either format, as found in the registry. */
export type FoundSignature = LegacySignature | BundleSignature;

/** What lives in the registry for a digest. */
export interface FoundSignatures {
  bundles: BundleSignature[];
  legacy: LegacySignature[];
}

function hasReferrers(t: object): t is ReferrerLister {
  return typeof (t as Partial<ReferrerLister>).referrers === "function";
}

async function readBytes(target: Target, desc: Descriptor, opts: OpOptions): Promise<Uint8Array> {
  return readAll(await target.fetch(desc, opts), MAX_SIGNATURE_BYTES, `${target.name}@${desc.digest}`);
}

/** Fetches a manifest by tag; undefined when the tag does not exist. */
export async function fetchTagged(target: Target, tag: string, opts: OpOptions = {}): Promise<{ desc: Descriptor; bytes: Uint8Array } | undefined> {
  let desc: Descriptor;
  try {
    desc = await target.resolve(tag, opts);
  } catch (e) {
    if (isCoreError(e, "NOT_FOUND")) return undefined;
    throw e;
  }
  return { desc, bytes: await readBytes(target, desc, opts) };
}

/**
 * The referrers of `digest`: through the target's referrers API when it has one (a registry
 * repository already falls back to the tag schema), else from the `sha256-<hex>` index tag.
 */
export async function listReferrers(target: Target, digest: string, opts: OpOptions = {}): Promise<Descriptor[]> {
  if (hasReferrers(target)) return target.referrers(digest, undefined, opts);
  const ix = await readReferrersIndex(target, digest, opts);
  return ix?.manifests ?? [];
}

/** Reads the tag-schema referrers index of `digest`; undefined when the tag does not exist. Throws MANIFEST_INVALID for a non-index. */
export async function readReferrersIndex(target: Target, digest: string, opts: OpOptions = {}): Promise<ImageIndex | undefined> {
  const got = await fetchTagged(target, referrersTag(digest), opts);
  if (!got) return undefined;
  const p = parseManifest(got.bytes, got.desc.mediaType);
  if (p.kind !== "index" || p.index.mediaType !== OCI_INDEX) {
    throw new CoreError({ code: "MANIFEST_INVALID", message: `${target.name}:${referrersTag(digest)} is not an OCI image index, so it cannot hold referrers` });
  }
  return p.index;
}

/**
 * Bundles attached to `digest` (cosign `GetBundles`): every referrer manifest with exactly one layer
 * whose media type is a Sigstore bundle's, of version v0.3 or later. Anything else is skipped
 * silently, as cosign does.
 */
export async function findBundles(target: Target, digest: string, opts: OpOptions = {}): Promise<BundleSignature[]> {
  return bundlesAmong(target, await listReferrers(target, digest, opts), opts);
}

async function bundlesAmong(target: Target, referrers: Descriptor[], opts: OpOptions): Promise<BundleSignature[]> {
  const out: BundleSignature[] = [];
  for (const d of referrers) {
    if (d.artifactType === COSIGN_SIG_ARTIFACT_TYPE) continue;
    if (isIndexType(d.mediaType)) continue;
    let m: ImageManifest;
    try {
      const p = parseManifest(await readBytes(target, d, opts), d.mediaType);
      if (p.kind !== "manifest") continue;
      m = p.manifest;
    } catch (e) {
      if (isCoreError(e, "CANCELLED")) throw e;
      continue;
    }
    if (m.layers.length !== 1 || !m.layers[0]!.mediaType.startsWith(BUNDLE_MEDIA_TYPE_PREFIX)) continue;
    let json: unknown;
    try {
      json = JSON.parse(new TextDecoder().decode(await readBytes(target, m.layers[0]!, opts)));
    } catch (e) {
      if (isCoreError(e, "CANCELLED")) throw e;
      continue;
    }
    if (!isBundleV03OrLater((json as { mediaType?: unknown })?.mediaType)) continue;
    out.push({ kind: "bundle", json, created: m.annotations?.[ANNOTATION_CREATED], source: d.digest });
  }
  return out;
}

/** Whether a bundle media type is v0.3 or newer (older ones are dropped by cosign as "too old"). */
export function isBundleV03OrLater(mt: unknown): boolean {
  if (typeof mt !== "string") return false;
  const m = /^application\/vnd\.dev\.sigstore\.bundle(?:\.v(\d+)\.(\d+)\+json|\+json;version=(\d+)\.(\d+))$/.exec(mt);
  if (!m) return false;
  const major = Number(m[1] ?? m[3]);
  const minor = Number(m[2] ?? m[4]);
  return major > 0 || minor >= 3;
}

/** The layers of the legacy `.sig` image of `digest`; [] when the tag does not exist. */
export async function findLegacySignatures(target: Target, digest: string, opts: OpOptions = {}): Promise<LegacySignature[]> {
  const tag = signatureTag(digest);
  const got = await fetchTagged(target, tag, opts);
  if (!got) return [];
  return layersOf(target, got.bytes, got.desc, tag, opts);
}

async function layersOf(target: Target, bytes: Uint8Array, desc: Descriptor, tag: string, opts: OpOptions): Promise<LegacySignature[]> {
  const p = parseManifest(bytes, desc.mediaType);
  if (p.kind !== "manifest") throw new CoreError({ code: "MANIFEST_INVALID", message: `${target.name}:${tag} is an index, not a signature image` });
  if (p.manifest.layers.length > MAX_SIGNATURE_LAYERS) {
    throw new CoreError({ code: "MANIFEST_INVALID", message: `${target.name}:${tag} has ${p.manifest.layers.length} layers; more than ${MAX_SIGNATURE_LAYERS} are refused` });
  }
  const out: LegacySignature[] = [];
  for (const [i, layer] of p.manifest.layers.entries()) {
    out.push({ kind: "legacy", payload: await readBytes(target, layer, opts), annotations: { ...(layer.annotations ?? {}) }, source: `${tag} layer ${i + 1}` });
  }
  return out;
}

/**
 * All signatures of `digest`, bundles first. A failure to list referrers counts as "no bundles",
 * because cosign v3 then falls back to the `.sig` image too.
 */
export async function findSignatures(target: Target, digest: string, opts: OpOptions = {}): Promise<FoundSignatures> {
  let referrers: Descriptor[] = [];
  let bundles: BundleSignature[] = [];
  try {
    referrers = await listReferrers(target, digest, opts);
    bundles = await bundlesAmong(target, referrers, opts);
  } catch (e) {
    if (isCoreError(e, "CANCELLED") || isCoreError(e, "AUTH_FAILED")) throw e;
  }
  if (bundles.length > 0) return { bundles, legacy: [] };
  let legacy = await findLegacySignatures(target, digest, opts);
  // Rare: the .sig image pushed by digest as a referrer instead of under the tag; cosign takes the last one.
  const sigRef = referrers.filter((d) => d.artifactType === COSIGN_SIG_ARTIFACT_TYPE).at(-1);
  if (legacy.length === 0 && sigRef) {
    legacy = await layersOf(target, await readBytes(target, sigRef, opts), sigRef, `referrer ${sigRef.digest}`, opts);
  }
  return { bundles, legacy };
}
