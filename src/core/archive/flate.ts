/**
 * A deflate (RFC 1951) compressor whose output is byte-identical to Go's `compress/flate`
 * at level 6 (`gzip.NewWriter`'s default), which is what the flux CLI uses for artifact
 * layers. zlib's level 6 makes different (equally valid) choices, so only an encoder that
 * reproduces Go's decisions yields flux's layer digests.
 *
 * What has to match Go, and is reproduced here:
 * - lazy LZ77 matching with Go's level-6 parameters (good 8, lazy 16, nice 128, chain 128),
 *   its 4-byte multiplicative hash into 2^17 heads, a minimum emitted match of 4 (length-4
 *   matches only within 4096 bytes), and its chain walk and early exits;
 * - a 64 KiB window that slides by 32 KiB once the cursor passes 64 KiB - 262, with blocks
 *   cut every 16384 tokens and a block's raw bytes forgotten when they slide out (it then
 *   cannot be stored);
 * - Go's block pricing and Huffman construction (see flate/block-writer.ts, flate/huffman.ts);
 * - the trailing empty stored block that Go's `Close` always writes.
 *
 * Chunking: this encoder's output never depends on how its input is chunked; it behaves
 * like Go given writes that keep the window full (one large `Write`, or `io.Copy`'s 32 KiB
 * pieces). Go itself is chunking-independent except in one corner: if a `Write` boundary
 * leaves its cursor exactly at 64 KiB - 262, Go slides the window one position early, and
 * that one position then cannot use a match 32506..32768 bytes back. Only then can flux's
 * bytes (512-byte tar headers, 32 KiB file reads) differ from these.
 */
import { fail } from "../errors.ts";
import { BlockWriter } from "./flate/block-writer.ts";
import { LENGTH_SHIFT, MATCH_FLAG } from "./flate/tokens.ts";

const WINDOW_SIZE = 1 << 15;
const WINDOW_MASK = WINDOW_SIZE - 1;
const BUFFER_SIZE = 2 * WINDOW_SIZE;
const MIN_MATCH = 4;
const MAX_MATCH = 258;
const MIN_LOOKAHEAD = MIN_MATCH + MAX_MATCH;
/** Cursor position at which the window slides down by WINDOW_SIZE. */
const SLIDE_AT = BUFFER_SIZE - MIN_LOOKAHEAD;
const MAX_BLOCK_TOKENS = 1 << 14;
const HASH_BITS = 17;
const HASH_SIZE = 1 << HASH_BITS;
const HASH_MUL = 0x1e35a7bd;
/** Hash-chain positions are stored biased by `hashOffset`; rebased when the bias passes this. */
const MAX_HASH_OFFSET = 1 << 24;
const NO_BLOCK_START = 0x7fffffff;

// Go's level-6 tuning. `good` never applies at level 6: the search always starts from a
// length-3 "previous match", below `good` (8).
const LAZY = 16;
const NICE = 128;
const CHAIN = 128;

/**
 * Incremental Go-compatible deflate. Feed input with {@link write}, finish with
 * {@link close}; both return the compressed bytes produced by the call (often empty).
 * Memory stays at about 1 MiB (64 KiB window, 640 KiB of hash chains, a block or two of
 * output) when input arrives in pieces and output is taken as it comes; one `write` of a
 * huge chunk returns all of that chunk's output at once.
 */
export class GoDeflater {
  private readonly window = new Uint8Array(BUFFER_SIZE);
  private readonly hashHead = new Int32Array(HASH_SIZE);
  private readonly hashPrev = new Int32Array(WINDOW_SIZE);
  private readonly tokens = new Uint32Array(MAX_BLOCK_TOKENS + 1);
  private readonly w = new BlockWriter();
  private nTokens = 0;
  private index = 0;
  private windowEnd = 0;
  private blockStart = 0;
  /** True when window[index - 1] is still owed as a literal (lazy matching looked one byte ahead). */
  private byteAvailable = false;
  private length = MIN_MATCH - 1;
  private offset = 0;
  private chainHead = -1;
  private hashOffset = 1;
  private closed = false;

  /** Compressed bytes produced so far and not yet returned. */
  get pending(): number {
    return this.w.pending;
  }

  /** Adds input. Returns whatever compressed output became ready (possibly zero bytes). */
  write(chunk: Uint8Array): Uint8Array<ArrayBuffer> {
    this.writeNoTake(chunk);
    return this.w.take();
  }

  /**
   * Adds input without draining output; pair with {@link take}. Lets a caller feed many
   * small chunks and collect output only when {@link pending} is worth it.
   */
  writeNoTake(chunk: Uint8Array): void {
    if (this.closed) fail("INTERNAL", "deflate: write after close: the compressor was already finished; create a new one");
    let p = 0;
    while (p < chunk.length) {
      // Compress only once the window is full, as Go does within one large Write: this is
      // what makes the output independent of how the input was chunked.
      if (this.windowEnd === BUFFER_SIZE) {
        this.deflate(false);
        this.slide();
      }
      const n = Math.min(chunk.length - p, BUFFER_SIZE - this.windowEnd);
      this.window.set(chunk.subarray(p, p + n), this.windowEnd);
      this.windowEnd += n;
      p += n;
    }
  }

  /** Returns and forgets the compressed bytes produced so far. */
  take(): Uint8Array<ArrayBuffer> {
    return this.w.take();
  }

  /** Compresses what is left and ends the stream; returns the final bytes. */
  close(): Uint8Array<ArrayBuffer> {
    if (!this.closed) {
      this.closed = true;
      this.deflate(true);
      this.w.writeStoredHeader(0, true);
      this.w.flush();
    }
    return this.w.take();
  }

  private slide(): void {
    if (this.index < SLIDE_AT) return;
    this.window.copyWithin(0, WINDOW_SIZE, BUFFER_SIZE);
    this.index -= WINDOW_SIZE;
    this.windowEnd -= WINDOW_SIZE;
    this.blockStart = this.blockStart >= WINDOW_SIZE ? this.blockStart - WINDOW_SIZE : NO_BLOCK_START;
    this.hashOffset += WINDOW_SIZE;
    if (this.hashOffset > MAX_HASH_OFFSET) {
      const delta = this.hashOffset - 1;
      this.hashOffset -= delta;
      this.chainHead -= delta;
      rebase(this.hashPrev, delta);
      rebase(this.hashHead, delta);
    }
  }

  private emitBlock(n: number, index: number): void {
    const start = this.blockStart;
    this.blockStart = index;
    if (start <= index) this.w.writeBlock(this.tokens, n, false, this.window, start, index);
    else this.w.writeBlock(this.tokens, n, false, null, 0, 0);
  }

  /**
   * Go's lazy-matching loop. Without `sync` it stops while MIN_LOOKAHEAD bytes remain, so
   * every decision sees a full maximum-length lookahead; with `sync` it drains the window.
   * State lives in locals for speed and is written back on exit.
   */
  private deflate(sync: boolean): void {
    const windowEnd = this.windowEnd;
    if (windowEnd - this.index < MIN_LOOKAHEAD && !sync) return;
    const win = this.window;
    const hashHead = this.hashHead;
    const hashPrev = this.hashPrev;
    const tokens = this.tokens;
    const hashOffset = this.hashOffset;
    const maxInsertIndex = windowEnd - (MIN_MATCH - 1);
    let index = this.index;
    let nTokens = this.nTokens;
    let length = this.length;
    let offset = this.offset;
    let chainHead = this.chainHead;
    let byteAvailable = this.byteAvailable;

    for (;;) {
      const lookahead = windowEnd - index;
      if (lookahead < MIN_LOOKAHEAD) {
        if (!sync) break;
        if (lookahead === 0) {
          if (byteAvailable) {
            tokens[nTokens++] = win[index - 1]!;
            byteAvailable = false;
          }
          if (nTokens > 0) {
            this.emitBlock(nTokens, index);
            nTokens = 0;
          }
          break;
        }
      }
      if (index < maxInsertIndex) {
        const h =
          Math.imul((win[index + 3]! | (win[index + 2]! << 8) | (win[index + 1]! << 16) | (win[index]! << 24)), HASH_MUL) >>>
          (32 - HASH_BITS);
        chainHead = hashHead[h]!;
        hashPrev[index & WINDOW_MASK] = chainHead;
        hashHead[h] = index + hashOffset;
      }
      const prevLength = length;
      const prevOffset = offset;
      length = MIN_MATCH - 1;
      offset = 0;
      const minIndex = index > WINDOW_SIZE ? index - WINDOW_SIZE : 0;
      let cand = chainHead - hashOffset;

      if (cand >= minIndex && lookahead > prevLength && prevLength < LAZY) {
        // Search the hash chain for a match longer than 3 bytes.
        const maxLook = lookahead < MAX_MATCH ? lookahead : MAX_MATCH;
        const nice = maxLook < NICE ? maxLook : NICE;
        const chainMin = index - WINDOW_SIZE;
        let best = MIN_MATCH - 1;
        let wEnd = win[index + best]!;
        for (let tries = CHAIN; tries > 0; tries--) {
          if (win[cand + best] === wEnd) {
            let n = 0;
            while (n < maxLook && win[cand + n] === win[index + n]) n++;
            if (n > best && (n > MIN_MATCH || index - cand <= 4096)) {
              best = n;
              length = n;
              offset = index - cand;
              if (n >= nice) break;
              wEnd = win[index + n]!;
            }
          }
          // Past this point hashPrev for `cand` was overwritten by a newer position.
          if (cand === chainMin) break;
          cand = hashPrev[cand & WINDOW_MASK]! - hashOffset;
          if (cand < chainMin || cand < 0) break;
        }
      }

      if (prevLength >= MIN_MATCH && length <= prevLength) {
        // The previous position's match is at least as good: emit it.
        tokens[nTokens++] = MATCH_FLAG | ((prevLength - 3) << LENGTH_SHIFT) | (prevOffset - 1);
        const newIndex = index + prevLength - 1;
        for (index++; index < newIndex; index++) {
          if (index < maxInsertIndex) {
            const h =
              Math.imul((win[index + 3]! | (win[index + 2]! << 8) | (win[index + 1]! << 16) | (win[index]! << 24)), HASH_MUL) >>>
              (32 - HASH_BITS);
            hashPrev[index & WINDOW_MASK] = hashHead[h]!;
            hashHead[h] = index + hashOffset;
          }
        }
        byteAvailable = false;
        length = MIN_MATCH - 1;
        if (nTokens === MAX_BLOCK_TOKENS) {
          this.emitBlock(nTokens, index);
          nTokens = 0;
        }
      } else {
        if (byteAvailable) {
          tokens[nTokens++] = win[index - 1]!;
          if (nTokens === MAX_BLOCK_TOKENS) {
            this.emitBlock(nTokens, index);
            nTokens = 0;
          }
        }
        index++;
        byteAvailable = true;
      }
    }

    this.index = index;
    this.nTokens = nTokens;
    this.length = length;
    this.offset = offset;
    this.chainHead = chainHead;
    this.byteAvailable = byteAvailable;
  }
}

function rebase(table: Int32Array, delta: number): void {
  for (let i = 0; i < table.length; i++) {
    const v = table[i]!;
    table[i] = v > delta ? v - delta : 0;
  }
}

/** Deflates a whole buffer in one go (Go level 6, byte-identical); for tests and small data. */
export function deflateSync(data: Uint8Array): Uint8Array<ArrayBuffer> {
  const d = new GoDeflater();
  const head = d.write(data);
  const tail = d.close();
  const out = new Uint8Array(head.length + tail.length);
  out.set(head, 0);
  out.set(tail, head.length);
  return out;
}
