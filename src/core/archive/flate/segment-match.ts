/**
 * Go's level-6 LZ77 matching (the loop of ../flate.ts) run on one segment of a stream in
 * absolute positions, so segments can be matched independently and stitched (see
 * ../parallel-gzip.ts for the stitching and why it is exact).
 *
 * What makes a segment run reproduce the sequential one:
 * - Go inserts every position into its hash chains, and a search only looks back 32 KiB, so
 *   the chains at position i are a function of the 32 KiB before i: a run given that
 *   history (hash-inserted here first) searches exactly the same candidates.
 * - Go's window slides in steps of 32 KiB at positions that depend only on the stream
 *   offset; a search at position i cannot reach below the current window start
 *   ({@link windowBase}), which this run applies to every search.
 * - Before the end of the stream every decision sees a full 262-byte lookahead; only the
 *   final segment sees the end (`final`), as Go's closing flush does.
 * The remaining state is the lazy-match state at each loop step (pending match length and
 * offset, and whether the previous byte is still owed as a literal). Runs that reach the
 * same position in the same state emit the same tokens from there on; runs record that state
 * at every step in chosen ranges (the "trajectory") so such points can be found.
 */
import { LENGTH_SHIFT, MATCH_FLAG } from "./tokens.ts";

const WINDOW_SIZE = 1 << 15;
const WINDOW_MASK = WINDOW_SIZE - 1;
const MIN_MATCH = 4;
const MAX_MATCH = 258;
/** Lookahead Go keeps before the end of a non-final write: MIN_MATCH + MAX_MATCH. */
export const MIN_LOOKAHEAD = MIN_MATCH + MAX_MATCH;
const HASH_BITS = 17;
const HASH_SIZE = 1 << HASH_BITS;
const HASH_MUL = 0x1e35a7bd;
const LAZY = 16;
const NICE = 128;
const CHAIN = 128;
/** First loop position that Go processes after its first window slide. */
const FIRST_SLID_TOP = 2 * WINDOW_SIZE - MIN_LOOKAHEAD + 1;
/** Distance from a window start to the first loop position processed with it (after the first). */
const SLID_TOP_OFFSET = WINDOW_SIZE - MIN_LOOKAHEAD + 1;

/** A trajectory entry for a position where the loop never stopped (it was inside a match). */
export const NOT_A_STEP = -1;

/**
 * Start of Go's window (absolute stream offset) while its loop is at position `top`: the
 * window slides by 32 KiB whenever 64 KiB are buffered and more input follows, after the
 * loop has stopped 262 bytes before the buffer end. `finalBase` caps it for the closing
 * flush, which runs on the last window without sliding ({@link finalWindowBase}).
 */
export function windowBase(top: number, finalBase: number): number {
  const b = top < FIRST_SLID_TOP ? 0 : WINDOW_SIZE * Math.floor((top - SLID_TOP_OFFSET) / WINDOW_SIZE);
  return b < finalBase ? b : finalBase;
}

/** Window start during Go's closing flush of a stream of `total` bytes. */
export function finalWindowBase(total: number): number {
  return total <= 2 * WINDOW_SIZE ? 0 : WINDOW_SIZE * Math.ceil((total - 2 * WINDOW_SIZE) / WINDOW_SIZE);
}

/** Packs a lazy-match state into a non-negative int (see {@link decodeState}). */
export function encodeState(length: number, offset: number, byteAvailable: boolean): number {
  return ((byteAvailable ? 1 : 0) << 24) | ((length - 3) << 15) | (length >= MIN_MATCH ? offset - 1 : 0);
}

/** Inverse of {@link encodeState}. */
export function decodeState(s: number): LazyState {
  const length = ((s >>> 15) & 0x1ff) + 3;
  return { length, offset: length >= MIN_MATCH ? (s & 0x7fff) + 1 : 0, byteAvailable: (s >>> 24) === 1 };
}

/** The lazy-matching state at a loop step. The initial state is `{ length: 3, offset: 0, byteAvailable: false }`. */
export interface LazyState {
  length: number;
  offset: number;
  byteAvailable: boolean;
}

/** Input of {@link matchSegment}. */
export interface SegmentJob {
  /** Stream bytes `[bufStart, bufStart + buf.length)`. */
  buf: Uint8Array;
  bufStart: number;
  /** Absolute position to start at; `buf` must hold the 32 KiB before it (or from 0). */
  start: number;
  /** State of the loop at `start`. */
  state: LazyState;
  /**
   * Stop at the first loop step at or after this position (non-final runs). `buf` must
   * extend at least MIN_LOOKAHEAD bytes past it.
   */
  stopAt: number;
  /** The buffer ends the stream: run to its end and flush, as Go's Close does. */
  final: boolean;
  /** For final runs: the window start during the closing flush ({@link finalWindowBase}). */
  finalBase: number;
  /** Record the trajectory for positions [trajA, trajA + trajLen) and [trajB, trajB + trajLen). */
  trajA: number;
  trajB: number;
  trajLen: number;
}

/** Output of {@link matchSegment}. */
export interface SegmentResult {
  tokens: Uint32Array;
  /** Per position of range A/B: the packed state at that loop step, or NOT_A_STEP. */
  stateA: Int32Array;
  stateB: Int32Array;
  /** Per position of range A/B: tokens emitted before that loop step. */
  countA: Int32Array;
  countB: Int32Array;
  /** Input offset (relative to any fixed origin) of every MARK_EVERY-th token, and of the end: see {@link positionOf}. */
  marks: Float64Array;
  /** Where a non-final run stopped, and its packed state there (all tokens precede it). */
  stopTop: number;
  stopState: number;
}

/** Steps run per call of the inner loop between bookkeeping (trajectory, window start, token room). */
const CHUNK = 1 << 16;

/** Runs Go's level-6 lazy matching over a segment (see the module comment). */
export function matchSegment(job: SegmentJob): SegmentResult {
  const m = new Matcher(job);
  const off = job.bufStart;
  const windowEnd = job.buf.length;
  const final = job.final;
  const stopAt = final ? windowEnd : job.stopAt - off;
  if (!final && stopAt + MIN_LOOKAHEAD > windowEnd) throw new Error("segment: buffer ends before the stop position's lookahead");
  const trajLen = job.trajLen;
  const trajA = job.trajA - off;
  const trajB = job.trajB - off;
  const stateA = new Int32Array(trajLen).fill(NOT_A_STEP);
  const stateB = new Int32Array(trajLen).fill(NOT_A_STEP);
  const countA = new Int32Array(trajLen);
  const countB = new Int32Array(trajLen);
  const finalBase = final ? job.finalBase : Number.MAX_SAFE_INTEGER;

  while (m.index < stopAt) {
    const i = m.index;
    let limit = Math.min(stopAt, i + CHUNK);
    // The window start is fixed within one call.
    const b = windowBase(i + off, finalBase);
    m.base = b - off;
    if (b !== finalBase) limit = Math.min(limit, (b === 0 ? FIRST_SLID_TOP : b + WINDOW_SIZE + SLID_TOP_OFFSET) - off);
    if (i - trajA >= 0 && i - trajA < trajLen) {
      stateA[i - trajA] = m.state();
      countA[i - trajA] = m.nTokens;
      limit = i + 1;
    } else if (i - trajB >= 0 && i - trajB < trajLen) {
      stateB[i - trajB] = m.state();
      countB[i - trajB] = m.nTokens;
      limit = i + 1;
    } else {
      if (i < trajA) limit = Math.min(limit, trajA);
      if (i < trajB) limit = Math.min(limit, trajB);
    }
    m.run(limit);
  }
  if (final) m.flush();
  const tokens = m.tokens.subarray(0, m.nTokens);
  return {
    tokens,
    marks: tokenMarks(tokens),
    stateA,
    stateB,
    countA,
    countB,
    stopTop: final ? -1 : m.index + off,
    stopState: m.state(),
  };
}

/** The matching loop's state between calls of {@link Matcher.run}. */
class Matcher {
  readonly win: Uint8Array;
  readonly windowEnd: number;
  readonly maxInsertIndex: number;
  readonly hashHead = new Int32Array(HASH_SIZE);
  readonly hashPrev = new Int32Array(WINDOW_SIZE);
  readonly tokens: Uint32Array;
  nTokens = 0;
  index: number;
  length: number;
  offset: number;
  byteAvailable: boolean;
  chainHead = 0;
  /** Window start (local) for the steps of the next {@link run}. */
  base = 0;

  constructor(job: SegmentJob) {
    const win = job.buf;
    this.win = win;
    this.windowEnd = win.length;
    this.maxInsertIndex = job.final ? win.length - (MIN_MATCH - 1) : win.length;
    this.index = job.start - job.bufStart;
    this.length = job.state.length;
    this.offset = job.state.offset;
    this.byteAvailable = job.state.byteAvailable;
    // Room for one token per step, the most there can be, so the loop never checks. Shared
    // memory, so the main thread and the encoding workers read the tokens without copies;
    // pages never written cost nothing.
    this.tokens = sharedU32(win.length - this.index + 2);
    // Chains hold the 32 KiB of history before the start, as the sequential run's would.
    // Stored positions are local + 1, so 0 means "none" and decodes below every bound.
    const hashHead = this.hashHead;
    const hashPrev = this.hashPrev;
    const end = Math.min(this.index, this.maxInsertIndex);
    for (let i = Math.max(0, this.index - WINDOW_SIZE); i < end; i++) {
      const h = Math.imul(win[i + 3]! | (win[i + 2]! << 8) | (win[i + 1]! << 16) | (win[i]! << 24), HASH_MUL) >>> (32 - HASH_BITS);
      hashPrev[i & WINDOW_MASK] = hashHead[h]!;
      hashHead[h] = i + 1;
    }
  }

  state(): number {
    return encodeState(this.length, this.offset, this.byteAvailable);
  }

  /** Go's closing flush: the byte still owed as a literal. */
  flush(): void {
    if (this.byteAvailable) {
      this.tokens[this.nTokens++] = this.win[this.index - 1]!;
      this.byteAvailable = false;
    }
  }

  /** Runs loop steps while the step position is below `limit` (one step may end past it). */
  run(limit: number): void {
    const win = this.win;
    const windowEnd = this.windowEnd;
    const maxInsertIndex = this.maxInsertIndex;
    const hashHead = this.hashHead;
    const hashPrev = this.hashPrev;
    const tokens = this.tokens;
    const base = this.base;
    let index = this.index;
    let nTokens = this.nTokens;
    let length = this.length;
    let offset = this.offset;
    let chainHead = this.chainHead;
    let byteAvailable = this.byteAvailable;

    while (index < limit) {
      const lookahead = windowEnd - index;
      if (index < maxInsertIndex) {
        const h =
          Math.imul(win[index + 3]! | (win[index + 2]! << 8) | (win[index + 1]! << 16) | (win[index]! << 24), HASH_MUL) >>>
          (32 - HASH_BITS);
        chainHead = hashHead[h]!;
        hashPrev[index & WINDOW_MASK] = chainHead;
        hashHead[h] = index + 1;
      }
      const prevLength = length;
      const prevOffset = offset;
      length = MIN_MATCH - 1;
      offset = 0;
      // Lowest candidate Go can use: 32 KiB back, and never below its window start.
      const chainMin = index - WINDOW_SIZE;
      const lowest = chainMin > base ? chainMin : base;
      let cand = chainHead - 1;

      if (cand >= lowest && lookahead > prevLength && prevLength < LAZY) {
        const maxLook = lookahead < MAX_MATCH ? lookahead : MAX_MATCH;
        const nice = maxLook < NICE ? maxLook : NICE;
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
          if (cand === chainMin) break;
          cand = hashPrev[cand & WINDOW_MASK]! - 1;
          if (cand < lowest) break;
        }
      }

      if (prevLength >= MIN_MATCH && length <= prevLength) {
        tokens[nTokens++] = MATCH_FLAG | ((prevLength - 3) << LENGTH_SHIFT) | (prevOffset - 1);
        const newIndex = index + prevLength - 1;
        for (index++; index < newIndex; index++) {
          if (index < maxInsertIndex) {
            const h =
              Math.imul(win[index + 3]! | (win[index + 2]! << 8) | (win[index + 1]! << 16) | (win[index]! << 24), HASH_MUL) >>>
              (32 - HASH_BITS);
            hashPrev[index & WINDOW_MASK] = hashHead[h]!;
            hashHead[h] = index + 1;
          }
        }
        byteAvailable = false;
        length = MIN_MATCH - 1;
      } else {
        if (byteAvailable) tokens[nTokens++] = win[index - 1]!;
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

/** A Uint32Array in shared memory where the runtime has it (else ordinary memory; same results). */
export function sharedU32(n: number): Uint32Array {
  return typeof SharedArrayBuffer === "function" ? new Uint32Array(new SharedArrayBuffer(n * 4)) : new Uint32Array(n);
}

/** A Uint8Array in shared memory where the runtime has it. */
export function sharedU8(n: number): Uint8Array {
  return typeof SharedArrayBuffer === "function" ? new Uint8Array(new SharedArrayBuffer(n)) : new Uint8Array(n);
}

/** Tokens between two entries of {@link tokenMarks}. */
export const MARK_EVERY = 256;

/** Input offsets of tokens 0, MARK_EVERY, 2 * MARK_EVERY, ... (from 0 at token 0), so spans need no full walk. */
export function tokenMarks(tokens: Uint32Array): Float64Array {
  const marks = new Float64Array(Math.floor(tokens.length / MARK_EVERY) + 1);
  let pos = 0;
  for (let i = 0; i < tokens.length; i++) {
    if (i % MARK_EVERY === 0) marks[i / MARK_EVERY] = pos;
    const t = tokens[i]!;
    pos += t < MATCH_FLAG ? 1 : ((t >>> LENGTH_SHIFT) & 0xff) + 3;
  }
  if (tokens.length % MARK_EVERY === 0) marks[tokens.length / MARK_EVERY] = pos;
  return marks;
}

/** Input offset at which token `k` starts (k may be tokens.length), relative to token 0. */
export function positionOf(tokens: Uint32Array, marks: Float64Array, k: number): number {
  const m = Math.floor(k / MARK_EVERY);
  return marks[m]! + tokenSpan(tokens, m * MARK_EVERY, k);
}

/** Number of input bytes covered by `tokens[from..to)`. */
export function tokenSpan(tokens: Uint32Array, from: number, to: number): number {
  let n = 0;
  for (let i = from; i < to; i++) {
    const t = tokens[i]!;
    n += t < MATCH_FLAG ? 1 : ((t >>> LENGTH_SHIFT) & 0xff) + 3;
  }
  return n;
}
