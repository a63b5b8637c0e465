import { HuffmanEncoder, fixedLiteralEncoder, fixedOffsetEncoder } from "./huffman.ts";
import {
  END_BLOCK,
  LENGTH_BASE,
  LENGTH_CODE,
  LENGTH_CODES_START,
  LENGTH_EXTRA_BITS,
  LENGTH_SHIFT,
  MATCH_FLAG,
  NUM_LITERALS,
  NUM_OFFSETS,
  OFFSET_BASE,
  OFFSET_CODE,
  OFFSET_EXTRA_BITS,
  OFFSET_MASK,
} from "./tokens.ts";

const CODEGEN_COUNT = 19;
const BAD_CODE = 255;
const MAX_STORE_BLOCK_SIZE = 65535;
/** Order in which code-length code lengths are sent (RFC 1951 3.2.7). */
const CODEGEN_ORDER = Uint8Array.from([16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15]);

const FIXED_LITERALS = fixedLiteralEncoder();
const FIXED_OFFSETS = fixedOffsetEncoder();

/**
 * Encodes token blocks the way Go's `huffmanBitWriter.writeBlock` does: it prices fixed,
 * dynamic and stored encodings with Go's exact cost model and picks the smallest (ties
 * favour fixed over dynamic, and Huffman over stored). Output accumulates in a growable
 * byte buffer that the owner drains with {@link take}.
 */
export class BlockWriter {
  private out = new Uint8Array(1 << 17);
  private pos = 0;
  /** Pending bits, LSB first; fewer than 16 between calls. */
  private bits = 0;
  private nbits = 0;

  private readonly literalFreq = new Int32Array(NUM_LITERALS);
  private readonly offsetFreq = new Int32Array(NUM_OFFSETS);
  private readonly codegenFreq = new Int32Array(CODEGEN_COUNT);
  private readonly codegen = new Uint8Array(NUM_LITERALS + NUM_OFFSETS + 1);
  private readonly literalEnc = new HuffmanEncoder(NUM_LITERALS);
  private readonly offsetEnc = new HuffmanEncoder(NUM_OFFSETS);
  private readonly codegenEnc = new HuffmanEncoder(CODEGEN_COUNT);
  private numLiterals = 0;
  private numOffsets = 0;

  /** Bytes produced and not yet taken. */
  get pending(): number {
    return this.pos;
  }

  /** Bits written but not yet in {@link pending} bytes (fewer than 16). */
  get pendingBits(): number {
    return this.nbits;
  }

  /** Returns (a copy of) the bytes produced so far and empties the buffer. */
  take(): Uint8Array<ArrayBuffer> {
    const chunk = this.out.slice(0, this.pos);
    this.pos = 0;
    return chunk;
  }

  private ensure(extra: number): void {
    if (this.pos + extra <= this.out.length) return;
    let size = this.out.length * 2;
    while (size < this.pos + extra) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.out.subarray(0, this.pos));
    this.out = next;
  }

  private writeBits(value: number, n: number): void {
    let bits = this.bits | (value << this.nbits);
    let nbits = this.nbits + n;
    if (nbits >= 16) {
      this.ensure(2);
      this.out[this.pos++] = bits & 0xff;
      this.out[this.pos++] = (bits >>> 8) & 0xff;
      bits >>>= 16;
      nbits -= 16;
    }
    this.bits = bits;
    this.nbits = nbits;
  }

  /** Writes out every pending bit, padding the last byte with zeros. */
  flush(): void {
    this.ensure(2);
    while (this.nbits > 0) {
      this.out[this.pos++] = this.bits & 0xff;
      this.bits >>>= 8;
      this.nbits = this.nbits > 8 ? this.nbits - 8 : 0;
    }
    this.bits = 0;
  }

  /** Header of a stored block of `length` bytes (also Go's empty final block with length 0). */
  writeStoredHeader(length: number, eof: boolean): void {
    this.writeBits(eof ? 1 : 0, 3);
    this.flush();
    this.writeBits(length, 16);
    this.writeBits(~length & 0xffff, 16);
  }

  private writeRaw(src: Uint8Array, start: number, end: number): void {
    this.ensure(end - start);
    this.out.set(src.subarray(start, end), this.pos);
    this.pos += end - start;
  }

  /**
   * Encodes `tokens[0..n)` as one block. `input[inStart..inEnd)` is the raw data the tokens
   * cover, or `input === null` when it is no longer in the window (then the block cannot be
   * stored). `tokens` must have one spare slot for the end-of-block symbol. With `onStored`,
   * a block that is best stored is not written but handed to it: a stored block is aligned
   * to a byte of the whole stream, which a writer encoding a detached run of blocks cannot know.
   */
  writeBlock(
    tokens: Uint32Array,
    n: number,
    eof: boolean,
    input: Uint8Array | null,
    inStart: number,
    inEnd: number,
    onStored?: (inStart: number, inEnd: number) => void,
  ): void {
    tokens[n++] = END_BLOCK;
    this.indexTokens(tokens, n);
    const numLiterals = this.numLiterals;
    const numOffsets = this.numOffsets;
    const literalFreq = this.literalFreq;
    const offsetFreq = this.offsetFreq;

    const storable = input !== null && inEnd - inStart <= MAX_STORE_BLOCK_SIZE;
    const storedSize = storable ? (inEnd - inStart + 5) * 8 : 0;
    let extraBits = 0;
    if (storable) {
      // Extra bits cost the same for fixed and dynamic, so they only matter against stored.
      for (let lc = LENGTH_CODES_START + 8; lc < numLiterals; lc++) {
        extraBits += literalFreq[lc]! * LENGTH_EXTRA_BITS[lc - LENGTH_CODES_START]!;
      }
      for (let oc = 4; oc < numOffsets; oc++) extraBits += offsetFreq[oc]! * OFFSET_EXTRA_BITS[oc]!;
    }

    let size = 3 + FIXED_LITERALS.bitLength(literalFreq) + FIXED_OFFSETS.bitLength(offsetFreq) + extraBits;
    let fixed = true;

    this.generateCodegen(numLiterals, numOffsets);
    this.codegenEnc.generate(this.codegenFreq, 7);
    const cgf = this.codegenFreq;
    let numCodegens = CODEGEN_COUNT;
    while (numCodegens > 4 && cgf[CODEGEN_ORDER[numCodegens - 1]!] === 0) numCodegens--;
    const dynamicSize =
      3 + 5 + 5 + 4 + 3 * numCodegens +
      this.codegenEnc.bitLength(cgf) + cgf[16]! * 2 + cgf[17]! * 3 + cgf[18]! * 7 +
      this.literalEnc.bitLength(literalFreq) + this.offsetEnc.bitLength(offsetFreq) + extraBits;
    if (dynamicSize < size) {
      size = dynamicSize;
      fixed = false;
    }

    if (storable && storedSize < size) {
      if (onStored) {
        onStored(inStart, inEnd);
        return;
      }
      this.writeStoredHeader(inEnd - inStart, eof);
      this.flush();
      this.writeRaw(input, inStart, inEnd);
      return;
    }

    let lit: HuffmanEncoder;
    let off: HuffmanEncoder;
    if (fixed) {
      this.writeBits(eof ? 3 : 2, 3);
      lit = FIXED_LITERALS;
      off = FIXED_OFFSETS;
    } else {
      this.writeDynamicHeader(numLiterals, numOffsets, numCodegens, eof);
      lit = this.literalEnc;
      off = this.offsetEnc;
    }
    this.writeTokens(tokens, n, lit, off);
  }

  /** Fills the histograms and rebuilds the dynamic literal and distance codes for a block. */
  private indexTokens(tokens: Uint32Array, n: number): void {
    const lf = this.literalFreq;
    const of = this.offsetFreq;
    lf.fill(0);
    of.fill(0);
    for (let i = 0; i < n; i++) {
      const t = tokens[i]!;
      if (t < MATCH_FLAG) {
        lf[t] = lf[t]! + 1;
        continue;
      }
      const lc = LENGTH_CODES_START + LENGTH_CODE[(t >>> LENGTH_SHIFT) & 0xff]!;
      lf[lc] = lf[lc]! + 1;
      const oc = OFFSET_CODE[t & OFFSET_MASK]!;
      of[oc] = of[oc]! + 1;
    }
    let numLiterals = NUM_LITERALS;
    while (lf[numLiterals - 1] === 0) numLiterals--;
    let numOffsets = NUM_OFFSETS;
    while (numOffsets > 0 && of[numOffsets - 1] === 0) numOffsets--;
    if (numOffsets === 0) {
      // A dynamic header needs at least one distance code, even for a block without matches.
      of[0] = 1;
      numOffsets = 1;
    }
    this.literalEnc.generate(lf, 15);
    this.offsetEnc.generate(of, 15);
    this.numLiterals = numLiterals;
    this.numOffsets = numOffsets;
  }

  /**
   * Run-length encodes the concatenated literal and distance code lengths with symbols
   * 16/17/18 into `codegen` (in place, terminated by BAD_CODE), counting symbol use in
   * `codegenFreq`. Run splitting follows Go exactly, since it changes the header bits.
   */
  private generateCodegen(numLiterals: number, numOffsets: number): void {
    const freq = this.codegenFreq;
    freq.fill(0);
    const cg = this.codegen;
    cg.set(this.literalEnc.lens.subarray(0, numLiterals), 0);
    cg.set(this.offsetEnc.lens.subarray(0, numOffsets), numLiterals);
    cg[numLiterals + numOffsets] = BAD_CODE;

    let size = cg[0]!;
    let count = 1;
    let out = 0;
    for (let inIndex = 1; size !== BAD_CODE; inIndex++) {
      const nextSize = cg[inIndex]!;
      if (nextSize === size) {
        count++;
        continue;
      }
      if (size !== 0) {
        cg[out++] = size;
        freq[size]!++;
        count--;
        while (count >= 3) {
          const n = count < 6 ? count : 6;
          cg[out++] = 16;
          cg[out++] = n - 3;
          freq[16]!++;
          count -= n;
        }
      } else {
        while (count >= 11) {
          const n = count < 138 ? count : 138;
          cg[out++] = 18;
          cg[out++] = n - 11;
          freq[18]!++;
          count -= n;
        }
        if (count >= 3) {
          cg[out++] = 17;
          cg[out++] = count - 3;
          freq[17]!++;
          count = 0;
        }
      }
      count--;
      for (; count >= 0; count--) {
        cg[out++] = size;
        freq[size]!++;
      }
      size = nextSize;
      count = 1;
    }
    cg[out] = BAD_CODE;
  }

  private writeDynamicHeader(numLiterals: number, numOffsets: number, numCodegens: number, eof: boolean): void {
    this.writeBits(eof ? 5 : 4, 3);
    this.writeBits(numLiterals - 257, 5);
    this.writeBits(numOffsets - 1, 5);
    this.writeBits(numCodegens - 4, 4);
    const enc = this.codegenEnc;
    for (let i = 0; i < numCodegens; i++) this.writeBits(enc.lens[CODEGEN_ORDER[i]!]!, 3);
    const cg = this.codegen;
    for (let i = 0; ; ) {
      const sym = cg[i++]!;
      if (sym === BAD_CODE) break;
      this.writeBits(enc.codes[sym]!, enc.lens[sym]!);
      if (sym === 16) this.writeBits(cg[i++]!, 2);
      else if (sym === 17) this.writeBits(cg[i++]!, 3);
      else if (sym === 18) this.writeBits(cg[i++]!, 7);
    }
  }

  /** The hot loop: bit-packs every token with the chosen codes. */
  private writeTokens(tokens: Uint32Array, n: number, lit: HuffmanEncoder, off: HuffmanEncoder): void {
    // Worst case per token: 15 + 5 + 15 + 13 bits < 7 bytes.
    this.ensure(n * 7 + 16);
    const out = this.out;
    let pos = this.pos;
    let bits = this.bits;
    let nbits = this.nbits;
    const lc = lit.codes;
    const ll = lit.lens;
    const oc = off.codes;
    const ol = off.lens;
    for (let i = 0; i < n; i++) {
      const t = tokens[i]!;
      if (t < MATCH_FLAG) {
        bits |= lc[t]! << nbits;
        nbits += ll[t]!;
      } else {
        const xlen = (t >>> LENGTH_SHIFT) & 0xff;
        const code = LENGTH_CODE[xlen]!;
        const sym = code + LENGTH_CODES_START;
        bits |= lc[sym]! << nbits;
        nbits += ll[sym]!;
        const eb = LENGTH_EXTRA_BITS[code]!;
        if (eb > 0) {
          if (nbits >= 16) {
            out[pos++] = bits & 0xff;
            out[pos++] = (bits >>> 8) & 0xff;
            bits >>>= 16;
            nbits -= 16;
          }
          bits |= (xlen - LENGTH_BASE[code]!) << nbits;
          nbits += eb;
        }
        if (nbits >= 16) {
          out[pos++] = bits & 0xff;
          out[pos++] = (bits >>> 8) & 0xff;
          bits >>>= 16;
          nbits -= 16;
        }
        const xoff = t & OFFSET_MASK;
        const ocode = OFFSET_CODE[xoff]!;
        bits |= oc[ocode]! << nbits;
        nbits += ol[ocode]!;
        const oeb = OFFSET_EXTRA_BITS[ocode]!;
        if (oeb > 0) {
          if (nbits >= 16) {
            out[pos++] = bits & 0xff;
            out[pos++] = (bits >>> 8) & 0xff;
            bits >>>= 16;
            nbits -= 16;
          }
          bits |= (xoff - OFFSET_BASE[ocode]!) << nbits;
          nbits += oeb;
        }
      }
      if (nbits >= 16) {
        out[pos++] = bits & 0xff;
        out[pos++] = (bits >>> 8) & 0xff;
        bits >>>= 16;
        nbits -= 16;
      }
    }
    this.pos = pos;
    this.bits = bits;
    this.nbits = nbits;
  }
}
