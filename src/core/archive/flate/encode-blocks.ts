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

/** Input of {@link encodeBlocks}. */
export interface EncodeJob {
  /** Tokens starting on a block boundary; a whole number of blocks unless `final`. */
  tokens: Uint32Array;
  /** Stream offset of the first token's input. */
  pos: number;
  /** The input the tokens cover: stream bytes [pos, pos + raw.length). */
  raw: Uint8Array;
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

/** Encodes whole blocks of tokens (see the module comment). */
export function encodeBlocks(job: EncodeJob): EncodedBits {
  const w = new BlockWriter();
  const { tokens, raw, finalBase } = job;
  const scratch = new Uint32Array(BLOCK_TOKENS + 1);
  const parts: EncodedPart[] = [];
  const cutBits = (): void => {
    const bits = w.pending * 8 + w.pendingBits;
    if (bits === 0) return;
    w.flush();
    parts.push({ data: w.take(), bits });
  };
  const onStored = (s: number, e: number): void => {
    cutBits();
    parts.push({ data: raw.slice(s, e), stored: true, eof: false });
  };
  let pos = job.pos;
  for (let b = 0; b < tokens.length; b += BLOCK_TOKENS) {
    const e = Math.min(b + BLOCK_TOKENS, tokens.length);
    if (e - b < BLOCK_TOKENS && !job.final) throw new Error("encode: partial block in a non-final run");
    const start = pos;
    let top = pos;
    for (let i = b; i < e; i++) {
      const t = tokens[i]!;
      if (t < MATCH_FLAG) {
        pos++;
        top = pos;
      } else {
        // Go emits a match at the step after the one that found it.
        top = pos + 1;
        pos += ((t >>> LENGTH_SHIFT) & 0xff) + 3;
      }
    }
    scratch.set(tokens.subarray(b, e));
    // Go can store a block only while its input is still in the window.
    const inWindow = start >= windowBase(top, finalBase);
    w.writeBlock(scratch, e - b, false, inWindow ? raw : null, start - job.pos, pos - job.pos, onStored);
  }
  cutBits();
  // Go's Close always ends with an empty final stored block.
  if (job.final) parts.push({ data: new Uint8Array(0), stored: true, eof: true });
  return { parts };
}

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
