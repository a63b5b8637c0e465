/** Messages between the main thread and archive-worker.ts. */
import type { EncodedBits, EncodeJob } from "./flate/encode-blocks.ts";
import type { SegmentJob, SegmentResult } from "./flate/segment-match.ts";

/** Main thread → worker. */
export type ToWorker =
  /** Match one segment (flate/segment-match.ts); reply `match-done` with the same id. */
  | { t: "match"; id: number; job: SegmentJob }
  /** Encode a run of blocks (flate/encode-blocks.ts); reply `encode-done` with the same id. */
  | { t: "encode"; id: number; job: EncodeJob };

/** Worker → main thread. */
export type FromWorker =
  /** Sent once when the worker has loaded. */
  | { t: "ready" }
  /** Result of a `match`; `buf` is the job's input, handed back. */
  | { t: "match-done"; id: number; result: SegmentResult & { buf: Uint8Array } }
  | { t: "encode-done"; id: number; result: EncodedBits }
  /** A message could not be handled. */
  | { t: "error"; id: number; message: string };
