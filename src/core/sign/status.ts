/**
 * Signature status of many digests at once, for listings. Presence is read mostly from the tag list
 * the listing already has: cosign's legacy `sha256-<hex>.sig` tag answers it with no request, and a
 * `sha256-<hex>` referrers-schema tag costs one index read (it may hold SBOMs or attestations, so its
 * entries are checked for a signature type). Only registries that show no fallback tag at all are
 * asked through the referrers API. Verification reads and checks the signatures themselves.
 */
import type { KeyObject } from "node:crypto";
import type { Descriptor, OpOptions, Target } from "../content/store.ts";
import { isCoreError } from "../errors.ts";
import { createLimiter } from "../artifact/copy.ts";
import { BUNDLE_MEDIA_TYPE_PREFIX } from "./bundle.ts";
import { referrersTag, signatureTag } from "./legacy.ts";
import { COSIGN_SIG_ARTIFACT_TYPE, findSignatures, readReferrersIndex, type ReferrerLister } from "./referrers.ts";
import { verifySignatures } from "./verifier.ts";

/**
 * `present`/`absent`: whether a signature of either cosign format is stored (not checked);
 * `verified`: one verifies with a given key; `invalid`: signatures exist but none verifies;
 * `unsigned`: none exists.
 */
export type SignatureStatus = "present" | "absent" | "verified" | "invalid" | "unsigned";

/** Options of signatureStatuses. */
export interface SignatureStatusOptions extends OpOptions {
  /** Public keys to verify with; when empty or absent only presence is reported. Default none. */
  keys?: KeyObject[];
  /** Every tag of the repository, unfiltered; when absent they are listed. */
  tags?: string[];
  /** Digests checked at once. Default 8. */
  concurrency?: number;
}

function isSignatureReferrer(d: Descriptor): boolean {
  return d.artifactType === COSIGN_SIG_ARTIFACT_TYPE || (d.artifactType?.startsWith(BUNDLE_MEDIA_TYPE_PREFIX) ?? false);
}

function hasReferrersApi(t: object): t is ReferrerLister {
  return typeof (t as Partial<ReferrerLister>).referrers === "function";
}

async function present(target: Target, digest: string, tags: Set<string>, askApi: boolean, opts: OpOptions): Promise<boolean> {
  if (tags.has(signatureTag(digest))) return true;
  if (tags.has(referrersTag(digest))) {
    const ix = await readReferrersIndex(target, digest, opts).catch((e) => {
      if (isCoreError(e, "CANCELLED") || isCoreError(e, "AUTH_FAILED")) throw e;
      return undefined;
    });
    return (ix?.manifests ?? []).some(isSignatureReferrer);
  }
  if (askApi && hasReferrersApi(target)) return (await target.referrers(digest, undefined, opts)).some(isSignatureReferrer);
  return false;
}

async function verified(target: Target, digest: string, keys: KeyObject[], opts: OpOptions): Promise<SignatureStatus> {
  const found = await findSignatures(target, digest, opts);
  const sigs = [...found.bundles, ...found.legacy];
  if (sigs.length === 0) return "unsigned";
  try {
    verifySignatures(sigs, digest, { keys });
    return "verified";
  } catch (e) {
    if (isCoreError(e) && e.code !== "CANCELLED") return "invalid";
    throw e;
  }
}

/**
 * The signature status of each distinct digest in `digests` (a digest shared by several tags is
 * checked once). With keys, cosign's lookup order applies (bundles, else the legacy image).
 */
export async function signatureStatuses(target: Target, digests: string[], opts: SignatureStatusOptions = {}): Promise<Map<string, SignatureStatus>> {
  const keys = opts.keys ?? [];
  const unique = [...new Set(digests)];
  const tags = new Set(keys.length === 0 ? (opts.tags ?? (await target.tags(opts))) : []);
  // A registry that shows any referrers-schema tag has no referrers API (that is why the tag exists),
  // so a digest without tags has no bundle there either: do not ask once per digest.
  const askApi = keys.length === 0 && ![...tags].some((t) => /^sha256-[a-f0-9]{64}$/.test(t));
  const limit = createLimiter(opts.concurrency ?? 8);
  const out = new Map<string, SignatureStatus>();
  await Promise.all(
    unique.map((d) =>
      limit(async () => {
        out.set(d, keys.length > 0 ? await verified(target, d, keys, opts) : (await present(target, d, tags, askApi, opts)) ? "present" : "absent");
      }),
    ),
  );
  return out;
}
