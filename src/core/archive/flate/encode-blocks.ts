/**
 * Huffman-encodes a run of LZ77 tokens as Go does: blocks of 16384 tokens counted from the
 * start of the stream, each priced and written on its own (flate/block-writer.ts). Blocks
 * are independent apart from their bit position in the output, so runs of blocks can be
 * encoded in parallel and their bit strings joined ({@link BitJoiner}).
 */
import { BlockWriter } from "./block-writer.ts";
import { LENGTH_SHIFT, MATCH_FLAG } from "./tokens.ts";
import { windowBase } from "./segment-match.ts";

/** Go's maxFlateBlockTokens. */
export const BLOCK_TOKENS = 1 << 14;

/** A slice `tokens[from..to)`; slices may share memory with other threads (SharedArrayBuffer). */
export interface TokenSlice {
  tokens: Uint32Array;
  from: number;
  to: number;
}

/** Stream bytes [start, end), held in `buf` from stream offset `bufStart`. */
export interface InputRange {
  buf: Uint8Array;
  bufStart: number;
  start: number;
  end: number;
}

/** Input of {@link encodeBlocks}. */
export interface EncodeJob {
  /** Tokens (in order) starting on a block boundary; a whole number of blocks unless `final`. */
  tokens: TokenSlice[];
  /** Stream offset of the first token's input. */
  pos: number;
  /** The input the tokens cover, in order, or null if no block is short enough to be stored. */
  raw: InputRange[] | null;
  /** Window start of Go's closing flush, or Number.MAX_SAFE_INTEGER while the stream length is unknown. */
  finalBase: number;
  /** The tokens end the stream: write the last (partial) block and Go's empty final stored block. */
  final: boolean;
}

/**
 * A piece of encoded output: a bit string (`bits` bits, LSB first, zero-padded to a byte), or
 * a stored block, whose header pads to a byte boundary of the whole stream and so is laid
 * out by {@link BitJoiner.pushStored}.
 */
export type EncodedPart = { data: Uint8Array; bits: number; stored?: false } | { data: Uint8Array; stored: true; eof: boolean };

/** Output of {@link encodeBlocks}. */
export interface EncodedBits {
  parts: EncodedPart[];
}

/** Stream bytes [a, b) from `ranges`, without copying when one range holds them all. */
function inputBytes(ranges: InputRange[], a: number, b: number): { buf: Uint8Array; start: number } {
  for (const r of ranges) {
    if (r.start <= a && b <= r.end) return { buf: r.buf, start: a - r.bufStart };
  }
  const out = new Uint8Array(b - a);
  let o = 0;
  for (const r of ranges) {
    if (r.end <= a || a >= b) continue;
    const n = Math.min(b, r.end) - a;
    out.set(r.buf.subarray(a - r.bufStart, a - r.bufStart + n), o);
    o += n;
    a += n;
  }
  if (a < b) throw new Error("encode: input for a stored block is missing");
  return { buf: out, start: 0 };
}

/** Encodes whole blocks of tokens (see the module comment). */
export function encodeBlocks(job: EncodeJob): EncodedBits {
  const w = new BlockWriter();
  const { raw, finalBase } = job;
  const scratch = new Uint32Array(BLOCK_TOKENS + 1);
  const parts: EncodedPart[] = [];
  const cutBits = (): void => {
    const bits = w.pending * 8 + w.pendingBits;
    if (bits === 0) return;
    w.flush();
    parts.push({ data: w.take(), bits });
  };
  let blockInput: Uint8Array | null = null;
  let blockInputStart = 0;
  const onStored = (s: number, e: number): void => {
    cutBits();
    parts.push({ data: blockInput!.slice(s, e), stored: true, eof: false });
  };
  let pos = job.pos;
  let slice = 0;
  let at = job.tokens.length > 0 ? job.tokens[0]!.from : 0;
  for (;;) {
    // Gather the next block's tokens into the scratch array.
    let n = 0;
    while (n < BLOCK_TOKENS && slice < job.tokens.length) {
      const t = job.tokens[slice]!;
      const take = Math.min(BLOCK_TOKENS - n, t.to - at);
      scratch.set(t.tokens.subarray(at, at + take), n);
      n += take;
      at += take;
      if (at === t.to) {
        slice++;
        at = slice < job.tokens.length ? job.tokens[slice]!.from : 0;
      }
    }
    if (n === 0) break;
    if (n < BLOCK_TOKENS && !job.final) throw new Error("encode: partial block in a non-final run");
    const start = pos;
    let top = pos;
    for (let i = 0; i < n; i++) {
      const t = scratch[i]!;
      if (t < MATCH_FLAG) {
        pos++;
        top = pos;
      } else {
        // Go emits a match at the step after the one that found it.
        top = pos + 1;
        pos += ((t >>> LENGTH_SHIFT) & 0xff) + 3;
      }
    }
    // Go can store a block only while its input is still in the window, and only up to 65535 bytes.
    const inWindow = raw !== null && pos - start <= MAX_STORED && start >= windowBase(top, finalBase);
    if (inWindow) {
      const src = inputBytes(raw, start, pos);
      blockInput = src.buf;
      blockInputStart = src.start;
      w.writeBlock(scratch, n, false, blockInput, blockInputStart, blockInputStart + (pos - start), onStored);
    } else {
      w.writeBlock(scratch, n, false, null, 0, 0, onStored);
    }
    if (n < BLOCK_TOKENS) break;
  }
  cutBits();
  // Go's Close always ends with an empty final stored block.
  if (job.final) parts.push({ data: new Uint8Array(0), stored: true, eof: true });
  return { parts };
}

const MAX_STORED = 65535;

/** Concatenates bit strings (LSB-first deflate bit order) into bytes. */
export class BitJoiner {
  private carry = 0;
  private carryBits = 0;

  /** Appends `bits` bits of `data`; returns the whole bytes completed by them. */
  push(data: Uint8Array, bits: number): Uint8Array {
    const s = this.carryBits;
    const total = s + bits;
    const full = total >>> 3;
    const nb = (bits + 7) >>> 3;
    let out: Uint8Array;
    let prev = this.carry;
    if (s === 0) {
      out = data.slice(0, full);
      prev = 0;
    } else {
      out = new Uint8Array(full);
      const r = 8 - s;
      for (let i = 0; i < full; i++) {
        const b = i < nb ? data[i]! : 0;
        out[i] = (prev | (b << s)) & 0xff;
        prev = b >>> r;
      }
    }
    this.carry = ((full < nb ? data[full]! << s : 0) | prev) & 0xff;
    this.carryBits = total & 7;
    return out;
  }

  /** Appends a stored block (header, padding to a byte, LEN, NLEN, data); returns the bytes completed. */
  pushStored(data: Uint8Array, eof: boolean): Uint8Array {
    const head = this.push(Uint8Array.of(eof ? 1 : 0), 3);
    const pad = this.end();
    this.carry = 0;
    this.carryBits = 0;
    const out = new Uint8Array(head.length + pad.length + 4 + data.length);
    out.set(head, 0);
    out.set(pad, head.length);
    let o = head.length + pad.length;
    out[o++] = data.length & 0xff;
    out[o++] = data.length >>> 8;
    out[o++] = ~data.length & 0xff;
    out[o++] = (~data.length >>> 8) & 0xff;
    out.set(data, o);
    return out;
  }

  /** Appends every part in order; returns the bytes completed. */
  pushParts(parts: EncodedPart[]): Uint8Array[] {
    return parts.map((p) => (p.stored ? this.pushStored(p.data, p.eof) : this.push(p.data, p.bits)));
  }

  /** The last partial byte, if any (its unused high bits are zero). */
  end(): Uint8Array {
    return this.carryBits > 0 ? Uint8Array.of(this.carry) : new Uint8Array(0);
  }
}
