import { createWriteStream } from "node:fs";
import { mkdir, rename, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { pipeline } from "node:stream/promises";
import { Readable } from "node:stream";
import type { Descriptor, Fetcher, OpOptions, Resolver } from "../content/store.ts";
import { CoreError, fail, wrapError } from "../errors.ts";
import type { ImageManifest } from "../oci/manifest.ts";
import type { ProgressSink } from "../progress.ts";
import { extractTarGz, type ExtractOptions, type ExtractResult } from "../archive/extract.ts";
import { fetchImageManifest, selectLayer } from "./manifests.ts";
import { fromAnnotations, type Metadata } from "./metadata.ts";

/** OCIRepository `layerSelector.operation`: untar the layer, or store it as is. */
export type LayerOperation = "extract" | "copy";

export interface PullArtifactOptions extends OpOptions {
  /** Pick the first layer with this media type instead of the first layer. */
  layerMediaType?: string;
  /** Default `extract`. */
  layerOperation?: LayerOperation;
  /** Limits for extraction (size, entries). */
  extract?: Omit<ExtractOptions, "signal">;
  onProgress?: ProgressSink;
}

export interface PullArtifactResult {
  descriptor: Descriptor;
  manifestDescriptor: Descriptor;
  manifest: ImageManifest;
  layer: Descriptor;
  metadata: Metadata;
  /** extract: what was written; copy: the file written. */
  extracted?: ExtractResult;
  file?: string;
}

/**
 * Pulls an artifact into `outDir`. With `extract`, the layer is streamed through digest verification
 * into a gzip tar reader that writes into a temp dir, and the entries move into `outDir` only when all
 * of it arrived and verified; with `copy`, the blob is written as `<outDir>/<hex>.tgz` the same way.
 * A failed pull leaves `outDir` as it was.
 */
export async function pullArtifact(
  src: Fetcher & Resolver,
  reference: string,
  outDir: string,
  opts: PullArtifactOptions = {},
): Promise<PullArtifactResult> {
  const m = await fetchImageManifest(src, reference, opts);
  const layer = selectLayer(m.manifest, opts.layerMediaType);
  const base = {
    descriptor: m.descriptor,
    manifestDescriptor: m.manifestDescriptor,
    manifest: m.manifest,
    layer,
    metadata: fromAnnotations(m.manifest.annotations ?? m.index?.annotations),
  };
  const blob = progressed(await src.fetch(layer, opts), layer, opts.onProgress);
  if ((opts.layerOperation ?? "extract") === "extract") {
    const extracted = await extractTarGz(blob, outDir, { ...opts.extract, signal: opts.signal });
    return { ...base, extracted };
  }
  const file = join(outDir, `${layer.digest.slice("sha256:".length)}.tgz`);
  await writeAtomically(blob, file);
  return { ...base, file };
}

/** Streams content to `file` through a temp file in the same directory, renamed only on success. */
export async function writeAtomically(src: AsyncIterable<Uint8Array>, file: string): Promise<void> {
  const tmp = `${file}.${randomBytes(6).toString("hex")}.tmp`;
  try {
    await pipeline(Readable.from(src), createWriteStream(tmp, { mode: 0o644, flags: "wx" }));
    await rename(tmp, file);
  } catch (e) {
    await rm(tmp, { force: true });
    if (e instanceof CoreError) throw e;
    throw wrapError(e, `writing ${file}`, "STORAGE_FAILED");
  }
}

/** Checks that `dir` exists and is a directory (flux requires the pull output to exist). */
export async function requireDirectory(dir: string, create = false): Promise<void> {
  try {
    const s = await stat(dir);
    if (!s.isDirectory()) fail("USAGE", `invalid output path "${dir}": not a directory`);
  } catch (e) {
    if (e instanceof CoreError) throw e;
    if (create) {
      await mkdir(dir, { recursive: true });
      return;
    }
    fail("USAGE", `invalid output path "${dir}": it does not exist`, { hint: `create it first (mkdir -p ${dir})` });
  }
}

async function* progressed(src: AsyncIterable<Uint8Array>, d: Descriptor, sink?: ProgressSink): AsyncGenerator<Uint8Array> {
  if (!sink) {
    yield* src;
    return;
  }
  sink({ kind: "start", id: d.digest, label: `layer ${d.digest.slice(7, 19)}`, total: d.size });
  for await (const c of src) {
    sink({ kind: "advance", id: d.digest, bytes: c.byteLength });
    yield c;
  }
  sink({ kind: "done", id: d.digest });
}
