import { describe, expect, test } from "bun:test";
import { rechunk } from "../../../../src/core/registry/repository.ts";

async function* from(parts: number[]): AsyncGenerator<Uint8Array> {
  let v = 0;
  for (const n of parts) yield Uint8Array.from({ length: n }, () => v++ & 255);
}

async function sizes(parts: number[], size: number): Promise<{ sizes: number[]; bytes: number[] }> {
  const out: number[] = [];
  const bytes: number[] = [];
  for await (const c of rechunk(from(parts), size)) {
    out.push(c.byteLength);
    bytes.push(...c);
  }
  return { sizes: out, bytes };
}

describe("rechunk", () => {
  const cases: [string, number[], number, number[]][] = [
    ["exact multiple", [4, 4], 4, [4, 4]],
    ["small pieces merge", [1, 1, 1, 1, 1], 2, [2, 2, 1]],
    ["big piece splits", [10], 3, [3, 3, 3, 1]],
    ["mixed", [2, 7, 0, 3], 5, [5, 5, 2]],
    ["empty", [], 5, []],
    ["only empty pieces", [0, 0], 5, []],
  ];
  for (const [name, parts, size, want] of cases) {
    test(name, async () => {
      const got = await sizes(parts, size);
      expect(got.sizes).toEqual(want);
      const total = parts.reduce((a, b) => a + b, 0);
      expect(got.bytes).toEqual(Array.from({ length: total }, (_, i) => i & 255));
    });
  }
  test("one buffer serves every full piece, so memory does not grow with the blob", async () => {
    const seen = new Set<ArrayBufferLike>();
    const copies: number[][] = [];
    for await (const c of rechunk(from([6, 1]), 2)) {
      seen.add(c.buffer);
      copies.push([...c]);
    }
    expect(copies).toEqual([[0, 1], [2, 3], [4, 5], [6]]);
    expect(seen.size).toBe(1);
  });
});
