/** Unified diffs in the format of `git diff` / GNU `diff -u`, built on the `diff` package. */
import { structuredPatch } from "diff";

/**
 * A unified diff of two texts. `oldPath`/`newPath` undefined means the file does not exist on that side
 * (`/dev/null`). Returns headers only when the texts are equal.
 */
export function unifiedDiff(oldPath: string | undefined, newPath: string | undefined, oldText: string, newText: string, context: number): string {
  const p = structuredPatch("", "", oldText, newText, undefined, undefined, { context });
  const lines = [oldPath === undefined ? "--- /dev/null" : `--- a/${oldPath}`, newPath === undefined ? "+++ /dev/null" : `+++ b/${newPath}`];
  for (const h of p.hunks) {
    lines.push(`@@ -${range(h.oldStart, h.oldLines)} +${range(h.newStart, h.newLines)} @@`);
    lines.push(...h.lines);
  }
  return lines.join("\n") + "\n";
}

// GNU style: a count of 1 is omitted, and an empty side names the line before it.
function range(start: number, count: number): string {
  if (count === 0) return `${start === 0 ? 0 : start - 1},0`;
  return count === 1 ? `${start}` : `${start},${count}`;
}
