/** Splitting YAML files into Kubernetes objects and pairing the objects of two trees. */
import { parseAllDocuments } from "yaml";

/** One Kubernetes object found in a YAML file. */
export interface KubeObject {
  /** Identity used for pairing: `<group>/<kind>/<namespace>/<name>`; nameless documents are tied to their file. */
  key: string;
  apiVersion: string;
  kind: string;
  namespace?: string;
  /** `metadata.name`, or "" for documents without one (a kustomization.yaml). */
  name: string;
  path: string;
  /** Position of the document in its file. */
  index: number;
  /** The parsed value, for semantic comparison and highlights. */
  value: Record<string, unknown>;
  /** The document's source text, for diffs; comments and formatting as written. */
  text: string;
}

/** True for paths the object diff tries to parse. */
export function isYamlPath(path: string): boolean {
  return /\.ya?ml$/i.test(path);
}

/**
 * The objects of one YAML file, or undefined when the file is not purely Kubernetes objects: a YAML error,
 * or a non-empty document that is not a mapping with string `apiVersion` and `kind`. Such files are diffed
 * as text. YAML 1.1 is used because Kubernetes reads manifests with 1.1 scalars (`yes`, `on`, `0777`).
 */
export function parseObjects(path: string, text: string): KubeObject[] | undefined {
  let docs;
  try {
    docs = parseAllDocuments(text, { version: "1.1", prettyErrors: false });
  } catch {
    return undefined;
  }
  if (!Array.isArray(docs)) return undefined;
  const out: KubeObject[] = [];
  for (const [index, doc] of docs.entries()) {
    if (doc.errors.length > 0) return undefined;
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount: 100 });
    } catch {
      return undefined;
    }
    if (value === null || value === undefined) continue;
    if (!isRecord(value) || typeof value.apiVersion !== "string" || typeof value.kind !== "string") return undefined;
    const meta = isRecord(value.metadata) ? value.metadata : {};
    const name = typeof meta.name === "string" ? meta.name : "";
    const namespace = typeof meta.namespace === "string" && meta.namespace !== "" ? meta.namespace : undefined;
    const group = value.apiVersion.includes("/") ? value.apiVersion.slice(0, value.apiVersion.lastIndexOf("/")) : "";
    const id = name === "" ? `#${path}#${index}` : name;
    const range = doc.range;
    const src = text.slice(range[0], range[2]).replace(/^---[^\n]*\n/, "");
    out.push({
      key: `${group}/${value.kind}/${namespace ?? ""}/${id}`,
      apiVersion: value.apiVersion,
      kind: value.kind,
      ...(namespace !== undefined ? { namespace } : {}),
      name,
      path,
      index,
      value,
      text: src.endsWith("\n") || src === "" ? src : src + "\n",
    });
  }
  return out;
}

/** A YAML mapping as parsed (not null, not an array). */
export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** A canonical string of a parsed YAML value: equal strings ⇔ equal content (key order ignored). */
export function canonical(v: unknown): string {
  if (v instanceof Date) return `date:${v.toISOString()}`;
  if (v instanceof Map) return canonical(Object.fromEntries([...v.entries()].map(([k, x]) => [String(k), x])));
  if (v instanceof Set) return canonical([...v]);
  if (Array.isArray(v)) return `[${v.map(canonical).join(",")}]`;
  if (typeof v === "bigint") return `${v}n`;
  if (typeof v === "number" && !Number.isFinite(v)) return String(v);
  if (isRecord(v)) {
    return `{${Object.keys(v)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical(v[k])}`)
      .join(",")}}`;
  }
  return JSON.stringify(v) ?? "undefined";
}

/** Result of pairing two object lists. */
export interface Pairing {
  pairs: { a: KubeObject; b: KubeObject }[];
  removed: KubeObject[];
  added: KubeObject[];
}

/**
 * Pairs objects with the same key. Kustomize trees repeat keys (the same Deployment in `bases/` and in
 * an overlay), so within a key the same file pairs first, in document order; what is left pairs across
 * files (a move), equal content first so an untouched moved copy is not mistaken for an edit.
 */
export function pairObjects(as: readonly KubeObject[], bs: readonly KubeObject[]): Pairing {
  const byKey = (xs: readonly KubeObject[]) => {
    const m = new Map<string, KubeObject[]>();
    for (const x of xs) m.set(x.key, [...(m.get(x.key) ?? []), x]);
    return m;
  };
  const A = byKey(as);
  const B = byKey(bs);
  const out: Pairing = { pairs: [], removed: [], added: [] };
  for (const key of new Set([...A.keys(), ...B.keys()])) {
    const la = [...(A.get(key) ?? [])];
    const lb = [...(B.get(key) ?? [])];
    const take = (match: (a: KubeObject, b: KubeObject) => boolean) => {
      for (let i = 0; i < la.length; ) {
        const j = lb.findIndex((b) => match(la[i]!, b));
        if (j < 0) {
          i++;
          continue;
        }
        out.pairs.push({ a: la[i]!, b: lb[j]! });
        la.splice(i, 1);
        lb.splice(j, 1);
      }
    };
    take((a, b) => a.path === b.path);
    take((a, b) => canonical(a.value) === canonical(b.value));
    take(() => true);
    out.removed.push(...la);
    out.added.push(...lb);
  }
  return out;
}
