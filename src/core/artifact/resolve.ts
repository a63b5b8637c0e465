import type { Descriptor, OpOptions, Resolver, TagLister } from "../content/store.ts";
import { fail } from "../errors.ts";
import { resolveTag, type ResolveResult } from "../semver/index.ts";

/** OCIRepository `spec.ref`: digest > semver (+ semverFilter) > tag > `latest`. */
export interface OCIRepositoryRef {
  digest?: string;
  semver?: string;
  semverFilter?: string;
  tag?: string;
}

export interface RefResolution {
  /** The tag chosen (absent for digest refs). */
  tag?: string;
  descriptor: Descriptor;
  /** `<tag>@sha256:<hex>`, or the digest alone: source-controller's revision string. */
  revision: string;
  /** Which rule decided. */
  rule: "digest" | "semver" | "tag" | "latest";
  /** For semver: every tag considered and why it was skipped. */
  semver?: ResolveResult;
}

/**
 * Resolves an OCIRepository ref against a repository exactly as the controller does; `berth resolve`
 * prints this. The manifest digest comes from HEAD (GET fallback) via the target's resolver.
 */
export async function resolveRef(target: Resolver & TagLister, ref: OCIRepositoryRef, opts: OpOptions = {}): Promise<RefResolution> {
  if (ref.digest) {
    const descriptor = await target.resolve(ref.digest, opts);
    return { descriptor, revision: descriptor.digest, rule: "digest" };
  }
  if (ref.semver) {
    const tags = await target.tags(opts);
    const semver = resolveTag(tags, ref.semver, { filter: ref.semverFilter });
    const descriptor = await target.resolve(semver.tag, opts);
    return { tag: semver.tag, descriptor, revision: `${semver.tag}@${descriptor.digest}`, rule: "semver", semver };
  }
  if (ref.semverFilter) fail("USAGE", "semverFilter needs semver", { hint: "add --semver '<constraint>'" });
  const tag = ref.tag ?? "latest";
  const descriptor = await target.resolve(tag, opts);
  return { tag, descriptor, revision: `${tag}@${descriptor.digest}`, rule: ref.tag ? "tag" : "latest" };
}
