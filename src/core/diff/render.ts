/** Human rendering of a {@link TreeDiff} for `berth diff artifact` and the TUI. */
import type { DiffSummary, ObjectChange, TreeDiff } from "./tree-diff.ts";

/** Options for {@link renderTreeDiff}. */
export interface RenderOptions {
  /** Emit ANSI colors. The caller decides (TTY, NO_COLOR); core never looks. */
  color: boolean;
  /** Include unified diffs; false gives the summary, file list and highlights only. Default true. */
  patch?: boolean;
}

const ESC = "\x1b[";
type Paint = (code: string, s: string) => string;

/** `3 files changed (1 added, 2 modified); 2 objects changed, 1 added`, or `no changes`. */
export function summaryLine(s: DiffSummary): string {
  const f = s.files;
  const o = s.objects;
  const nf = f.added + f.removed + f.modified;
  if (nf === 0) return "no changes";
  const parts = (xs: [number, string][]) => xs.filter(([n]) => n > 0).map(([n, w]) => `${n} ${w}`).join(", ");
  let line = `${nf} file${nf === 1 ? "" : "s"} changed (${parts([[f.added, "added"], [f.removed, "removed"], [f.modified, "modified"]])})`;
  const objs = parts([[o.changed, "changed"], [o.added, "added"], [o.removed, "removed"]]);
  if (objs) {
    const no = o.changed + o.added + o.removed;
    line += `; ${no} object${no === 1 ? "" : "s"}: ${objs}`;
  }
  return line;
}

/** How an object is named in headings: `Deployment apps/v1 frontend -n prod` style, compact. */
export function objectTitle(o: ObjectChange): string {
  const ns = o.namespace ? ` (namespace ${o.namespace})` : "";
  return `${o.kind}${o.name ? ` ${o.name}` : ""}${ns}`;
}

function colorDiff(unified: string, paint: Paint): string {
  return unified
    .split("\n")
    .map((l) => {
      if (l.startsWith("+++") || l.startsWith("---")) return paint("1", l);
      if (l.startsWith("@@")) return paint("36", l);
      if (l.startsWith("+")) return paint("32", l);
      if (l.startsWith("-")) return paint("31", l);
      return l;
    })
    .join("\n");
}

/**
 * Renders a diff: the summary line, the changed files, each changed object with its highlights and
 * diff, then the text diffs of files that are not Kubernetes YAML.
 */
export function renderTreeDiff(d: TreeDiff, opts: RenderOptions): string {
  const paint: Paint = opts.color ? (code, s) => `${ESC}${code}m${s}${ESC}0m` : (_c, s) => s;
  const patch = opts.patch ?? true;
  const out: string[] = [paint("1", summaryLine(d.summary))];
  if (d.equal) return out.join("\n") + "\n";

  const mark = { added: ["A", "32"], removed: ["D", "31"], modified: ["M", "33"], changed: ["~", "33"] } as const;
  out.push("", paint("1", "Files:"));
  for (const f of d.files) {
    const [m, c] = mark[f.status];
    const note = f.binary ? " (binary)" : f.tooLarge ? " (too large to diff)" : "";
    out.push(`  ${paint(c, m)} ${f.path}${note}`);
  }

  if (d.objects.length > 0) {
    out.push("", paint("1", "Objects:"));
    for (const o of d.objects) {
      const [m, c] = o.status === "added" ? mark.added : o.status === "removed" ? mark.removed : mark.changed;
      out.push(`  ${paint(c, m)} ${paint("1", objectTitle(o))}  ${paint("2", `${o.apiVersion} · ${o.path}`)}`);
      for (const h of o.highlights) out.push(`      • ${h}`);
    }
  }

  if (patch) {
    for (const o of d.objects) {
      if (!o.unified) continue;
      out.push("", paint("1", `# ${o.status} ${objectTitle(o)}`), colorDiff(o.unified.trimEnd(), paint));
    }
    // A Kubernetes YAML file is shown through its objects, unless none of them changed (comments,
    // formatting, document order): then its text diff is the only place the change is visible.
    const shownByObjects = new Set(d.objects.flatMap((o) => [o.path, o.fromPath ?? o.path]));
    for (const f of d.files) {
      if (f.structured && shownByObjects.has(f.path)) continue;
      if (f.unified) out.push("", colorDiff(f.unified.trimEnd(), paint));
      else out.push("", paint("1", `# ${f.path}: ${f.binary ? "binary files differ" : "too large to diff"}`));
    }
  }
  return out.join("\n") + "\n";
}
