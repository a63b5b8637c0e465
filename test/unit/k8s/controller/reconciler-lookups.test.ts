import { describe, expect, test } from "bun:test";
import { SharedBuilds, SharedLookups } from "../../../../src/k8s/controller/lookups.ts";

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

describe("SharedBuilds", () => {
  test("the first caller claims the build; callers meanwhile wait for it and get the stored file", async () => {
    const b = new SharedBuilds();
    const first = await b.acquire("k");
    expect("end" in first).toBe(true);
    const waiting = [b.acquire("k"), b.acquire("k")];
    let settled = false;
    void Promise.all(waiting).then(() => (settled = true));
    await Bun.sleep(5);
    expect(settled).toBe(false);
    b.remember("k", { file: "/s/a.tar.gz", digest: "sha256:aa", metadata: { x: "1" } });
    (first as { end: () => void }).end();
    expect(await Promise.all(waiting)).toEqual([
      { build: { file: "/s/a.tar.gz", digest: "sha256:aa", metadata: { x: "1" } } },
      { build: { file: "/s/a.tar.gz", digest: "sha256:aa", metadata: { x: "1" } } },
    ]);
    expect(b.size).toBe(1);
  });

  test("after a claim that ended without a build, one waiter claims the next and the others go on unclaimed", async () => {
    const b = new SharedBuilds();
    const first = (await b.acquire("k")) as { end: () => void };
    const w1 = b.acquire("k");
    const w2 = b.acquire("k");
    first.end();
    const [a, c] = (await Promise.all([w1, w2])) as { end: () => void }[];
    expect(typeof a!.end).toBe("function");
    expect(typeof c!.end).toBe("function");
    // w1 holds the new claim: a later caller waits for it, then gets what it stored.
    const later = b.acquire("k");
    b.remember("k", { file: "/f", digest: "sha256:1" });
    a!.end();
    expect(await later).toEqual({ build: { file: "/f", digest: "sha256:1" } });
  });

  test("forget drops an entry only while it still names that file; maxEntries bounds the map", async () => {
    const b = new SharedBuilds({ maxEntries: 2 });
    b.remember("k", { file: "/new", digest: "sha256:1" });
    b.forget("k", "/old");
    expect(b.size).toBe(1);
    b.forget("k", "/new");
    expect(b.size).toBe(0);
    for (const k of ["a", "b", "c"]) b.remember(k, { file: `/${k}`, digest: "sha256:1" });
    expect(b.size).toBe(2);
    expect("end" in (await b.acquire("a"))).toBe(true);
    expect(await b.acquire("c")).toEqual({ build: { file: "/c", digest: "sha256:1" } });
  });
});
