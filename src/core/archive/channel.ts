/**
 * A minimal unbounded async queue: producers `push` (or `fail`), one consumer awaits `next`.
 * Used to turn worker messages into an awaitable sequence; bounding is the caller's job.
 */
export class Channel<T> {
  private readonly items: T[] = [];
  private head = 0;
  private error: { err: unknown } | null = null;
  private waiter: { resolve(v: T): void; reject(e: unknown): void } | null = null;

  /** Queues a value, or hands it straight to a waiting consumer. */
  push(v: T): void {
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = null;
      w.resolve(v);
    } else this.items.push(v);
  }

  /** Makes every later (and the pending) `next` reject with `err`; the first failure wins. */
  fail(err: unknown): void {
    if (this.error) return;
    this.error = { err };
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = null;
      w.reject(err);
    }
  }

  /** The next value, in push order; queued values come before a failure is reported. */
  next(): Promise<T> {
    if (this.head < this.items.length) {
      const v = this.items[this.head++]!;
      if (this.head > 1024 && this.head * 2 > this.items.length) {
        this.items.splice(0, this.head);
        this.head = 0;
      }
      return Promise.resolve(v);
    }
    if (this.error) return Promise.reject(this.error.err);
    return new Promise((resolve, reject) => {
      this.waiter = { resolve, reject };
    });
  }
}
