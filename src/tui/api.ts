/**
 * The TUI's operations, written over core Targets (so tests run them on in-memory stores and the
 * app on registries). Every function takes the repository as a URL string (`oci://…` or
 * `oci-layout://…`) without tag; screens keep only strings in their state.
 */
import {
  CoreError,
  diffArtifacts,
  fetchImageManifest,
  fromAnnotations,
  parseArtifactURL,
  type ArtifactDiff,
  type ArtifactRef,
  type Descriptor,
  type DiffInput,
  type Target,
} from "../core/index.ts";
import type { DiffTarget } from "./models/page-stack.ts";
import type { PromotePlan } from "./models/promote.ts";
import type { TagInfo } from "./models/tags.ts";
import type { PromotionResult, TuiServices } from "./services.ts";

/** Files larger than this open truncated in the viewer. */
export const MAX_VIEW_BYTES = 1 << 20;
/** Entries listed per artifact at most (the listing streams the layer). */
export const MAX_LIST_ENTRIES = 100_000;

/** Parses a repository URL (a tag or digest on it is dropped). Throws REF_INVALID. */
export function parseRepo(url: string): ArtifactRef {
  const ref = parseArtifactURL(url.trim());
  return { ...ref, tag: undefined, digest: undefined };
}

/** `oci://host/repo` or `oci-layout://dir`, the canonical form screens use as a key. */
export function repoURL(ref: ArtifactRef): string {
  return ref.kind === "registry" ? `oci://${ref.registry}/${ref.repository}` : `oci-layout://${ref.path}`;
}

/** A one-line message for any error: the core's message plus its hint. */
export function errorMessage(e: unknown): string {
  if (e instanceof CoreError) return e.details.hint ? `${e.message} (${e.details.hint})` : e.message;
  return e instanceof Error ? e.message : String(e);
}

/** Opens targets once per repository URL. */
export class Repos {
  private readonly cache = new Map<string, Promise<Target>>();
  constructor(readonly services: TuiServices) {}

  /** The target of a repository URL. */
  target(url: string): Promise<Target> {
    let t = this.cache.get(url);
    if (!t) {
      t = this.services.open(parseRepo(url));
      this.cache.set(url, t);
      t.catch(() => this.cache.delete(url));
    }
    return t;
  }
}

/** Tag names of a repository, as the backend returns them. */
export async function listTags(repos: Repos, url: string, signal?: AbortSignal): Promise<string[]> {
  return (await repos.target(url)).tags({ signal });
}

/** Digest and Flux metadata of one tag. */
export async function describeTag(repos: Repos, url: string, tag: string, signal?: AbortSignal): Promise<TagInfo> {
  const m = await fetchImageManifest(await repos.target(url), tag, { signal });
  const md = fromAnnotations(m.manifest.annotations ?? m.index?.annotations);
  return { digest: m.descriptor.digest, mediaType: m.descriptor.mediaType, created: md.created ?? "", source: md.source ?? "", revision: md.revision ?? "" };
}

/** Everything the Artifact screen shows except the file tree. */
export interface ArtifactDetails {
  digest: string;
  mediaType: string;
  /** The manifest as pretty JSON. */
  manifestText: string;
  annotations: Record<string, string>;
  config: Descriptor;
  layers: Descriptor[];
  /** For an index: the child that was picked. */
  childDigest?: string;
}

/** Fetches a tag's manifest (the linux/amd64 child of an index). */
export async function inspectArtifact(repos: Repos, url: string, tag: string, signal?: AbortSignal): Promise<ArtifactDetails> {
  const m = await fetchImageManifest(await repos.target(url), tag, { signal });
  return {
    digest: m.descriptor.digest,
    mediaType: m.descriptor.mediaType,
    manifestText: JSON.stringify(JSON.parse(new TextDecoder().decode(m.bytes)), null, 2),
    annotations: { ...(m.index?.annotations ?? {}), ...(m.manifest.annotations ?? {}) },
    config: m.manifest.config,
    layers: m.manifest.layers,
    ...(m.index ? { childDigest: m.manifestDescriptor.digest } : {}),
  };
}

/** A regular file in an artifact's layer. */
export interface LayerFile {
  path: string;
  size: number;
}

function isGzip(layer: Descriptor): boolean {
  return layer.mediaType.endsWith("gzip") || layer.mediaType.endsWith(".tgz");
}

async function* tarStream(repos: Repos, url: string, layer: Descriptor, signal?: AbortSignal): AsyncIterable<Uint8Array> {
  const body = await (await repos.target(url)).fetch(layer, { signal });
  if (!isGzip(layer)) {
    yield* body;
    return;
  }
  // Streamed through the platform's gunzip: the layer is never held in memory.
  const it = body[Symbol.asyncIterator]();
  const compressed = new ReadableStream<Uint8Array>({
    async pull(c) {
      const r = await it.next();
      if (r.done) c.close();
      else c.enqueue(r.value);
    },
    async cancel() {
      await it.return?.();
    },
  });
  const gunzipped = compressed.pipeThrough(new DecompressionStream("gzip") as unknown as ReadableWritablePair<Uint8Array, Uint8Array>);
  for await (const chunk of gunzipped as unknown as AsyncIterable<Uint8Array>) yield chunk;
}

function cleanName(name: string): string {
  return name.replace(/^(\.\/)+/, "").replace(/^\/+/, "");
}

async function drain(body: AsyncIterable<Uint8Array>): Promise<void> {
  for await (const _ of body) {
    /* skip the entry's content */
  }
}

/** Lists the regular files of a layer by streaming it; bodies are skipped, nothing is written. */
export async function listLayerFiles(repos: Repos, url: string, layer: Descriptor, signal?: AbortSignal): Promise<LayerFile[]> {
  const out: LayerFile[] = [];
  for await (const e of repos.services.readTar(tarStream(repos, url, layer, signal))) {
    if (e.header.type === "0" || e.header.type === "\0" || e.header.type === "7") out.push({ path: cleanName(e.header.name), size: e.header.size });
    await drain(e.body);
    if (out.length >= MAX_LIST_ENTRIES) break;
  }
  return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/** One file's text (up to MAX_VIEW_BYTES); `truncated` tells when it was cut. */
export async function readLayerFile(repos: Repos, url: string, layer: Descriptor, path: string, signal?: AbortSignal): Promise<{ text: string; truncated: boolean; binary: boolean }> {
  for await (const e of repos.services.readTar(tarStream(repos, url, layer, signal))) {
    if (cleanName(e.header.name) !== path) {
      await drain(e.body);
      continue;
    }
    const chunks: Uint8Array[] = [];
    let n = 0;
    let truncated = false;
    for await (const c of e.body) {
      if (n >= MAX_VIEW_BYTES) {
        truncated = true;
        continue;
      }
      chunks.push(c);
      n += c.length;
    }
    const bytes = Buffer.concat(chunks).subarray(0, MAX_VIEW_BYTES);
    const binary = bytes.subarray(0, 8000).includes(0);
    return { text: binary ? "" : new TextDecoder().decode(bytes), truncated: truncated || n > MAX_VIEW_BYTES, binary };
  }
  throw new CoreError({ code: "NOT_FOUND", message: `${path} is not in the artifact's layer` });
}

async function diffInput(repos: Repos, url: string, t: DiffTarget): Promise<DiffInput> {
  if (t.kind === "local") return { kind: "local", path: t.path };
  return { kind: "remote", label: `${url}:${t.tag}`, target: await repos.target(url), reference: t.tag };
}

/** Diffs two sides with the core engine (`berth diff artifact`'s). */
export async function diffSides(repos: Repos, url: string, oldSide: DiffTarget, newSide: DiffTarget, signal?: AbortSignal): Promise<ArtifactDiff> {
  const [a, b] = await Promise.all([diffInput(repos, url, oldSide), diffInput(repos, url, newSide)]);
  return diffArtifacts(a, b, { signal });
}

/** True when two repository URLs name the same repository (compared in their canonical form). */
export function sameRepository(a: string, b: string): boolean {
  return a === b || repoURL(parseRepo(a)) === repoURL(parseRepo(b));
}

/** The destination of a promotion typed on the Promote screen: a tag of `url`, or `oci://…:tag` / `oci-layout://…:tag` elsewhere. Throws REF_INVALID/USAGE. */
export function promoteDestination(url: string, target: string): { repo: string; tag: string } {
  const t = target.trim();
  if (!/^oci(-layout)?:\/\//.test(t)) return { repo: url, tag: t };
  const ref = parseArtifactURL(t);
  if (!ref.tag || ref.digest) throw new CoreError({ code: "USAGE", message: `the target ${t} must name a tag (a digest cannot be moved)`, details: { hint: "e.g. oci://ghcr.io/org/app:production" } });
  return { repo: repoURL(ref), tag: ref.tag };
}

/**
 * Works out what promoting `source` to `target` (a tag, or a tag in another repository) changes,
 * with the core's `planPromote`: the source digest, its verified signatures when keys are
 * configured, and the diff from the target's current artifact. A missing target tag is a new tag.
 */
export async function planPromotion(repos: Repos, url: string, source: string, target: string, signal?: AbortSignal): Promise<PromotePlan> {
  const dest = promoteDestination(url, target);
  const here = sameRepository(url, dest.repo);
  const [src, dst] = await Promise.all([repos.target(url), repos.target(dest.repo)]);
  const p = await repos.services.promotion.plan({ target: src, reference: source, label: `${url}:${source}` }, { target: dst, reference: dest.tag, label: `${dest.repo}:${dest.tag}` }, { signal });
  return {
    source,
    picked: target,
    target: dest.tag,
    targetRepo: here ? url : dest.repo,
    targetLabel: here ? dest.tag : target.trim(),
    sourceDigest: p.source.descriptor.digest,
    ...(p.target.descriptor ? { targetDigest: p.target.descriptor.digest } : {}),
    ...(p.diff?.changes ? { changes: p.diff.changes } : {}),
    ...(p.diffError ? { diffError: p.diffError } : {}),
    ...(p.verified ? { verified: p.verified.verified.map((v) => `${v.format} from ${v.source}`) } : {}),
    core: p,
  };
}

/**
 * Promotes the reviewed digest (not the source tag, which may have moved since the review) with the
 * core's `promoteArtifact`: in the same repository only the tag moves; elsewhere the artifact and its
 * signatures are copied first (blobs mounted when both are on one registry).
 */
export async function promote(repos: Repos, url: string, plan: PromotePlan, signal?: AbortSignal): Promise<PromotionResult> {
  const same = plan.targetRepo === url;
  const [src, dst] = await Promise.all([repos.target(url), repos.target(plan.targetRepo)]);
  const a = parseRepo(url);
  const b = parseRepo(plan.targetRepo);
  const mountFrom = !same && a.kind === "registry" && b.kind === "registry" && a.registry === b.registry ? a.repository : undefined;
  return repos.services.promotion.promote(plan.core, src, dst, { sameRepository: same, ...(mountFrom ? { mountFrom } : {}), ...(signal ? { signal } : {}) });
}
