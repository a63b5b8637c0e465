/**
 * Safe, atomic extraction of a gzip-compressed tarball (the pull side, spec §4.8), stricter than
 * flux's `tar.Untar`:
 *
 * - Names: absolute names, any `..` component, backslashes and NUL are rejected (ARCHIVE_INVALID);
 *   `.` and empty components are dropped (`./a//b` → `a/b`); an entry naming the root itself
 *   (`.`, `./`) is skipped.
 * - Types: regular files and directories are written. Symlinks and hard links are never created:
 *   they are skipped and reported (or, with `skipSymlinks: false`, symlinks fail like flux without
 *   `WithSkipSymlinks`). Devices, FIFOs, GNU sparse files and unknown types fail with ARCHIVE_INVALID.
 *   PAX global headers are ignored; PAX `path`/`linkpath`/`size` and GNU long names are honoured.
 * - Limits: `maxSize` caps the content bytes read (declared sizes are checked before an entry is
 *   read, so a decompression bomb stops at its header); PAX/GNU extension data counts too, and
 *   each is capped at 1 MiB like Go's reader. `maxEntries` caps the number of headers. Headers and
 *   padding are bounded by the entry count, so the total decompressed input is bounded as well.
 *   Data after the end-of-archive marker is never decompressed; the compressed input is still read
 *   to its end so that a digest-verifying source can check it before anything is committed.
 * - Atomicity: entries are written to a fresh temp dir next to `destDir` (same filesystem). Only
 *   when the whole archive was read and its source ended without error are they moved into
 *   `destDir`: new paths are renamed in, same-named files are replaced (a file or symlink in the
 *   way of a directory is replaced too, never followed), other existing files are kept. A
 *   directory of `destDir` in the way of an archived file fails before anything moves. On any
 *   failure the temp dir is removed and `destDir` is untouched. The final moves are individual
 *   renames: only a filesystem failure in that last phase can leave a partial merge.
 * - Modes: directories `entry | 0700`, files the entry's permission bits (no setuid/setgid/sticky);
 *   both are subject to the process umask, as in flux (except a directory whose entry comes after
 *   its children: it was created 0750 as a parent and is chmod-ed to its entry's mode, without umask).
 *   Files and directories get the header mtime (clamped to now).
 */
import { createGunzip } from "node:zlib";
import { chmod, mkdtemp, mkdir, open, readdir, rename, rm, unlink, lstat } from "node:fs/promises";
import { closeSync, futimesSync, openSync, writeSync, type Stats } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { CoreError, fail } from "../errors.ts";

/** Options for `extractTarGz`; every field is optional. */
export interface ExtractOptions {
  /** Cap on content bytes (declared and actual), -1 = unlimited. Default 100 MiB (flux's library default). */
  maxSize?: number;
  /** Cap on the number of tar headers, -1 = unlimited. Default 100_000 (flux has none; berth bounds inode use). */
  maxEntries?: number;
  /** Cap on one entry's size, -1 = unlimited. Default -1 (only `maxSize` applies). */
  maxFileSize?: number;
  /** Skip symlinks and report them (true) or fail on them (false). Default true, like `flux pull`. */
  skipSymlinks?: boolean;
  signal?: AbortSignal;
}

/** Documented defaults of `ExtractOptions`. */
export const DEFAULT_EXTRACT_OPTIONS = {
  maxSize: 100 * 1024 * 1024,
  maxEntries: 100_000,
  maxFileSize: -1,
  skipSymlinks: true,
} as const;

/** An entry that was not written. */
export interface SkippedTarEntry {
  name: string;
  kind: "symlink" | "hardlink";
  /** The link target as recorded in the archive. */
  target: string;
}

/** What `extractTarGz` wrote. */
export interface ExtractResult {
  /** Tar entries processed (extension headers not counted). */
  entries: number;
  files: number;
  dirs: number;
  /** Content bytes written. */
  bytes: number;
  skipped: SkippedTarEntry[];
}

/** A tar header as read, after PAX and GNU long-name records were applied. */
export interface TarEntryHeader {
  name: string;
  /** Type flag character (`0` regular, `5` directory, `1` hard link, `2` symlink, …). */
  type: string;
  mode: number;
  size: number;
  mtime: number;
  linkname: string;
}

/** One entry from `readTarEntries`; read `body` (or not) before asking for the next entry. */
export interface TarEntryRead {
  header: TarEntryHeader;
  body: AsyncIterable<Uint8Array>;
}

/** Options for `readTarEntries`. */
export interface TarReadOptions {
  /** Called before an entry's content is read; throw to refuse it. */
  onHeader?: (h: TarEntryHeader) => void;
  /** Called with the size of each PAX/GNU extension record's data before it is read. */
  onExtension?: (size: number) => void;
}

const BLOCK = 512;
const MAX_SPECIAL = 1 << 20;
const GZIP_MAGIC = [0x1f, 0x8b];
const HEADER_ONLY = new Set(["1", "2", "3", "4", "5", "6"]);

/** The message for input that is not gzip, shared with the CLI's `--layer-operation` hint. */
export const NOT_GZIP_MESSAGE = "layer is not a gzip-compressed tarball (use --layer-operation copy to save it as is)";

function invalid(msg: string, cause?: unknown): never {
  throw new CoreError({ code: "ARCHIVE_INVALID", message: msg, cause });
}

/** Whether bytes start with the gzip magic `1f 8b`. */
export function isGzipHeader(b: Uint8Array): boolean {
  return b.length >= 2 && b[0] === GZIP_MAGIC[0] && b[1] === GZIP_MAGIC[1];
}

// ---- tar reading ----

class BlockReader {
  private buf: Uint8Array = new Uint8Array(0);
  private off = 0;
  private done = false;
  /** Decompressed bytes consumed so far. */
  consumed = 0;
  constructor(private readonly it: AsyncIterator<Uint8Array>) {}

  private async fill(): Promise<boolean> {
    while (this.off >= this.buf.length) {
      if (this.done) return false;
      const r = await this.it.next();
      if (r.done) {
        this.done = true;
        return false;
      }
      this.buf = r.value;
      this.off = 0;
    }
    return true;
  }

  /** Exactly n bytes, or undefined on EOF before the first byte; a partial read is a truncated archive. */
  async exact(n: number, what: string): Promise<Uint8Array | undefined> {
    if (!(await this.fill())) return undefined;
    if (this.buf.length - this.off >= n) {
      const out = this.buf.subarray(this.off, this.off + n);
      this.off += n;
      this.consumed += n;
      return out;
    }
    const out = new Uint8Array(n);
    let got = 0;
    while (got < n) {
      if (!(await this.fill())) invalid(`tar archive is truncated inside ${what}`);
      const take = Math.min(n - got, this.buf.length - this.off);
      out.set(this.buf.subarray(this.off, this.off + take), got);
      this.off += take;
      got += take;
    }
    this.consumed += n;
    return out;
  }

  /** Up to `max` bytes (at least 1) of what is buffered; fails on EOF. */
  async some(max: number, what: string): Promise<Uint8Array> {
    if (!(await this.fill())) invalid(`tar archive is truncated inside ${what}`);
    const take = Math.min(max, this.buf.length - this.off);
    const out = this.buf.subarray(this.off, this.off + take);
    this.off += take;
    this.consumed += take;
    return out;
  }
}

const dec = new TextDecoder();

function cstr(b: Uint8Array): string {
  const z = b.indexOf(0);
  return dec.decode(z === -1 ? b : b.subarray(0, z));
}

/** Go `parseNumeric`: octal (space/NUL padded) or GNU base-256 (high bit set). */
function parseNumeric(b: Uint8Array, what: string): number {
  if (b.length > 0 && b[0]! & 0x80) {
    if (b[0]! & 0x40) invalid(`tar header has a negative ${what}`);
    let x = b[0]! & 0x3f;
    for (let i = 1; i < b.length; i++) {
      x = x * 256 + b[i]!;
      if (x > Number.MAX_SAFE_INTEGER) invalid(`tar header ${what} is too large`);
    }
    return x;
  }
  const s = dec.decode(b).replace(/\0.*$/s, "").trim();
  if (s === "") return 0;
  if (!/^[0-7]+$/.test(s)) invalid(`tar header has an invalid ${what} field ${JSON.stringify(s)}`);
  const x = parseInt(s, 8);
  if (!Number.isSafeInteger(x)) invalid(`tar header ${what} is too large`);
  return x;
}

function checksumOk(blk: Uint8Array): boolean {
  const want = parseNumeric(blk.subarray(148, 156), "checksum");
  let u = 0;
  let s = 0;
  for (let i = 0; i < BLOCK; i++) {
    const c = i >= 148 && i < 156 ? 0x20 : blk[i]!;
    u += c;
    s += c >= 0x80 ? c - 256 : c;
  }
  return want === u || want === s;
}

function isZero(b: Uint8Array): boolean {
  for (let i = 0; i < b.length; i++) if (b[i] !== 0) return false;
  return true;
}

/** Parses PAX records `<len> <key>=<value>\n`. */
function parsePax(data: Uint8Array): Map<string, string> {
  const out = new Map<string, string>();
  let off = 0;
  while (off < data.length) {
    const sp = data.indexOf(0x20, off);
    if (sp < 0) invalid("tar PAX header is malformed");
    const len = Number(dec.decode(data.subarray(off, sp)));
    if (!Number.isInteger(len) || len <= sp - off || off + len > data.length || data[off + len - 1] !== 0x0a) {
      invalid("tar PAX header is malformed");
    }
    const rec = dec.decode(data.subarray(sp + 1, off + len - 1));
    const eq = rec.indexOf("=");
    if (eq <= 0) invalid("tar PAX header is malformed");
    out.set(rec.slice(0, eq), rec.slice(eq + 1));
    off += len;
  }
  return out;
}

/**
 * Reads a tar stream (USTAR, PAX, GNU, V7) entry by entry. Ends at the two-zero-block marker or at a
 * clean EOF on a block boundary (as Go's reader does); anything cut short is ARCHIVE_INVALID.
 */
export async function* readTarEntries(src: AsyncIterable<Uint8Array>, opts: TarReadOptions = {}): AsyncGenerator<TarEntryRead> {
  const r = new BlockReader(src[Symbol.asyncIterator]());
  let pax = new Map<string, string>();
  let longName: string | undefined;
  let longLink: string | undefined;
  for (;;) {
    const blk = await r.exact(BLOCK, "a header");
    if (!blk) return;
    if (isZero(blk)) {
      const next = await r.exact(BLOCK, "the end marker");
      if (!next || isZero(next)) return;
      invalid("tar archive has a zero block followed by data (corrupt archive)");
    }
    if (!checksumOk(blk)) invalid("tar header checksum mismatch: not a tar archive, or a corrupt one");
    const magic = dec.decode(blk.subarray(257, 265));
    const gnu = magic === "ustar  \0";
    const ustar = magic.startsWith("ustar\0");
    let type = String.fromCharCode(blk[156]!);
    let size = parseNumeric(blk.subarray(124, 136), "size");
    if (type === "x" || type === "g" || type === "L" || type === "K") {
      if (size > MAX_SPECIAL) invalid(`tar extension header is larger than ${MAX_SPECIAL} bytes`);
      opts.onExtension?.(size);
      const data = size === 0 ? new Uint8Array(0) : await r.exact(size, "an extension header");
      if (!data) invalid("tar archive is truncated inside an extension header");
      const pad = (BLOCK - (size % BLOCK)) % BLOCK;
      if (pad && !(await r.exact(pad, "padding"))) invalid("tar archive is truncated inside padding");
      if (type === "x") for (const [k, v] of parsePax(data)) pax.set(k, v);
      else if (type === "L") longName = cstr(data);
      else if (type === "K") longLink = cstr(data);
      continue;
    }
    let name = cstr(blk.subarray(0, 100));
    if (ustar && !gnu) {
      const prefix = cstr(blk.subarray(345, 500));
      if (prefix) name = prefix + "/" + name;
    }
    let linkname = cstr(blk.subarray(157, 257));
    if (longName !== undefined) name = longName;
    if (longLink !== undefined) linkname = longLink;
    if (pax.has("path")) name = pax.get("path")!;
    if (pax.has("linkpath")) linkname = pax.get("linkpath")!;
    if (pax.has("size")) {
      const s = pax.get("size")!;
      if (!/^[0-9]+$/.test(s) || !Number.isSafeInteger(Number(s))) invalid(`tar PAX size ${JSON.stringify(s)} is invalid`);
      size = Number(s);
    }
    pax = new Map();
    longName = longLink = undefined;
    if (type === "\0" || type === "7") type = name.endsWith("/") ? "5" : "0";
    // Header-only types carry no data whatever the size field says (Go isHeaderOnlyType).
    if (HEADER_ONLY.has(type)) size = 0;
    const header: TarEntryHeader = {
      name,
      type,
      mode: parseNumeric(blk.subarray(100, 108), "mode"),
      size,
      mtime: parseNumeric(blk.subarray(136, 148), "mtime"),
      linkname,
    };
    opts.onHeader?.(header);
    let left = size;
    const body = async function* (): AsyncGenerator<Uint8Array> {
      while (left > 0) {
        const c = await r.some(Math.min(left, 1 << 20), `the content of ${JSON.stringify(name)}`);
        left -= c.length;
        yield c;
      }
    };
    yield { header, body: body() };
    while (left > 0) left -= (await r.some(Math.min(left, 1 << 20), `the content of ${JSON.stringify(name)}`)).length;
    const pad = (BLOCK - (size % BLOCK)) % BLOCK;
    if (pad && !(await r.exact(pad, "padding"))) invalid("tar archive is truncated inside padding");
  }
}

// ---- gunzip ----

/** A gunzip stream that can stop decompressing early while still reading its source to the end. */
interface Gunzipper {
  out: AsyncIterable<Uint8Array>;
  /** Stops decompressing and reads the rest of the compressed source, discarding it. */
  drain(): Promise<void>;
  /** Stops everything and releases the source. */
  cancel(): Promise<void>;
}

function gunzipper(src: AsyncIterable<Uint8Array>): Gunzipper {
  const it = src[Symbol.asyncIterator]();
  // Large output chunks: with the 16 KiB default, per-chunk overhead makes inflating 3-4x slower.
  const gz = createGunzip({ chunkSize: 1 << 20 });
  // Errors reach the consumer through the async iterator; this keeps a late one (after the consumer
  // stopped reading) from becoming an unhandled 'error' event.
  gz.on("error", () => {});
  let state = "run" as "run" | "drain" | "cancel";
  let srcDone = false;
  let wake: (() => void) | undefined;
  let first = true;
  let head: Uint8Array = new Uint8Array(0);
  let producerError: unknown;

  const producer = (async () => {
    try {
      for (;;) {
        if (state === "cancel") return;
        const r = await it.next();
        if (r.done) {
          srcDone = true;
          if (first) gz.destroy(new CoreError({ code: "ARCHIVE_INVALID", message: NOT_GZIP_MESSAGE }));
          else if (state === "run") gz.end();
          return;
        }
        if (state !== "run") continue;
        let chunk = r.value;
        if (first) {
          // Judge the magic on the first two bytes, however the source splits them.
          head = head.length === 0 ? chunk : Buffer.concat([head, chunk]);
          if (head.length < 2) continue;
          first = false;
          chunk = head;
          if (!isGzipHeader(chunk)) {
            gz.destroy(new CoreError({ code: "ARCHIVE_INVALID", message: NOT_GZIP_MESSAGE }));
            state = "cancel";
            return;
          }
        }
        if (!gz.write(chunk)) {
          await new Promise<void>((res) => {
            wake = res;
            gz.once("drain", res);
          });
          wake = undefined;
        }
      }
    } catch (e) {
      producerError = e;
      gz.destroy(e instanceof Error ? e : new Error(String(e)));
    } finally {
      if (!srcDone) await it.return?.().catch(() => {});
    }
  })();

  return {
    out: (async function* () {
      try {
        for await (const c of gz as AsyncIterable<Buffer>) yield new Uint8Array(c.buffer, c.byteOffset, c.length);
      } catch (e) {
        if (e instanceof CoreError) throw e;
        if (producerError !== undefined) throw producerError;
        invalid(`layer is not a valid gzip stream: ${(e as Error).message}`, e);
      }
    })(),
    async drain() {
      state = "drain";
      wake?.();
      gz.destroy();
      await producer;
      if (producerError !== undefined) throw producerError;
    },
    async cancel() {
      state = "cancel";
      wake?.();
      gz.destroy();
      await producer.catch(() => {});
    },
  };
}

// ---- extraction ----

/** Validates and normalises an entry name; undefined for the root itself. */
function safeName(raw: string): string | undefined {
  if (raw === "") invalid("tar contains an entry with an empty name");
  if (raw.includes("\0")) invalid(`tar entry name ${JSON.stringify(raw)} contains NUL`);
  if (raw.includes("\\")) invalid(`tar entry name ${JSON.stringify(raw)} contains a backslash`);
  if (raw.startsWith("/")) invalid(`tar entry name ${JSON.stringify(raw)} is absolute`);
  const parts = raw.split("/").filter((p) => p !== "" && p !== ".");
  if (parts.includes("..")) invalid(`tar entry name ${JSON.stringify(raw)} contains a '..' component`);
  return parts.length === 0 ? undefined : parts.join("/");
}

function typeName(t: string): string {
  switch (t) {
    case "3":
      return "character device";
    case "4":
      return "block device";
    case "6":
      return "FIFO";
    case "S":
      return "GNU sparse file";
    default:
      return `type ${JSON.stringify(t)}`;
  }
}

function limitText(n: number): string {
  return `${n} bytes`;
}

/**
 * Extracts a gzip-compressed tarball into `destDir`, atomically (see the module doc). Fails with
 * ARCHIVE_INVALID (not gzip, corrupt, unsafe names, unsupported types), SIZE_EXCEEDED (limits),
 * STORAGE_FAILED (filesystem) or CANCELLED.
 */
export async function extractTarGz(src: AsyncIterable<Uint8Array>, destDir: string, opts: ExtractOptions = {}): Promise<ExtractResult> {
  const maxSize = opts.maxSize ?? DEFAULT_EXTRACT_OPTIONS.maxSize;
  const maxEntries = opts.maxEntries ?? DEFAULT_EXTRACT_OPTIONS.maxEntries;
  const maxFileSize = opts.maxFileSize ?? DEFAULT_EXTRACT_OPTIONS.maxFileSize;
  const skipSymlinks = opts.skipSymlinks ?? DEFAULT_EXTRACT_OPTIONS.skipSymlinks;
  const signal = opts.signal;
  const dest = resolve(destDir);
  const checkAbort = () => {
    if (signal?.aborted) throw new CoreError({ code: "CANCELLED", message: "extraction cancelled", cause: signal.reason });
  };
  checkAbort();

  const destSt = await lstat(dest).catch(() => undefined);
  if (destSt && !destSt.isDirectory()) fail("STORAGE_FAILED", `destination '${destDir}' exists and is not a directory`);

  let tmp: string;
  try {
    await mkdir(dirname(dest), { recursive: true });
    tmp = await mkdtemp(join(dirname(dest), `.${basename(dest)}.extract-`));
  } catch (e) {
    throw new CoreError({ code: "STORAGE_FAILED", message: `cannot create a temp dir next to ${destDir}: ${(e as Error).message}`, cause: e });
  }

  const result: ExtractResult = { entries: 0, files: 0, dirs: 0, bytes: 0, skipped: [] };
  // "parent" = created only as the parent of another entry (0750, like flux), not yet by its own entry.
  const made = new Map<string, "file" | "dir" | "parent">();
  const dirTimes: [string, number][] = [];
  let headers = 0;
  let total = 0;
  const now = Math.floor(Date.now() / 1000);
  const gz = gunzipper(src);

  const countHeader = () => {
    headers++;
    if (maxEntries >= 0 && headers > maxEntries) {
      throw new CoreError({
        code: "SIZE_EXCEEDED",
        message: `tar has more than ${maxEntries} entries`,
        details: { hint: "raise the entry limit if the artifact is trusted" },
      });
    }
  };
  const addBytes = (n: number, name: string) => {
    total += n;
    if (maxSize >= 0 && total > maxSize) {
      throw new CoreError({
        code: "SIZE_EXCEEDED",
        message: `tar ${JSON.stringify(name)} is bigger than max archive size of ${limitText(maxSize)}`,
        details: { hint: "raise the size limit if the artifact is trusted" },
      });
    }
  };

  const ensureDir = async (rel: string, mode: number, own: boolean): Promise<void> => {
    const kind = made.get(rel);
    if (kind === "dir" || (kind === "parent" && !own)) return;
    if (kind === "file") invalid(`tar entry ${JSON.stringify(rel)} is both a file and a directory`);
    if (kind === "parent") {
      await chmod(join(tmp, rel), mode);
    } else {
      const parent = rel.includes("/") ? rel.slice(0, rel.lastIndexOf("/")) : "";
      if (parent) await ensureDir(parent, 0o750, false);
      await mkdir(join(tmp, rel), { mode });
    }
    made.set(rel, own ? "dir" : "parent");
  };

  try {
    for await (const { header: h, body } of readTarEntries(gz.out, {
      onExtension: (size) => {
        countHeader();
        addBytes(size, "extension header");
      },
      onHeader: (h) => {
        countHeader();
        checkAbort();
        if (h.size > 0) {
          if (maxFileSize >= 0 && h.size > maxFileSize) {
            throw new CoreError({
              code: "SIZE_EXCEEDED",
              message: `tar ${JSON.stringify(h.name)} is bigger than the per-file limit of ${limitText(maxFileSize)}`,
            });
          }
          addBytes(h.size, h.name);
        }
      },
    })) {
      result.entries++;
      const name = safeName(h.name);
      switch (h.type) {
        case "5": {
          if (name === undefined) break;
          await ensureDir(name, (h.mode & 0o777) | 0o700, true);
          dirTimes.push([name, Math.min(h.mtime, now)]);
          result.dirs++;
          break;
        }
        case "0": {
          if (name === undefined) invalid(`tar entry ${JSON.stringify(h.name)} is a file named like the root`);
          if (made.get(name) === "dir" || made.get(name) === "parent") invalid(`tar entry ${JSON.stringify(name)} is both a directory and a file`);
          const parent = name.includes("/") ? name.slice(0, name.lastIndexOf("/")) : "";
          if (parent) await ensureDir(parent, 0o750, false);
          const path = join(tmp, name);
          if (made.get(name) === "file") await unlink(path);
          const mode = h.mode & 0o777;
          const mtime = Math.min(h.mtime, now);
          if (h.size <= 256 * 1024) {
            // Small files in one synchronous write: far fewer event-loop round trips for trees of many tiny files.
            // (Path-based utimes is several times slower than futimes on Bun.)
            const parts: Uint8Array[] = [];
            for await (const c of body) parts.push(c);
            const fd = openSync(path, "wx", mode);
            try {
              for (const c of parts) {
                let off = 0;
                while (off < c.length) off += writeSync(fd, c, off, c.length - off);
              }
              futimesSync(fd, mtime, mtime);
            } finally {
              closeSync(fd);
            }
          } else {
            const fh = await open(path, "wx", mode);
            try {
              for await (const c of body) {
                checkAbort();
                let off = 0;
                while (off < c.length) off += (await fh.write(c, off, c.length - off)).bytesWritten;
              }
              await fh.utimes(mtime, mtime);
            } finally {
              await fh.close();
            }
          }
          made.set(name, "file");
          result.files++;
          result.bytes += h.size;
          break;
        }
        case "2":
          if (!skipSymlinks) {
            invalid(`tar entry ${JSON.stringify(h.name)} is a symlink, which is not allowed (skip symlinks to extract the rest)`);
          }
          result.skipped.push({ name: name ?? h.name, kind: "symlink", target: h.linkname });
          break;
        case "1":
          result.skipped.push({ name: name ?? h.name, kind: "hardlink", target: h.linkname });
          break;
        default:
          invalid(`tar entry ${JSON.stringify(h.name)} is a ${typeName(h.type)}, which berth does not extract`);
      }
    }
    checkAbort();
    // Read the compressed source to its end: a verifying source checks its digest only there.
    await gz.drain();
    checkAbort();
    for (const [rel, t] of dirTimes.reverse()) {
      const fd = openSync(join(tmp, rel), "r");
      try {
        futimesSync(fd, t, t);
      } finally {
        closeSync(fd);
      }
    }
    await mkdir(dest, { recursive: true });
    await checkMerge(tmp, dest, "");
    await merge(tmp, dest);
    return result;
  } catch (e) {
    await gz.cancel();
    if (e instanceof CoreError) throw e;
    const err = e as NodeJS.ErrnoException;
    throw new CoreError({ code: "STORAGE_FAILED", message: `extracting into ${destDir} failed: ${err.message}`, cause: e });
  } finally {
    await rm(tmp, { recursive: true, force: true }).catch(() => {});
  }
}

async function lstatOrUndefined(p: string): Promise<Stats | undefined> {
  try {
    return await lstat(p);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw e;
  }
}

/** Fails before anything moves if an existing directory of `dest` is where the archive has a file. */
async function checkMerge(from: string, to: string, rel: string): Promise<void> {
  for (const ent of await readdir(from, { withFileTypes: true })) {
    const d = await lstatOrUndefined(join(to, ent.name));
    if (!d || !d.isDirectory()) continue;
    const r = rel ? `${rel}/${ent.name}` : ent.name;
    if (!ent.isDirectory()) {
      fail("STORAGE_FAILED", `cannot extract file ${r}: the destination has a directory there; remove it or pull into an empty directory`);
    }
    await checkMerge(join(from, ent.name), join(to, ent.name), r);
  }
}

/** Moves the extracted tree into place: renames new paths, replaces files and links, recurses into shared directories. */
async function merge(from: string, to: string): Promise<void> {
  for (const ent of await readdir(from, { withFileTypes: true })) {
    const src = join(from, ent.name);
    const dst = join(to, ent.name);
    const d = await lstatOrUndefined(dst);
    if (ent.isDirectory() && d?.isDirectory()) {
      await merge(src, dst);
      continue;
    }
    // A symlink or file in the way of a directory is removed, never followed.
    if (ent.isDirectory() && d) await unlink(dst);
    await rename(src, dst);
  }
}
