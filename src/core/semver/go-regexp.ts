/**
 * Go `regexp` (RE2) patterns as Flux uses them for `semverFilter` and `--filter-regex`: compiled with
 * re2js, matched unanchored. re2js reproduces Go's syntax and error texts except where noted below.
 */
import { RE2JS } from "re2js";

/** A compiled RE2 pattern, or the Go error text (`error parsing regexp: …`). */
export type GoRegexpResult = { ok: true; test: (s: string) => boolean } | { ok: false; error: string };

/** Compiles `pattern` with Go semantics; `test` is true when the pattern matches anywhere in its input. */
export function compileGoRegexp(pattern: string): GoRegexpResult {
  let re: RE2JS;
  try {
    re = RE2JS.compile(pattern);
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    // Go appends the (empty) offending text here; re2js does not.
    const error = msg === "error parsing regexp: trailing backslash at end of expression" ? `${msg}: \`\`` : msg;
    return { ok: false, error };
  }
  return { ok: true, test: (s) => re.matcher(s).find() };
}
