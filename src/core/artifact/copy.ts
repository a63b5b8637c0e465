import { readAll } from "../oci/digest.ts";
import { parseManifest, type ParsedManifest } from "../oci/manifest.ts";
import { isIndexType, isManifestType, MAX_MANIFEST_BYTES } from "../oci/media-types.ts";
import {
  hasMount,
  hasPushReference,
  type Descriptor,
  type Exister,
  type Fetcher,
  type OpOptions,
  type Pusher,
  type Resolver,
  type Tagger,
} from "../content/store.ts";
import { CoreError } from "../errors.ts";
import type { ProgressSink } from "../progress.ts";

/** What copy reads from. */
export type CopySource = Fetcher & Resolver;
/** What copy writes to. */
export type CopyDestination = Pusher & Exister & Tagger;

export interface CopyOptions extends OpOptions {
  /** Blobs copied at once. Default 4. */
  concurrency?: number;
  /** Repository the blobs may be mounted from when source and destination are one registry. */
  mountFrom?: string;
  /** Progress events for blobs (start/advance/done). */
  onProgress?: ProgressSink;
  /** Called for every node copied or skipped; for -o json reports and tests. */
  onNode?: (desc: Descriptor, action: "copied" | "skipped" | "mounted") => void;
}

export interface CopyResult {
  /** Root manifest descriptor as copied. */
  root: Descriptor;
  copied: number;
  skipped: number;
  mounted: number;
}

/**
 * Copies the graph rooted at `srcRef` (a manifest or index with its children and blobs) from one
 * Target to another and tags the root with `dstTag` when given (oras-go `Copy`). Children are
 * written before parents, so a registry never sees a manifest whose blobs are missing. Blobs that
 * already exist are skipped; a same-registry copy mounts instead of uploading when it can.
 * One algorithm serves push (staging → registry), pull to a layout, tag and promote.
 */
export async function copy(
  src: CopySource,
  srcRef: string,
  dst: CopyDestination,
  dstTag: string | undefined,
  opts: CopyOptions = {},
): Promise<CopyResult> {
  const root = await src.resolve(srcRef, opts);
  if (dstTag !== undefined && (await pointsAt(dst, dstTag, root, opts))) {
    // The tag already names this manifest: nothing to do (flux push's HEAD check).
    opts.onNode?.(root, "skipped");
    return { root, copied: 0, skipped: 1, mounted: 0 };
  }
  const res = await copyGraph(src, root, dst, { ...opts, rootTag: dstTag });
  if (dstTag !== undefined && !hasPushReference(dst)) await dst.tag(root, dstTag, opts);
  return { root, ...res };
}

async function pointsAt(dst: object, tag: string, root: Descriptor, opts: OpOptions): Promise<boolean> {
  const r = dst as Partial<Resolver>;
  if (typeof r.resolve !== "function") return false;
  try {
    return (await r.resolve(tag, opts)).digest === root.digest;
  } catch (e) {
    // A 403 on the HEAD counts as "not there" (flux does the same); the upload then says whether we may push.
    if (e instanceof CoreError && (e.code === "NOT_FOUND" || e.code === "AUTH_FAILED")) return false;
    throw e;
  }
}

/** Copies a descriptor's whole graph (no tagging). */
export async function copyGraph(
  src: Fetcher,
  root: Descriptor,
  dst: Pusher & Exister,
  opts: CopyOptions & { rootTag?: string } = {},
): Promise<Omit<CopyResult, "root">> {
  const stats = { copied: 0, skipped: 0, mounted: 0 };
  const limit = createLimiter(opts.concurrency ?? 4);
  const seen = new Map<string, Promise<void>>();

  const visit = (desc: Descriptor): Promise<void> => {
    let p = seen.get(desc.digest);
    if (!p) {
      p = visitOnce(desc);
      seen.set(desc.digest, p);
    }
    return p;
  };

  const visitOnce = async (desc: Descriptor): Promise<void> => {
    const isManifestNode = isManifestType(desc.mediaType) || isIndexType(desc.mediaType);
    if (!isManifestNode) {
      await limit(() => copyBlob(desc));
      return;
    }
    const asTag = desc.digest === root.digest && opts.rootTag !== undefined && hasPushReference(dst) ? opts.rootTag : undefined;
    if (asTag === undefined && (await dst.exists(desc, opts))) {
      // A manifest present in the destination implies its children are too (registries enforce it).
      stats.skipped++;
      opts.onNode?.(desc, "skipped");
      return;
    }
    const bytes = await readAll(await src.fetch(desc, opts), MAX_MANIFEST_BYTES, `manifest ${desc.digest}`);
    const parsed = parseManifest(bytes, desc.mediaType);
    await Promise.all(children(parsed).map(visit));
    if (asTag !== undefined && hasPushReference(dst)) await dst.pushReference(desc, bytes, asTag, opts);
    else await dst.push(desc, bytes, opts);
    stats.copied++;
    opts.onNode?.(desc, "copied");
  };

  const copyBlob = async (desc: Descriptor): Promise<void> => {
    if (await dst.exists(desc, opts)) {
      stats.skipped++;
      opts.onNode?.(desc, "skipped");
      opts.onProgress?.({ kind: "done", id: desc.digest, skipped: true });
      return;
    }
    if (opts.mountFrom && hasMount(dst)) {
      if (await dst.mount(desc, opts.mountFrom, opts)) {
        stats.mounted++;
        opts.onNode?.(desc, "mounted");
        return;
      }
    }
    await dst.push(desc, await src.fetch(desc, opts), opts);
    stats.copied++;
    opts.onNode?.(desc, "copied");
  };

  await visit(root);
  return stats;
}

/** The descriptors a manifest or index points at. A `subject` is not copied (it is the parent, not a child). */
export function children(p: ParsedManifest): Descriptor[] {
  return p.kind === "index" ? p.index.manifests : [p.manifest.config, ...p.manifest.layers];
}

/** A tiny semaphore: at most `n` tasks run at once. */
export function createLimiter(n: number): <T>(fn: () => Promise<T>) => Promise<T> {
  if (n < 1) throw new CoreError({ code: "USAGE", message: `concurrency must be at least 1, got ${n}` });
  let active = 0;
  const queue: (() => void)[] = [];
  return async <T>(fn: () => Promise<T>): Promise<T> => {
    if (active >= n) await new Promise<void>((r) => queue.push(r));
    active++;
    try {
      return await fn();
    } finally {
      active--;
      queue.shift()?.();
    }
  };
}
