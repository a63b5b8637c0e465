/**
 * Promotion: point a tag (in the same repository or another one) at the digest another reference
 * names, with the signatures that digest carries. Two steps so a caller can show the plan and ask
 * before writing: `planPromote` resolves, optionally verifies and diffs; `promoteArtifact` writes.
 * All I/O goes through the injected Targets.
 */
import type { Descriptor, OpOptions, Target } from "../content/store.ts";
import { hasPushReference } from "../content/store.ts";
import { isCoreError } from "../errors.ts";
import { digestOf } from "../oci/digest.ts";
import { encodeIndex, parseManifest, type ImageIndex, type ImageManifest } from "../oci/manifest.ts";
import { OCI_INDEX } from "../oci/media-types.ts";
import { fetchTagged, findSignatures, listReferrers, readReferrersIndex } from "../sign/referrers.ts";
import { encodeSignatureImage, referrersTag } from "../sign/legacy.ts";
import { verifySignatures, type KeyTrust, type VerifyOptions, type VerifyResult } from "../sign/verifier.ts";
import type { ProgressSink } from "../progress.ts";
import { copy, copyGraph, type CopyResult } from "./copy.ts";
import { diffArtifacts, type ArtifactDiff, type DiffArtifactOptions } from "./diff.ts";
import { tagArtifact } from "./tag.ts";

/** One side of a promotion. */
export interface PromoteEndpoint {
  target: Target;
  /** Source: the tag or digest to promote. Destination: the tag to (re)point. */
  reference: string;
  /** How messages name it, e.g. `ghcr.io/org/app:staging`. */
  label: string;
}

/** Options of {@link planPromote}. */
export interface PlanPromoteOptions extends OpOptions {
  /** Verify the source digest's signatures with this trust first; VERIFY_FAILED/UNTRUSTED_SIGNER stop the plan. Default: no check. */
  verify?: KeyTrust;
  /** Options of that verification. Default {@link DEFAULT_VERIFY_OPTIONS} of the verifier. */
  verifyOptions?: VerifyOptions;
  /** Compare contents file by file when the destination tag exists and differs. Default true; false compares layer digests only. */
  contents?: boolean;
  /** Extraction limits and temp dir for the comparison. Default: the diff engine's. */
  diff?: Pick<DiffArtifactOptions, "extract" | "tmpDir">;
}

/** Defaults of {@link PlanPromoteOptions}. */
export const DEFAULT_PLAN_PROMOTE_OPTIONS = { contents: true } as const;

/** What a promotion will do. */
export interface PromotePlan {
  source: { label: string; descriptor: Descriptor };
  /** The destination tag and, when it exists, the manifest it names now. */
  target: { label: string; tag: string; descriptor?: Descriptor };
  /** The destination tag already names the source digest: nothing to copy or tag. */
  upToDate: boolean;
  /** Current destination (a) against the source (b); absent for a new tag or when up to date. */
  diff?: ArtifactDiff;
  /** Why the comparison could not be made (e.g. not a Flux artifact); the promotion itself can still go ahead. */
  diffError?: string;
  /** The source signatures that verified, when `verify` was given. */
  verified?: VerifyResult;
}

/**
 * Resolves the source once (later steps use its digest, so a source tag moving meanwhile cannot
 * change what is promoted), verifies its signatures when asked, and compares the destination tag's
 * current artifact with it using the `diff artifact` engine.
 */
export async function planPromote(source: PromoteEndpoint, destination: PromoteEndpoint, opts: PlanPromoteOptions = {}): Promise<PromotePlan> {
  const op = { signal: opts.signal };
  const src = await source.target.resolve(source.reference, op);
  let verified: VerifyResult | undefined;
  if (opts.verify) {
    const found = await findSignatures(source.target, src.digest, op);
    verified = verifySignatures([...found.bundles, ...found.legacy], src.digest, opts.verify, opts.verifyOptions);
  }
  let current: Descriptor | undefined;
  try {
    current = await destination.target.resolve(destination.reference, op);
  } catch (e) {
    if (!isCoreError(e, "NOT_FOUND")) throw e;
  }
  const plan: PromotePlan = {
    source: { label: source.label, descriptor: src },
    target: { label: destination.label, tag: destination.reference, ...(current ? { descriptor: current } : {}) },
    upToDate: current?.digest === src.digest,
    ...(verified ? { verified } : {}),
  };
  if (!current || plan.upToDate) return plan;
  try {
    plan.diff = await diffArtifacts(
      { kind: "remote", label: destination.label, target: destination.target, reference: current.digest },
      { kind: "remote", label: source.label, target: source.target, reference: src.digest },
      { ...opts.diff, signal: opts.signal, contents: opts.contents ?? DEFAULT_PLAN_PROMOTE_OPTIONS.contents },
    );
  } catch (e) {
    if (!isCoreError(e) || e.code === "CANCELLED" || e.code === "AUTH_FAILED" || e.code === "REGISTRY_UNAVAILABLE") throw e;
    plan.diffError = e.message;
  }
  return plan;
}

/** Options of {@link promoteArtifact}. */
export interface PromoteArtifactOptions extends OpOptions {
  /** Source and destination are the same repository: only the tag moves (signatures are already there). Default false. */
  sameRepository?: boolean;
  /** Source repository to mount blobs from when both are on one registry. Default: none (upload). */
  mountFrom?: string;
  /** Copy the legacy `.sig`/`.att` images and the referrers (bundles, attestations) of the digest. Default true. */
  signatures?: boolean;
  /** Blobs copied at once. Default 4. */
  concurrency?: number;
  onProgress?: ProgressSink;
}

/** Defaults of {@link PromoteArtifactOptions}. */
export const DEFAULT_PROMOTE_ARTIFACT_OPTIONS = { sameRepository: false, signatures: true, concurrency: 4 } as const;

/** What happened to one legacy cosign tag (`sha256-<hex>.sig` / `.att`). */
export type LegacyTagOutcome = "copied" | "merged" | "present";

/** What {@link promoteArtifact} wrote. */
export interface PromoteResult {
  digest: string;
  tag: string;
  /** The artifact graph copy; absent for a same-repository promotion or an up-to-date tag. */
  copy?: Omit<CopyResult, "root">;
  /** Legacy signature/attestation tags of the source digest and what was done with each. */
  legacyTags: { tag: string; outcome: LegacyTagOutcome }[];
  /** Referrer manifests of the digest (bundles, attestations) now in the destination. */
  referrers: string[];
}

/**
 * Points the destination tag at the planned source digest. Across repositories the artifact is
 * copied by digest, then what cosign and Flux look up by that digest follows it: the legacy
 * `.sig`/`.att` images (merged with any the destination already has, never replacing them) and every
 * referrer, with the tag-schema index kept up to date when the destination has no referrers API.
 */
export async function promoteArtifact(plan: PromotePlan, source: Target, destination: Target, opts: PromoteArtifactOptions = {}): Promise<PromoteResult> {
  const op = { signal: opts.signal };
  const root = plan.source.descriptor;
  const tag = plan.target.tag;
  const result: PromoteResult = { digest: root.digest, tag, legacyTags: [], referrers: [] };
  if (opts.sameRepository ?? DEFAULT_PROMOTE_ARTIFACT_OPTIONS.sameRepository) {
    if (!plan.upToDate) await tagArtifact(destination, root.digest, [tag], op);
    return result;
  }
  const copyOpts = { ...op, concurrency: opts.concurrency ?? DEFAULT_PROMOTE_ARTIFACT_OPTIONS.concurrency, mountFrom: opts.mountFrom, onProgress: opts.onProgress };
  // Signatures first: once the tag moves, Flux may pull the digest and verify it at once.
  if (opts.signatures ?? DEFAULT_PROMOTE_ARTIFACT_OPTIONS.signatures) {
    const graph = await copyGraph(source, root, destination, copyOpts);
    result.copy = graph;
    for (const suffix of [".sig", ".att"]) {
      const t = `${referrersTag(root.digest)}${suffix}`;
      const outcome = await transferLegacyTag(source, destination, t, copyOpts);
      if (outcome) result.legacyTags.push({ tag: t, outcome });
    }
    result.referrers = await transferReferrers(source, destination, root.digest, copyOpts);
  }
  if (!plan.upToDate) {
    const c = await copy(source, root.digest, destination, tag, copyOpts);
    if (!result.copy) result.copy = { copied: c.copied, skipped: c.skipped, mounted: c.mounted };
  }
  return result;
}

async function pushTagged(target: Target, desc: Descriptor, bytes: Uint8Array, tag: string, opts: OpOptions): Promise<void> {
  if (hasPushReference(target)) return target.pushReference(desc, bytes, tag, opts);
  await target.push(desc, bytes, opts);
  await target.tag(desc, tag, opts);
}

function manifestOf(desc: Descriptor, bytes: Uint8Array): ImageManifest | undefined {
  const p = parseManifest(bytes, desc.mediaType);
  return p.kind === "manifest" ? p.manifest : undefined;
}

const layerKey = (d: Descriptor) => `${d.digest} ${JSON.stringify(Object.entries(d.annotations ?? {}).sort())}`;

/**
 * Copies the legacy image under `tag`; when the destination has its own, the source layers it lacks
 * are appended (as cosign appends a new signature), so no signature of either side is lost.
 */
async function transferLegacyTag(source: Target, destination: Target, tag: string, opts: OpOptions & { concurrency?: number; mountFrom?: string }): Promise<LegacyTagOutcome | undefined> {
  const src = await fetchTagged(source, tag, opts);
  if (!src) return undefined;
  const dst = await fetchTagged(destination, tag, opts);
  if (!dst) {
    await copy(source, src.desc.digest, destination, tag, opts);
    return "copied";
  }
  if (dst.desc.digest === src.desc.digest) return "present";
  const sm = manifestOf(src.desc, src.bytes);
  const dm = manifestOf(dst.desc, dst.bytes);
  if (!sm || !dm) {
    // An index under a cosign tag is not something cosign writes; leave the destination's alone.
    return "present";
  }
  const have = new Set(dm.layers.map(layerKey));
  const missing = sm.layers.filter((l) => !have.has(layerKey(l)));
  if (missing.length === 0) return "present";
  for (const l of missing) {
    if (!(await destination.exists(l, opts))) await destination.push(l, await source.fetch(l, opts), opts);
  }
  const enc = encodeSignatureImage({ mediaType: dm.mediaType ?? dst.desc.mediaType, layers: [...dm.layers, ...missing], annotations: dm.annotations });
  if (!(await destination.exists(enc.config, opts))) await destination.push(enc.config, enc.configBytes, opts);
  await pushTagged(destination, enc.manifest, enc.manifestBytes, tag, opts);
  return "merged";
}

/**
 * Copies every referrer manifest of `digest` (with its blobs). A registry with the referrers API
 * lists them by their subject; otherwise the `sha256-<hex>` index tag is extended, as cosign does.
 */
async function transferReferrers(source: Target, destination: Target, digest: string, opts: OpOptions & { concurrency?: number; mountFrom?: string }): Promise<string[]> {
  const refs = await listReferrers(source, digest, opts);
  if (refs.length === 0) return [];
  for (const d of refs) await copyGraph(source, d, destination, opts);
  const listed = new Set((await listReferrers(destination, digest, opts)).map((d) => d.digest));
  const missing = refs.filter((d) => !listed.has(d.digest));
  if (missing.length > 0) {
    const ix: ImageIndex = (await readReferrersIndex(destination, digest, opts)) ?? { schemaVersion: 2, mediaType: OCI_INDEX, manifests: [] };
    const known = new Set(ix.manifests.map((d) => d.digest));
    ix.manifests = [...ix.manifests, ...missing.filter((d) => !known.has(d.digest))].sort((a, b) => (a.digest < b.digest ? -1 : a.digest > b.digest ? 1 : 0));
    const bytes = encodeIndex(ix);
    await pushTagged(destination, { mediaType: OCI_INDEX, digest: digestOf(bytes), size: bytes.byteLength }, bytes, referrersTag(digest), opts);
  }
  return refs.map((d) => d.digest);
}
