/**
 * The controller's work queue (controller-runtime semantics): a key is queued at most once, is never
 * processed by two workers at once (an add during processing runs it again afterwards, right away even
 * when the pass failed), failures retry with per-key exponential backoff, and successes may ask to run again after a jittered interval.
 */

/** Timer functions, injectable so tests can drive time. */
export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** The real clock. */
export const SYSTEM_CLOCK: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
};

/** What a worker pass asks for next. */
export interface WorkResult {
  /** Run the key again after this many ms (jittered). Default: not until it is added again. */
  requeueAfterMs?: number;
}

/** Options of `WorkQueue`. */
export interface WorkQueueOptions {
  /**
   * Processes one key; a throw (or rejection) retries it with backoff. `signal` aborts when `stop`'s
   * grace period runs out.
   */
  worker: (key: string, signal: AbortSignal) => Promise<WorkResult | void>;
  /** Start paused: keys are queued but none run until `resume()` (a standby replica). Default false. */
  paused?: boolean;
  /** Keys processed at once (`--concurrent`). Default 4. */
  concurrency?: number;
  /** First failure retry delay in ms. Default 750. */
  baseDelayMs?: number;
  /** Cap of the failure retry delay in ms. Default 900_000 (15 min). */
  maxDelayMs?: number;
  /** Interval requeues are spread by ±this fraction (flux's interval jitter). Default 0.05. */
  jitter?: number;
  /** Default Math.random. */
  random?: () => number;
  /** Default SYSTEM_CLOCK. */
  clock?: Clock;
  /** Called with each worker failure (logging). Default: ignored. */
  onError?: (key: string, e: unknown) => void;
}

/** Documented defaults of `WorkQueueOptions`. */
export const DEFAULT_WORK_QUEUE_OPTIONS = { concurrency: 4, baseDelayMs: 750, maxDelayMs: 900_000, jitter: 0.05 } as const;

/** Keyed, deduplicating, rate-limited work queue. */
export class WorkQueue {
  private readonly opts: WorkQueueOptions;
  private readonly clock: Clock;
  private readonly random: () => number;
  private readonly pending = new Set<string>();
  private readonly processing = new Set<string>();
  private readonly dirty = new Set<string>();
  private readonly delayed = new Map<string, { at: number; handle: unknown }>();
  private readonly failures = new Map<string, number>();
  private readonly idleWaiters: (() => void)[] = [];
  private readonly running = new Map<string, AbortController>();
  private stopped = false;
  private paused: boolean;

  constructor(opts: WorkQueueOptions) {
    this.opts = opts;
    this.clock = opts.clock ?? SYSTEM_CLOCK;
    this.random = opts.random ?? Math.random;
    this.paused = opts.paused ?? false;
  }

  /** Starts running queued keys (after `paused: true`). */
  resume(): void {
    this.paused = false;
    this.pump();
  }

  /** Queues `key` now (cancelling a delayed add of it). */
  add(key: string): void {
    if (this.stopped) return;
    this.cancelDelayed(key);
    if (this.processing.has(key)) {
      this.dirty.add(key);
      return;
    }
    this.pending.add(key);
    this.pump();
  }

  /** Queues `key` after `ms`; an earlier pending delayed add wins. */
  addAfter(key: string, ms: number): void {
    if (this.stopped) return;
    if (ms <= 0) return this.add(key);
    const at = this.clock.now() + ms;
    const existing = this.delayed.get(key);
    if (existing && existing.at <= at) return;
    this.cancelDelayed(key);
    const handle = this.clock.setTimeout(() => {
      this.delayed.delete(key);
      this.add(key);
    }, ms);
    this.delayed.set(key, { at, handle });
  }

  /** Drops every trace of `key`: queued or delayed runs and its failure count (object deleted). */
  forget(key: string): void {
    this.cancelDelayed(key);
    this.pending.delete(key);
    this.dirty.delete(key);
    this.failures.delete(key);
  }

  /** The failure retry delay for the `n`th consecutive failure (1-based). */
  backoff(n: number): number {
    const base = this.opts.baseDelayMs ?? DEFAULT_WORK_QUEUE_OPTIONS.baseDelayMs;
    const max = this.opts.maxDelayMs ?? DEFAULT_WORK_QUEUE_OPTIONS.maxDelayMs;
    return Math.min(max, base * 2 ** Math.min(n - 1, 40));
  }

  /** Consecutive failures of `key` so far. */
  failuresOf(key: string): number {
    return this.failures.get(key) ?? 0;
  }

  /** Number of keys waiting to run now, plus those running. */
  get length(): number {
    return this.pending.size + this.processing.size;
  }

  /** Keys waiting to run now (the `workqueue_depth` gauge: running keys are not counted). */
  get depth(): number {
    return this.pending.size;
  }

  /**
   * Stops taking work and cancels timers; resolves once running workers have finished, or, after
   * `graceMs`, aborts their signals and resolves at once. Resolves to true when every worker finished.
   */
  async stop(graceMs = Infinity): Promise<boolean> {
    this.stopped = true;
    for (const key of [...this.delayed.keys()]) this.cancelDelayed(key);
    this.pending.clear();
    this.dirty.clear();
    if (graceMs === Infinity) {
      await this.idle();
      return true;
    }
    let timer: unknown;
    const drained = await Promise.race([
      this.idle().then(() => true),
      new Promise<false>((r) => (timer = this.clock.setTimeout(() => r(false), graceMs))),
    ]);
    this.clock.clearTimeout(timer);
    if (!drained) for (const ac of this.running.values()) ac.abort(new DOMException("controller shutting down", "AbortError"));
    return drained;
  }

  /** Resolves when no key is queued or running (delayed adds do not count). */
  idle(): Promise<void> {
    if (this.length === 0) return Promise.resolve();
    return new Promise((r) => this.idleWaiters.push(r));
  }

  private cancelDelayed(key: string): void {
    const d = this.delayed.get(key);
    if (d) {
      this.clock.clearTimeout(d.handle);
      this.delayed.delete(key);
    }
  }

  private pump(): void {
    const limit = Math.max(1, this.opts.concurrency ?? DEFAULT_WORK_QUEUE_OPTIONS.concurrency);
    while (!this.stopped && !this.paused && this.processing.size < limit && this.pending.size > 0) {
      const key = this.pending.values().next().value as string;
      this.pending.delete(key);
      this.processing.add(key);
      void this.runOne(key);
    }
    if (this.length === 0) for (const w of this.idleWaiters.splice(0)) w();
  }

  private async runOne(key: string): Promise<void> {
    let result: WorkResult | void = undefined;
    let failed = false;
    const ac = new AbortController();
    this.running.set(key, ac);
    try {
      result = await this.opts.worker(key, ac.signal);
    } catch (e) {
      failed = true;
      this.opts.onError?.(key, e);
    }
    this.running.delete(key);
    this.processing.delete(key);
    if (failed) {
      const n = this.failuresOf(key) + 1;
      this.failures.set(key, n);
      // A change that arrived during the failing pass may be the fix (client-go requeues a dirty key on
      // Done): run it again now; the kept count makes a further failure back off longer.
      if (this.dirty.delete(key)) this.add(key);
      else this.addAfter(key, this.backoff(n));
    } else {
      this.failures.delete(key);
      if (this.dirty.delete(key)) this.add(key);
      else if (result && result.requeueAfterMs !== undefined) {
        const j = this.opts.jitter ?? DEFAULT_WORK_QUEUE_OPTIONS.jitter;
        this.addAfter(key, Math.round(result.requeueAfterMs * (1 + j * (2 * this.random() - 1))));
      }
    }
    this.pump();
  }
}
