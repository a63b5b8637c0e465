import { describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { gunzipSync } from "node:zlib";
import { gzipStream, gzipSync } from "../../../../src/core/archive/gzip.ts";
import { pipelinedGoGzip } from "../../../../src/core/archive/gzip-pipe.ts";
import { goGzip } from "../../../harness/oracles/gogzip.ts";
import { concat, randomBytes, smallAlphabet, yaml } from "./deflate-inputs.ts";

function sha256(b: Uint8Array): string {
  return createHash("sha256").update(b).digest("hex");
}

async function* chunked(data: Uint8Array, size: number): AsyncIterable<Uint8Array> {
  for (let p = 0; p < data.length; p += size) yield data.subarray(p, Math.min(p + size, data.length));
}

async function collect(src: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for await (const c of src) parts.push(c);
  return concat(...parts);
}

describe("deflate on a worker thread (workers >= 2)", () => {
  test("a worker starts under bun", async () => {
    const it = await pipelinedGoGzip(chunked(new Uint8Array(0), 1));
    expect(it).not.toBeNull();
    expect(await collect(it!)).toEqual(gzipSync(new Uint8Array(0)));
  });

  const data = concat(yaml(3 << 20, 71), randomBytes(700_000, 72), smallAlphabet(900_000, 6, 73), yaml(1 << 20, 74));
  const want = goGzip(data);

  for (const size of [1000, 32 * 1024, 5 << 20]) {
    test(`equals the in-thread writer and Go (${size}-byte input chunks)`, async () => {
      const threaded = await collect(gzipStream(chunked(data, size), { workers: 2 }));
      const inThread = await collect(gzipStream(chunked(data, size), { workers: 1 }));
      expect(sha256(threaded)).toBe(sha256(want));
      expect(sha256(inThread)).toBe(sha256(want));
      expect(new Uint8Array(gunzipSync(threaded)).length).toBe(data.length);
    }, 30_000);
  }

  test("a consumer that stops early does not hang, and the next stream still works", async () => {
    let got = 0;
    for await (const c of gzipStream(chunked(yaml(8 << 20, 75), 64 * 1024), { workers: 2 })) {
      got += c.length;
      if (got > 100_000) break;
    }
    expect(got).toBeGreaterThan(100_000);
    const small = yaml(200_000, 76);
    expect(await collect(gzipStream(chunked(small, 4096), { workers: 2 }))).toEqual(gzipSync(small));
  });

  test("source errors propagate", async () => {
    async function* broken(): AsyncIterable<Uint8Array> {
      yield yaml(3 << 20);
      throw new Error("disk gone");
    }
    await expect(collect(gzipStream(broken(), { workers: 2 }))).rejects.toThrow("disk gone");
  });
});
