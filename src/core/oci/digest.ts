import { createHash, type Hash } from "node:crypto";
import { CoreError, fail } from "../errors.ts";

/** A validated `sha256:<64 hex>` string. Only sha256 is accepted, as by Flux and the distribution spec's must-support set. */
export type Digest = string & { readonly __digest: unique symbol };

const DIGEST_RE = /^sha256:[a-f0-9]{64}$/;

/** Validates a digest string; throws REF_INVALID with the offending value. */
export function parseDigest(s: string): Digest {
  if (!DIGEST_RE.test(s)) {
    fail("REF_INVALID", `invalid digest ${JSON.stringify(s)}: want sha256:<64 lower-case hex characters>`);
  }
  return s as Digest;
}

export function isDigest(s: string): s is Digest {
  return DIGEST_RE.test(s);
}

/** sha256 digest of bytes held in memory (manifests, configs, small blobs). */
export function digestOf(data: Uint8Array | string): Digest {
  return ("sha256:" + createHash("sha256").update(data).digest("hex")) as Digest;
}

/** Incremental digester: count and hash bytes as they stream past. */
export class Digester {
  private readonly h: Hash = createHash("sha256");
  size = 0;
  update(chunk: Uint8Array): void {
    this.h.update(chunk);
    this.size += chunk.byteLength;
  }
  digest(): Digest {
    return ("sha256:" + this.h.digest("hex")) as Digest;
  }
}

/**
 * Wraps a stream so that every byte is counted and hashed; at EOF the size and digest must
 * equal the descriptor's, otherwise DIGEST_MISMATCH is thrown (ggcr internal/verify). A stream
 * that runs past the expected size fails at once, so a hostile server cannot make us read forever.
 */
export async function* verifyStream(
  src: AsyncIterable<Uint8Array>,
  expected: { digest: string; size: number },
  label = expected.digest,
): AsyncGenerator<Uint8Array> {
  const d = new Digester();
  for await (const chunk of src) {
    d.update(chunk);
    if (expected.size >= 0 && d.size > expected.size) {
      throw new CoreError({
        code: "DIGEST_MISMATCH",
        message: `${label}: content is larger than the ${expected.size} bytes its descriptor declares`,
        details: { digest: expected.digest },
      });
    }
    yield chunk;
  }
  if (expected.size >= 0 && d.size !== expected.size) {
    throw new CoreError({
      code: "DIGEST_MISMATCH",
      message: `${label}: got ${d.size} bytes, descriptor declares ${expected.size}`,
      details: { digest: expected.digest },
    });
  }
  const got = d.digest();
  if (got !== expected.digest) {
    throw new CoreError({
      code: "DIGEST_MISMATCH",
      message: `${label}: content digest is ${got}, expected ${expected.digest}`,
      details: { digest: expected.digest },
    });
  }
}

/** Reads a whole stream into memory, failing with SIZE_EXCEEDED past `max` bytes. For manifests and small bodies only. */
export async function readAll(src: AsyncIterable<Uint8Array>, max: number, label = "content"): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  let n = 0;
  for await (const c of src) {
    n += c.byteLength;
    if (n > max) fail("SIZE_EXCEEDED", `${label} is larger than the ${max}-byte limit`);
    parts.push(c);
  }
  const out = new Uint8Array(n);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.byteLength;
  }
  return out;
}
