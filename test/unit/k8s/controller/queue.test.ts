import { describe, expect, test } from "bun:test";
import { WorkQueue, type Clock, type WorkResult } from "../../../../src/k8s/controller/queue.ts";

/** A clock whose timers fire only when the test advances time. */
class FakeClock implements Clock {
  t = 0;
  private timers: { at: number; fn: () => void; id: number }[] = [];
  private seq = 0;
  now = () => this.t;
  setTimeout = (fn: () => void, ms: number) => {
    const id = ++this.seq;
    this.timers.push({ at: this.t + ms, fn, id });
    return id;
  };
  clearTimeout = (h: unknown) => {
    this.timers = this.timers.filter((x) => x.id !== h);
  };
  /** Pending timer due times, relative to now. */
  due(): number[] {
    return this.timers.map((x) => x.at - this.t).sort((a, b) => a - b);
  }
  async advance(ms: number): Promise<void> {
    const end = this.t + ms;
    for (;;) {
      this.timers.sort((a, b) => a.at - b.at);
      const next = this.timers[0];
      if (!next || next.at > end) break;
      this.timers.shift();
      this.t = next.at;
      next.fn();
      await flush();
    }
    this.t = end;
    await flush();
  }
}

const flush = async () => {
  for (let i = 0; i < 10; i++) await Promise.resolve();
};

function deferred() {
  let resolve!: (v?: WorkResult) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<WorkResult | undefined>((a, b) => {
    resolve = a;
    reject = b;
  });
  return { promise, resolve, reject };
}

describe("WorkQueue", () => {
  test("deduplicates queued keys and serialises one key; an add while running runs it once more", async () => {
    const clock = new FakeClock();
    const runs: string[] = [];
    const gates: ReturnType<typeof deferred>[] = [];
    const q = new WorkQueue({
      clock,
      concurrency: 4,
      worker: (k) => {
        runs.push(k);
        const d = deferred();
        gates.push(d);
        return d.promise;
      },
    });
    q.add("a");
    await flush();
    expect(runs).toEqual(["a"]);
    q.add("a");
    q.add("a");
    await flush();
    expect(runs).toEqual(["a"]);
    gates[0]!.resolve();
    await flush();
    expect(runs).toEqual(["a", "a"]);
    gates[1]!.resolve();
    await q.idle();
    expect(runs).toEqual(["a", "a"]);
  });

  test("runs at most `concurrency` keys at once", async () => {
    const clock = new FakeClock();
    let running = 0;
    let peak = 0;
    const gates: ReturnType<typeof deferred>[] = [];
    const q = new WorkQueue({
      clock,
      concurrency: 2,
      worker: async () => {
        running++;
        peak = Math.max(peak, running);
        const d = deferred();
        gates.push(d);
        await d.promise;
        running--;
      },
    });
    for (const k of ["a", "b", "c", "d"]) q.add(k);
    await flush();
    expect(running).toBe(2);
    gates[0]!.resolve();
    gates[1]!.resolve();
    await flush();
    expect(running).toBe(2);
    gates[2]!.resolve();
    gates[3]!.resolve();
    await q.idle();
    expect(peak).toBe(2);
  });

  test("failures back off 750ms, 1.5s, 3s … capped at 15 min; success resets", async () => {
    const q = new WorkQueue({ worker: async () => {} });
    expect([1, 2, 3, 4].map((n) => q.backoff(n))).toEqual([750, 1500, 3000, 6000]);
    expect(q.backoff(11)).toBe(750 * 1024);
    expect(q.backoff(12)).toBe(900_000);
    expect(q.backoff(100)).toBe(900_000);

    const clock = new FakeClock();
    let fail = true;
    const times: number[] = [];
    const q2 = new WorkQueue({
      clock,
      worker: async () => {
        times.push(clock.t);
        if (fail) throw new Error("boom");
      },
    });
    q2.add("k");
    await flush();
    expect(clock.due()).toEqual([750]);
    await clock.advance(750);
    expect(clock.due()).toEqual([1500]);
    await clock.advance(1500);
    expect(q2.failuresOf("k")).toBe(3);
    fail = false;
    await clock.advance(3000);
    expect(times).toEqual([0, 750, 2250, 5250]);
    expect(q2.failuresOf("k")).toBe(0);
    expect(clock.due()).toEqual([]);
  });

  test("a key added while its pass fails runs again right away, keeping its failure count", async () => {
    const clock = new FakeClock();
    const times: number[] = [];
    const gates: ReturnType<typeof deferred>[] = [];
    const q = new WorkQueue({
      clock,
      worker: () => {
        times.push(clock.t);
        const d = deferred();
        gates.push(d);
        return d.promise;
      },
    });
    q.add("k");
    await flush();
    await clock.advance(10);
    q.add("k");
    gates[0]!.reject(new Error("boom"));
    await flush();
    expect(times).toEqual([0, 10]);
    expect(q.failuresOf("k")).toBe(1);
    expect(clock.due()).toEqual([]);
    gates[1]!.reject(new Error("boom again"));
    await flush();
    expect(q.failuresOf("k")).toBe(2);
    expect(clock.due()).toEqual([1500]);
    expect(times).toEqual([0, 10]);
  });

  test("requeueAfter is jittered by ±5% and an earlier add replaces a later delayed one", async () => {
    const clock = new FakeClock();
    let r = 1;
    const q = new WorkQueue({ clock, random: () => r, worker: async () => ({ requeueAfterMs: 60_000 }) });
    q.add("k");
    await flush();
    expect(clock.due()).toEqual([63_000]);
    r = 0;
    await clock.advance(63_000);
    expect(clock.due()).toEqual([57_000]);
    q.addAfter("k", 1000);
    expect(clock.due()).toEqual([1000]);
    q.addAfter("k", 5000);
    expect(clock.due()).toEqual([1000]);
    q.forget("k");
    expect(clock.due()).toEqual([]);
  });

  test("stop cancels timers, waits for running work and ignores later adds", async () => {
    const clock = new FakeClock();
    const d = deferred();
    let runs = 0;
    const q = new WorkQueue({
      clock,
      worker: () => {
        runs++;
        return d.promise;
      },
    });
    q.add("a");
    q.addAfter("b", 10);
    await flush();
    let stopped = false;
    const s = q.stop().then(() => (stopped = true));
    await flush();
    expect(stopped).toBe(false);
    d.resolve({ requeueAfterMs: 5 });
    await s;
    q.add("c");
    await clock.advance(100);
    expect(runs).toBe(1);
    expect(clock.due()).toEqual([]);
  });

  test("a paused queue (standby replica) collects keys and runs them on resume; depth counts only waiting keys", async () => {
    const clock = new FakeClock();
    const runs: string[] = [];
    const d = deferred();
    const q = new WorkQueue({ clock, paused: true, concurrency: 1, worker: async (k) => (runs.push(k), d.promise) });
    q.add("a");
    q.add("b");
    q.add("a");
    await flush();
    expect(runs).toEqual([]);
    expect(q.depth).toBe(2);
    q.resume();
    await flush();
    expect(runs).toEqual(["a"]);
    expect(q.depth).toBe(1);
    expect(q.length).toBe(2);
    d.resolve({});
    await flush();
    expect(runs).toEqual(["a", "b"]);
    expect(q.depth).toBe(0);
  });

  test("stop with a grace period aborts a worker that outlives it and reports not drained", async () => {
    const clock = new FakeClock();
    let signal: AbortSignal | undefined;
    const q = new WorkQueue({ clock, worker: (_k, s) => ((signal = s), new Promise(() => {})) });
    q.add("slow");
    await flush();
    expect(signal?.aborted).toBe(false);
    let result: boolean | undefined;
    const s = q.stop(1000).then((r) => (result = r));
    await clock.advance(999);
    expect(result).toBeUndefined();
    expect(signal?.aborted).toBe(false);
    await clock.advance(1);
    await s;
    expect(result).toBe(false);
    expect(signal?.aborted).toBe(true);
  });

  test("stop with a grace period resolves true when the workers finish in time, without aborting them", async () => {
    const clock = new FakeClock();
    const d = deferred();
    let signal: AbortSignal | undefined;
    const q = new WorkQueue({ clock, worker: (_k, s) => ((signal = s), d.promise) });
    q.add("k");
    await flush();
    const s = q.stop(1000);
    await clock.advance(500);
    d.resolve({});
    expect(await s).toBe(true);
    expect(signal?.aborted).toBe(false);
    expect(clock.due()).toEqual([]);
  });
});
