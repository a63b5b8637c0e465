/**
 * Go-exact gzip (level 6) on several threads, byte-identical to the sequential
 * {@link GoGzipWriter} and so to Go's compress/gzip.
 *
 * The input is cut into segments. Each segment is matched on its own
 * (flate/segment-match.ts) from Go's initial lazy state, with the 32 KiB before it as
 * history, and keeps running a little into the next segment. That speculative run of
 * segment k+1 is wrong at first (the real run arrives at its start in some other lazy
 * state), but Go's next decisions depend only on the position, the input, and the lazy
 * state, so from the first position where the run of segment k (true by induction) and
 * the run of segment k+1 stop in the same state, their tokens are the same. Both record
 * their states over the overlap; the seam is where they first agree. If they never agree
 * within the overlap (e.g. a long run of one byte, where the two runs' 258-byte matches keep
 * different phases), segment k+1 is matched again starting from segment k's true final
 * state, which is exact but sequential for that seam.
 *
 * The stitched tokens are cut into Go's 16384-token blocks, counted from the start of the
 * stream, and runs of whole blocks are Huffman-encoded in parallel
 * (flate/encode-blocks.ts); their bit strings are joined in order. The CRC-32 and size are
 * computed here, on the input as it arrives.
 *
 * Memory: reading the source pauses while `maxLiveSegments` segments are being matched
 * (each holds its input and tokens: up to 5x the segment size for incompressible data), and
 * matched tokens wait for encoding only until about one segment of input is queued.
 * Tokens and segment input live in SharedArrayBuffers where the runtime has them, so
 * neither the main thread nor the encoding workers copy them.
 */
import * as zlib from "node:zlib";
import { fail } from "../errors.ts";
import {
  BitJoiner,
  BLOCK_TOKENS,
  encodeBlocks,
  type EncodedBits,
  type EncodeJob,
  type InputRange,
  type TokenSlice,
} from "./flate/encode-blocks.ts";
import { crc32 as portableCrc32 } from "./flate/crc32.ts";
import {
  decodeState,
  finalWindowBase,
  matchSegment,
  MIN_LOOKAHEAD,
  NOT_A_STEP,
  positionOf,
  sharedU8,
  type LazyState,
  type SegmentJob,
  type SegmentResult,
} from "./flate/segment-match.ts";

const crc32: (data: Uint8Array, crc: number) => number =
  typeof zlib.crc32 === "function" ? (data, crc) => zlib.crc32(data, crc) : portableCrc32;

const WINDOW_SIZE = 1 << 15;
const MAX_STORED = 65535;
/** Go's gzip header as `gzip.NewWriter` writes it (see gzip.ts). */
const HEADER = Uint8Array.from([0x1f, 0x8b, 0x08, 0x00, 0, 0, 0, 0, 0x00, 0xff]);
const INITIAL: LazyState = { length: 3, offset: 0, byteAvailable: false };

/** Runs the two kinds of work, in this thread or on workers. */
export interface DeflateExecutor {
  /** Matches a segment. The returned `buf` is the job's (it may have travelled to a worker and back). */
  match(job: SegmentJob): Promise<SegmentResult & { buf: Uint8Array }>;
  /** Encodes whole blocks. */
  encode(job: EncodeJob): Promise<EncodedBits>;
}

/** Runs everything in the calling thread (same bytes; used without workers and in tests). */
export const inlineExecutor: DeflateExecutor = {
  match: async (job) => ({ ...matchSegment(job), buf: job.buf }),
  encode: async (job) => encodeBlocks(job),
};

/** Options for {@link parallelGoGzip}. */
export interface ParallelGzipOptions {
  /** Segment size in bytes. Default 4 MiB; at least 64 KiB. */
  segmentSize?: number;
  /** Positions over which neighbouring runs are compared to find a seam. Default 32 KiB. */
  overlap?: number;
  /** Segments held at once (bounds memory and work in flight). Default 4. */
  maxLiveSegments?: number;
  /** Blocks of 16384 tokens per encoding task. Default 16. */
  blocksPerTask?: number;
  /** If given, counts seams found by agreement (`synced`) and seams matched again (`rematched`). */
  stats?: { synced: number; rematched: number };
}

/** Defaults of {@link ParallelGzipOptions}. */
export const DEFAULT_PARALLEL_GZIP = {
  segmentSize: 4 << 20,
  overlap: 32 << 10,
  maxLiveSegments: 4,
  blocksPerTask: 16,
} as const satisfies Required<Omit<ParallelGzipOptions, "stats">>;

interface Segment {
  start: number;
  end: number;
  final: boolean;
  buf: Uint8Array;
  bufStart: number;
  result: (SegmentResult & { buf: Uint8Array }) | null;
  pending: Promise<void>;
  /** First true token and its position, once the seam before this segment is resolved. */
  trueFrom: number;
  truePos: number;
  failure: unknown;
}

interface TokenPiece {
  tokens: Uint32Array;
  marks: Float64Array;
  from: number;
  to: number;
}

/**
 * Gzips `src` with the work spread over `exec` (see the module comment). Output equals
 * `gzipSync` of the concatenated input.
 */
export async function* parallelGoGzip(
  src: AsyncIterable<Uint8Array>,
  exec: DeflateExecutor,
  opts: ParallelGzipOptions = {},
): AsyncIterable<Uint8Array> {
  const overlap = opts.overlap ?? DEFAULT_PARALLEL_GZIP.overlap;
  const segSize = Math.max(opts.segmentSize ?? DEFAULT_PARALLEL_GZIP.segmentSize, 2 * overlap, 64 << 10);
  const maxLive = Math.max(2, opts.maxLiveSegments ?? DEFAULT_PARALLEL_GZIP.maxLiveSegments);
  const taskTokens = BLOCK_TOKENS * Math.max(1, opts.blocksPerTask ?? DEFAULT_PARALLEL_GZIP.blocksPerTask);
  // A run stops `overlap` past its segment; the stop step may sit inside a match, and every
  // step before it needs Go's full lookahead.
  const over = overlap + 2 * MIN_LOOKAHEAD;

  const segs: Segment[] = [];
  /** Counts steps forward, to tell a stall from a pass where results were still landing. */
  let progress = 0;
  let seam = 0; // segments [0, seam) have their true token range resolved
  let total = -1;
  let crc = 0;

  // Input not yet given to a segment, plus the 32 KiB of history before it.
  let stash = new Uint8Array(segSize + over + WINDOW_SIZE + (1 << 20));
  let stashStart = 0;
  let stashEnd = 0;
  let nextStart = 0;

  const pieces: TokenPiece[] = [];
  let queued = 0;
  let piecePos = 0; // stream position of the first queued token
  const tasks: { pending: Promise<EncodedBits>; done: EncodedBits | null; failure: unknown }[] = [];
  let tasksOut = 0;
  let endQueued = false;
  const joiner = new BitJoiner();

  const dispatch = (start: number, end: number, final: boolean, state: LazyState, buf: Uint8Array, bufStart: number, seg?: Segment): Segment => {
    const s: Segment = seg ?? { start, end, final, buf, bufStart, result: null, pending: Promise.resolve(), trueFrom: -1, truePos: -1, failure: null };
    const job: SegmentJob = {
      buf,
      bufStart,
      start,
      state,
      stopAt: final ? 0 : end + overlap,
      final,
      finalBase: final ? finalWindowBase(total) : 0,
      trajA: s.start,
      trajB: end,
      trajLen: overlap,
    };
    s.result = null;
    s.pending = exec.match(job).then(
      (r) => {
        s.result = r;
        s.buf = r.buf;
      },
      (err: unknown) => {
        s.failure = err;
      },
    );
    return s;
  };

  /** Cuts segments out of the stash while there is enough input after them. */
  const cutSegments = (inputDone: boolean): void => {
    for (;;) {
      const avail = stashEnd - nextStart;
      const final = inputDone && avail < segSize + over;
      if (!final && avail < segSize + over) return;
      if (inputDone && nextStart === total && segs.length > 0) return;
      const start = nextStart;
      const end = final ? total : start + segSize;
      const bufStart = Math.max(0, start - WINDOW_SIZE);
      const bufEnd = final ? total : end + over;
      const buf = sharedU8(bufEnd - bufStart);
      buf.set(stash.subarray(bufStart - stashStart, bufEnd - stashStart));
      segs.push(dispatch(start, end, final, INITIAL, buf, bufStart));
      nextStart = end;
      if (final) return;
    }
  };

  const addInput = (chunk: Uint8Array): void => {
    crc = crc32(chunk, crc);
    if (stashEnd + chunk.length - stashStart > stash.length) {
      // Only the input after the last segment start's history is still needed.
      const keepFrom = Math.max(stashStart, nextStart - WINDOW_SIZE);
      const keep = stash.subarray(keepFrom - stashStart, stashEnd - stashStart);
      if (keep.length + chunk.length > stash.length) {
        const next = new Uint8Array(2 * (keep.length + chunk.length));
        next.set(keep, 0);
        stash = next;
      } else stash.copyWithin(0, keepFrom - stashStart, stashEnd - stashStart);
      stashStart = keepFrom;
    }
    stash.set(chunk, stashEnd - stashStart);
    stashEnd += chunk.length;
  };

  /** Resolves seams whose two runs are done; returns false when it must wait. */
  const resolveSeams = (): boolean => {
    let progressed = false;
    while (seam < segs.length) {
      const a = segs[seam]!;
      if (a.failure) throw a.failure;
      if (!a.result) return progressed;
      if (seam === 0) {
        a.trueFrom = 0;
        a.truePos = 0;
      }
      if (a.final) {
        pushPiece(a, a.result.tokens, a.trueFrom, a.result.tokens.length, total);
        endQueued = true;
        release(a);
        seam++;
        return true;
      }
      const b = segs[seam + 1];
      if (!b) return progressed;
      if (b.failure) throw b.failure;
      if (!b.result) return progressed;
      const ra = a.result;
      const rb = b.result;
      // Both runs are exact from the seam on only if neither has reached the final flush.
      const limit = Math.min(overlap, total >= 0 ? total - MIN_LOOKAHEAD - b.start : overlap);
      let cut = -1;
      for (let i = Math.max(0, a.truePos - b.start); i < limit; i++) {
        const sa = ra.stateB[i]!;
        if (sa !== NOT_A_STEP && sa === rb.stateA[i]) {
          cut = i;
          break;
        }
      }
      if (cut >= 0) {
        pushPiece(a, ra.tokens, a.trueFrom, ra.countB[cut]!, b.start + cut);
        b.trueFrom = rb.countA[cut]!;
        b.truePos = b.start + cut;
        if (opts.stats) opts.stats.synced++;
      } else {
        // No agreement: continue exactly from where the true run of `a` stopped.
        pushPiece(a, ra.tokens, a.trueFrom, ra.tokens.length, ra.stopTop);
        release(a);
        const at = ra.stopTop;
        dispatch(at, b.end, b.final, decodeState(ra.stopState), b.buf, b.bufStart, b);
        b.trueFrom = 0;
        b.truePos = at;
        if (opts.stats) opts.stats.rematched++;
        seam++;
        return true;
      }
      release(a);
      seam++;
      progress++;
      progressed = true;
    }
    return progressed;
  };

  const release = (s: Segment): void => {
    s.buf = new Uint8Array(0);
    s.result = null;
  };

  /** Queues a segment's true tokens and the input they cover ([seg.truePos, end)). */
  const pushPiece = (seg: Segment, tokens: Uint32Array, from: number, to: number, end: number): void => {
    const marks = seg.result!.marks;
    if (to > from) {
      pieces.push({ tokens, marks, from, to });
      queued += to - from;
    }
    // The segment's buffer stays referenced (not copied) until encoding is past it.
    rawRanges.push({ buf: seg.buf, bufStart: seg.bufStart, start: seg.truePos, end });
    rawQueued += end - seg.truePos;
  };

  // Input covered by queued tokens, from piecePos on: encoding needs it to price stored blocks.
  const rawRanges: InputRange[] = [];
  let rawQueued = 0;
  /**
   * Starts encoding tasks: runs of whole blocks once enough tokens (or input) are queued,
   * and the rest of the stream once its end is queued.
   */
  const cutTasks = (): void => {
    while (!lastFinalSent) {
      let n: number;
      const final = endQueued && queued <= taskTokens;
      if (final) n = queued;
      else if (queued >= taskTokens) n = taskTokens;
      else if (rawQueued >= segSize && queued >= BLOCK_TOKENS) n = queued - (queued % BLOCK_TOKENS);
      else return;
      // Input covered by each block: Go can store only blocks of at most 65535 bytes, and
      // most runs have none, so they need no input.
      const slices: TokenSlice[] = [];
      let fill = 0;
      let span = 0;
      let blockSpan = 0;
      let storable = false;
      while (fill < n) {
        const p = pieces[0]!;
        const take = Math.min(n - fill, p.to - p.from, BLOCK_TOKENS - (fill % BLOCK_TOKENS));
        const last = slices[slices.length - 1];
        if (last && last.tokens === p.tokens && last.to === p.from) last.to += take;
        else slices.push({ tokens: p.tokens, from: p.from, to: p.from + take });
        const covered = positionOf(p.tokens, p.marks, p.from + take) - positionOf(p.tokens, p.marks, p.from);
        span += covered;
        blockSpan += covered;
        fill += take;
        p.from += take;
        if (p.from === p.to) pieces.shift();
        if (fill % BLOCK_TOKENS === 0 || fill === n) {
          if (blockSpan <= MAX_STORED) storable = true;
          blockSpan = 0;
        }
      }
      queued -= n;
      const pos = piecePos;
      const job: EncodeJob = {
        tokens: slices,
        pos,
        raw: storable ? rawRanges.filter((r) => r.end > pos && r.start < pos + span) : null,
        // Blocks written near the end (in Go's closing flush) use its window, even in a
        // task before the last; the stream length is known by then.
        finalBase: total >= 0 ? finalWindowBase(total) : Number.MAX_SAFE_INTEGER,
        final,
      };
      piecePos += span;
      rawQueued -= span;
      while (rawRanges.length > 0 && rawRanges[0]!.end <= piecePos) rawRanges.shift();
      const task = { pending: exec.encode(job), done: null as EncodedBits | null, failure: null as unknown };
      task.pending.then(
        (r) => {
          task.done = r;
        },
        (err: unknown) => {
          task.failure = err;
        },
      );
      tasks.push(task);
      progress++;
      if (final) lastFinalSent = true;
    }
  };
  let lastFinalSent = false;

  const live = (): number => segs.length - seam;

  yield HEADER;
  const it = src[Symbol.asyncIterator]();
  let inputDone = false;
  let idle = 0;
  let lastProgress = -1;
  try {
    for (;;) {
      // Read while there is room for more segments.
      while (!inputDone && live() < maxLive) {
        const r = await it.next();
        if (r.done) {
          inputDone = true;
          total = stashEnd;
          cutSegments(true);
          break;
        }
        addInput(r.value);
        progress++;
        cutSegments(false);
        if (resolveSeams()) cutTasks();
      }
      resolveSeams();
      cutTasks();
      // Hand out finished tasks in order.
      while (tasksOut < tasks.length) {
        const t = tasks[tasksOut]!;
        if (t.failure) throw t.failure;
        if (!t.done) break;
        tasks[tasksOut] = null as never;
        tasksOut++;
        progress++;
        for (const bytes of joiner.pushParts(t.done.parts)) if (bytes.length > 0) yield bytes;
      }
      if (lastFinalSent && tasksOut === tasks.length) break;
      // Wait for whatever is next needed: the oldest unfinished task or segment run.
      const waitFor: Promise<unknown>[] = [];
      // Only unsettled ones: awaiting a settled promise would spin without letting messages in.
      if (tasksOut < tasks.length) waitFor.push(tasks[tasksOut]!.pending.catch(() => undefined));
      for (let k = seam; k < Math.min(segs.length, seam + 2); k++) {
        const sg = segs[k]!;
        if (!sg.result && !sg.failure) waitFor.push(sg.pending);
      }
      if (progress !== lastProgress) {
        lastProgress = progress;
        idle = 0;
      }
      if (waitFor.length === 0) {
        // Results may have landed while output was being handed on; look again before giving up.
        if (++idle > 2) fail("INTERNAL", "parallel gzip: stalled with no work in flight");
        continue;
      }
      if (inputDone || live() >= maxLive) await Promise.race(waitFor);
    }
  } finally {
    if (!inputDone) await it.return?.();
  }
  const tail = joiner.end();
  const trailer = new Uint8Array(tail.length + 8);
  trailer.set(tail, 0);
  const dv = new DataView(trailer.buffer, tail.length, 8);
  dv.setUint32(0, crc >>> 0, true);
  dv.setUint32(4, total >>> 0, true);
  yield trailer;
}
