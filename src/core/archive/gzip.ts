/**
 * Gzip compression for artifact layers.
 *
 * The default, `impl: "go"`, reproduces Go's `gzip.NewWriter` (level 6) byte for byte, which
 * is what the flux CLI writes, so berth and `flux push artifact` produce the same layer
 * digest for the same tar. `impl: "zlib"` uses node:zlib: several times faster and a valid
 * gzip stream, but its bytes (hence the layer digest) never match flux's.
 */
import * as zlib from "node:zlib";
import { Readable } from "node:stream";
import { availableParallelism } from "node:os";
import { fail } from "../errors.ts";
import { startDeflatePool } from "./deflate-pool.ts";
import { GoDeflater } from "./flate.ts";
import { crc32 as portableCrc32 } from "./flate/crc32.ts";
import { parallelGoGzip } from "./parallel-gzip.ts";

/**
 * node:zlib's native CRC-32 is about 8x faster than the portable one, which would otherwise
 * cost ~10% of compression time; it is missing before Node 22.2, hence the fallback.
 */
const crc32: (data: Uint8Array, crc: number) => number =
  typeof zlib.crc32 === "function" ? (data, crc) => zlib.crc32(data, crc) : portableCrc32;

/** Options for {@link gzipStream}. */
export interface GzipOptions {
  /**
   * `"go"` (default): byte-identical to Go's compress/gzip level 6, i.e. flux's layer digests.
   * `"zlib"`: node:zlib level 6; faster, but digests differ from flux's.
   */
  impl?: "go" | "zlib";
  /**
   * Worker threads for the `"go"` compressor. With 1 or more, the input is matched and
   * encoded in segments on that many workers (parallel-gzip.ts) while the caller keeps
   * producing input; with 0, or where the runtime has no workers, it is compressed in the
   * calling thread. The bytes are the same either way. Default: `os.availableParallelism()`.
   */
  workers?: number;
}

/** Defaults applied by {@link gzipStream}. */
export const DEFAULT_GZIP_OPTIONS = { impl: "go" } as const satisfies GzipOptions;

/**
 * Go's gzip header with no name, comment or extra field, MTIME 0, XFL 0 (level 6 sets no
 * flag) and OS 255 ("unknown"), as `gzip.NewWriter` writes it.
 */
export const GO_GZIP_HEADER: Uint8Array = Uint8Array.from([0x1f, 0x8b, 0x08, 0x00, 0, 0, 0, 0, 0x00, 0xff]);

/** Input is fed to the deflater in slices of this size so output flows out while large chunks are compressed. */
const FEED_SLICE = 64 * 1024;
/** Output is handed on once this much has accumulated, to avoid a stream of tiny chunks. */
const EMIT_THRESHOLD = 64 * 1024;

/**
 * Synchronous, incremental Go-compatible gzip writer: `write` and `close` return the bytes
 * produced by that call. The header comes out with the first call, as in Go.
 */
export class GoGzipWriter {
  private readonly deflater = new GoDeflater();
  private crc = 0;
  private size = 0;
  private headerDone = false;
  private closed = false;

  /** Compressed bytes produced and not yet returned. */
  get pending(): number {
    return this.deflater.pending + (this.headerDone ? 0 : GO_GZIP_HEADER.length);
  }

  /** Adds input without draining output; pair with {@link take}. */
  writeNoTake(chunk: Uint8Array): void {
    if (this.closed) fail("INTERNAL", "gzip: write after close: the writer was already finished; create a new one");
    this.crc = crc32(chunk, this.crc);
    this.size = (this.size + chunk.length) >>> 0;
    this.deflater.writeNoTake(chunk);
  }

  /** Returns and forgets the bytes produced so far. */
  take(): Uint8Array<ArrayBuffer> {
    return this.withHeader(this.deflater.take());
  }

  /** Adds input and returns the compressed bytes that became ready (possibly none). */
  write(chunk: Uint8Array): Uint8Array<ArrayBuffer> {
    this.writeNoTake(chunk);
    return this.take();
  }

  /** Finishes the stream: remaining deflate data plus the CRC-32 and ISIZE trailer. */
  close(): Uint8Array<ArrayBuffer> {
    if (this.closed) return new Uint8Array(0);
    this.closed = true;
    const body = this.withHeader(this.deflater.close());
    const out = new Uint8Array(body.length + 8);
    out.set(body, 0);
    const dv = new DataView(out.buffer, out.byteOffset + body.length, 8);
    dv.setUint32(0, this.crc, true);
    dv.setUint32(4, this.size, true);
    return out;
  }

  private withHeader(body: Uint8Array<ArrayBuffer>): Uint8Array<ArrayBuffer> {
    if (this.headerDone) return body;
    this.headerDone = true;
    const out = new Uint8Array(GO_GZIP_HEADER.length + body.length);
    out.set(GO_GZIP_HEADER, 0);
    out.set(body, GO_GZIP_HEADER.length);
    return out;
  }
}

/** Gzips a whole buffer exactly as Go's `gzip.NewWriter` + `Write` + `Close` would. */
export function gzipSync(data: Uint8Array): Uint8Array<ArrayBuffer> {
  const w = new GoGzipWriter();
  const head = w.write(data);
  const tail = w.close();
  const out = new Uint8Array(head.length + tail.length);
  out.set(head, 0);
  out.set(tail, head.length);
  return out;
}

/**
 * Gzip-compresses a stream. With the default `impl: "go"` the output equals Go's
 * compress/gzip at level 6 byte for byte, regardless of how `src` is chunked and of
 * `workers`. Memory stays bounded: in-thread, a 64 KiB window plus about one block of
 * output; with workers, a few segments of input and their tokens (parallel-gzip.ts).
 */
export function gzipStream(src: AsyncIterable<Uint8Array>, opts: GzipOptions = {}): AsyncIterable<Uint8Array> {
  const impl = opts.impl ?? DEFAULT_GZIP_OPTIONS.impl;
  if (impl === "zlib") {
    const gz = zlib.createGzip({ level: 6 });
    return Readable.from(src).pipe(gz) as AsyncIterable<Uint8Array>;
  }
  const workers = opts.workers ?? availableParallelism();
  return workers >= 1 ? threadedGoGzip(src, workers) : goGzip(src);
}

async function* threadedGoGzip(src: AsyncIterable<Uint8Array>, workers: number): AsyncIterable<Uint8Array> {
  const pool = await startDeflatePool(workers);
  if (!pool) {
    yield* goGzip(src);
    return;
  }
  try {
    yield* parallelGoGzip(src, pool);
  } finally {
    pool.close();
  }
}

async function* goGzip(src: AsyncIterable<Uint8Array>): AsyncIterable<Uint8Array> {
  const w = new GoGzipWriter();
  for await (const chunk of src) {
    for (let p = 0; p < chunk.length; p += FEED_SLICE) {
      w.writeNoTake(chunk.subarray(p, Math.min(p + FEED_SLICE, chunk.length)));
      if (w.pending >= EMIT_THRESHOLD) yield w.take();
    }
  }
  yield w.close();
}
