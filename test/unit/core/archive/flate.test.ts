import { describe, expect, test } from "bun:test";
import { inflateRawSync } from "node:zlib";
import { isCoreError } from "../../../../src/core/errors.ts";
import { GoDeflater, deflateSync } from "../../../../src/core/archive/flate.ts";
import { HuffmanEncoder } from "../../../../src/core/archive/flate/huffman.ts";
import { goGzip } from "../../../harness/oracles/gogzip.ts";
import { concat, fuzzCase, inputs, prng, randomBytes, yaml } from "./deflate-inputs.ts";

/** Go's raw deflate stream: its gzip output minus the 10-byte header and 8-byte trailer. */
function goDeflate(data: Uint8Array): Uint8Array {
  const gz = goGzip(data);
  return gz.subarray(10, gz.length - 8);
}

/** Index of the first differing byte, or -1; gives a readable failure instead of a megabyte diff. */
function firstDiff(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return a.length === b.length ? -1 : n;
}

/** Feeds `data` in pieces of `size` bytes and concatenates the output. */
function deflateChunked(data: Uint8Array, size: number): Uint8Array {
  const d = new GoDeflater();
  const out: Uint8Array[] = [];
  for (let p = 0; p < data.length; p += size) {
    d.writeNoTake(data.subarray(p, Math.min(p + size, data.length)));
    if (d.pending > 1 << 16) out.push(d.take());
  }
  out.push(d.close());
  return concat(...out);
}

describe("deflate is byte-identical to Go's compress/flate level 6", () => {
  for (const { name, data } of inputs()) {
    test(
      name,
      () => {
        const want = goDeflate(data);
        const got = deflateSync(data);
        expect({ size: got.length, firstDiff: firstDiff(got, want) }).toEqual({ size: want.length, firstDiff: -1 });
        expect(new Uint8Array(inflateRawSync(got))).toEqual(data);
      },
      30_000,
    );
  }

  test(
    "18 MiB: window slides past the 16 MiB hash-position rebase",
    () => {
      const block = concat(yaml(1 << 20, 7), randomBytes(64 * 1024, 8));
      const parts: Uint8Array[] = [];
      for (let i = 0; i < 17; i++) parts.push(block);
      const data = concat(...parts).subarray(0, 18 << 20);
      const got = deflateSync(data);
      expect(firstDiff(got, goDeflate(data))).toBe(-1);
    },
    60_000,
  );
});

test(
  "randomized differential: 300 small seeded inputs agree with Go",
  () => {
    const failures: string[] = [];
    for (let seed = 1; seed <= 300; seed++) {
      const data = fuzzCase(seed);
      const at = firstDiff(deflateSync(data), goDeflate(data));
      if (at !== -1) failures.push(`seed ${seed} (${data.length} bytes): first difference at byte ${at}`);
    }
    expect(failures).toEqual([]);
  },
  60_000,
);

describe("output does not depend on input chunking", () => {
  const cases = [
    { name: "yaml 300 KiB", data: yaml(300 * 1024, 11) },
    { name: "mixed 200 KiB", data: concat(yaml(70000, 12), randomBytes(60000, 13), yaml(70000, 14)) },
  ];
  for (const { name, data } of cases) {
    const whole = deflateSync(data);
    for (const size of [1, 7, 262, 4096, 100 * 1024]) {
      test(`${name} in ${size}-byte chunks`, () => {
        expect(firstDiff(deflateChunked(data, size), whole)).toBe(-1);
      });
    }
  }

  test("Go's one chunking-dependent corner: berth follows Go's full-window behaviour", () => {
    // Random data (all literals, so Go's cursor visits every position) with a copy from
    // 32674 bytes back placed at 64 KiB - 262. A first Write of 65535 bytes leaves Go's cursor
    // exactly there, so Go slides early and loses that match; one big Write keeps it.
    const data = randomBytes(70000, 123);
    data.copyWithin(65274, 32600, 32700);
    const goWhole = goGzip(data);
    const goOddWrites = goGzip(data, { chunk: 65535 });
    expect(firstDiff(goWhole, goOddWrites)).not.toBe(-1);
    const ours = deflateSync(data);
    expect(firstDiff(goWhole.subarray(10, goWhole.length - 8), ours)).toBe(-1);
    expect(firstDiff(deflateChunked(data, 65535), ours)).toBe(-1);
  });

  test("matches Go fed the way flux feeds it (512-byte tar headers, 32 KiB file reads)", () => {
    const data = yaml(3 << 20, 15);
    const want = goGzip(data, { chunk: 512 });
    expect(firstDiff(want.subarray(10, want.length - 8), deflateSync(data))).toBe(-1);
    const want32k = goGzip(data, { chunk: 32 * 1024 });
    expect(firstDiff(want32k.subarray(10, want32k.length - 8), deflateSync(data))).toBe(-1);
  });
});

describe("GoDeflater", () => {
  test("ends with Go's empty final stored block", () => {
    expect(Array.from(deflateSync(new Uint8Array(0)))).toEqual([0x01, 0x00, 0x00, 0xff, 0xff]);
    const out = deflateSync(yaml(10_000));
    expect(Array.from(out.subarray(out.length - 4))).toEqual([0x00, 0x00, 0xff, 0xff]);
  });

  test("emits output while input streams in (bounded buffering)", () => {
    const d = new GoDeflater();
    const data = randomBytes(1 << 20, 21);
    let emitted = 0;
    let maxPending = 0;
    for (let p = 0; p < data.length; p += 65536) {
      d.writeNoTake(data.subarray(p, p + 65536));
      maxPending = Math.max(maxPending, d.pending);
      emitted += d.take().length;
    }
    expect(emitted).toBeGreaterThan(data.length - 3 * 65536);
    expect(maxPending).toBeLessThan(3 * 65536);
    d.close();
  });

  test("rejects writes after close with an INTERNAL CoreError", () => {
    const d = new GoDeflater();
    d.close();
    let err: unknown;
    try {
      d.write(Uint8Array.of(1));
    } catch (e) {
      err = e;
    }
    expect(isCoreError(err, "INTERNAL")).toBe(true);
    expect((err as Error).message).toContain("write after close");
    expect(d.close().length).toBe(0);
  });
});

describe("HuffmanEncoder", () => {
  /** Kraft sum of the used code lengths: exactly 1 for a complete prefix code. */
  function kraft(h: HuffmanEncoder): number {
    let sum = 0;
    for (const len of h.lens) if (len > 0) sum += 2 ** -len;
    return sum;
  }

  test("builds a complete prefix code that matches a known optimum", () => {
    const h = new HuffmanEncoder(6);
    h.generate(Int32Array.from([5, 9, 12, 13, 16, 45]), 15);
    expect(Array.from(h.lens)).toEqual([4, 4, 3, 3, 3, 1]);
    expect(kraft(h)).toBe(1);
  });

  test("caps code lengths at maxBits for Fibonacci frequencies", () => {
    const freq = new Int32Array(30);
    let a = 1;
    let b = 1;
    for (let i = 0; i < 30; i++) {
      freq[i] = a;
      [a, b] = [b, a + b];
    }
    const h = new HuffmanEncoder(30);
    h.generate(freq, 15);
    expect(Math.max(...h.lens)).toBe(15);
    expect(kraft(h)).toBe(1);
    // The code-length code is capped at 7 bits.
    const codegen = new HuffmanEncoder(30);
    codegen.generate(freq, 7);
    expect(Math.max(...codegen.lens)).toBe(7);
  });

  test("codes are prefix-free and canonical (shorter codes first, symbol order within a length)", () => {
    const r = prng(31);
    const freq = new Int32Array(286);
    for (let i = 0; i < 286; i++) freq[i] = r() % 5 === 0 ? 0 : 1 + (r() % 1000);
    const h = new HuffmanEncoder(286);
    h.generate(freq, 15);
    const seen = new Set<string>();
    for (let s = 0; s < 286; s++) {
      if (freq[s] === 0) {
        expect(h.lens[s]).toBe(0);
        continue;
      }
      const len = h.lens[s]!;
      const msbFirst = h.codes[s]!.toString(2).padStart(len, "0").split("").reverse().join("");
      for (let l = 1; l < len; l++) expect(seen.has(msbFirst.slice(0, l))).toBe(false);
      seen.add(msbFirst);
    }
    expect(kraft(h)).toBe(1);
  });

  test("one or two used symbols get 1-bit codes", () => {
    const h = new HuffmanEncoder(4);
    h.generate(Int32Array.from([0, 3, 0, 8]), 15);
    expect(Array.from(h.lens)).toEqual([0, 1, 0, 1]);
    expect([h.codes[1], h.codes[3]]).toEqual([0, 1]);
  });
});
