/**
 * Semantic versions with the parsing and ordering of Masterminds/semver v3 (the library behind Flux's
 * `ref.semver` and `--filter-semver`), not node-semver: the two disagree on what parses (Masterminds
 * coerces `v1`, `1.2`, `01.02.03`; node-semver's loose mode also takes `=v1.2.3` and rejects leading
 * zeros) and on numbers above 2^53, which node-semver refuses and Masterminds orders as uint64.
 */
import { fail } from "../errors.ts";

/** A parsed version. Numbers are bigint because Masterminds accepts the whole uint64 range. */
export interface Version {
  readonly major: bigint;
  readonly minor: bigint;
  readonly patch: bigint;
  /** Prerelease identifiers without the leading `-`; "" when there are none. */
  readonly prerelease: string;
  /** Build metadata without the leading `+`; "" when there is none. Ignored by every comparison. */
  readonly metadata: string;
  /** The exact string that was parsed (Masterminds `Original()`), e.g. `v1.2`. */
  readonly original: string;
}

/** Options for {@link parseVersion}. */
export interface ParseVersionOptions {
  /**
   * false (default): Flux's tag rule (fluxcd/pkg `version.ParseVersion`) — the string must contain at
   * least two dots, then it is parsed like `loose`. This is what source-controller and `flux list
   * artifacts` apply to tags, so `1.2` and `latest` are not versions but `v1.2.3` and `01.2.3` are.
   * true: Masterminds `NewVersion` — a leading `v`, leading zeros and a missing minor/patch are accepted
   * (`v1` → 1.0.0).
   */
  loose?: boolean;
}

const UINT64_MAX = (1n << 64n) - 1n;

// Masterminds' coercing ("loose") grammar. Only ASCII classes, so JS and Go regexps agree on it.
const LOOSE_RE =
  /^v?([0-9]+)(\.[0-9]+)?(\.[0-9]+)?(-([0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*))?(\+([0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*))?$/;
const IDENT_RE = /^[0-9A-Za-z-]+$/;
const DIGITS_RE = /^[0-9]+$/;

/** The parsed version, or why the string is not one (in Masterminds' words). */
function parseOrReason(s: string, loose: boolean): Version | string {
  if (s === "") return "version string empty";
  // SplitN(v, ".", 3) yielding 3 parts means "at least two dots", so `1.2.3.4` passes this gate and is
  // rejected by the grammar, while `1.2-rc.1.2` passes both (as 1.2.0-rc.1.2).
  if (!loose && s.split(".").length < 3) return "invalid semantic version";
  const m = LOOSE_RE.exec(s);
  if (!m) return "invalid semantic version";
  const major = parseUint64(m[1] ?? "");
  const minor = m[2] ? parseUint64(m[2].slice(1)) : 0n;
  const patch = m[3] ? parseUint64(m[3].slice(1)) : 0n;
  for (const [seg, n] of [[m[1], major], [m[2], minor], [m[3], patch]] as const) {
    if (n === undefined) return `error parsing version segment: value out of range: ${seg}`;
  }
  const prerelease = m[5] ?? "";
  const metadata = m[8] ?? "";
  if (prerelease !== "") {
    const bad = prereleaseProblem(prerelease);
    if (bad) return bad;
  }
  if (metadata !== "" && metadata.split(".").some((p) => !IDENT_RE.test(p))) return "invalid metadata string";
  return { major: major!, minor: minor!, patch: patch!, prerelease, metadata, original: s };
}

function prereleaseProblem(pre: string): string | undefined {
  for (const p of pre.split(".")) {
    if (p === "") return "invalid prerelease string";
    if (DIGITS_RE.test(p)) {
      if (p.length > 1 && p[0] === "0") return "version segment starts with 0";
    } else if (!IDENT_RE.test(p)) return "invalid prerelease string";
  }
  return undefined;
}

/** Go `strconv.ParseUint(s, 10, 64)` for an all-digit string; undefined on overflow. */
export function parseUint64(digits: string): bigint | undefined {
  const n = BigInt(digits);
  return n > UINT64_MAX ? undefined : n;
}

/**
 * Parses a version or tag. Throws CoreError `USAGE` ("'<s>' is not a semantic version: …") when it is
 * not one; use {@link tryParseVersion} to test tags.
 */
export function parseVersion(s: string, opts: ParseVersionOptions = {}): Version {
  const r = parseOrReason(s, opts.loose ?? false);
  if (typeof r === "string") {
    fail("USAGE", `'${s}' is not a semantic version: ${r}`, {
      hint: opts.loose ? "use MAJOR[.MINOR[.PATCH]][-PRERELEASE][+BUILD]" : "use MAJOR.MINOR.PATCH[-PRERELEASE][+BUILD], optionally with a leading v",
    });
  }
  return r;
}

/** Like {@link parseVersion} but returns undefined instead of throwing. */
export function tryParseVersion(s: string, opts: ParseVersionOptions = {}): Version | undefined {
  const r = parseOrReason(s, opts.loose ?? false);
  return typeof r === "string" ? undefined : r;
}

/** Builds a version from numbers (Masterminds `New`); `original` is the formatted string. */
export function makeVersion(major: bigint, minor: bigint, patch: bigint, prerelease = "", metadata = ""): Version {
  const v = { major, minor, patch, prerelease, metadata, original: "" };
  return { ...v, original: formatVersion(v) };
}

/** Canonical form `MAJOR.MINOR.PATCH[-PRE][+META]`, without any `v` (Masterminds `String()`). */
export function formatVersion(v: Omit<Version, "original">): string {
  let s = `${v.major}.${v.minor}.${v.patch}`;
  if (v.prerelease) s += `-${v.prerelease}`;
  if (v.metadata) s += `+${v.metadata}`;
  return s;
}

function cmp(a: bigint, b: bigint): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Precedence comparison: -1, 0 or 1. Build metadata is ignored, a prerelease sorts before its release,
 * prerelease identifiers compare numerically when both fit a uint64 and by bytes otherwise (so an
 * identifier of 21 digits is compared as text, as Masterminds does).
 */
export function compareVersions(a: Version, b: Version): number {
  const d = cmp(a.major, b.major) || cmp(a.minor, b.minor) || cmp(a.patch, b.patch);
  if (d !== 0) return d;
  if (a.prerelease === "" && b.prerelease === "") return 0;
  if (a.prerelease === "") return 1;
  if (b.prerelease === "") return -1;
  return comparePrerelease(a.prerelease, b.prerelease);
}

/** Masterminds' prerelease comparison, also used by `!=` with a wildcard patch. */
export function comparePrerelease(a: string, b: string): number {
  const ap = a.split(".");
  const bp = b.split(".");
  const n = Math.max(ap.length, bp.length);
  for (let i = 0; i < n; i++) {
    const d = comparePrePart(ap[i] ?? "", bp[i] ?? "");
    if (d !== 0) return d;
  }
  return 0;
}

function comparePrePart(s: string, o: string): number {
  if (s === o) return 0;
  if (s === "") return -1;
  if (o === "") return 1;
  const sn = DIGITS_RE.test(s) ? parseUint64(s) : undefined;
  const on = DIGITS_RE.test(o) ? parseUint64(o) : undefined;
  if (sn === undefined && on === undefined) return byteCompare(s, o) > 0 ? 1 : -1;
  if (sn === undefined) return 1;
  if (on === undefined) return -1;
  return sn > on ? 1 : -1;
}

/** Go string ordering (UTF-8 bytes), which is code point order; JS `<` compares UTF-16 units instead. */
export function byteCompare(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.codePointAt(i)!;
    const y = b.codePointAt(i)!;
    if (x !== y) return x < y ? -1 : 1;
    if (x > 0xffff) i++;
  }
  return a.length === b.length ? 0 : a.length < b.length ? -1 : 1;
}
