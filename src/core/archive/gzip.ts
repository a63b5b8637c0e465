import { createGzip } from "node:zlib";
import { Readable } from "node:stream";

/**
 * Gzip-compresses a stream. PLACEHOLDER (zlib level 6): being replaced by a Go-compatible
 * deflate so that layer digests match the flux CLI byte for byte.
 */
export function gzipStream(src: AsyncIterable<Uint8Array>): AsyncIterable<Uint8Array> {
  const gz = createGzip({ level: 6 });
  return Readable.from(src).pipe(gz) as AsyncIterable<Uint8Array>;
}
