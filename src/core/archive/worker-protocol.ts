/** Messages between the main thread and archive-worker.ts. */

/** Main thread → worker. */
export type ToWorker =
  /** Gzip (Go-exact) this input; reply with `gzip-out` carrying whatever output is ready once `emitAt` bytes are pending. */
  | { t: "gzip-data"; data: Uint8Array; emitAt: number }
  /** Finish the gzip stream; reply with `gzip-done`. */
  | { t: "gzip-end" };

/** Worker → main thread. */
export type FromWorker =
  /** Sent once when the worker has loaded. */
  | { t: "ready" }
  /** Answer to one `gzip-data`: output produced (possibly empty). */
  | { t: "gzip-out"; data: Uint8Array }
  /** Answer to `gzip-end`: the rest of the stream, trailer included. */
  | { t: "gzip-done"; data: Uint8Array }
  /** A message could not be handled. */
  | { t: "error"; message: string };
