/**
 * Masterminds/semver v3 constraints, which Flux uses for `ref.semver` and `--filter-semver`.
 *
 * Written here rather than taken from node-semver because the two differ in ways users see:
 * - separators: `>= 1.2, < 2` (comma or space = AND), `||` = OR; node-semver has no commas;
 * - operators `!=`, `=>`, `=<` exist only here;
 * - wildcards are "dirty" bounds: `<=1.2` means minor ≤ 2 (so 1.2.9 matches), `>1.2` means ≥ 1.3.0;
 * - a prerelease version matches only if some constraint of the same `||` group carries a prerelease,
 *   for any major.minor.patch (node-semver only lets in prereleases of the same major.minor.patch);
 * - hyphen ranges `1 - 2` become `>= 1, <= 2`, and `<= 2` with a wildcard keeps all of 2.x.
 * The grammar is matched with re2js so that RE2's `\s` and leftmost-first submatches are exactly Go's.
 */
import { RE2JS } from "re2js";
import { fail } from "../errors.ts";
import { compareVersions, comparePrerelease, tryParseVersion, type Version } from "./version.ts";

/** One comparison such as `>=1.2.x`. */
export interface Comparator {
  readonly op: Operator;
  /** The version text as written, e.g. `1.2.x` or `v2`. */
  readonly text: string;
  /** The bound with wildcards replaced by 0 (prerelease kept, metadata dropped when dirty). */
  readonly bound: Version;
  /** Some part was a wildcard or missing (`1`, `1.x`, `*`). */
  readonly dirty: boolean;
  /** The minor part was a wildcard or missing. */
  readonly minorDirty: boolean;
  /** The patch part (only) was a wildcard or missing. */
  readonly patchDirty: boolean;
}

/** Operators as written; `""` and `=` are equality (or tilde when dirty), `~>` is `~`, `=>`/`=<` are `>=`/`<=`. */
export type Operator = "" | "=" | "!=" | ">" | "<" | ">=" | "=>" | "<=" | "=<" | "~" | "~>" | "^";

/** A parsed constraint: OR of AND-groups. */
export interface Constraint {
  /** The string that was parsed. */
  readonly source: string;
  readonly groups: readonly (readonly Comparator[])[];
  /** Per group: whether any comparator names a prerelease, which lets prereleases match in that group. */
  readonly groupAllowsPrerelease: readonly boolean[];
}

const OPS = String.raw`=||!=|>|<|>=|=>|<=|=<|~|~>|\^`;
// `|` inside the classes is literal, exactly as upstream; such a version fails later ("constraint parser error").
const CV =
  String.raw`v?([0-9|x|X|\*]+)(\.[0-9|x|X|\*]+)?(\.[0-9|x|X|\*]+)?` +
  String.raw`(-([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?` +
  String.raw`(\+([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?`;

const constraintRe = RE2JS.compile(String.raw`^\s*(${OPS})\s*(${CV})\s*$`);
const rangeRe = RE2JS.compile(String.raw`\s*(${CV})\s+-\s+(${CV})\s*`);
const findRe = RE2JS.compile(String.raw`(${OPS})\s*(${CV})`);
const validRe = RE2JS.compile(String.raw`^(\s*(${OPS})\s*(${CV})\s*)((?:\s+|,\s*)(${OPS})\s*(${CV})\s*)*$`);

/** All matches with their groups ("" for groups that did not take part), like Go's FindAllStringSubmatch. */
function findAll(re: RE2JS, s: string): string[][] {
  const m = re.matcher(s);
  const out: string[][] = [];
  while (m.find()) {
    const g: string[] = [];
    for (let i = 0; i <= m.groupCount(); i++) g.push(m.group(i) ?? "");
    out.push(g);
  }
  return out;
}

// Go's unicode.IsPrint: letters, marks, numbers, punctuation, symbols (plus the ASCII space, handled apart).
const GO_PRINTABLE = /^[\p{L}\p{M}\p{N}\p{P}\p{S}]$/u;

function isX(s: string): boolean {
  return s === "x" || s === "X" || s === "*";
}

/** Go's %q (strconv.Quote): printable runes kept, everything else escaped. */
export function goQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (ch === '"' || ch === "\\") out += "\\" + ch;
    else if (ch === "\n") out += "\\n";
    else if (ch === "\t") out += "\\t";
    else if (ch === "\r") out += "\\r";
    else if (ch === "\f") out += "\\f";
    else if (ch === "\v") out += "\\v";
    else if (ch === "\x07") out += "\\a";
    else if (ch === "\b") out += "\\b";
    else if (c < 0x20 || c === 0x7f) out += "\\x" + c.toString(16).padStart(2, "0");
    else if (c === 0x20 || GO_PRINTABLE.test(ch)) out += ch;
    else if (c < 0x10000) out += "\\u" + c.toString(16).padStart(4, "0");
    else out += "\\U" + c.toString(16).padStart(8, "0");
  }
  return out + '"';
}

function rewriteRange(s: string): string {
  let out = s;
  for (const m of findAll(rangeRe, s)) {
    // Replaces the first occurrence of the matched text, not the match position, as upstream does.
    out = out.replace(m[0]!, () => `>= ${m[1]}, <= ${m[11]} `);
  }
  return out;
}

/** Parses one comparator; the reason string when it does not parse. */
function parseComparator(c: string): Comparator | string {
  const m = findAll(constraintRe, c)[0];
  if (!m) return `improper constraint: ${goQuote(c)}`;
  const op = m[1] as Operator;
  const text = m[2]!;
  const [major, minor, patch, pre] = [m[3]!, m[4]!, m[5]!, m[6]!];
  let ver = text;
  let dirty = false;
  let minorDirty = false;
  let patchDirty = false;
  if (isX(major) || major === "") {
    ver = `0.0.0${pre}`;
    dirty = true;
  } else if (isX(minor.replace(/^\./, "")) || minor === "") {
    ver = `${major}.0.0${pre}`;
    dirty = minorDirty = true;
  } else if (isX(patch.replace(/^\./, "")) || patch === "") {
    ver = `${major}${minor}.0${pre}`;
    dirty = patchDirty = true;
  }
  const bound = tryParseVersion(ver, { loose: true });
  if (!bound) return "constraint parser error";
  return { op, text, bound, dirty, minorDirty, patchDirty };
}

/** Parse result without throwing: the constraint, or Masterminds' error text. */
export function tryParseConstraint(s: string): Constraint | string {
  const rewritten = rewriteRange(s);
  const groups: Comparator[][] = [];
  const allowPre: boolean[] = [];
  for (const seg of rewritten.split("||")) {
    if (!validRe.matcher(seg).matches()) return `improper constraint: ${goQuote(seg)}`;
    let parts = findAll(findRe, seg).map((g) => g[0]!);
    if (parts.length === 0) parts = [seg];
    const group: Comparator[] = [];
    let pre = false;
    for (const p of parts) {
      const c = parseComparator(p);
      if (typeof c === "string") return c;
      if (c.bound.prerelease !== "") pre = true;
      group.push(c);
    }
    groups.push(group);
    allowPre.push(pre);
  }
  return { source: s, groups, groupAllowsPrerelease: allowPre };
}

/**
 * Parses a Masterminds constraint (`>=1.2.0 <2`, `~1.2`, `^0.3`, `1.x || >=3.0.0-0`, `1.2 - 1.4`).
 * Throws CoreError `USAGE` with flux's message: `semver '<c>' parse error: improper constraint: "<c>"`.
 */
export function parseConstraint(s: string): Constraint {
  const c = tryParseConstraint(s);
  if (typeof c === "string") {
    fail("USAGE", `semver '${s}' parse error: ${c}`, {
      hint: "use a constraint such as '>=1.2.0 <2.0.0', '~1.2', '^1' or '1.x'; add a prerelease (e.g. '>=1.0.0-0') to include prereleases",
    });
  }
  return c;
}

/** Options for {@link satisfies}. */
export interface SatisfiesOptions {
  /** Let prereleases match every group (Masterminds `IncludePrerelease`); Flux never sets it. Default false. */
  includePrerelease?: boolean;
}

/**
 * Whether `v` satisfies `c` (Masterminds `Constraints.Check`). Strings are parsed: the version loosely
 * (Masterminds `NewVersion`), the constraint with {@link parseConstraint} (so a bad one throws USAGE).
 * Returns false for a version string that does not parse.
 */
export function satisfies(v: Version | string, c: Constraint | string, opts: SatisfiesOptions = {}): boolean {
  const ver = typeof v === "string" ? tryParseVersion(v, { loose: true }) : v;
  if (!ver) return false;
  const con = typeof c === "string" ? parseConstraint(c) : c;
  return con.groups.some((g, i) => {
    const pre = (opts.includePrerelease ?? false) || (con.groupAllowsPrerelease[i] ?? false);
    return g.every((cmp) => checkComparator(ver, cmp, pre));
  });
}

function checkComparator(v: Version, c: Comparator, includePre: boolean): boolean {
  if (v.prerelease !== "" && !includePre) return false;
  switch (c.op) {
    case "":
    case "=":
      return c.dirty ? tilde(v, c) : compareVersions(v, c.bound) === 0;
    case "!=":
      return notEqual(v, c);
    case ">":
      return greaterThan(v, c);
    case "<":
      return compareVersions(v, c.bound) < 0;
    case ">=":
    case "=>":
      return compareVersions(v, c.bound) >= 0;
    case "<=":
    case "=<":
      return lessThanEqual(v, c);
    case "~":
    case "~>":
      return tilde(v, c);
    case "^":
      return caret(v, c);
  }
}

function notEqual(v: Version, c: Comparator): boolean {
  const b = c.bound;
  if (c.dirty) {
    if (b.major !== v.major) return true;
    if (b.minor !== v.minor && !c.minorDirty) return true;
    if (c.minorDirty) return false;
    if (b.patch !== v.patch && !c.patchDirty) return true;
    if (c.patchDirty) {
      if (v.prerelease !== "" || b.prerelease !== "") return comparePrerelease(v.prerelease, b.prerelease) !== 0;
      return false;
    }
  }
  return compareVersions(v, b) !== 0;
}

function greaterThan(v: Version, c: Comparator): boolean {
  const b = c.bound;
  if (!c.dirty) return compareVersions(v, b) === 1;
  if (v.major > b.major) return true;
  if (v.major < b.major) return false;
  // `>11` needs 12 or higher; `>11.1` needs 11.2 or higher.
  if (c.minorDirty) return false;
  if (c.patchDirty) return v.minor > b.minor;
  return compareVersions(v, b) === 1;
}

function lessThanEqual(v: Version, c: Comparator): boolean {
  const b = c.bound;
  if (!c.dirty) return compareVersions(v, b) <= 0;
  if (v.major > b.major) return false;
  if (v.major === b.major && v.minor > b.minor && !c.minorDirty) return false;
  return true;
}

function tilde(v: Version, c: Comparator): boolean {
  const b = c.bound;
  if (compareVersions(v, b) < 0) return false;
  if (b.major === 0n && b.minor === 0n && b.patch === 0n && !c.minorDirty && !c.patchDirty) return true;
  if (v.major !== b.major) return false;
  if (v.minor !== b.minor && !c.minorDirty) return false;
  return true;
}

function caret(v: Version, c: Comparator): boolean {
  const b = c.bound;
  if (compareVersions(v, b) < 0) return false;
  if (b.major > 0n || c.minorDirty) return v.major === b.major;
  if (v.major > 0n) return false;
  if (b.minor > 0n || c.patchDirty) return v.minor === b.minor;
  if (v.minor > 0n) return false;
  return v.patch === b.patch;
}
