/**
 * The one place that touches the runtime's worker API, so the compressors stay portable.
 *
 * Bun provides web `Worker`s that load TypeScript directly. In a `bun build --compile`
 * executable a worker script must be a separate entrypoint of the build
 * (scripts/compile.ts adds `src/core/archive/archive-worker.ts`) and is addressed by its
 * path relative to the bundle root (`src/`), not relative to this module, whose
 * `import.meta.url` there is the executable's. Where no `Worker` exists (Node without a
 * TypeScript loader) {@link spawnArchiveWorker} returns null and callers compress in-thread,
 * producing the same bytes.
 */

/** A started worker running `archive-worker.ts`. */
export interface ArchiveWorker {
  /** Sends a message; `transfer` lists buffers whose ownership moves to the worker. */
  post(msg: unknown, transfer?: ArrayBuffer[]): void;
  /** Stops the worker at once; pending messages are dropped. */
  terminate(): void;
}

/** Callbacks of {@link spawnArchiveWorker}. */
export interface ArchiveWorkerEvents {
  message(msg: unknown): void;
  /** The worker failed to load or threw; it is unusable afterwards. */
  error(err: Error): void;
}

/** Path of the worker entry inside a compiled executable, relative to the bundle root (src/). */
const COMPILED_ENTRY = "./core/archive/archive-worker.ts";

/** True inside a `bun build --compile` executable, whose modules live in Bun's embedded file system. */
function isCompiled(): boolean {
  const url = import.meta.url;
  return url.includes("/$bunfs/") || url.includes("~BUN");
}

/**
 * Starts a worker running `archive-worker.ts`, or returns null when the runtime has no web
 * `Worker`. A worker that cannot load reports it through `events.error` (asynchronously).
 */
export function spawnArchiveWorker(events: ArchiveWorkerEvents): ArchiveWorker | null {
  const Ctor = (globalThis as { Worker?: typeof Worker }).Worker;
  if (typeof Ctor !== "function") return null;
  let w: Worker;
  try {
    // Module workers: Bun takes either kind, Deno only these.
    w = new Ctor(isCompiled() ? COMPILED_ENTRY : new URL("./archive-worker.ts", import.meta.url).href, { type: "module" });
  } catch {
    return null;
  }
  w.onmessage = (e: MessageEvent) => events.message(e.data);
  w.onerror = (e: ErrorEvent) => {
    e.preventDefault?.();
    events.error(new Error(e.message || "worker failed"));
  };
  return {
    post(msg, transfer) {
      w.postMessage(msg, transfer ?? []);
    },
    terminate() {
      w.terminate();
    },
  };
}

/** The worker side: how `archive-worker.ts` receives and answers messages. */
export interface WorkerScope {
  onMessage(fn: (msg: unknown) => void): void;
  post(msg: unknown, transfer?: ArrayBuffer[]): void;
}

/** The current thread's worker scope (only meaningful inside a worker). */
export function workerScope(): WorkerScope {
  const g = globalThis as unknown as {
    postMessage(msg: unknown, transfer?: ArrayBuffer[]): void;
    onmessage: ((e: MessageEvent) => void) | null;
  };
  return {
    onMessage(fn) {
      g.onmessage = (e) => fn(e.data);
    },
    post(msg, transfer) {
      g.postMessage(msg, transfer ?? []);
    },
  };
}
