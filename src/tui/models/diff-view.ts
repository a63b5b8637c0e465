/**
 * The Diff screen's state: a list of changed Kubernetes objects and changed non-YAML files, and the
 * unified diff of the selected one. Built from the core diff engine's `TreeDiff` (the same data
 * `berth diff artifact` prints). Pure; no React.
 */
import type { TreeDiff } from "../../core/index.ts";
import { createTable, tableReducer, type TableAction, type TableState } from "./table-model.ts";

/** One line of the change list. */
export interface DiffEntry {
  key: string;
  /** `~` changed, `A` added, `D` removed, `M` modified (a file). */
  mark: "~" | "A" | "D" | "M";
  /** `Deployment podinfo (namespace apps)` or a file path. */
  title: string;
  /** Where it lives: `apps/v1 · deploy.yaml` for objects, `binary`/`file` for files. */
  detail: string;
  /** Image, replica and other notable changes from the engine. */
  highlights: readonly string[];
  /** Unified diff; empty for binary or oversized files. */
  unified: string;
}

/** Diff screen state. */
export interface DiffViewState {
  readonly entries: readonly DiffEntry[];
  readonly list: TableState;
  /** Which pane has the keys: the change list or the patch of the selected entry. */
  readonly focus: "list" | "patch";
  /** First visible line of the patch. */
  readonly patchOffset: number;
  readonly patchHeight: number;
}

/** Diff screen actions. */
export type DiffViewAction =
  | { kind: "list"; action: TableAction }
  | { kind: "open" }
  | { kind: "close" }
  | { kind: "scroll"; delta: number }
  | { kind: "scrollTo"; where: "top" | "bottom" }
  | { kind: "resize"; listHeight: number; patchHeight: number }
  /** Replaces the whole state (a new diff result arrived). */
  | { kind: "reset"; state: DiffViewState };

/** Turns an engine result into entries: objects first (what reviewers read), then files not split into objects. */
export function toEntries(d: TreeDiff): DiffEntry[] {
  const out: DiffEntry[] = [];
  for (const o of d.objects) {
    const ns = o.namespace ? ` (namespace ${o.namespace})` : "";
    out.push({
      key: `o:${o.path}:${o.kind}:${o.namespace ?? ""}:${o.name}`,
      mark: o.status === "added" ? "A" : o.status === "removed" ? "D" : "~",
      title: `${o.kind}${o.name ? ` ${o.name}` : ""}${ns}`,
      detail: `${o.apiVersion} · ${o.path}`,
      highlights: o.highlights,
      unified: o.unified ?? "",
    });
  }
  for (const f of d.files) {
    if (f.structured) continue;
    out.push({
      key: `f:${f.path}`,
      mark: f.status === "added" ? "A" : f.status === "removed" ? "D" : "M",
      title: f.path,
      detail: f.binary ? "binary file" : f.tooLarge ? "too large to diff" : "file",
      highlights: [],
      unified: f.unified ?? "",
    });
  }
  return out;
}

/** The initial state for a diff result. */
export function createDiffView(d: TreeDiff, listHeight = 10, patchHeight = 10): DiffViewState {
  const entries = toEntries(d);
  const list = tableReducer(createTable(listHeight), { kind: "rows", keys: entries.map((e) => e.key) });
  return { entries, list, focus: "list", patchOffset: 0, patchHeight: Math.max(1, patchHeight) };
}

/** Lines of the selected entry's patch. */
export function patchLines(s: DiffViewState): string[] {
  const e = s.entries[s.list.cursor];
  return e ? e.unified.replace(/\n$/, "").split("\n") : [];
}

function clampOffset(s: DiffViewState, offset: number): number {
  return Math.max(0, Math.min(offset, patchLines(s).length - s.patchHeight));
}

/** Applies an action. Moving in the list resets the patch to its top. */
export function diffViewReducer(s: DiffViewState, a: DiffViewAction): DiffViewState {
  switch (a.kind) {
    case "list": {
      const list = tableReducer(s.list, a.action, s.entries.map((e) => e.key));
      return list === s.list ? s : { ...s, list, patchOffset: list.cursor === s.list.cursor ? s.patchOffset : 0 };
    }
    case "open":
      return s.entries.length ? { ...s, focus: "patch" } : s;
    case "close":
      return { ...s, focus: "list" };
    case "scroll":
      return { ...s, patchOffset: clampOffset(s, s.patchOffset + a.delta) };
    case "scrollTo":
      return { ...s, patchOffset: a.where === "top" ? 0 : clampOffset(s, Number.MAX_SAFE_INTEGER) };
    case "resize": {
      if (a.listHeight === s.list.height && Math.max(1, a.patchHeight) === s.patchHeight) return s;
      const next = { ...s, list: tableReducer(s.list, { kind: "resize", height: a.listHeight }), patchHeight: Math.max(1, a.patchHeight) };
      return { ...next, patchOffset: clampOffset(next, next.patchOffset) };
    }
    case "reset":
      return a.state;
    default:
      return a satisfies never;
  }
}

/** `3 files changed (1 added, 2 modified); 2 objects: 1 changed, 1 added`, or `no changes`. */
export function summaryText(d: TreeDiff): string {
  const f = d.summary.files;
  const o = d.summary.objects;
  const nf = f.added + f.removed + f.modified;
  if (nf === 0) return "no changes";
  const parts = (xs: [number, string][]) => xs.filter(([n]) => n > 0).map(([n, w]) => `${n} ${w}`).join(", ");
  let line = `${nf} file${nf === 1 ? "" : "s"} changed (${parts([[f.added, "added"], [f.removed, "removed"], [f.modified, "modified"]])})`;
  const no = o.changed + o.added + o.removed;
  if (no > 0) line += `; ${no} object${no === 1 ? "" : "s"}: ${parts([[o.changed, "changed"], [o.added, "added"], [o.removed, "removed"]])}`;
  return line;
}
