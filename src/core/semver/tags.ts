/** Tag filtering and ordering for `list artifacts`, matching `flux list artifacts` where berth claims compatibility. */
import { fail } from "../errors.ts";
import { compileGoRegexp } from "./go-regexp.ts";
import { tryParseConstraint, satisfies, type Constraint } from "./constraint.ts";
import { byteCompare, compareVersions, tryParseVersion } from "./version.ts";

/** Which helper tags {@link filterTagsForList} hides. */
export type HiddenTags =
  /** cosign's `*.sig`, `*.att`, `*.sbom` only, like flux (referrers-fallback `sha256-…` tags stay). */
  | "cosign"
  /** everything {@link isSignatureOrReferrerTag} recognises. */
  | "signatures"
  /** nothing. */
  | "none";

/** Options for {@link filterTagsForList}. */
export interface ListFilterOptions {
  /** `--filter-semver`: Masterminds constraint; tags need at least two dots and parse loosely. Default: none. */
  semver?: string;
  /** `--filter-regex`: Go RE2 regex matched anywhere in the tag (AND with `semver`). Default: none. */
  regex?: string;
  /** Default "cosign", which is what flux does and cannot turn off. */
  hide?: HiddenTags;
}

/**
 * Filters tags like `flux list artifacts`, keeping input order. A bad constraint throws USAGE
 * `semver '<c>' parse error: …` and is checked before a bad regex (`regex '<r>' parse error: …`), as in flux.
 */
export function filterTagsForList(tags: readonly string[], opts: ListFilterOptions = {}): string[] {
  let con: Constraint | undefined;
  if (opts.semver) {
    const c = tryParseConstraint(opts.semver);
    if (typeof c === "string") {
      fail("USAGE", `semver '${opts.semver}' parse error: ${c}`, {
        hint: "use a constraint such as '>=1.2.0 <2.0.0', '~1.2', '^1' or '1.x'",
      });
    }
    con = c;
  }
  let test: ((s: string) => boolean) | undefined;
  if (opts.regex) {
    const re = compileGoRegexp(opts.regex);
    if (!re.ok) fail("USAGE", `regex '${opts.regex}' parse error: ${re.error}`, { hint: "use Go RE2 syntax; the match is unanchored" });
    test = re.test;
  }
  const hide = opts.hide ?? "cosign";
  return tags.filter((tag) => {
    if (hide === "cosign" && isCosignTag(tag)) return false;
    if (hide === "signatures" && isSignatureOrReferrerTag(tag)) return false;
    if (con) {
      const v = tryParseVersion(tag);
      if (!v || !satisfies(v, con)) return false;
    }
    return test ? test(tag) : true;
  });
}

/** How {@link sortTags} orders tags. */
export type TagOrder =
  /** flux's order: descending plain string comparison (`v1.9.0` before `v1.10.0`). */
  | "flux"
  /**
   * berth's default: semver tags first, highest precedence first (equal versions by ascending string, so
   * `1.0.0` precedes `v1.0.0` as in source-controller's pick from a sorted listing), then the other tags
   * descending by string.
   */
  | "semver";

/** Returns a sorted copy of `tags`. */
export function sortTags(tags: readonly string[], order: TagOrder = "semver"): string[] {
  if (order === "flux") return [...tags].sort((a, b) => byteCompare(b, a));
  const withV = tags.map((tag) => ({ tag, v: tryParseVersion(tag) }));
  return withV
    .sort((a, b) => {
      if (a.v && b.v) return compareVersions(b.v, a.v) || byteCompare(a.tag, b.tag);
      if (a.v) return -1;
      if (b.v) return 1;
      return byteCompare(b.tag, a.tag);
    })
    .map((x) => x.tag);
}

/** cosign's tag suffixes, the only helper tags flux hides. */
export function isCosignTag(tag: string): boolean {
  return tag.endsWith(".sig") || tag.endsWith(".att") || tag.endsWith(".sbom");
}

const REFERRER_TAG = /^sha256-[0-9a-f]{64}(\..+)?$/;

/**
 * True for tags that hold signatures, attestations, SBOMs or OCI 1.1 referrers-fallback indexes rather
 * than artifacts: `*.sig`, `*.att`, `*.sbom`, `sha256-<64 hex>` and `sha256-<64 hex>.<anything>`.
 */
export function isSignatureOrReferrerTag(tag: string): boolean {
  return isCosignTag(tag) || REFERRER_TAG.test(tag);
}
