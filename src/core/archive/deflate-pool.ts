/**
 * A pool of compression workers implementing {@link DeflateExecutor}: each job goes to the
 * worker with the fewest jobs outstanding, and its buffers are transferred, not copied.
 */
import { fail } from "../errors.ts";
import type { EncodedBits, EncodeJob } from "./flate/encode-blocks.ts";
import type { SegmentJob, SegmentResult } from "./flate/segment-match.ts";
import type { DeflateExecutor } from "./parallel-gzip.ts";
import type { FromWorker, ToWorker } from "./worker-protocol.ts";
import { spawnArchiveWorker, type ArchiveWorker } from "./workers.ts";

interface Slot {
  worker: ArchiveWorker;
  outstanding: number;
  dead: Error | null;
}

interface Waiter {
  slot: Slot;
  resolve(v: unknown): void;
  reject(e: unknown): void;
}

/** A started pool; {@link close} it when done (it also closes itself on a worker failure). */
export interface DeflatePool extends DeflateExecutor {
  close(): void;
}

/**
 * Starts `n` workers and waits until they have loaded. Returns null when the runtime has no
 * workers or none could load (callers then compress in-thread, with the same output).
 */
export async function startDeflatePool(n: number): Promise<DeflatePool | null> {
  const waiters = new Map<number, Waiter>();
  let nextId = 1;
  const starting = Array.from({ length: Math.max(1, n) }, () => startOne(waiters));
  const slots = (await Promise.all(starting)).filter((s): s is Slot => s !== null);
  if (slots.length === 0) return null;

  const call = <R>(msg: (id: number) => ToWorker, transfer: ArrayBuffer[]): Promise<R> => {
    let slot = slots[0]!;
    for (const s of slots) if (s.outstanding < slot.outstanding) slot = s;
    if (slot.dead) return Promise.reject(slot.dead);
    const id = nextId++;
    slot.outstanding++;
    return new Promise<R>((resolve, reject) => {
      waiters.set(id, { slot, resolve: resolve as (v: unknown) => void, reject });
      slot.worker.post(msg(id), transfer);
    });
  };

  return {
    match: (job: SegmentJob) =>
      call<SegmentResult & { buf: Uint8Array }>((id) => ({ t: "match", id, job }), transferable([job.buf])),
    encode: (job: EncodeJob) =>
      // Tokens and input are shared memory (or copied where it is missing), never transferred:
      // other tasks read the same arrays.
      call<EncodedBits>((id) => ({ t: "encode", id, job }), []),
    close() {
      for (const s of slots) s.worker.terminate();
      for (const w of waiters.values()) w.reject(poolError("the pool was closed"));
      waiters.clear();
    },
  };
}

/** Buffers of `arrays` that can move to a worker (shared memory is shared, not moved). */
export function transferable(arrays: Uint8Array[]): ArrayBuffer[] {
  return arrays.map((a) => a.buffer).filter((b): b is ArrayBuffer => b instanceof ArrayBuffer);
}

function startOne(waiters: Map<number, Waiter>): Promise<Slot | null> {
  return new Promise((resolveStart) => {
    let slot: Slot | null = null;
    const worker = spawnArchiveWorker({
      message(raw) {
        const msg = raw as FromWorker;
        if (msg.t === "ready") {
          slot = { worker: worker!, outstanding: 0, dead: null };
          resolveStart(slot);
          return;
        }
        const w = waiters.get(msg.id);
        if (!w) return;
        waiters.delete(msg.id);
        w.slot.outstanding--;
        if (msg.t === "error") w.reject(poolError(msg.message));
        else w.resolve(msg.result);
      },
      error(err) {
        if (!slot) {
          worker?.terminate();
          resolveStart(null);
          return;
        }
        slot.dead = poolError(err.message);
        for (const [id, w] of waiters) {
          if (w.slot !== slot) continue;
          waiters.delete(id);
          w.reject(slot.dead);
        }
      },
    });
    if (!worker) resolveStart(null);
  });
}

function poolError(message: string): Error {
  try {
    fail("INTERNAL", `compression worker failed: ${message}; retry, or pass --gzip zlib`);
  } catch (err) {
    return err as Error;
  }
}
