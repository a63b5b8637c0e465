import { mkdtemp, rm, mkdir } from "node:fs/promises";
import { createReadStream } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import type { Descriptor, Fetcher, OpOptions, Resolver } from "../content/store.ts";
import { extractTarGz, type ExtractOptions } from "../archive/extract.ts";
import { diffTrees, dirTreeReader, type TreeDiff } from "../diff/index.ts";
import { buildArtifactArchive, type BuildOptions } from "./build.ts";
import { fetchImageManifest, selectLayer } from "./manifests.ts";

export interface DiffSide {
  /** What the side is, for messages: a URL or a local path. */
  label: string;
  /** Digest and size of the side's content layer. */
  layer: { digest: string; size: number };
  /** Manifest digest, for remote sides. */
  manifestDigest?: string;
}

export interface ArtifactDiff {
  /** True when the content layers are byte-identical (flux's criterion: digest and size). */
  equal: boolean;
  a: DiffSide;
  b: DiffSide;
  /** File and Kubernetes-object changes; absent when the layers are equal (nothing was downloaded). */
  changes?: TreeDiff;
}

export type DiffInput =
  | { kind: "local"; path: string; build?: BuildOptions }
  | { kind: "remote"; label: string; target: Fetcher & Resolver; reference: string; layerMediaType?: string };

export interface DiffArtifactOptions extends OpOptions {
  /** Limits for extracting the layers being compared. */
  extract?: Omit<ExtractOptions, "signal">;
  tmpDir?: string;
  /** Compare contents only when the layer digests differ (default true); false stops at the digest check. */
  contents?: boolean;
}

/**
 * Compares two artifacts (remote vs remote) or a local tree with an artifact. First by layer digest and
 * size, which needs only the manifests; when they differ, both layers are extracted into a temp dir and
 * compared file by file and object by object with the diff engine. The temp dir is always removed.
 */
export async function diffArtifacts(a: DiffInput, b: DiffInput, opts: DiffArtifactOptions = {}): Promise<ArtifactDiff> {
  const work = await mkdtemp(join(opts.tmpDir ?? tmpdir(), "berth-diff-"));
  try {
    const [sa, sb] = await Promise.all([prepare(a, join(work, "a"), opts), prepare(b, join(work, "b"), opts)]);
    const equal = sa.side.layer.digest === sb.side.layer.digest && sa.side.layer.size === sb.side.layer.size;
    if (equal || opts.contents === false) return { equal, a: sa.side, b: sb.side };
    const [da, db] = await Promise.all([sa.extract(), sb.extract()]);
    const changes = await diffTrees(dirTreeReader(da), dirTreeReader(db));
    return { equal, a: sa.side, b: sb.side, changes };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

interface Prepared {
  side: DiffSide;
  /** Extracts the side's layer into a directory and returns it. */
  extract(): Promise<string>;
}

async function prepare(input: DiffInput, dir: string, opts: DiffArtifactOptions): Promise<Prepared> {
  await mkdir(dir, { recursive: true });
  const tree = join(dir, "tree");
  if (input.kind === "local") {
    const file = join(dir, "local.tgz");
    const built = await buildArtifactArchive(input.path, file, { ...input.build, signal: opts.signal });
    return {
      side: { label: input.path, layer: { digest: built.digest, size: built.size } },
      extract: async () => {
        await mkdir(tree);
        await extractTarGz(createReadStream(file) as AsyncIterable<Uint8Array>, tree, { ...opts.extract, signal: opts.signal });
        return tree;
      },
    };
  }
  const m = await fetchImageManifest(input.target, input.reference, opts);
  const layer: Descriptor = selectLayer(m.manifest, input.layerMediaType);
  return {
    side: { label: input.label, layer: { digest: layer.digest, size: layer.size }, manifestDigest: m.manifestDescriptor.digest },
    extract: async () => {
      await mkdir(tree);
      await extractTarGz(await input.target.fetch(layer, opts), tree, { ...opts.extract, signal: opts.signal });
      return tree;
    },
  };
}
