/**
 * Canonical Huffman code construction that yields the same code lengths as Go's
 * `compress/flate` encoder. Deflate allows many optimal (and length-limited) trees for one
 * histogram; flux's layer digests depend on Go's particular choice, so the tie-breaking here
 * (sort by frequency then symbol, Go's length-limited level-chaining, codes assigned in
 * symbol order per length) is deliberate and must not be "improved".
 */

import { fail } from "../../errors.ts";

const MAX_BITS_LIMIT = 16;
const MAX_I32 = 0x7fffffff;

/** Reverses the low `len` bits of `code` (deflate sends Huffman codes most-significant bit first). */
export function reverseBits(code: number, len: number): number {
  let r = 0;
  for (let i = 0; i < len; i++) {
    r = (r << 1) | (code & 1);
    code >>>= 1;
  }
  return r;
}

/**
 * A Huffman code over `size` symbols: `codes[s]` holds the bit-reversed code ready to be
 * OR-ed into an LSB-first bit buffer, `lens[s]` its length (0 = symbol unused).
 * All scratch space is allocated once so that building a code per block does not allocate.
 */
export class HuffmanEncoder {
  readonly codes: Uint16Array;
  readonly lens: Uint8Array;
  /** Sorted work list: `freq * 1024 + symbol`, which orders by frequency then symbol as Go does. */
  private readonly keys: Int32Array;
  private readonly listFreq: Int32Array;
  private readonly listSym: Int32Array;
  private readonly chunk: Int32Array;
  private readonly bitCount = new Int32Array(MAX_BITS_LIMIT + 1);
  private readonly lastFreq = new Int32Array(MAX_BITS_LIMIT + 1);
  private readonly nextCharFreq = new Int32Array(MAX_BITS_LIMIT + 1);
  private readonly nextPairFreq = new Int32Array(MAX_BITS_LIMIT + 1);
  private readonly needed = new Int32Array(MAX_BITS_LIMIT + 1);
  /** leafCounts[level * 16 + j]: leaves left of the level-j ancestor of the rightmost node at `level`. */
  private readonly leafCounts = new Int32Array(MAX_BITS_LIMIT * MAX_BITS_LIMIT);

  constructor(readonly size: number) {
    this.codes = new Uint16Array(size);
    this.lens = new Uint8Array(size);
    this.keys = new Int32Array(size);
    this.listFreq = new Int32Array(size + 1);
    this.listSym = new Int32Array(size + 1);
    this.chunk = new Int32Array(size);
  }

  /** Total bits needed to encode a histogram with this code (extra bits not included). */
  bitLength(freq: Int32Array): number {
    const lens = this.lens;
    let total = 0;
    for (let i = 0; i < freq.length; i++) {
      const f = freq[i]!;
      if (f !== 0) total += f * lens[i]!;
    }
    return total;
  }

  /** Rebuilds the code for `freq` (length `size`) with no code longer than `maxBits` (< 16). */
  generate(freq: Int32Array, maxBits: number): void {
    const lens = this.lens;
    const codes = this.codes;
    const keys = this.keys;
    let count = 0;
    for (let i = 0; i < freq.length; i++) {
      const f = freq[i]!;
      if (f !== 0) keys[count++] = f * 1024 + i;
      else lens[i] = 0;
    }
    if (count <= 2) {
      // Go gives one or two symbols 1-bit codes in symbol order; keys are still in symbol order here.
      for (let i = 0; i < count; i++) {
        const sym = keys[i]! & 1023;
        codes[sym] = i;
        lens[sym] = 1;
      }
      return;
    }
    const sorted = keys.subarray(0, count).sort();
    const listFreq = this.listFreq;
    const listSym = this.listSym;
    for (let i = 0; i < count; i++) {
      const k = sorted[i]!;
      listFreq[i] = k >> 10;
      listSym[i] = k & 1023;
    }
    const top = this.bitCounts(count, maxBits);
    this.assign(count, top);
  }

  /**
   * Number of symbols per code length, by Go's level-by-level chain construction (a
   * length-limited variant of package-merge). Returns the maximum length used.
   * Requires count >= 3 and `listFreq` sorted ascending.
   */
  private bitCounts(n: number, maxBits: number): number {
    const f = this.listFreq;
    f[n] = MAX_I32;
    if (maxBits > n - 1) maxBits = n - 1;
    const lastFreq = this.lastFreq;
    const nextCharFreq = this.nextCharFreq;
    const nextPairFreq = this.nextPairFreq;
    const needed = this.needed;
    const leaf = this.leafCounts;
    lastFreq.fill(0);
    nextCharFreq.fill(0);
    nextPairFreq.fill(0);
    needed.fill(0);
    leaf.fill(0);
    for (let level = 1; level <= maxBits; level++) {
      lastFreq[level] = f[1]!;
      nextCharFreq[level] = f[2]!;
      nextPairFreq[level] = level === 1 ? MAX_I32 : f[0]! + f[1]!;
      leaf[level * MAX_BITS_LIMIT + level] = 2;
    }
    needed[maxBits] = 2 * n - 4;

    let level = maxBits;
    for (;;) {
      if (nextPairFreq[level] === MAX_I32 && nextCharFreq[level] === MAX_I32) {
        // Out of leaves and pairs at this level: never come back to it or below.
        needed[level] = 0;
        nextPairFreq[level + 1] = MAX_I32;
        level++;
        continue;
      }
      const prevFreq = lastFreq[level]!;
      const row = level * MAX_BITS_LIMIT;
      if (nextCharFreq[level]! < nextPairFreq[level]!) {
        const nn = leaf[row + level]! + 1;
        lastFreq[level] = nextCharFreq[level]!;
        leaf[row + level] = nn;
        nextCharFreq[level] = f[nn]!;
      } else {
        lastFreq[level] = nextPairFreq[level]!;
        const below = row - MAX_BITS_LIMIT;
        for (let j = 0; j < level; j++) leaf[row + j] = leaf[below + j]!;
        needed[level - 1] = 2;
      }
      needed[level] = needed[level]! - 1;
      if (needed[level] === 0) {
        if (level === maxBits) break;
        nextPairFreq[level + 1] = prevFreq + lastFreq[level]!;
        level++;
      } else {
        while (needed[level - 1]! > 0) level--;
      }
    }
    const topRow = maxBits * MAX_BITS_LIMIT;
    if (leaf[topRow + maxBits] !== n) fail("INTERNAL", "deflate: Huffman tree construction lost symbols; please file an issue");
    const bitCount = this.bitCount;
    let bits = 1;
    for (let lv = maxBits; lv > 0; lv--) {
      bitCount[bits] = leaf[topRow + lv]! - leaf[topRow + lv - 1]!;
      bits++;
    }
    return maxBits;
  }

  /** Assigns canonical codes: the least frequent symbols get the longest codes, in symbol order within a length. */
  private assign(n: number, maxBits: number): void {
    const bitCount = this.bitCount;
    const listSym = this.listSym;
    const chunk = this.chunk;
    const codes = this.codes;
    const lens = this.lens;
    let code = 0;
    let end = n;
    for (let len = 0; len <= maxBits; len++) {
      code = (code << 1) & 0xffff;
      const bits = len === 0 ? 0 : bitCount[len]!;
      if (bits === 0) continue;
      const start = end - bits;
      for (let i = start; i < end; i++) chunk[i - start] = listSym[i]!;
      const syms = chunk.subarray(0, bits).sort();
      for (let i = 0; i < bits; i++) {
        const sym = syms[i]!;
        codes[sym] = reverseBits(code, len);
        lens[sym] = len;
        code++;
      }
      end = start;
    }
  }
}

/** Deflate's fixed literal/length code (RFC 1951 3.2.6), over Go's 286 symbols. */
export function fixedLiteralEncoder(): HuffmanEncoder {
  const h = new HuffmanEncoder(286);
  for (let ch = 0; ch < 286; ch++) {
    let bits: number;
    let size: number;
    if (ch < 144) {
      bits = ch + 48;
      size = 8;
    } else if (ch < 256) {
      bits = ch + 400 - 144;
      size = 9;
    } else if (ch < 280) {
      bits = ch - 256;
      size = 7;
    } else {
      bits = ch + 192 - 280;
      size = 8;
    }
    h.codes[ch] = reverseBits(bits, size);
    h.lens[ch] = size;
  }
  return h;
}

/** Deflate's fixed distance code: 30 five-bit codes. */
export function fixedOffsetEncoder(): HuffmanEncoder {
  const h = new HuffmanEncoder(30);
  for (let ch = 0; ch < 30; ch++) {
    h.codes[ch] = reverseBits(ch, 5);
    h.lens[ch] = 5;
  }
  return h;
}
