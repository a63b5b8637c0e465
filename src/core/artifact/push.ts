import { mkdtemp, rm } from "node:fs/promises";
import { join } from "node:path";
import { tmpdir } from "node:os";
import type { Descriptor, Exister, OpOptions, Pusher, Tagger } from "../content/store.ts";
import { StagingStore } from "../content/staging-store.ts";
import type { ProgressSink } from "../progress.ts";
import { buildArtifactArchive, type BuildOptions, type BuildResult } from "./build.ts";
import { copy } from "./copy.ts";
import { toAnnotations, type Metadata } from "./metadata.ts";
import { packArtifact, type PackOptions, type PackedArtifact } from "./pack.ts";

export interface PushArtifactOptions extends OpOptions {
  /** Flux metadata (source, revision, created, extra annotations). */
  metadata?: Metadata;
  /** How the layer is built (ignore rules, symlinks, modes, gzip implementation). */
  build?: BuildOptions;
  /** Config profile and media types. */
  pack?: PackOptions;
  /** Clock for the default `created`. Default `new Date()`. */
  now?: Date;
  /** Where the layer is staged before upload. Default the OS temp dir. */
  tmpDir?: string;
  onProgress?: ProgressSink;
  /** Blob uploads at once. Default 4. */
  concurrency?: number;
}

export interface PushArtifactResult {
  descriptor: Descriptor;
  packed: PackedArtifact;
  build: BuildResult;
  /** True when the destination tag already pointed at this exact manifest and nothing was uploaded. */
  unchanged: boolean;
  uploaded: number;
}

/**
 * Builds `path` into a Flux artifact and pushes it to `dst` under `tag` (a digest push when no tag).
 * The layer is built into a temp file with its digest computed while writing, then streamed to the
 * destination; the temp dir is always removed.
 */
export async function pushArtifact(
  path: string,
  dst: Pusher & Exister & Tagger,
  tag: string | undefined,
  opts: PushArtifactOptions = {},
): Promise<PushArtifactResult> {
  const work = await mkdtemp(join(opts.tmpDir ?? tmpdir(), "berth-push-"));
  try {
    const layerFile = join(work, "layer.tgz");
    const build = await buildArtifactArchive(path, layerFile, { ...opts.build, signal: opts.signal, onProgress: opts.onProgress });
    const annotations = toAnnotations(opts.metadata ?? {}, opts.now ?? new Date());
    const packed = packArtifact(build, annotations, opts.pack);
    const staging = new StagingStore();
    staging.addFile(packed.layerDescriptor, layerFile);
    staging.addBytes(packed.configDescriptor, packed.configBytes);
    staging.addBytes(packed.manifestDescriptor, packed.manifestBytes);
    const res = await copy(staging, packed.manifestDescriptor.digest, dst, tag, {
      signal: opts.signal,
      onProgress: opts.onProgress,
      concurrency: opts.concurrency,
    });
    return {
      descriptor: packed.manifestDescriptor,
      packed,
      build,
      unchanged: res.copied === 0 && res.mounted === 0,
      uploaded: res.copied,
    };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
