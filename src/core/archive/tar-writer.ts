/**
 * A streaming tar writer that reproduces, byte for byte, what Go's `archive/tar` writer emits for
 * the headers the flux CLI writes (spec §4.3): uid/gid 0, empty owner names, mtime 0, no atime or
 * ctime. Go picks USTAR whenever every field fits (splitting long ASCII names into prefix/name),
 * otherwise PAX with `path`/`linkpath`/`size` records; with these headers GNU is never chosen.
 * Written from the format's rules, because a digest only matches if every byte does.
 */
import { CoreError, fail } from "../errors.ts";

/** Tar type flags berth writes or reads. */
export const TYPE_FILE = "0";
export const TYPE_HARDLINK = "1";
export const TYPE_SYMLINK = "2";
export const TYPE_CHAR = "3";
export const TYPE_BLOCK = "4";
export const TYPE_DIR = "5";
export const TYPE_FIFO = "6";

/** One tar header as berth writes it; every other field is fixed to flux's normalised values. */
export interface TarHeader {
  /** Entry name, `/`-separated, no trailing slash for directories (flux style). */
  name: string;
  /** A type flag character; `TYPE_FILE` or `TYPE_DIR` for flux archives. Default `TYPE_FILE`. */
  type?: string;
  /** Permission bits plus setuid/setgid/sticky (`0o7777` at most). */
  mode: number;
  /** Content size in bytes; ignored (written as declared) for header-only types. Default 0. */
  size?: number;
  /** Link target for hard and symbolic links. Default "". */
  linkname?: string;
  /** Modification time in whole seconds since the epoch. Default 0 (flux). */
  mtime?: number;
}

const BLOCK = 512;
const NAME_SIZE = 100;
const PREFIX_SIZE = 155;
/** 8 GiB: the first size an 11-digit octal field cannot hold. */
const MAX_OCTAL_SIZE = 8 ** 11;
const enc = new TextEncoder();

/** The 1024 zero bytes that end every archive (no padding to a 10240-byte record, unlike GNU tar). */
export const TAR_TRAILER: Uint8Array = new Uint8Array(2 * BLOCK);

/** Bytes of zero padding that follow `size` bytes of content. */
export function tarPadding(size: number): number {
  const r = size % BLOCK;
  return r === 0 ? 0 : BLOCK - r;
}

function isAsciiNoNul(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x80 || c === 0) return false;
  }
  return true;
}

/** Go `toASCII`: drops every non-ASCII code point and NUL. */
function toAscii(s: string): string {
  if (isAsciiNoNul(s)) return s;
  let out = "";
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (c < 0x80 && c !== 0) out += ch;
  }
  return out;
}

/** Go `splitUSTARPath`: a >100-byte ASCII name split at a `/` into prefix (≤155) and name (≤100). */
export function splitUstarPath(name: string): [prefix: string, suffix: string] | undefined {
  let length = name.length;
  if (length <= NAME_SIZE || !isAsciiNoNul(name)) return undefined;
  if (length > PREFIX_SIZE + 1) length = PREFIX_SIZE + 1;
  else if (name[length - 1] === "/") length--;
  const i = name.lastIndexOf("/", length - 1);
  const nlen = name.length - i - 1;
  if (i <= 0 || nlen > NAME_SIZE || nlen === 0 || i > PREFIX_SIZE) return undefined;
  return [name.slice(0, i), name.slice(i + 1)];
}

/** Go `path.Clean`, needed to name PAX headers exactly as Go does for odd paths. */
export function cleanPath(p: string): string {
  if (p === "") return ".";
  const rooted = p.startsWith("/");
  const out: string[] = [];
  for (const part of p.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") {
      if (out.length > 0 && out[out.length - 1] !== "..") out.pop();
      else if (!rooted) out.push("..");
      continue;
    }
    out.push(part);
  }
  const s = out.join("/");
  if (rooted) return "/" + s;
  return s === "" ? "." : s;
}

function writeString(blk: Uint8Array, off: number, size: number, s: string | Uint8Array): void {
  const b = typeof s === "string" ? enc.encode(s) : s;
  blk.set(b.subarray(0, size), off);
  if (b.length < size) blk[off + b.length] = 0;
  // Go replaces a trailing slash left by truncation with NUL so readers don't see a directory.
  if (b.length > size && blk[off + size - 1] === 0x2f) {
    let n = size - 1;
    while (n > 0 && b[n - 1] === 0x2f) n--;
    blk[off + n] = 0;
  }
}

function fitsOctal(width: number, x: number): boolean {
  return x >= 0 && (width >= 22 || x < 2 ** ((width - 1) * 3));
}

function writeOctal(blk: Uint8Array, off: number, width: number, x: number): void {
  if (!fitsOctal(width, x)) x = 0;
  const s = x.toString(8).padStart(width - 1, "0");
  writeString(blk, off, width, s);
}

/** The raw fields of one 512-byte header block, written verbatim (test corpora use this for odd archives). */
export interface RawHeaderFields {
  name: string | Uint8Array;
  mode?: number;
  uid?: number;
  gid?: number;
  size?: number;
  mtime?: number;
  typeflag: string;
  linkname?: string | Uint8Array;
  uname?: string;
  gname?: string;
  /** Written as octal when given; left as NUL bytes when omitted (Go's PAX extension headers). */
  devmajor?: number;
  devminor?: number;
  prefix?: string;
  /** `ustar` = "ustar\0" + "00" (USTAR and PAX); `gnu` = "ustar " + " \0"; `v7` = none. Default `ustar`. */
  magic?: "ustar" | "gnu" | "v7";
}

/** Encodes one header block with Go's field formats and checksum (`%06o\0 `). */
export function rawHeaderBlock(f: RawHeaderFields): Uint8Array {
  const blk = new Uint8Array(BLOCK);
  writeString(blk, 0, 100, f.name);
  writeOctal(blk, 100, 8, f.mode ?? 0);
  writeOctal(blk, 108, 8, f.uid ?? 0);
  writeOctal(blk, 116, 8, f.gid ?? 0);
  writeOctal(blk, 124, 12, f.size ?? 0);
  writeOctal(blk, 136, 12, f.mtime ?? 0);
  blk[156] = f.typeflag.charCodeAt(0);
  if (f.linkname !== undefined) writeString(blk, 157, 100, f.linkname);
  const magic = f.magic ?? "ustar";
  if (magic === "ustar") {
    blk.set(enc.encode("ustar\0" + "00"), 257);
  } else if (magic === "gnu") {
    blk.set(enc.encode("ustar  \0"), 257);
  }
  if (f.uname !== undefined) writeString(blk, 265, 32, f.uname);
  if (f.gname !== undefined) writeString(blk, 297, 32, f.gname);
  if (f.devmajor !== undefined) writeOctal(blk, 329, 8, f.devmajor);
  if (f.devminor !== undefined) writeOctal(blk, 337, 8, f.devminor);
  if (f.prefix !== undefined) writeString(blk, 345, 155, f.prefix);
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : blk[i]!;
  writeOctal(blk, 148, 7, sum);
  blk[155] = 0x20;
  return blk;
}

/** One PAX record, `<len> <key>=<value>\n`, where len counts itself. */
function paxRecord(key: string, value: string): string {
  const body = enc.encode(key).length + enc.encode(value).length + 3;
  let size = body + String(body).length;
  if (String(size).length + body !== size) size = String(size).length + body;
  return `${size} ${key}=${value}\n`;
}

const HEADER_ONLY = new Set([TYPE_HARDLINK, TYPE_SYMLINK, TYPE_CHAR, TYPE_BLOCK, TYPE_DIR, TYPE_FIFO]);

/** Whether an entry of this type carries no content (Go `isHeaderOnlyType`). */
export function isHeaderOnlyType(type: string): boolean {
  return HEADER_ONLY.has(type);
}

/**
 * Encodes the header block(s) for one entry, exactly as Go's `tar.Writer.WriteHeader` would with an
 * unspecified format: one USTAR block when every field fits, else a PAX `x` header (its data padded
 * to 512) followed by the main block. The content and its padding are the caller's to write.
 */
export function encodeTarHeader(h: TarHeader): Uint8Array {
  const type = h.type ?? TYPE_FILE;
  const size = h.size ?? 0;
  const linkname = h.linkname ?? "";
  const mtime = h.mtime ?? 0;
  if (!Number.isSafeInteger(size) || size < 0) fail("INTERNAL", `tar entry ${h.name}: invalid size ${size}`);
  if (!Number.isInteger(h.mode) || h.mode < 0 || h.mode > 0o7777777) {
    fail("INTERNAL", `tar entry ${h.name}: invalid mode ${h.mode}`);
  }
  if (!fitsOctal(12, mtime)) fail("INTERNAL", `tar entry ${h.name}: mtime ${mtime} does not fit a USTAR field`);
  if (h.name.includes("\0") || linkname.includes("\0")) fail("INTERNAL", `tar entry ${JSON.stringify(h.name)}: NUL in name`);
  if ((type === TYPE_FILE || type === TYPE_FIFO || type === TYPE_CHAR || type === TYPE_BLOCK) && h.name.endsWith("/")) {
    fail("INTERNAL", `tar entry ${h.name}: a non-directory name may not end with a slash`);
  }

  const pax = new Map<string, string>();
  const nameBytes = enc.encode(h.name).length;
  if (!isAsciiNoNul(h.name) || nameBytes > NAME_SIZE) {
    if (!splitUstarPath(h.name)) pax.set("path", h.name);
  }
  if (!isAsciiNoNul(linkname) || enc.encode(linkname).length > NAME_SIZE) pax.set("linkpath", linkname);
  if (size >= MAX_OCTAL_SIZE) pax.set("size", String(size));

  const ustarOk = !pax.has("path") && !pax.has("linkpath") && !pax.has("size");
  if (ustarOk) {
    let name = h.name;
    let prefix = "";
    const split = splitUstarPath(h.name);
    if (split) [prefix, name] = split;
    return rawHeaderBlock({
      name, mode: h.mode, size, mtime, typeflag: type, linkname, uname: "", gname: "",
      devmajor: 0, devminor: 0, prefix, magic: "ustar",
    });
  }

  let data = "";
  for (const k of [...pax.keys()].sort()) data += paxRecord(k, pax.get(k)!);
  const dataBytes = enc.encode(data);
  const slash = h.name.lastIndexOf("/");
  const dir = h.name.slice(0, slash + 1);
  const file = h.name.slice(slash + 1);
  let xname = toAscii(cleanPath([dir, "PaxHeaders.0", file].filter((s) => s !== "").join("/")));
  if (xname.length > NAME_SIZE) xname = xname.slice(0, NAME_SIZE);
  xname = xname.replace(/\/+$/, "");
  const xhdr = rawHeaderBlock({ name: xname, size: dataBytes.length, typeflag: "x", magic: "ustar" });
  const main = rawHeaderBlock({
    name: toAscii(h.name), mode: h.mode, size, mtime, typeflag: type, linkname: toAscii(linkname),
    uname: "", gname: "", devmajor: 0, devminor: 0, magic: "ustar",
  });
  const out = new Uint8Array(BLOCK + dataBytes.length + tarPadding(dataBytes.length) + BLOCK);
  out.set(xhdr, 0);
  out.set(dataBytes, BLOCK);
  out.set(main, out.length - BLOCK);
  return out;
}

/** An entry for `tarStream`: its header, and for regular files the content. */
export interface TarInput {
  header: TarHeader;
  /** Content stream; must yield exactly `header.size` bytes. Omitted for header-only entries. */
  body?: AsyncIterable<Uint8Array>;
}

/** Output is gathered into chunks of about this size so that many small files do not cost one await each. */
const OUT_CHUNK = 256 * 1024;

/**
 * Streams a whole archive: headers, contents, 512-byte padding and the two zero blocks. A body that
 * yields more or fewer bytes than its header declared fails with STORAGE_FAILED (the file changed
 * while being archived), since Go's writer would refuse to produce such an archive as well.
 */
export async function* tarStream(entries: AsyncIterable<TarInput> | Iterable<TarInput>): AsyncGenerator<Uint8Array> {
  const pending: Uint8Array[] = [];
  let pendingLen = 0;
  const take = (): Uint8Array => {
    const out = pending.length === 1 ? pending[0]! : Buffer.concat(pending, pendingLen);
    pending.length = 0;
    pendingLen = 0;
    return out;
  };
  const push = (b: Uint8Array): void => {
    if (b.length === 0) return;
    pending.push(b);
    pendingLen += b.length;
  };

  for await (const e of entries) {
    push(encodeTarHeader(e.header));
    const type = e.header.type ?? TYPE_FILE;
    const size = isHeaderOnlyType(type) ? 0 : (e.header.size ?? 0);
    let n = 0;
    if (e.body) {
      for await (const chunk of e.body) {
        n += chunk.length;
        if (n > size) break;
        if (chunk.length >= OUT_CHUNK) {
          if (pendingLen > 0) yield take();
          yield chunk;
        } else {
          push(chunk);
          if (pendingLen >= OUT_CHUNK) yield take();
        }
      }
    }
    if (n !== size) {
      throw new CoreError({
        code: "STORAGE_FAILED",
        message: `${e.header.name}: read ${n > size ? "more than" : n} bytes, expected ${size}; was the file changed while the archive was built? Try again`,
      });
    }
    const pad = tarPadding(size);
    if (pad > 0) push(TAR_TRAILER.subarray(0, pad));
    if (pendingLen >= OUT_CHUNK) yield take();
  }
  push(TAR_TRAILER);
  yield take();
}

