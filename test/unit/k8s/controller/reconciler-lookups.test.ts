import { describe, expect, test } from "bun:test";
import { SharedLookups } from "../../../../src/k8s/controller/lookups.ts";

function deferred<T>() {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((a, b) => ((resolve = a), (reject = b)));
  return { promise, resolve, reject };
}

describe("SharedLookups", () => {
  test("concurrent callers of one key share one in-flight fetch", async () => {
    const l = new SharedLookups<string>();
    const d = deferred<string>();
    let calls = 0;
    const fetch = () => (calls++, d.promise);
    const all = Promise.all([1, 2, 3, 4, 5].map(() => l.get("k", { ttlMs: 1000 }, fetch)));
    d.resolve("v");
    const res = await all;
    expect(calls).toBe(1);
    expect(res.map((r) => r.value)).toEqual(["v", "v", "v", "v", "v"]);
    expect(res.map((r) => r.source).sort()).toEqual(["fetched", "joined", "joined", "joined", "joined"]);
  });

  test("a result is reused until the smallest TTL of its callers ran out, then fetched again", async () => {
    let t = 0;
    const l = new SharedLookups<number>({ now: () => t });
    let n = 0;
    const fetch = async () => ++n;
    expect(await l.get("k", { ttlMs: 10_000 }, fetch)).toEqual({ value: 1, source: "fetched" });
    t = 4_000;
    expect(await l.get("k", { ttlMs: 10_000 }, fetch)).toEqual({ value: 1, source: "cached" });
    // A caller with a shorter interval shortens the entry's life for everyone.
    t = 4_500;
    expect(await l.get("k", { ttlMs: 5_000 }, fetch)).toEqual({ value: 1, source: "cached" });
    t = 5_000;
    expect(await l.get("k", { ttlMs: 10_000 }, fetch)).toEqual({ value: 2, source: "fetched" });
    expect(l.counts).toEqual({ fetched: 2, joined: 0, cached: 2 });
  });

  test("fresh skips a cached result but other keys are separate", async () => {
    const l = new SharedLookups<string>({ now: () => 0 });
    let n = 0;
    const fetch = async () => `v${++n}`;
    await l.get("a", { ttlMs: 1000 }, fetch);
    expect((await l.get("a", { ttlMs: 1000, fresh: true }, fetch)).value).toBe("v2");
    expect((await l.get("a", { ttlMs: 1000 }, fetch)).value).toBe("v2");
    expect((await l.get("b", { ttlMs: 1000 }, fetch)).value).toBe("v3");
  });

  test("failures reach every joined caller and are not cached", async () => {
    const l = new SharedLookups<string>({ now: () => 0 });
    const d = deferred<string>();
    let calls = 0;
    const p1 = l.get("k", { ttlMs: 1000 }, () => (calls++, d.promise));
    const p2 = l.get("k", { ttlMs: 1000 }, () => (calls++, d.promise));
    d.reject(new Error("registry down"));
    const settled = await Promise.allSettled([p1, p2]);
    expect(settled.map((s) => (s.status === "rejected" ? (s.reason as Error).message : "resolved"))).toEqual(["registry down", "registry down"]);
    expect(calls).toBe(1);
    expect(l.size).toBe(0);
    expect(await l.get("k", { ttlMs: 1000 }, async () => (calls++, "ok"))).toEqual({ value: "ok", source: "fetched" });
    expect(calls).toBe(2);
  });

  test("a zero TTL only coalesces concurrent calls; maxEntries bounds the map", async () => {
    const l = new SharedLookups<number>({ now: () => 0, maxEntries: 2 });
    let n = 0;
    await l.get("k", { ttlMs: 0 }, async () => ++n);
    expect((await l.get("k", { ttlMs: 0 }, async () => ++n)).source).toBe("fetched");
    await l.get("a", { ttlMs: 10 }, async () => ++n);
    await l.get("b", { ttlMs: 10 }, async () => ++n);
    expect(l.size).toBe(2);
  });
});
