import { describe, expect, test } from "bun:test";
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { crc32 as zlibCrc32, gunzipSync } from "node:zlib";
import { GO_GZIP_HEADER, GoGzipWriter, gzipStream, gzipSync } from "../../../../src/core/archive/gzip.ts";
import { crc32 } from "../../../../src/core/archive/flate/crc32.ts";
import { fluxociPath } from "../../../harness/oracles/fluxoci.ts";
import { goGzip } from "../../../harness/oracles/gogzip.ts";
import { chunked, collect, concat, sha256, inputs, prng, randomBytes, smallAlphabet, yaml } from "./deflate-inputs.ts";

/** The repo is checked out beside `shared/`, which holds the flux golden vectors. */
const VECTORS = join(import.meta.dir, "../../../../../shared/vectors/flux/gen");

describe("golden flux vectors (Go compress/gzip output)", () => {
  const cases = [
    { name: "sample", size: 297, digest: "58eb11fc244e7fdea44165e4a55cd929e4e8080a8d7bf5f6f46ca9360bc38aeb" },
    { name: "single", size: 172, digest: "2aa4fa04bde7690d5aab7dfc850248756c58494afaba6f7c9d5495e7704650fb" },
  ];
  for (const { name, size, digest } of cases) {
    test(`${name}.tar gzips to exactly ${name}.tgz`, async () => {
      const tar = new Uint8Array(readFileSync(join(VECTORS, `${name}.tar`)));
      const want = new Uint8Array(readFileSync(join(VECTORS, `${name}.tgz`)));
      expect(sha256(want)).toBe(digest);
      const got = await collect(gzipStream(chunked(tar, 512)));
      expect(got.length).toBe(size);
      expect(sha256(got)).toBe(digest);
      expect(gzipSync(tar)).toEqual(want);
    });
  }
});

test(
  "Flux's own oci.Build: re-gzipping its tar gives its exact .tgz (8 seeded trees)",
  () => {
    // Flux writes through tar.Writer (512-byte headers, 32 KiB file reads): a different
    // Write pattern from the one-shot oracle, and the real thing berth must match.
    const bin = fluxociPath();
    const root = mkdtempSync(join(tmpdir(), "berth-gzip-flux-"));
    try {
      const failures: string[] = [];
      for (let seed = 1; seed <= 8; seed++) {
        const r = prng(seed * 977);
        const dir = join(root, `tree-${seed}`);
        for (let i = 0, n = 3 + (r() % 12); i < n; i++) {
          const sub = join(dir, `d${r() % 3}`);
          mkdirSync(sub, { recursive: true });
          const size = r() % 300_000;
          const kind = r() % 3;
          const body = kind === 0 ? randomBytes(size, r()) : kind === 1 ? smallAlphabet(size, 8, r()) : yaml(size, r());
          writeFileSync(join(sub, `f${i}.yaml`), body);
        }
        const out = join(root, `tree-${seed}.tgz`);
        execFileSync(bin, ["build", dir, out]);
        const fluxTgz = new Uint8Array(readFileSync(out));
        const ours = gzipSync(new Uint8Array(gunzipSync(fluxTgz)));
        if (sha256(ours) !== sha256(fluxTgz)) failures.push(`tree ${seed}: ${ours.length} vs ${fluxTgz.length} bytes`);
      }
      expect(failures).toEqual([]);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  },
  120_000,
);

describe("gzip is byte-identical to Go's gzip.NewWriter", () => {
  for (const { name, data } of inputs()) {
    test(
      name,
      async () => {
        const want = goGzip(data);
        const got = await collect(gzipStream(chunked(data, 32 * 1024)));
        expect(got.length).toBe(want.length);
        expect(sha256(got)).toBe(sha256(want));
        expect(new Uint8Array(gunzipSync(got))).toEqual(data);
      },
      30_000,
    );
  }

  test("header, trailer and an empty input", () => {
    const out = gzipSync(new Uint8Array(0));
    expect(Array.from(out)).toEqual([...GO_GZIP_HEADER, 0x01, 0x00, 0x00, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 0]);
    const data = yaml(100_000);
    const gz = gzipSync(data);
    expect(Array.from(gz.subarray(0, 10))).toEqual([0x1f, 0x8b, 0x08, 0x00, 0, 0, 0, 0, 0x00, 0xff]);
    const trailer = new DataView(gz.buffer, gz.byteOffset + gz.length - 8, 8);
    expect(trailer.getUint32(0, true)).toBe(zlibCrc32(data));
    expect(trailer.getUint32(4, true)).toBe(100_000);
  });
});

describe("gzipStream", () => {
  const data = concat(yaml(400_000, 41), randomBytes(90_000, 42), yaml(300_000, 43));
  const whole = gzipSync(data);

  for (const size of [1, 7, 100 * 1024, 1 << 20]) {
    test(`same bytes whatever the chunking (${size}-byte chunks)`, async () => {
      expect(sha256(await collect(gzipStream(chunked(data, size))))).toBe(sha256(whole));
    }, 30_000);
  }

  test("a single huge chunk still comes out in pieces", async () => {
    const big = yaml(4 << 20, 44);
    const pieces: number[] = [];
    for await (const c of gzipStream(chunked(big, big.length))) pieces.push(c.length);
    expect(pieces.length).toBeGreaterThan(2);
    expect(Math.max(...pieces)).toBeLessThan(512 * 1024);
  });

  test("an empty stream gives Go's 23-byte empty gzip", async () => {
    expect(await collect(gzipStream(chunked(new Uint8Array(0), 1)))).toEqual(goGzip(new Uint8Array(0)));
  });

  test('impl "zlib" produces valid gzip that differs from flux\'s bytes', async () => {
    const tar = new Uint8Array(readFileSync(join(VECTORS, "sample.tar")));
    const z = await collect(gzipStream(chunked(tar, 4096), { impl: "zlib" }));
    expect(new Uint8Array(gunzipSync(z))).toEqual(tar);
    expect(sha256(z)).not.toBe("58eb11fc244e7fdea44165e4a55cd929e4e8080a8d7bf5f6f46ca9360bc38aeb");
  });

  test("propagates source errors", async () => {
    async function* broken(): AsyncIterable<Uint8Array> {
      yield yaml(1000);
      throw new Error("disk gone");
    }
    await expect(collect(gzipStream(broken()))).rejects.toThrow("disk gone");
  });
});

describe("GoGzipWriter and crc32", () => {
  test("writer pieces concatenate to the one-shot result", () => {
    const data = yaml(200_000, 51);
    const w = new GoGzipWriter();
    const parts: Uint8Array[] = [];
    for (let p = 0; p < data.length; p += 3000) parts.push(w.write(data.subarray(p, p + 3000)));
    parts.push(w.close());
    expect(concat(...parts)).toEqual(gzipSync(data));
    expect(w.close().length).toBe(0);
  });

  test("crc32 agrees with zlib, including when continued across pieces", () => {
    for (const n of [0, 1, 7, 8, 9, 1000, 65537]) {
      const d = randomBytes(n, 60 + n);
      expect(crc32(d)).toBe(zlibCrc32(d));
      const cut = n >> 1;
      expect(crc32(d.subarray(cut), crc32(d.subarray(0, cut)))).toBe(zlibCrc32(d));
    }
  });
});
