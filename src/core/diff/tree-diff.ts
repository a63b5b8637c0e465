/**
 * Content diff of two file trees (an artifact's layer and a local directory, or two artifacts): which
 * files changed, and, for Kubernetes YAML, which objects changed and how. `flux diff artifact` only
 * compares layer digests; this is what berth shows on top of that.
 */
import { highlights } from "./highlights.ts";
import { canonical, isYamlPath, pairObjects, parseObjects, type KubeObject } from "./objects.ts";
import type { TreeReader } from "./tree-reader.ts";
import { unifiedDiff } from "./unified.ts";

/** Options for {@link diffTrees}. */
export interface DiffOptions {
  /** Lines of context in unified diffs. Default 3. */
  context?: number;
  /** Files larger than this (either side) are compared by bytes only, without a text or object diff. Default 1 MiB. */
  maxFileBytes?: number;
}

/** A file that differs between the trees. */
export interface FileChange {
  path: string;
  status: "added" | "removed" | "modified";
  /** Either side looks binary (NUL byte in the first 8000 bytes, or not UTF-8). */
  binary: boolean;
  /** Unified diff with `--- a/<path>` / `+++ b/<path>` headers (`/dev/null` for a missing side); absent for binary or oversized files. */
  unified?: string;
  /** Set when `unified` was left out because the file exceeds `maxFileBytes`. */
  tooLarge?: boolean;
  /** The file was split into Kubernetes objects, so its changes are also (better) described in `objects`. */
  structured: boolean;
}

/** A Kubernetes object that differs between the trees. */
export interface ObjectChange {
  kind: string;
  apiVersion: string;
  namespace?: string;
  /** `metadata.name`; "" for documents without one, such as a kustomization.yaml. */
  name: string;
  status: "added" | "removed" | "changed";
  /** The file holding the object (the new file for added/changed objects, the old one for removed). */
  path: string;
  /** For a changed object that also moved: the file it was in. */
  fromPath?: string;
  /** Unified diff of the object's YAML document alone. */
  unified?: string;
  /** Short notes such as `image ghcr.io/x/podinfo:6.12.0 → 6.13.0` or `replicas 1 → 2`. */
  highlights: string[];
}

/** Counts for summaries and `-o json`. */
export interface DiffSummary {
  files: { added: number; removed: number; modified: number };
  objects: { added: number; removed: number; changed: number };
}

/** Result of {@link diffTrees}; plain data, safe to `JSON.stringify`. */
export interface TreeDiff {
  equal: boolean;
  summary: DiffSummary;
  /** Sorted by path. */
  files: FileChange[];
  /** Sorted by path, then kind and name. */
  objects: ObjectChange[];
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

function decode(bytes: Uint8Array): string | undefined {
  const head = bytes.subarray(0, 8000);
  if (head.includes(0)) return undefined;
  try {
    return utf8.decode(bytes);
  } catch {
    return undefined;
  }
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

async function mapLimit<T, R>(items: readonly T[], limit: number, f: (x: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await f(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/**
 * Compares tree `a` (old) with tree `b` (new). Unchanged files are not parsed, so cost follows the size
 * of the change; changed files are read whole (bounded by the trees' own sizes).
 */
export async function diffTrees(a: TreeReader, b: TreeReader, opts: DiffOptions = {}): Promise<TreeDiff> {
  const context = opts.context ?? 3;
  const maxBytes = opts.maxFileBytes ?? 1 << 20;
  const [la, lb] = await Promise.all([a.list(), b.list()]);
  const inA = new Set(la);
  const inB = new Set(lb);
  const paths = [...new Set([...la, ...lb])].sort();

  const results = await mapLimit(paths, 16, async (path) => {
    const [ba, bb] = await Promise.all([inA.has(path) ? a.read(path) : undefined, inB.has(path) ? b.read(path) : undefined]);
    if (ba && bb && bytesEqual(ba, bb)) return undefined;
    const status: FileChange["status"] = !ba ? "added" : !bb ? "removed" : "modified";
    const tooLarge = (ba?.length ?? 0) > maxBytes || (bb?.length ?? 0) > maxBytes;
    const ta = ba && decode(ba);
    const tb = bb && decode(bb);
    const binary = (ba !== undefined && ta === undefined) || (bb !== undefined && tb === undefined);
    const change: FileChange = { path, status, binary, structured: false };
    let objsA: KubeObject[] | undefined = [];
    let objsB: KubeObject[] | undefined = [];
    if (binary) return { change, objsA: [], objsB: [] };
    if (tooLarge) {
      change.tooLarge = true;
      return { change, objsA: [], objsB: [] };
    }
    change.unified = unifiedDiff(ba ? path : undefined, bb ? path : undefined, ta ?? "", tb ?? "", context);
    if (isYamlPath(path)) {
      objsA = ta !== undefined ? parseObjects(path, ta) : [];
      objsB = tb !== undefined ? parseObjects(path, tb) : [];
      // A file that is Kubernetes YAML on one side only is text on both, so its objects do not appear removed.
      if (objsA && objsB) change.structured = true;
      else objsA = objsB = [];
    }
    return { change, objsA: objsA ?? [], objsB: objsB ?? [] };
  });

  const files: FileChange[] = [];
  const objsA: KubeObject[] = [];
  const objsB: KubeObject[] = [];
  for (const r of results) {
    if (!r) continue;
    files.push(r.change);
    objsA.push(...r.objsA);
    objsB.push(...r.objsB);
  }

  const { pairs, added, removed } = pairObjects(objsA, objsB);
  const objects: ObjectChange[] = [];
  const base = (o: KubeObject) => ({
    kind: o.kind,
    apiVersion: o.apiVersion,
    ...(o.namespace !== undefined ? { namespace: o.namespace } : {}),
    name: o.name,
  });
  for (const { a: oa, b: ob } of pairs) {
    if (canonical(oa.value) === canonical(ob.value)) continue;
    const h = highlights(oa.value, ob.value);
    if (oa.path !== ob.path) h.push(`moved from ${oa.path}`);
    objects.push({
      ...base(ob),
      status: "changed",
      path: ob.path,
      ...(oa.path !== ob.path ? { fromPath: oa.path } : {}),
      unified: unifiedDiff(oa.path, ob.path, oa.text, ob.text, context),
      highlights: h,
    });
  }
  for (const o of added) {
    objects.push({ ...base(o), status: "added", path: o.path, unified: unifiedDiff(undefined, o.path, "", o.text, context), highlights: highlights(undefined, o.value) });
  }
  for (const o of removed) {
    objects.push({ ...base(o), status: "removed", path: o.path, unified: unifiedDiff(o.path, undefined, o.text, "", context), highlights: highlights(o.value, undefined) });
  }
  objects.sort((x, y) => cmp(x.path, y.path) || cmp(x.kind, y.kind) || cmp(x.name, y.name));

  const count = <T extends { status: string }>(xs: T[], s: string) => xs.filter((x) => x.status === s).length;
  return {
    equal: files.length === 0,
    summary: {
      files: { added: count(files, "added"), removed: count(files, "removed"), modified: count(files, "modified") },
      objects: { added: count(objects, "added"), removed: count(objects, "removed"), changed: count(objects, "changed") },
    },
    files,
    objects,
  };
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
