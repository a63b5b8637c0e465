/**
 * Go-exact gzip with the compressor on a worker thread, so that whatever produces the input
 * (walking and tarring files, on the main thread) runs at the same time as deflate. The
 * worker runs the same {@link GoGzipWriter} as the in-thread path, so the bytes are equal.
 */
import { fail } from "../errors.ts";
import { Channel } from "./channel.ts";
import type { FromWorker, ToWorker } from "./worker-protocol.ts";
import { spawnArchiveWorker, type ArchiveWorker } from "./workers.ts";

/** Input goes to the worker in batches of this size (copied into a transferable buffer). */
const BATCH = 1 << 20;
/** Batches sent but not yet answered; bounds memory to about this many MiB of input. */
const MAX_IN_FLIGHT = 4;
/** The worker hands output back once this much is pending. */
const EMIT_AT = 64 * 1024;

type Event = FromWorker | { t: "worker-error"; err: Error };

/**
 * Starts a worker and waits until it has loaded. Returns null (and cleans up) when workers
 * are unavailable or the worker script fails to load, so callers can compress in-thread.
 */
export async function startWorker(): Promise<{ worker: ArchiveWorker; events: Channel<Event> } | null> {
  const events = new Channel<Event>();
  const worker = spawnArchiveWorker({
    message: (m) => events.push(m as FromWorker),
    error: (err) => events.push({ t: "worker-error", err }),
  });
  if (!worker) return null;
  const first = await events.next();
  if (first.t !== "ready") {
    worker.terminate();
    return null;
  }
  return { worker, events };
}

/**
 * Gzips `src` on a worker thread. Returns null when no worker could be started (nothing of
 * `src` has been read then). Output order and bytes equal the in-thread Go-exact writer.
 */
export async function pipelinedGoGzip(src: AsyncIterable<Uint8Array>): Promise<AsyncIterable<Uint8Array> | null> {
  const started = await startWorker();
  if (!started) return null;
  return run(src, started.worker, started.events);
}

async function* run(src: AsyncIterable<Uint8Array>, worker: ArchiveWorker, events: Channel<Event>): AsyncIterable<Uint8Array> {
  let inFlight = 0;
  let ackWaiter: (() => void) | null = null;
  let stopped = false;
  const send = (msg: ToWorker, transfer?: ArrayBuffer[]) => worker.post(msg, transfer);

  const feed = async (): Promise<void> => {
    let batch = new Uint8Array(BATCH);
    let fill = 0;
    const flush = async (): Promise<void> => {
      while (inFlight >= MAX_IN_FLIGHT && !stopped) await new Promise<void>((r) => (ackWaiter = r));
      if (stopped) return;
      const data = fill === batch.length ? batch : batch.slice(0, fill);
      inFlight++;
      send({ t: "gzip-data", data, emitAt: EMIT_AT }, [data.buffer as ArrayBuffer]);
      batch = new Uint8Array(BATCH);
      fill = 0;
    };
    for await (const chunk of src) {
      for (let p = 0; p < chunk.length; ) {
        const n = Math.min(chunk.length - p, BATCH - fill);
        batch.set(chunk.subarray(p, p + n), fill);
        fill += n;
        p += n;
        if (fill === BATCH) await flush();
        if (stopped) return;
      }
    }
    if (fill > 0) await flush();
    if (!stopped) send({ t: "gzip-end" });
  };

  const feeding = feed().catch((err: unknown) => events.fail(err));
  try {
    for (;;) {
      const ev = await events.next();
      if (ev.t === "gzip-out") {
        inFlight--;
        const w = ackWaiter as (() => void) | null;
        ackWaiter = null;
        w?.();
        if (ev.data.length > 0) yield ev.data;
      } else if (ev.t === "gzip-done") {
        yield ev.data;
        return;
      } else if (ev.t === "error") {
        fail("INTERNAL", `gzip worker: ${ev.message}`);
      } else if (ev.t === "worker-error") {
        fail("INTERNAL", `gzip worker stopped: ${ev.err.message}; retry, or use --gzip zlib`);
      }
    }
  } finally {
    stopped = true;
    const w = ackWaiter as (() => void) | null;
    ackWaiter = null;
    w?.();
    worker.terminate();
    void feeding;
  }
}
