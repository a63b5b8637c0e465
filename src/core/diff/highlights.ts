/**
 * One-line summaries of the changes a reviewer looks for first in a Kubernetes object: images,
 * replicas, resources, env, command/args, service account, schedule, ConfigMap/Secret keys.
 * Secret values are never shown.
 */
import { isRecord } from "./objects.ts";

type Obj = Record<string, unknown>;

const MAX = 80;

function show(v: unknown): string {
  if (v === undefined || v === null) return "unset";
  const s = typeof v === "string" ? v : JSON.stringify(v);
  return s.length > MAX ? s.slice(0, MAX - 1) + "…" : s;
}

function get(o: unknown, ...path: string[]): unknown {
  let cur = o;
  for (const p of path) {
    if (!isRecord(cur)) return undefined;
    cur = cur[p];
  }
  return cur;
}

function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** Splits an image reference into repository and the `:tag`/`@digest` suffix. */
export function splitImage(ref: string): { repo: string; suffix: string } {
  const at = ref.indexOf("@");
  const base = at >= 0 ? ref.slice(0, at) : ref;
  const digest = at >= 0 ? ref.slice(at) : "";
  const colon = base.lastIndexOf(":");
  if (colon > base.lastIndexOf("/")) return { repo: base.slice(0, colon), suffix: base.slice(colon + 1) + digest };
  return { repo: base, suffix: digest.replace(/^@/, "") };
}

/** `image old → newTag` when only the tag/digest moved, else `image old → new`. */
function imageChange(a: string, b: string): string {
  const x = splitImage(a);
  const y = splitImage(b);
  return x.repo === y.repo && y.suffix !== "" ? `image ${a} → ${y.suffix}` : `image ${a} → ${b}`;
}

/** The pod spec of a workload, wherever its kind keeps it. */
function podSpec(o: Obj | undefined): Obj | undefined {
  if (!o) return undefined;
  for (const path of [["spec", "template", "spec"], ["spec", "jobTemplate", "spec", "template", "spec"]]) {
    const s = get(o, ...path);
    if (isRecord(s)) return s;
  }
  return o.kind === "Pod" && isRecord(o.spec) ? o.spec : undefined;
}

interface Container {
  name: string;
  c: Obj;
}

function containers(spec: Obj | undefined): Container[] {
  const out: Container[] = [];
  for (const field of ["initContainers", "containers", "ephemeralContainers"]) {
    const list = spec?.[field];
    if (!Array.isArray(list)) continue;
    for (const c of list) if (isRecord(c)) out.push({ name: typeof c.name === "string" ? c.name : "?", c });
  }
  return out;
}

function flatten(o: unknown, prefix = ""): Map<string, unknown> {
  const m = new Map<string, unknown>();
  if (!isRecord(o)) return m;
  for (const [k, v] of Object.entries(o)) {
    const p = prefix ? `${prefix}.${k}` : k;
    if (isRecord(v)) for (const [kk, vv] of flatten(v, p)) m.set(kk, vv);
    else m.set(p, v);
  }
  return m;
}

function envValue(e: Obj): string {
  if ("value" in e) return show(e.value);
  const from = e.valueFrom;
  if (isRecord(from)) {
    const [kind, ref] = Object.entries(from)[0] ?? [];
    if (isRecord(ref)) {
      const where = [ref.name, ref.key ?? ref.fieldPath ?? ref.resource].filter((x) => typeof x === "string").join("/");
      return `(${kind}${where ? " " + where : ""})`;
    }
  }
  return "unset";
}

function envMap(c: Obj | undefined): Map<string, string> {
  const m = new Map<string, string>();
  const env = c?.env;
  if (Array.isArray(env)) for (const e of env) if (isRecord(e) && typeof e.name === "string") m.set(e.name, envValue(e));
  return m;
}

function listChange(label: string, a: unknown, b: unknown): string[] {
  const xa = Array.isArray(a) ? a.map(show) : [];
  const xb = Array.isArray(b) ? b.map(show) : [];
  if (same(xa, xb)) return [];
  const removed = xa.filter((x) => !xb.includes(x));
  const added = xb.filter((x) => !xa.includes(x));
  if (removed.length === 1 && added.length === 1) return [`${label}: ${removed[0]} → ${added[0]}`];
  if (removed.length === 0 && added.length === 0) return [`${label}: reordered`];
  const parts = [added.length ? `added ${added.join(", ")}` : "", removed.length ? `removed ${removed.join(", ")}` : ""];
  return [`${label}: ${parts.filter(Boolean).join("; ")}`];
}

function containerChanges(a: Container, b: Container): string[] {
  const out: string[] = [];
  const n = b.name;
  if (typeof a.c.image === "string" && typeof b.c.image === "string" && a.c.image !== b.c.image) out.push(imageChange(a.c.image, b.c.image));
  else if (a.c.image !== b.c.image) out.push(`image ${show(a.c.image)} → ${show(b.c.image)}`);
  const ra = flatten(a.c.resources);
  const rb = flatten(b.c.resources);
  for (const k of new Set([...ra.keys(), ...rb.keys()])) {
    if (!same(ra.get(k), rb.get(k))) out.push(`resources ${n}: ${k} ${show(ra.get(k))} → ${show(rb.get(k))}`);
  }
  const ea = envMap(a.c);
  const eb = envMap(b.c);
  for (const [k, v] of eb) {
    if (!ea.has(k)) out.push(`env ${n}: +${k}=${v}`);
    else if (ea.get(k) !== v) out.push(`env ${n}: ${k} ${ea.get(k)} → ${v}`);
  }
  for (const k of ea.keys()) if (!eb.has(k)) out.push(`env ${n}: -${k}`);
  out.push(...listChange(`command ${n}`, a.c.command, b.c.command));
  out.push(...listChange(`args ${n}`, a.c.args, b.c.args));
  return out;
}

function scalar(label: string, a: unknown, b: unknown): string[] {
  return same(a, b) ? [] : [`${label} ${show(a)} → ${show(b)}`];
}

function dataKeys(o: Obj | undefined): Map<string, string> {
  const m = new Map<string, string>();
  for (const field of ["data", "stringData", "binaryData"]) {
    const d = o?.[field];
    if (isRecord(d)) for (const [k, v] of Object.entries(d)) m.set(k, JSON.stringify(v));
  }
  return m;
}

/** Images used by a workload, for added and removed objects. */
function images(o: Obj): string[] {
  const imgs = containers(podSpec(o))
    .map((c) => c.c.image)
    .filter((x): x is string => typeof x === "string");
  return [...new Set(imgs)].map((i) => `image ${i}`);
}

function named(list: unknown): Map<string, Obj> {
  const m = new Map<string, Obj>();
  if (Array.isArray(list)) for (const x of list) if (isRecord(x) && typeof x.name === "string") m.set(x.name, x);
  return m;
}

/** kustomize's own file: resources, components, generators and the `images` overrides promotions edit. */
function kustomization(a: Obj, b: Obj): string[] {
  const out: string[] = [];
  for (const f of ["resources", "components", "bases"]) out.push(...listChange(f, a[f], b[f]));
  for (const f of ["namespace", "namePrefix", "nameSuffix"]) out.push(...scalar(f, a[f], b[f]));
  const ia = named(a.images);
  const ib = named(b.images);
  for (const [n, img] of ib) {
    const old = ia.get(n);
    const desc = (x: Obj) => [x.newName ?? n, x.newTag ? `:${x.newTag}` : "", x.digest ? `@${x.digest}` : ""].join("");
    if (!old) out.push(`images: +${n} → ${desc(img)}`);
    else if (!same(old, img)) out.push(`images: ${n} ${desc(old)} → ${desc(img)}`);
  }
  for (const n of ia.keys()) if (!ib.has(n)) out.push(`images: -${n}`);
  for (const f of ["configMapGenerator", "secretGenerator"]) {
    const ga = named(a[f]);
    const gb = named(b[f]);
    for (const n of gb.keys()) if (!ga.has(n)) out.push(`${f}: +${n}`);
    for (const [n, g] of gb) if (ga.has(n) && !same(ga.get(n), g)) out.push(`${f}: ${n} changed`);
    for (const n of ga.keys()) if (!gb.has(n)) out.push(`${f}: -${n}`);
  }
  return out;
}

/**
 * Highlights for one object change. `a` is the old value, `b` the new one; either is undefined for an
 * added or removed object.
 */
export function highlights(a: Obj | undefined, b: Obj | undefined): string[] {
  if (!a && b) return images(b);
  if (a && !b) return images(a);
  if (!a || !b) return [];
  const out: string[] = [];
  out.push(...scalar("apiVersion", a.apiVersion, b.apiVersion));
  out.push(...scalar("replicas", get(a, "spec", "replicas"), get(b, "spec", "replicas")));
  out.push(...scalar("minReplicas", get(a, "spec", "minReplicas"), get(b, "spec", "minReplicas")));
  out.push(...scalar("maxReplicas", get(a, "spec", "maxReplicas"), get(b, "spec", "maxReplicas")));
  out.push(...scalar("schedule", get(a, "spec", "schedule"), get(b, "spec", "schedule")));
  out.push(...scalar("suspend", get(a, "spec", "suspend"), get(b, "spec", "suspend")));

  // Flux sources and releases: the version they follow.
  out.push(...scalar("chart version", get(a, "spec", "chart", "spec", "version"), get(b, "spec", "chart", "spec", "version")));
  for (const f of ["tag", "semver", "digest", "branch", "commit"]) {
    out.push(...scalar(`ref.${f}`, get(a, "spec", "ref", f), get(b, "spec", "ref", f)));
  }
  if (b.kind === "Kustomization" && typeof b.apiVersion === "string" && b.apiVersion.startsWith("kustomize.config.k8s.io/")) {
    out.push(...kustomization(a, b));
  }

  const pa = podSpec(a);
  const pb = podSpec(b);
  out.push(...scalar("serviceAccountName", pa?.serviceAccountName, pb?.serviceAccountName));
  const ca = containers(pa);
  const cb = containers(pb);
  const multi = Math.max(ca.length, cb.length) > 1;
  for (const c of cb) {
    const old = ca.find((x) => x.name === c.name);
    if (!old) {
      out.push(`container ${c.name} added${typeof c.c.image === "string" ? ` (${c.c.image})` : ""}`);
      continue;
    }
    out.push(...containerChanges(old, c).map((h) => (multi && h.startsWith("image ") ? `${h} (container ${c.name})` : h)));
  }
  for (const c of ca) if (!cb.some((x) => x.name === c.name)) out.push(`container ${c.name} removed`);

  const da = dataKeys(a);
  const db = dataKeys(b);
  const what = b.kind === "Secret" ? "secret key" : "data key";
  for (const k of db.keys()) if (!da.has(k)) out.push(`${what} ${k} added`);
  for (const [k, v] of db) if (da.has(k) && da.get(k) !== v) out.push(`${what} ${k} changed`);
  for (const k of da.keys()) if (!db.has(k)) out.push(`${what} ${k} removed`);
  return out;
}
