/**
 * Flux's ignore rules (spec §4.2): the gitignore dialect of `fluxcd/pkg/sourceignore`, a go-git fork,
 * reproduced exactly, quirks included, because they decide which files land in the artifact and so
 * its digest. Summary of the semantics:
 *
 * - Each line is one pattern; lines starting with `#` and whitespace-only lines are skipped. Trailing
 *   spaces are trimmed unless the line ends in `\ `. Leading spaces are kept.
 * - A leading `!` re-includes. The **last** pattern that matches decides; no match = included.
 * - A trailing `/` makes the pattern directory-only (for the last path component).
 * - A pattern without `/` is tested against every component of the path, so it also excludes
 *   everything below a matching directory.
 * - A pattern with `/` is anchored at its domain and matched component by component: empty
 *   components (a leading `/`, `//`) are skipped, `**` matches zero or more components, a trailing
 *   `**` matches the directory itself too, a component mixing `**` with text never matches, and
 *   extra trailing path components are allowed (`a/b` excludes `a/b/c`).
 * - Globs are Go `filepath.Match` (`*`, `?`, `[a-z]`, `[^…]`, `\` escapes); a malformed glob matches
 *   nothing.
 * - The root (an empty path) never matches. There is no pruning: each child is tested on its own,
 *   so `dir/` + `!dir/keep.yaml` keeps `dir/keep.yaml` without a `dir` entry.
 */

/** flux CLI's default `--ignore-paths` (sourceignore `ExcludeVCS` + `ExcludeExt`). `*.tgz` is not in it. */
export const DEFAULT_IGNORE_PATHS: readonly string[] = Object.freeze([
  ".git/",
  ".gitignore",
  ".gitmodules",
  ".gitattributes",
  "*.jpg",
  "*.jpeg",
  "*.gif",
  "*.png",
  "*.wmv",
  "*.flv",
  "*.tar.gz",
  "*.zip",
]);

/** Name of the ignore file berth reads from the root of a build when `sourceIgnore` is on. */
export const SOURCE_IGNORE_FILE = ".sourceignore";

/** Decides whether a path (components relative to the archive root) is excluded. */
export type IgnoreMatcher = (relPath: readonly string[], isDir: boolean) => boolean;

/** One parsed pattern line. */
export interface IgnorePattern {
  /** Path components the pattern is scoped to, relative to the archive root ([] = the root). */
  domain: string[];
  /** The pattern split on `/` (after `!` and a trailing `/` were removed). */
  parts: string[];
  inclusion: boolean;
  dirOnly: boolean;
  /** Whether the pattern contained a `/` (anchored component-wise match). */
  anchored: boolean;
}

/** Options for `createIgnoreMatcher` and `parseIgnorePatterns`. */
export interface IgnoreOptions {
  /** Scope of the patterns, as path components relative to the root. Default [] (the root). */
  domain?: readonly string[];
}

/** Parses one pattern line (no comment/blank filtering; see `parseIgnoreLines`). */
export function parseIgnorePattern(line: string, domain: readonly string[] = []): IgnorePattern {
  let p = line;
  let inclusion = false;
  if (p.startsWith("!")) {
    inclusion = true;
    p = p.slice(1);
  }
  if (!p.endsWith("\\ ")) p = p.replace(/ +$/, "");
  let dirOnly = false;
  if (p.endsWith("/")) {
    dirOnly = true;
    p = p.slice(0, -1);
  }
  return { domain: [...domain], parts: p.split("/"), inclusion, dirOnly, anchored: p.includes("/") };
}

/**
 * Parses pattern lines the way flux reads `--ignore-paths` (joined with newlines) and ignore files:
 * `#` lines and whitespace-only lines are dropped. A value containing newlines counts as several lines.
 */
export function parseIgnoreLines(lines: readonly string[], domain: readonly string[] = []): IgnorePattern[] {
  const out: IgnorePattern[] = [];
  for (const value of lines) {
    for (const raw of value.split("\n")) {
      // bufio.Scanner drops one trailing \r per line.
      const s = raw.endsWith("\r") ? raw.slice(0, -1) : raw;
      if (s.startsWith("#") || s.trim() === "") continue;
      out.push(parseIgnorePattern(s, domain));
    }
  }
  return out;
}

/** Parses the text of a `.sourceignore` file (same line rules as `--ignore-paths`). */
export function parseSourceIgnore(text: string, domain: readonly string[] = []): IgnorePattern[] {
  return parseIgnoreLines([text], domain);
}

/** -1 = no match, 0 = exclude, 1 = include. */
function matchPattern(p: IgnorePattern, path: readonly string[], isDir: boolean): -1 | 0 | 1 {
  if (path.length <= p.domain.length) return -1;
  for (let i = 0; i < p.domain.length; i++) if (path[i] !== p.domain[i]) return -1;
  const rest = path.slice(p.domain.length);
  const ok = p.anchored ? anchoredMatch(p, rest, isDir) : simpleNameMatch(p, rest, isDir);
  if (!ok) return -1;
  return p.inclusion ? 1 : 0;
}

function simpleNameMatch(p: IgnorePattern, path: readonly string[], isDir: boolean): boolean {
  const glob = p.parts[0]!;
  for (let i = 0; i < path.length; i++) {
    const m = goMatch(glob, path[i]!);
    if (m === undefined) return false;
    if (!m) continue;
    return !(p.dirOnly && !isDir && i === path.length - 1);
  }
  return false;
}

function anchoredMatch(p: IgnorePattern, pathIn: readonly string[], isDir: boolean): boolean {
  let path = pathIn;
  let matched = false;
  let canTraverse = false;
  for (let i = 0; i < p.parts.length; i++) {
    const part = p.parts[i]!;
    if (part === "") {
      canTraverse = false;
      continue;
    }
    if (part === "**") {
      if (i === p.parts.length - 1) break;
      canTraverse = true;
      continue;
    }
    if (part.includes("**")) return false;
    if (path.length === 0) return false;
    if (canTraverse) {
      canTraverse = false;
      while (path.length > 0) {
        const e = path[0]!;
        path = path.slice(1);
        const m = goMatch(part, e);
        if (m === undefined) return false;
        if (m) {
          matched = true;
          break;
        }
        if (path.length === 0) matched = false;
      }
    } else {
      if (goMatch(part, path[0]!) !== true) return false;
      matched = true;
      path = path.slice(1);
    }
  }
  if (matched && p.dirOnly && !isDir && path.length === 0) matched = false;
  return matched;
}

/** Builds a matcher over parsed patterns; the last matching pattern wins. */
export function matcherFromPatterns(patterns: readonly IgnorePattern[]): IgnoreMatcher {
  const ps = [...patterns];
  return (relPath, isDir) => {
    for (let i = ps.length - 1; i >= 0; i--) {
      const r = matchPattern(ps[i]!, relPath, isDir);
      if (r !== -1) return r === 0;
    }
    return false;
  };
}

/**
 * Creates a matcher from pattern lines (flag values or file lines). `relPath` is the entry's path
 * split on `/`, relative to the archive root; `[]` is the root and is never excluded.
 */
export function createIgnoreMatcher(patterns: readonly string[], opts: IgnoreOptions = {}): IgnoreMatcher {
  return matcherFromPatterns(parseIgnoreLines(patterns, opts.domain ?? []));
}

// ---- Go filepath.Match, byte-wise on UTF-8 like Go's strings ----

const utf8 = new TextEncoder();
const BAD = Symbol("bad pattern");
const SEP = 0x2f;

/** Decodes one rune at `i` like Go's `utf8.DecodeRune`: invalid input gives U+FFFD and width 1. */
function decodeRune(b: Uint8Array, i: number): [rune: number, width: number] {
  const c0 = b[i]!;
  if (c0 < 0x80) return [c0, 1];
  let need: number;
  if (c0 >= 0xc2 && c0 <= 0xdf) need = 1;
  else if (c0 >= 0xe0 && c0 <= 0xef) need = 2;
  else if (c0 >= 0xf0 && c0 <= 0xf4) need = 3;
  else return [0xfffd, 1];
  if (i + need >= b.length) return [0xfffd, 1];
  let r = c0 & (need === 1 ? 0x1f : need === 2 ? 0x0f : 0x07);
  for (let k = 1; k <= need; k++) {
    const c = b[i + k]!;
    if ((c & 0xc0) !== 0x80) return [0xfffd, 1];
    r = (r << 6) | (c & 0x3f);
  }
  const min = need === 1 ? 0x80 : need === 2 ? 0x800 : 0x10000;
  if (r < min || r > 0x10ffff || (r >= 0xd800 && r <= 0xdfff)) return [0xfffd, 1];
  return [r, need + 1];
}

/**
 * Go's `filepath.Match` on Unix: `true`/`false`, or `undefined` when the pattern is malformed
 * (Go's ErrBadPattern; callers treat it as "no match", as flux does).
 */
export function goMatch(pattern: string, name: string): boolean | undefined {
  const r = matchBytes(utf8.encode(pattern), utf8.encode(name));
  return r === BAD ? undefined : r;
}

function matchBytes(pat: Uint8Array, name: Uint8Array): boolean | typeof BAD {
  let p = 0;
  let n = 0;
  outer: while (p < pat.length) {
    let star = false;
    while (p < pat.length && pat[p] === 0x2a) {
      p++;
      star = true;
    }
    // scanChunk: the chunk runs to the next '*' outside a class.
    const cs = p;
    let inrange = false;
    let i = p;
    for (; i < pat.length; i++) {
      const c = pat[i];
      if (c === 0x5c) {
        if (i + 1 < pat.length) i++;
      } else if (c === 0x5b) inrange = true;
      else if (c === 0x5d) inrange = false;
      else if (c === 0x2a && !inrange) break;
    }
    const ce = i;
    p = i;
    if (star && cs === ce) {
      return name.indexOf(SEP, n) === -1;
    }
    const t = matchChunk(pat, cs, ce, name, n);
    if (t !== BAD && t >= 0 && (t === name.length || p < pat.length)) {
      n = t;
      continue;
    }
    if (t === BAD) return BAD;
    if (star) {
      for (let k = n; k < name.length && name[k] !== SEP; k++) {
        const t2 = matchChunk(pat, cs, ce, name, k + 1);
        if (t2 !== BAD && t2 >= 0) {
          if (p === pat.length && t2 < name.length) continue;
          n = t2;
          continue outer;
        }
        if (t2 === BAD) return BAD;
      }
    }
    return false;
  }
  return n === name.length;
}

/** Returns the new name offset on success, -1 on mismatch, BAD on a malformed chunk. */
function matchChunk(pat: Uint8Array, cs: number, ce: number, s: Uint8Array, si: number): number | typeof BAD {
  let c = cs;
  let failed = false;
  while (c < ce) {
    failed = failed || si >= s.length;
    const ch = pat[c]!;
    if (ch === 0x5b) {
      let r = 0;
      if (!failed) {
        const [rr, w] = decodeRune(s, si);
        r = rr;
        si += w;
      }
      c++;
      let negated = false;
      if (c < ce && pat[c] === 0x5e) {
        negated = true;
        c++;
      }
      let match = false;
      let nrange = 0;
      for (;;) {
        if (c < ce && pat[c] === 0x5d && nrange > 0) {
          c++;
          break;
        }
        const lo = getEsc(pat, c, ce);
        if (lo === BAD) return BAD;
        c = lo[1];
        let hi = lo[0];
        if (pat[c] === 0x2d) {
          const h = getEsc(pat, c + 1, ce);
          if (h === BAD) return BAD;
          hi = h[0];
          c = h[1];
        }
        match = match || (lo[0] <= r && r <= hi);
        nrange++;
      }
      failed = failed || match === negated;
    } else if (ch === 0x3f) {
      if (!failed) {
        failed = s[si] === SEP;
        si += decodeRune(s, si)[1];
      }
      c++;
    } else {
      if (ch === 0x5c) {
        c++;
        if (c >= ce) return BAD;
      }
      if (!failed) {
        failed = pat[c] !== s[si];
        si++;
      }
      c++;
    }
  }
  return failed ? -1 : si;
}

function getEsc(pat: Uint8Array, c: number, ce: number): [number, number] | typeof BAD {
  if (c >= ce || pat[c] === 0x2d || pat[c] === 0x5d) return BAD;
  if (pat[c] === 0x5c) {
    c++;
    if (c >= ce) return BAD;
  }
  const [r, w] = decodeRune(pat.subarray(0, ce), c);
  if (r === 0xfffd && w === 1) return BAD;
  const next = c + w;
  if (next >= ce) return BAD;
  return [r, next];
}
