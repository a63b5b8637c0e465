import { describe, expect, test } from "bun:test";
import { gunzipSync } from "node:zlib";
import { startDeflatePool } from "../../../../src/core/archive/deflate-pool.ts";
import { BitJoiner } from "../../../../src/core/archive/flate/encode-blocks.ts";
import { decodeState, encodeState, finalWindowBase, windowBase } from "../../../../src/core/archive/flate/segment-match.ts";
import { gzipStream, gzipSync } from "../../../../src/core/archive/gzip.ts";
import { inlineExecutor, parallelGoGzip, type DeflateExecutor, type ParallelGzipOptions } from "../../../../src/core/archive/parallel-gzip.ts";
import { goGzip } from "../../../harness/oracles/gogzip.ts";
import { chunked, collect, concat, sha256, inputs, prng, randomBytes, smallAlphabet, templatedManifests, yaml } from "./deflate-inputs.ts";

/** A phrase repeated with rare one-byte edits: long matches (258) that straddle every seam. */
function repetitive(n: number, seed: number): Uint8Array<ArrayBuffer> {
  const r = prng(seed);
  const phrase = randomBytes(3001, seed);
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = phrase[i % phrase.length]!;
  for (let i = 0; i < n / 20_000; i++) out[r() % n] = r() & 0xff;
  return out;
}

/** ~24 MiB that puts every kind of content (and long one-byte runs) across seams of any size. */
function mixed(): Uint8Array<ArrayBuffer> {
  return concat(
    yaml(3 << 20, 81),
    new Uint8Array(2_500_000), // a run of zeros spanning several segments
    randomBytes(1_300_001, 82),
    templatedManifests(3 << 20, 83),
    repetitive(4 << 20, 84),
    new Uint8Array(70_001).fill(0x61),
    smallAlphabet(1 << 20, 5, 85),
    yaml(5 << 20, 86),
    randomBytes(33_333, 87),
    yaml(3 << 20, 88),
  );
}

async function parallel(data: Uint8Array, exec: DeflateExecutor, opts: ParallelGzipOptions): Promise<Uint8Array> {
  return collect(parallelGoGzip(chunked(data, 100_000), exec, opts));
}

describe("parallel Go-exact gzip equals the sequential writer (in-thread executor, tiny segments)", () => {
  for (const { name, data } of inputs()) {
    test(name, async () => {
      const stats = { synced: 0, rematched: 0 };
      const got = await parallel(data, inlineExecutor, { segmentSize: 64 << 10, blocksPerTask: 1, stats });
      expect(sha256(got)).toBe(sha256(gzipSync(data)));
      if (data.length > 200_000) expect(stats.synced + stats.rematched).toBeGreaterThan(0);
    });
  }

  test("seams inside a run of one byte are matched again; text seams are found by agreement", async () => {
    const zeros = concat(yaml(200_000, 90), new Uint8Array(1 << 20), yaml(200_000, 91));
    const stats = { synced: 0, rematched: 0 };
    const got = await parallel(zeros, inlineExecutor, { segmentSize: 64 << 10, stats });
    expect(sha256(got)).toBe(sha256(goGzip(zeros)));
    expect(stats.rematched).toBeGreaterThan(0);
    expect(stats.synced).toBeGreaterThan(0);
  });

  test("input ending just after a seam, and inputs around one segment", async () => {
    const seg = 64 << 10;
    for (const n of [0, 1, seg - 1, seg, seg + 1, 2 * seg + 40_000, 3 * seg + 33_300, 3 * seg + 33_800, 4 * seg + 70_000]) {
      const data = yaml(n, n + 1);
      expect(sha256(await parallel(data, inlineExecutor, { segmentSize: seg }))).toBe(sha256(gzipSync(data)));
    }
  });
});

describe("parallel Go-exact gzip on workers equals Go (24 MiB mixed input)", () => {
  const data = mixed();
  const want = sha256(goGzip(data));

  const cases: { workers: number; segmentSize: number }[] = [
    { workers: 1, segmentSize: 64 << 10 },
    { workers: 2, segmentSize: 1 << 20 },
    { workers: 3, segmentSize: 256 << 10 },
    { workers: 2, segmentSize: 4 << 20 },
  ];
  for (const { workers, segmentSize } of cases) {
    test(`${workers} worker(s), ${segmentSize >> 10} KiB segments`, async () => {
      const pool = await startDeflatePool(workers);
      expect(pool).not.toBeNull();
      try {
        const stats = { synced: 0, rematched: 0 };
        const got = await parallel(data, pool!, { segmentSize, stats });
        expect(sha256(got)).toBe(want);
        expect(stats.synced).toBeGreaterThan(0);
        expect(stats.rematched).toBeGreaterThan(0);
      } finally {
        pool!.close();
      }
    }, 30_000);
  }

  test("gzipStream: workers 0, 1 and 2 give Go's bytes", async () => {
    const part = data.subarray(0, 9 << 20);
    const goPart = sha256(goGzip(part));
    for (const workers of [0, 1, 2]) {
      const got = await collect(gzipStream(chunked(part, 32 * 1024), { workers }));
      expect(sha256(got)).toBe(goPart);
    }
    expect(new Uint8Array(gunzipSync(await collect(gzipStream(chunked(part, 1 << 20), { workers: 2 })))).length).toBe(part.length);
  }, 30_000);
});

describe("gzipStream with workers", () => {
  test("a consumer that stops early does not hang, and the next stream still works", async () => {
    let got = 0;
    for await (const c of gzipStream(chunked(yaml(12 << 20, 75), 64 * 1024), { workers: 2 })) {
      got += c.length;
      if (got > 100_000) break;
    }
    expect(got).toBeGreaterThan(100_000);
    const small = yaml(200_000, 76);
    expect(await collect(gzipStream(chunked(small, 4096), { workers: 2 }))).toEqual(gzipSync(small));
  });

  test("source errors propagate", async () => {
    async function* broken(): AsyncIterable<Uint8Array> {
      yield yaml(9 << 20);
      throw new Error("disk gone");
    }
    await expect(collect(gzipStream(broken(), { workers: 2 }))).rejects.toThrow("disk gone");
  });

  test("a failing job fails the stream", async () => {
    const failing: DeflateExecutor = { ...inlineExecutor, encode: async () => Promise.reject(new Error("encoder broke")) };
    await expect(parallel(yaml(300_000), failing, { segmentSize: 64 << 10 })).rejects.toThrow("encoder broke");
  });
});

describe("building blocks", () => {
  test("BitJoiner concatenates bit strings, stored blocks pad to a byte", () => {
    const r = prng(7);
    const bits: number[] = [];
    const j = new BitJoiner();
    const out: Uint8Array[] = [];
    for (let k = 0; k < 200; k++) {
      const n = r() % 40;
      const data = new Uint8Array((n + 7) >> 3);
      for (let i = 0; i < n; i++) {
        const b = r() & 1;
        bits.push(b);
        if (b) data[i >> 3]! |= 1 << (i & 7);
      }
      out.push(j.push(data, n));
      if (k % 50 === 49) {
        out.push(j.pushStored(Uint8Array.of(0xab), false));
        bits.push(0, 0, 0);
        while (bits.length % 8) bits.push(0);
        for (const byte of [1, 0, 0xfe, 0xff, 0xab]) for (let i = 0; i < 8; i++) bits.push((byte >> i) & 1);
      }
    }
    out.push(j.end());
    while (bits.length % 8) bits.push(0);
    const want = new Uint8Array(bits.length / 8);
    bits.forEach((b, i) => (want[i >> 3]! |= b << (i & 7)));
    expect(concat(...out)).toEqual(want);
  });

  test("lazy states round-trip through their packed form", () => {
    for (const s of [
      { length: 3, offset: 0, byteAvailable: false },
      { length: 3, offset: 0, byteAvailable: true },
      { length: 4, offset: 1, byteAvailable: true },
      { length: 258, offset: 32768, byteAvailable: true },
      { length: 17, offset: 4096, byteAvailable: false },
    ]) {
      expect(decodeState(encodeState(s.length, s.offset, s.byteAvailable))).toEqual(s);
    }
  });

  test("window starts follow Go's slide schedule", () => {
    expect(windowBase(0, Infinity)).toBe(0);
    expect(windowBase(65274, Infinity)).toBe(0);
    expect(windowBase(65275, Infinity)).toBe(32768);
    expect(windowBase(98042, Infinity)).toBe(32768);
    expect(windowBase(98043, Infinity)).toBe(65536);
    expect(finalWindowBase(65536)).toBe(0);
    expect(finalWindowBase(65537)).toBe(32768);
    expect(finalWindowBase(98304)).toBe(32768);
    expect(windowBase(98200, finalWindowBase(98304))).toBe(32768);
  });
});
