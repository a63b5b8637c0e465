/**
 * Walks a source tree in the order flux archives it (spec §4.1): Go `filepath.WalkDir` order, i.e.
 * pre-order with each directory's names sorted byte-wise (UTF-8), the root first as `.`. Only
 * regular files and directories become entries; other types are reported as skipped. Ignored
 * directories are not pruned: their children are tested one by one, as in flux.
 */
import { lstat, open, readdir, realpath, stat } from "node:fs/promises";
import { closeSync, openSync, readSync, type Stats } from "node:fs";
import { join, resolve, sep } from "node:path";
import { CoreError, fail } from "../errors.ts";
import type { IgnoreMatcher } from "./ignore.ts";

/** One entry the walk yields, ready to become a tar header. */
export interface WalkEntry {
  /** Archive name: `.` for the root, else the `/`-joined relative path. */
  name: string;
  /** Path components relative to the root ([] for the root). */
  parts: string[];
  /** Where the content is read from (the link target when symlinks are resolved). */
  abs: string;
  isDir: boolean;
  /** Permission bits plus setuid/setgid/sticky, as stored in the tar header. */
  mode: number;
  /** Content size (0 for directories). */
  size: number;
}

/** Why a path was left out of the archive without being ignored by a pattern. */
export type SkipKind = "symlink" | "device" | "fifo" | "socket" | "other" | "cycle";

/** A path left out of the archive because of its type. */
export interface SkippedEntry {
  /** `/`-joined path relative to the root. */
  path: string;
  kind: SkipKind;
}

/** Options for `walkTree`. */
export interface WalkOptions {
  /** Excludes matching paths. Default: nothing is ignored. */
  ignore?: IgnoreMatcher;
  /** Absolute paths never yielded (the output file, its temp file). Default none. */
  exclude?: ReadonlySet<string>;
  /** Follow symlinks and archive their targets (cycles are broken and reported). Default false. */
  resolveSymlinks?: boolean;
  /** With `resolveSymlinks`, allow targets outside the root. Default false: such links fail with USAGE. */
  allowOutside?: boolean;
  /** Called for every path skipped because of its type. */
  onSkip?: (s: SkippedEntry) => void;
  signal?: AbortSignal;
}

/** Orders names as Go's `sort.Strings` does on their UTF-8 bytes, i.e. by code point. */
export function compareNames(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    // Surrogates (astral code points) sort after every BMP code unit in code-point order.
    const xs = x >= 0xd800 && x <= 0xdfff;
    const ys = y >= 0xd800 && y <= 0xdfff;
    if (xs !== ys) return xs ? 1 : -1;
    return x - y;
  }
  return a.length - b.length;
}

function skipKind(st: Stats): SkipKind {
  if (st.isSymbolicLink()) return "symlink";
  if (st.isCharacterDevice() || st.isBlockDevice()) return "device";
  if (st.isFIFO()) return "fifo";
  if (st.isSocket()) return "socket";
  return "other";
}

function checkAbort(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new CoreError({ code: "CANCELLED", message: "archive build cancelled", cause: signal.reason });
}

function fsError(e: unknown, what: string): CoreError {
  if (e instanceof CoreError) return e;
  const msg = e instanceof Error ? e.message : String(e);
  return new CoreError({ code: "STORAGE_FAILED", message: `${what}: ${msg}`, cause: e });
}

function within(root: string, p: string): boolean {
  return p === root || p.startsWith(root.endsWith(sep) ? root : root + sep);
}

/**
 * Yields the entries of the tree at `root` in archive order. A root that is itself a symlink
 * yields nothing (flux archives it as an empty tar) unless `resolveSymlinks` is set.
 */
export async function* walkTree(root: string, opts: WalkOptions = {}): AsyncGenerator<WalkEntry> {
  const absRoot = resolve(root);
  const ignore = opts.ignore ?? (() => false);
  const exclude = opts.exclude ?? new Set<string>();
  let rootStat: Stats;
  try {
    rootStat = await lstat(absRoot);
  } catch (e) {
    throw fsError(e, `invalid path '${root}', must point to an existing directory or file`);
  }
  let realRoot = absRoot;
  const rootIsLink = rootStat.isSymbolicLink();
  if (rootIsLink) {
    if (!opts.resolveSymlinks) {
      opts.onSkip?.({ path: ".", kind: "symlink" });
      return;
    }
    try {
      realRoot = await realpath(absRoot);
      rootStat = await stat(realRoot);
    } catch (e) {
      throw fsError(e, `resolving symlinks failed for ${root}`);
    }
  } else if (opts.resolveSymlinks) {
    realRoot = await realpath(absRoot).catch((e: unknown) => {
      throw fsError(e, `resolving symlinks failed for ${root}`);
    });
  }
  if (!rootStat.isDirectory()) fail("USAGE", `walkTree: ${root} is not a directory`);

  yield { name: ".", parts: [], abs: absRoot, isDir: true, mode: rootStat.mode & 0o7777, size: 0 };

  // Real paths of the directories being descended, to break symlink cycles.
  const stack: string[] = [realRoot];

  async function* dir(absDir: string, parts: string[]): AsyncGenerator<WalkEntry> {
    checkAbort(opts.signal);
    let names: string[];
    try {
      names = await readdir(absDir);
    } catch (e) {
      throw fsError(e, `reading directory ${absDir}`);
    }
    names.sort(compareNames);
    // Stat a directory's children together: one await per directory instead of one per file.
    const stats = await Promise.all(
      names.map((n) =>
        lstat(join(absDir, n)).catch((e: unknown) => {
          throw fsError(e, `reading ${join(absDir, n)}`);
        }),
      ),
    );
    for (let i = 0; i < names.length; i++) {
      const name = names[i]!;
      let st = stats[i]!;
      let abs = join(absDir, name);
      const childParts = [...parts, name];
      const rel = childParts.join("/");
      if (exclude.has(abs)) continue;
      let realDir: string | undefined;
      if (st.isSymbolicLink() && opts.resolveSymlinks) {
        let target: string;
        try {
          target = await realpath(abs);
          st = await stat(target);
        } catch (e) {
          throw fsError(e, `resolving symlinks failed for ${rel}`);
        }
        if (!opts.allowOutside && !within(realRoot, target)) {
          fail("USAGE", `symlink ${rel} points outside the source directory (to ${target}); copy the target into the tree or allow outside targets`);
        }
        if (st.isDirectory()) {
          if (stack.includes(target)) {
            opts.onSkip?.({ path: rel, kind: "cycle" });
            continue;
          }
          realDir = target;
        }
        abs = target;
      }
      const isDir = st.isDirectory();
      const ignored = ignore(childParts, isDir);
      if (!isDir && !st.isFile()) {
        // Only report what the user did not ask to leave out anyway.
        if (!ignored) opts.onSkip?.({ path: rel, kind: skipKind(st) });
        continue;
      }
      if (!ignored) {
        yield { name: rel, parts: childParts, abs, isDir, mode: st.mode & 0o7777, size: isDir ? 0 : st.size };
      }
      if (isDir) {
        const real = realDir ?? (opts.resolveSymlinks ? await realpath(abs) : abs);
        stack.push(real);
        yield* dir(abs, childParts);
        stack.pop();
      }
    }
  }

  yield* dir(rootIsLink ? realRoot : absRoot, []);
}

/** Files up to this size are read with one synchronous read: async open/read/close round trips dominate otherwise. */
const SMALL_FILE = 256 * 1024;

function readSmallFile(path: string, size: number): Uint8Array {
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch (e) {
    throw fsError(e, `opening ${path}`);
  }
  try {
    // One byte more than expected, to notice a file that grew.
    const buf = new Uint8Array(size + 1);
    let got = 0;
    for (;;) {
      const n = readSync(fd, buf, got, buf.length - got, null);
      if (n === 0) break;
      got += n;
      if (got === buf.length) break;
    }
    if (got !== size) {
      fail("STORAGE_FAILED", `${path} ${got < size ? "shrank" : "grew"} while the archive was built (expected ${size} bytes); try again`);
    }
    return buf.subarray(0, size);
  } catch (e) {
    throw fsError(e, `reading ${path}`);
  } finally {
    closeSync(fd);
  }
}

/** Reads exactly `size` bytes of a file in chunks; a file that grew or shrank fails with STORAGE_FAILED. */
export async function* readFileChunks(path: string, size: number, chunkSize = 1 << 20): AsyncGenerator<Uint8Array> {
  if (size <= SMALL_FILE) {
    yield readSmallFile(path, size);
    return;
  }
  let fh;
  try {
    fh = await open(path, "r");
  } catch (e) {
    throw fsError(e, `opening ${path}`);
  }
  try {
    let left = size;
    while (left > 0) {
      const buf = new Uint8Array(Math.min(left, chunkSize));
      const { bytesRead } = await fh.read(buf, 0, buf.length, null);
      if (bytesRead === 0) {
        fail("STORAGE_FAILED", `${path} shrank while the archive was built (expected ${size} bytes); try again`);
      }
      left -= bytesRead;
      yield bytesRead === buf.length ? buf : buf.subarray(0, bytesRead);
    }
    const probe = new Uint8Array(1);
    if ((await fh.read(probe, 0, 1, null)).bytesRead > 0) {
      fail("STORAGE_FAILED", `${path} grew while the archive was built (expected ${size} bytes); try again`);
    }
  } catch (e) {
    throw fsError(e, `reading ${path}`);
  } finally {
    await fh.close();
  }
}
