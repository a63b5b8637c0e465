/**
 * Picks the tag a semver constraint resolves to, exactly as source-controller's OCIRepository
 * reconciler does for `spec.ref.semver` (+ `semverFilter`), and explains the choice.
 */
import { fail } from "../errors.ts";
import { compileGoRegexp } from "./go-regexp.ts";
import { parseConstraint, satisfies } from "./constraint.ts";
import { compareVersions, formatVersion, tryParseVersion, type Version } from "./version.ts";

/** Layer media type of Helm charts; with it, tags carry build metadata as `_` instead of `+`. */
export { HELM_CHART_LAYER_MEDIA_TYPE } from "../oci/media-types.ts";
import { HELM_CHART_LAYER_MEDIA_TYPE } from "../oci/media-types.ts";

/** Options for {@link resolveTag}. */
export interface ResolveOptions {
  /** `semverFilter`: a Go RE2 regex matched anywhere in the registry tag (before any `_`→`+` mapping). Default: none. */
  filter?: string;
  /**
   * `layerSelector.mediaType` of the OCIRepository. When it is {@link HELM_CHART_LAYER_MEDIA_TYPE}, `_` in
   * tags is read as `+` (Helm's OCI encoding of build metadata) and mapped back in the result. Default: none.
   */
  layerMediaType?: string;
}

/** Why a tag was not chosen. */
export type SkipReason = "not-semver" | "prerelease" | "filtered" | "out-of-range";

/** The chosen tag and how it was chosen. */
export interface ResolveResult {
  /** The registry tag to pull. */
  tag: string;
  /** Its version in canonical form (no `v`, `+` for build metadata). */
  version: string;
  /** How many tags were examined. */
  considered: number;
  /** Tags that did not match, in input order. */
  skipped: { tag: string; reason: SkipReason }[];
  /** Every matching tag, best first; `candidates[0] === tag`. */
  candidates: string[];
}

/**
 * Resolves `constraint` against a repository's tags (in the registry's listing order).
 *
 * Same steps and error order as source-controller: the filter regex is compiled first (bad →
 * USAGE `error parsing regexp: …`), then the constraint (bad → USAGE `semver '<c>' parse error: …`);
 * tags parse only with at least two dots (`v` and leading zeros allowed); the highest version wins.
 * Equal versions (`1.0.0`, `v1.0.0`, `1.0.0+b`) keep listing order, so the first listed wins; that is
 * what Go's sort does for up to 12 matching tags (insertion sort), while above 12 its unstable
 * pdqsort may pick another of the equal tags.
 * No match → NO_MATCHING_VERSION `no match found for semver: <c> (…counts…)`.
 */
export function resolveTag(tags: readonly string[], constraint: string, opts: ResolveOptions = {}): ResolveResult {
  let filter: ((s: string) => boolean) | undefined;
  if (opts.filter) {
    const re = compileGoRegexp(opts.filter);
    if (!re.ok) fail("USAGE", re.error, { hint: `fix the semver filter regex '${opts.filter}' (Go RE2 syntax)` });
    filter = re.test;
  }
  const con = parseConstraint(constraint);
  const helm = opts.layerMediaType === HELM_CHART_LAYER_MEDIA_TYPE;

  const skipped: ResolveResult["skipped"] = [];
  const matching: { tag: string; v: Version; i: number }[] = [];
  tags.forEach((tag, i) => {
    if (filter && !filter(tag)) return skipped.push({ tag, reason: "filtered" });
    const v = tryParseVersion(helm ? tag.replaceAll("_", "+") : tag);
    if (!v) return skipped.push({ tag, reason: "not-semver" });
    if (satisfies(v, con)) return matching.push({ tag, v, i });
    const onlyPre = v.prerelease !== "" && satisfies(v, con, { includePrerelease: true });
    skipped.push({ tag, reason: onlyPre ? "prerelease" : "out-of-range" });
  });

  if (matching.length === 0) {
    fail("NO_MATCHING_VERSION", `no match found for semver: ${constraint} (${explain(tags.length, skipped)})`, {
      hint: hintFor(skipped, tags.length),
    });
  }
  matching.sort((a, b) => compareVersions(b.v, a.v) || a.i - b.i);
  // The OCI tag is recomputed from the semver string as upstream does; for real tags it is the input.
  const toTag = (m: { v: Version }) => (helm ? m.v.original.replaceAll("+", "_") : m.v.original);
  const best = matching[0]!;
  return {
    tag: toTag(best),
    version: formatVersion(best.v),
    considered: tags.length,
    skipped,
    candidates: matching.map(toTag),
  };
}

function explain(considered: number, skipped: ResolveResult["skipped"]): string {
  if (considered === 0) return "the repository has no tags";
  const n = (r: SkipReason) => skipped.filter((s) => s.reason === r).length;
  const parts = [
    [n("filtered"), "rejected by the filter"],
    [n("not-semver"), "not semver"],
    [n("prerelease"), "prereleases the constraint excludes"],
    [n("out-of-range"), "out of range"],
  ]
    .filter(([c]) => (c as number) > 0)
    .map(([c, what]) => `${c} ${what}`);
  return `${considered} tag${considered === 1 ? "" : "s"} considered: ${parts.join(", ")}`;
}

function hintFor(skipped: ResolveResult["skipped"], considered: number): string {
  if (considered === 0) return "push a tagged artifact first, or check the repository URL";
  if (skipped.some((s) => s.reason === "prerelease")) {
    return "prereleases match only a constraint with a prerelease part, e.g. '>=1.0.0-0'";
  }
  if (skipped.every((s) => s.reason === "filtered")) return "the filter regex matched no tag; check semverFilter";
  return "check the constraint against the repository's tags (berth list artifacts)";
}
