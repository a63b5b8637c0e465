/**
 * Builds the artifact tarball flux builds (`flux build artifact`, spec §2.1 and §4): a reproducible
 * tar of a directory or single file, gzip-compressed, written atomically. Everything streams: files
 * are read in chunks, and the tar digest (diffID), the tgz digest and the tgz size are computed while
 * writing.
 */
import { lstat, open, readFile, rename, stat, unlink } from "node:fs/promises";
import { randomBytes } from "node:crypto";
import type { Stats } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { CoreError, fail, isAbort } from "../errors.ts";
import { Digester, type Digest } from "../oci/digest.ts";
import { gzipStream } from "../archive/gzip.ts";
import {
  DEFAULT_IGNORE_PATHS,
  SOURCE_IGNORE_FILE,
  matcherFromPatterns,
  parseIgnoreLines,
  parseSourceIgnore,
} from "../archive/ignore.ts";
import { TYPE_DIR, TYPE_FILE, tarStream, type TarInput } from "../archive/tar-writer.ts";
import type { ProgressSink } from "../progress.ts";
import { readFileChunks, walkTree, type SkippedEntry, type WalkEntry } from "../archive/walk.ts";

/** Options for `buildArtifactArchive`; every field is optional. */
export interface BuildOptions {
  /** Ignore patterns; replaces the defaults (flux `--ignore-paths`). `[]` disables ignoring. Default `DEFAULT_IGNORE_PATHS`. */
  ignorePaths?: readonly string[];
  /** Patterns appended after `ignorePaths` (flux `--add-ignore-paths`). Default none. */
  addIgnorePaths?: readonly string[];
  /**
   * Read `<src>/.sourceignore` when present and append its patterns last (so they win). Only the
   * root file is read, scoped to the root; the file itself stays in the archive unless a pattern
   * excludes it. Default true: berth's choice; the flux CLI never reads it (spec §4.1), so set false
   * for byte parity with `flux build` on trees that have one.
   */
  sourceIgnore?: boolean;
  /** Absolute paths never archived. The output file and its temp file are always excluded. */
  exclude?: readonly string[];
  /**
   * Archive symlink targets instead of skipping symlinks (flux `--resolve-symlinks`), without a temp
   * copy. The root entry is then 0700, as flux's temp copy is; symlink cycles are skipped and
   * reported. Default false.
   */
  resolveSymlinks?: boolean;
  /** With `resolveSymlinks`, allow link targets outside the source root. Default false (USAGE error). */
  allowOutside?: boolean;
  /**
   * Store files as 0755 when any exec bit is set, else 0644, and directories (the root too) as
   * 0755, so umask and chmod stop changing the digest. Default false: flux stores the real modes.
   */
  normalizeModes?: boolean;
  /** Deflate implementation: `go` for flux-identical bytes, `zlib` for speed. Default `go`. */
  gzip?: "go" | "zlib";
  /**
   * Single-file layout. `flux-2.9` (default): a `.` directory entry with mode 0700 followed by the
   * file, as flux 2.9 stages the file in a fresh 0700 temp dir. `flux-2.8`: just the file entry.
   */
  singleFileMode?: "flux-2.9" | "flux-2.8";
  signal?: AbortSignal;
  /**
   * Worker threads for the Go-exact deflate: 0 compresses on the calling thread, 1 overlaps
   * compression with the walk, more split the stream into segments. Same bytes whatever the count.
   * Default: the gzip module's default.
   */
  gzipWorkers?: number;
  /** Progress of the build, in uncompressed tar bytes (total unknown until the end). Default none. */
  onProgress?: ProgressSink;
}

/** Documented defaults of `BuildOptions`. */
export const DEFAULT_BUILD_OPTIONS = {
  ignorePaths: DEFAULT_IGNORE_PATHS,
  addIgnorePaths: [] as readonly string[],
  sourceIgnore: true,
  resolveSymlinks: false,
  allowOutside: false,
  normalizeModes: false,
  gzip: "go",
  singleFileMode: "flux-2.9",
} as const;

/** What `buildArtifactArchive` wrote. */
export interface BuildResult {
  /** sha256 of the tgz: the layer digest. */
  digest: Digest;
  /** Size of the tgz in bytes. */
  size: number;
  /** sha256 of the uncompressed tar. */
  diffId: Digest;
  /** Size of the uncompressed tar in bytes. */
  tarSize: number;
  /** Number of tar entries (directories included). */
  entries: number;
  /** Entry names in archive order (`.` and directories included). */
  files: string[];
  /** Paths left out because of their type (symlinks, devices, fifos, sockets, symlink cycles); the CLI may warn. */
  skipped: SkippedEntry[];
}

function normalMode(isDir: boolean, mode: number): number {
  if (isDir) return 0o755;
  return mode & 0o111 ? 0o755 : 0o644;
}

function cancelled(signal: AbortSignal | undefined): CoreError {
  return new CoreError({ code: "CANCELLED", message: "artifact build cancelled", cause: signal?.reason });
}

/** A tar stream of a source tree plus what it holds; `files` and `skipped` fill in as the stream is read. */
export interface ArtifactTar {
  tar: AsyncGenerator<Uint8Array>;
  files: string[];
  skipped: SkippedEntry[];
}

/**
 * Streams the uncompressed tar flux would build for `srcPath` (no gzip, nothing written). Takes the
 * same options as `buildArtifactArchive` (`gzip` is unused). `diff` can hash this to compare trees.
 */
export async function tarArtifactTree(srcPath: string, opts: BuildOptions = {}): Promise<ArtifactTar> {
  const o = { ...DEFAULT_BUILD_OPTIONS, ...stripUndefined(opts) };
  const signal = opts.signal;
  if (srcPath === "") fail("USAGE", `invalid path "", give a directory or file to archive`);
  const src = resolve(srcPath);
  let st: Stats;
  try {
    st = await lstat(src);
  } catch {
    fail("USAGE", `invalid path '${srcPath}', must point to an existing directory or file`);
  }
  if (signal?.aborted) throw cancelled(signal);

  const exclude = new Set((opts.exclude ?? []).map((p) => resolve(p)));
  const skipped: SkippedEntry[] = [];
  const files: string[] = [];
  let patterns = parseIgnoreLines([...o.ignorePaths, ...o.addIgnorePaths]);
  if (o.sourceIgnore && st.isDirectory()) {
    const text = await readFile(join(src, ".sourceignore"), "utf8").catch((e: NodeJS.ErrnoException) => {
      if (e.code === "ENOENT" || e.code === "ENOTDIR") return undefined;
      throw new CoreError({ code: "STORAGE_FAILED", message: `reading ${SOURCE_IGNORE_FILE}: ${e.message}`, cause: e });
    });
    if (text !== undefined) patterns = [...patterns, ...parseSourceIgnore(text)];
  }
  const ignore = matcherFromPatterns(patterns);

  const toInput = (e: WalkEntry): TarInput => {
    files.push(e.name);
    const mode = o.normalizeModes ? normalMode(e.isDir, e.mode) : e.mode;
    if (e.isDir) return { header: { name: e.name, type: TYPE_DIR, mode, size: 0 } };
    return { header: { name: e.name, type: TYPE_FILE, mode, size: e.size }, body: readFileChunks(e.abs, e.size) };
  };

  async function* entries(): AsyncGenerator<TarInput> {
    // A link to a file is archived as that file (flux stats the path, then copies it); a link to a
    // directory is not followed unless symlinks are resolved (spec §4.1: empty tar).
    const isFile = st.isFile() || (st.isSymbolicLink() && (await isRegularTarget(src)));
    if (isFile) {
      const name = basename(src);
      if (ignore([name], false)) return;
      const fst = st.isSymbolicLink() ? await stat(src) : st;
      if (o.singleFileMode === "flux-2.9") {
        yield toInput({ name: ".", parts: [], abs: dirname(src), isDir: true, mode: 0o700, size: 0 });
      }
      yield toInput({ name, parts: [name], abs: src, isDir: false, mode: fst.mode & 0o7777, size: fst.size });
      return;
    }
    if (!st.isDirectory() && !st.isSymbolicLink()) {
      fail("USAGE", `invalid path '${srcPath}': only directories and regular files can be archived`);
    }
    for await (const e of walkTree(src, {
      ignore,
      exclude,
      resolveSymlinks: o.resolveSymlinks,
      allowOutside: o.allowOutside,
      onSkip: (s) => skipped.push(s),
      signal,
    })) {
      // flux --resolve-symlinks archives a fresh 0700 temp copy, so its root entry is 0700.
      if (e.name === "." && o.resolveSymlinks) e.mode = 0o700;
      yield toInput(e);
    }
  }

  async function* checked(): AsyncGenerator<Uint8Array> {
    for await (const chunk of tarStream(entries())) {
      if (signal?.aborted) throw cancelled(signal);
      yield chunk;
    }
  }
  return { tar: checked(), files, skipped };
}

/**
 * Archives `srcPath` (a directory or a single regular file) into the gzip-compressed tarball at
 * `outFile`, exactly as flux lays it out. The archive is written to a temp file next to `outFile`
 * and renamed into place with mode 0640; on any failure the temp file is removed and `outFile` is
 * left untouched. Errors: USAGE for a missing path, STORAGE_FAILED for I/O, CANCELLED on abort.
 */
export async function buildArtifactArchive(srcPath: string, outFile: string, opts: BuildOptions = {}): Promise<BuildResult> {
  const signal = opts.signal;
  const out = resolve(outFile);
  const tmp = join(dirname(out), `.${basename(out)}.${randomBytes(6).toString("hex")}.tmp`);
  const { tar, files, skipped } = await tarArtifactTree(srcPath, { ...opts, exclude: [out, tmp, ...(opts.exclude ?? [])] });

  const tarDigest = new Digester();
  const progress = opts.onProgress;
  const pid = `build:${out}`;
  async function* hashedTar(): AsyncGenerator<Uint8Array> {
    progress?.({ kind: "start", id: pid, label: "building" });
    for await (const chunk of tar) {
      tarDigest.update(chunk);
      progress?.({ kind: "advance", id: pid, bytes: chunk.byteLength });
      yield chunk;
    }
    progress?.({ kind: "done", id: pid });
  }

  const tgzDigest = new Digester();
  let fh;
  try {
    fh = await open(tmp, "wx", 0o640);
  } catch (e) {
    fail("STORAGE_FAILED", `cannot create ${tmp}: ${(e as Error).message}; is the directory of ${outFile} writable?`, undefined, e);
  }
  try {
    try {
      for await (const chunk of gzipStream(hashedTar(), { impl: opts.gzip ?? DEFAULT_BUILD_OPTIONS.gzip, workers: opts.gzipWorkers })) {
        tgzDigest.update(chunk);
        let off = 0;
        while (off < chunk.length) off += (await fh.write(chunk, off, chunk.length - off)).bytesWritten;
      }
      await fh.chmod(0o640);
      await fh.sync();
    } finally {
      await fh.close();
    }
    if (signal?.aborted) throw cancelled(signal);
    await rename(tmp, out);
  } catch (e) {
    await unlink(tmp).catch(() => {});
    if (e instanceof CoreError) throw e;
    if (isAbort(e)) throw cancelled(signal);
    const msg = e instanceof Error ? e.message : String(e);
    throw new CoreError({ code: "STORAGE_FAILED", message: `building artifact ${outFile} failed: ${msg}`, cause: e });
  }
  return {
    digest: tgzDigest.digest(),
    size: tgzDigest.size,
    diffId: tarDigest.digest(),
    tarSize: tarDigest.size,
    entries: files.length,
    files,
    skipped,
  };
}

async function isRegularTarget(p: string): Promise<boolean> {
  return stat(p).then((s) => s.isFile(), () => false);
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
