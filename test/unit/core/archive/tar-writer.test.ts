import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  TYPE_DIR,
  TYPE_FILE,
  cleanPath,
  encodeTarHeader,
  splitUstarPath,
  tarStream,
} from "../../../../src/core/archive/tar-writer.ts";
import { tarArtifactTree } from "../../../../src/core/artifact/build.ts";
import { isCoreError } from "../../../../src/core/errors.ts";
import { goTar } from "../../../harness/oracles/gotar.ts";

const VECTORS = "/work/shared/vectors/flux";
let tmp: string;
let trees: string;

beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), "berth-tar-"));
  trees = join(tmp, "trees");
  execFileSync(join(VECTORS, "make-trees.sh"), [trees], { stdio: "ignore" });
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

async function collect(src: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for await (const c of src) parts.push(c);
  return new Uint8Array(Buffer.concat(parts));
}

/** berth's tar of a tree with no ignore rules, the same layout the Go oracle writes. */
async function berthTar(dir: string, opts: Parameters<typeof tarArtifactTree>[1] = { ignorePaths: [] }): Promise<Uint8Array> {
  return collect((await tarArtifactTree(dir, { sourceIgnore: false, ...opts })).tar);
}

const sha = (b: Uint8Array) => "sha256:" + createHash("sha256").update(b).digest("hex");
const field = (b: Uint8Array, off: number, len: number) => Buffer.from(b.subarray(off, off + len)).toString("latin1");

describe("golden vectors", () => {
  test("sample tree: tar bytes equal gen/sample.tar, diffID 4dc4e703…", async () => {
    const got = await berthTar(join(trees, "sample"), {});
    expect(sha(got)).toBe("sha256:4dc4e703814337151185eb951abe273b79ef53609a65586ef536c5f53a5f0036");
    expect(Buffer.from(got).equals(readFileSync(join(VECTORS, "gen/sample.tar")))).toBe(true);
  });
  test("single tree (0700 root): tar bytes equal gen/single.tar, diffID 147cc700…", async () => {
    const got = await berthTar(join(trees, "single"), {});
    expect(got.length).toBe(2560);
    expect(sha(got)).toBe("sha256:147cc7007f60f29070c192fa140efa0102963c802935698319c8bea70b4717aa");
    expect(Buffer.from(got).equals(readFileSync(join(VECTORS, "gen/single.tar")))).toBe(true);
  });
  test("single file staged the flux 2.9 way gives the single vector", async () => {
    const got = await berthTar(join(trees, "single", "manifest.yaml"), {});
    expect(sha(got)).toBe("sha256:147cc7007f60f29070c192fa140efa0102963c802935698319c8bea70b4717aa");
  });
});

describe("header encoding", () => {
  test("USTAR field formats: octal widths, checksum `%06o\\0 `, magic, zero devmajor/minor", () => {
    const h = encodeTarHeader({ name: "run.sh", mode: 0o755, size: 18 });
    expect(h.length).toBe(512);
    expect(field(h, 0, 7)).toBe("run.sh\0");
    expect(field(h, 100, 8)).toBe("0000755\0");
    expect(field(h, 108, 8)).toBe("0000000\0");
    expect(field(h, 116, 8)).toBe("0000000\0");
    expect(field(h, 124, 12)).toBe("00000000022\0");
    expect(field(h, 136, 12)).toBe("00000000000\0");
    expect(field(h, 156, 1)).toBe("0");
    expect(field(h, 257, 8)).toBe("ustar\x0000");
    expect(field(h, 329, 16)).toBe("0000000\x000000000\0");
    let sum = 0;
    for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 32 : h[i]!;
    expect(field(h, 148, 8)).toBe(sum.toString(8).padStart(6, "0") + "\0 ");
  });

  test("a 101..256-byte ASCII path is split into prefix and name", () => {
    const name = "a".repeat(60) + "/" + "b".repeat(60) + "/file.yaml";
    expect(splitUstarPath(name)).toEqual(["a".repeat(60) + "/" + "b".repeat(60), "file.yaml"]);
    const h = encodeTarHeader({ name, mode: 0o644, size: 2 });
    expect(h.length).toBe(512);
    expect(field(h, 0, 10)).toBe("file.yaml\0");
    expect(field(h, 345, 122)).toBe("a".repeat(60) + "/" + "b".repeat(60) + "\0");
  });

  test.each([
    ["exactly 100 bytes stays in the name field", "x".repeat(100), false],
    ["a 101-byte name without a slash needs PAX", "x".repeat(101), true],
    ["a base name over 100 bytes needs PAX", "d/" + "c".repeat(120) + ".yaml", true],
    ["a prefix over 155 bytes needs PAX", "p".repeat(156) + "/f", true],
    ["non-ASCII needs PAX even when short", "ünï.yaml", true],
  ])("%s", (_, name, pax) => {
    const h = encodeTarHeader({ name, mode: 0o644, size: 1 });
    expect(h.length > 512).toBe(pax);
    if (pax) expect(String.fromCharCode(h[156]!)).toBe("x");
  });

  test("PAX header name: <dir>/PaxHeaders.0/<base>, ASCII only, cut to 100 bytes; records sorted", () => {
    const h = encodeTarHeader({ name: "ünï.yaml", mode: 0o644, size: 2 });
    expect(field(h, 0, 20)).toBe("PaxHeaders.0/n.yaml\0");
    const rec = "path=ünï.yaml\n";
    const len = Buffer.byteLength(rec) + 3;
    expect(Buffer.from(h.subarray(512, 512 + len)).toString()).toBe(`${len} ${rec}`);
    expect(field(h, 1024, 7)).toBe("n.yaml\0");
    const long = "d/" + "e".repeat(150);
    const h2 = encodeTarHeader({ name: long, mode: 0o644 });
    expect(field(h2, 0, 100)).toBe(("d/PaxHeaders.0/" + "e".repeat(150)).slice(0, 100));
  });

  test("sizes of 8 GiB and more get a PAX size record and a zero octal size", () => {
    const size = 8 * 2 ** 30;
    const h = encodeTarHeader({ name: "big.bin", mode: 0o644, size });
    expect(h.length).toBe(1536);
    expect(Buffer.from(h.subarray(512, 1024)).toString().replace(/\0+$/, "")).toBe("19 size=8589934592\n");
    expect(field(h, 1024 + 124, 12)).toBe("00000000000\0");
    expect(encodeTarHeader({ name: "big.bin", mode: 0o644, size: size - 1 }).length).toBe(512);
  });

  test("cleanPath follows Go path.Clean", () => {
    expect(cleanPath("a//b/./c/..")).toBe("a/b");
    expect(cleanPath("../../x")).toBe("../../x");
    expect(cleanPath("/../x")).toBe("/x");
    expect(cleanPath("")).toBe(".");
  });

  test("tarStream rejects a body shorter or longer than its header", async () => {
    async function* body(n: number) {
      yield new Uint8Array(n);
    }
    for (const n of [3, 5]) {
      const err = await collect(tarStream([{ header: { name: "f", mode: 0o644, size: 4 }, body: body(n) }])).catch((e) => e);
      expect(isCoreError(err, "STORAGE_FAILED")).toBe(true);
    }
  });

  test("tarStream pads to 512 and ends with exactly two zero blocks (no 10240 record)", async () => {
    async function* body() {
      yield new Uint8Array([1, 2, 3]);
    }
    const t = await collect(
      tarStream([
        { header: { name: ".", type: TYPE_DIR, mode: 0o755 } },
        { header: { name: "a", type: TYPE_FILE, mode: 0o644, size: 3 }, body: body() },
      ]),
    );
    expect(t.length).toBe(512 * 5);
    expect(t.subarray(1024 + 3).every((b) => b === 0)).toBe(true);
  });
});

describe("byte parity with Go archive/tar (oracle)", () => {
  function tree(name: string, build: (d: string) => void): string {
    const d = join(tmp, "oracle", name);
    mkdirSync(d, { recursive: true });
    build(d);
    return d;
  }
  const cases: [string, (d: string) => void][] = [
    ["long names (vector tree)", () => {}],
    ["unicode names and dirs", (d) => {
      mkdirSync(join(d, "日本"));
      writeFileSync(join(d, "日本", "ファイル.yaml"), "a: 1\n");
      writeFileSync(join(d, "é.txt"), "e");
      writeFileSync(join(d, "\u{1F600}.yaml"), "smile");
      writeFileSync(join(d, "\uFFFD.txt"), "r");
      mkdirSync(join(d, "ü".repeat(60)));
      writeFileSync(join(d, "ü".repeat(60), "x".repeat(90)), "deep");
    }],
    ["modes: 0700 dirs, executables, setuid/sticky, read-only", (d) => {
      mkdirSync(join(d, "private"));
      chmodSync(join(d, "private"), 0o700);
      writeFileSync(join(d, "private", "key"), "k");
      writeFileSync(join(d, "exec.sh"), "#!/bin/sh\n");
      chmodSync(join(d, "exec.sh"), 0o755);
      writeFileSync(join(d, "suid"), "s");
      chmodSync(join(d, "suid"), 0o4755);
      mkdirSync(join(d, "sticky"));
      chmodSync(join(d, "sticky"), 0o1777);
      writeFileSync(join(d, "ro"), "r");
      chmodSync(join(d, "ro"), 0o400);
      chmodSync(d, 0o750);
    }],
    ["empty files, empty dirs, block-boundary sizes", (d) => {
      writeFileSync(join(d, "empty"), "");
      mkdirSync(join(d, "emptydir"));
      for (const n of [1, 511, 512, 513, 1024, 100_000]) writeFileSync(join(d, `f${n}`), Buffer.alloc(n, n % 251));
    }],
    ["deep nesting and name-length boundaries", (d) => {
      let p = d;
      for (let i = 0; i < 30; i++) {
        p = join(p, `level-${i}`);
        mkdirSync(p);
      }
      writeFileSync(join(p, "leaf.yaml"), "x");
      writeFileSync(join(d, "n".repeat(100)), "100");
      writeFileSync(join(d, "n".repeat(101)), "101");
      mkdirSync(join(d, "p".repeat(155)));
      writeFileSync(join(d, "p".repeat(155), "q".repeat(100)), "max split");
      writeFileSync(join(d, "p".repeat(155), "q".repeat(101)), "too long");
      mkdirSync(join(d, "p".repeat(154) + "/"), { recursive: true });
      mkdirSync(join(d, "s".repeat(99)));
      writeFileSync(join(d, "s".repeat(99), "t"), "split at 100");
    }],
    ["sort order: a, a/b, a.txt; uppercase before lowercase", (d) => {
      mkdirSync(join(d, "a"));
      writeFileSync(join(d, "a", "b"), "b");
      writeFileSync(join(d, "a.txt"), "t");
      writeFileSync(join(d, "B"), "B");
      writeFileSync(join(d, "a-b"), "-");
      writeFileSync(join(d, "a_b"), "_");
    }],
  ];
  test.each(cases)("%s", async (name, build) => {
    const dir = name.startsWith("long") ? join(trees, "long") : tree(name.replace(/\W+/g, "-"), build);
    const want = goTar(dir);
    const got = await berthTar(dir);
    expect(sha(got)).toBe(sha(want));
    expect(got.length).toBe(want.length);
  });

  test("the long vector tree uses both the prefix split and PAX", async () => {
    const got = await berthTar(join(trees, "long"));
    const types: string[] = [];
    for (let off = 0; off + 512 <= got.length; ) {
      const size = parseInt(field(got, off + 124, 11), 8) || 0;
      if (got[off] === 0) break;
      types.push(String.fromCharCode(got[off + 156]!) + (got[off + 345] ? "p" : ""));
      off += 512 + Math.ceil(size / 512) * 512;
    }
    expect(types.filter((t) => t === "x").length).toBe(2);
    expect(types).toContain("0p");
  });
});
