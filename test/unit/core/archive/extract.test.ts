import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  lstatSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createGzip, gzipSync } from "node:zlib";
import { Readable } from "node:stream";
import { extractTarGz, NOT_GZIP_MESSAGE, readTarEntries } from "../../../../src/core/archive/extract.ts";
import { encodeTarHeader, rawHeaderBlock, tarPadding, TAR_TRAILER } from "../../../../src/core/archive/tar-writer.ts";
import { buildArtifactArchive } from "../../../../src/core/artifact/build.ts";
import { verifyStream } from "../../../../src/core/oci/digest.ts";
import { isCoreError, type ErrorCode } from "../../../../src/core/errors.ts";

let tmp: string;
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), "berth-extract-"));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

interface E {
  name: string;
  type?: string;
  mode?: number;
  data?: string | Uint8Array;
  linkname?: string;
  mtime?: number;
  /** Declared size when it should differ from the data (truncation tests). */
  size?: number;
}

/** Tar bytes built with berth's Go-exact writer (so hostile names are encoded as Go would). */
function tarOf(entries: E[], trailer = true): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const e of entries) {
    const data = typeof e.data === "string" ? new TextEncoder().encode(e.data) : (e.data ?? new Uint8Array(0));
    const size = e.size ?? data.length;
    parts.push(encodeTarHeader({ name: e.name, type: e.type ?? "0", mode: e.mode ?? 0o644, size, linkname: e.linkname, mtime: e.mtime }));
    parts.push(data, new Uint8Array(tarPadding(data.length)));
  }
  if (trailer) parts.push(TAR_TRAILER);
  return new Uint8Array(Buffer.concat(parts));
}

async function* chunks(b: Uint8Array, size = 4096): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < b.length; i += size) yield b.subarray(i, i + size);
}

const gz = (b: Uint8Array) => new Uint8Array(gzipSync(b));

/** Snapshot of a directory (names, types, modes, contents) to prove it did not change. */
function snapshot(dir: string): string {
  if (!existsSync(dir)) return "<missing>";
  const out: string[] = [];
  const walk = (d: string, rel: string) => {
    for (const n of readdirSync(d).sort()) {
      const p = join(d, n);
      const st = lstatSync(p);
      const r = rel ? `${rel}/${n}` : n;
      if (st.isDirectory()) {
        out.push(`${r}/ ${st.mode.toString(8)}`);
        walk(p, r);
      } else if (st.isSymbolicLink()) out.push(`${r} -> link`);
      else out.push(`${r} ${st.mode.toString(8)} ${createHash("sha256").update(readFileSync(p)).digest("hex")}`);
    }
  };
  walk(dir, "");
  return out.join("\n");
}

let caseNo = 0;
/** A fresh `<case>/dest` holding one file, plus the case dir to check for leaks and leftovers. */
function freshDest(): { root: string; dest: string } {
  const root = join(tmp, `case-${caseNo++}`);
  const dest = join(root, "dest");
  mkdirSync(dest, { recursive: true });
  writeFileSync(join(dest, "existing.txt"), "keep me\n");
  return { root, dest };
}

async function expectRejected(src: AsyncIterable<Uint8Array>, code: ErrorCode, msg: RegExp, opts = {}) {
  const { root, dest } = freshDest();
  const before = snapshot(root);
  const err = await extractTarGz(src, dest, opts).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(isCoreError(err)).toBe(true);
  expect((err as { code: string }).code).toBe(code);
  expect((err as Error).message).toMatch(msg);
  // destDir unchanged, nothing written next to or outside it, no temp dir left behind.
  expect(snapshot(root)).toBe(before);
  expect(readdirSync(root)).toEqual(["dest"]);
  expect(existsSync(join(tmp, "etc"))).toBe(false);
  return err as Error;
}

describe("hostile archives", () => {
  test.each([
    ["../../etc/passwd", /'\.\.' component/],
    ["/abs/path", /absolute/],
    ["a/../../x", /'\.\.' component/],
    ["a/..", /'\.\.' component/],
    ["a\\..\\..\\x", /backslash/],
  ])("name %p is rejected", async (name, msg) => {
    const tar = tarOf([{ name: "ok.txt", data: "fine" }, { name, data: "pwned" }]);
    await expectRejected(chunks(gz(tar)), "ARCHIVE_INVALID", msg);
  });

  test("a PAX path record with '..' is rejected even when the USTAR name is harmless", async () => {
    const rec = "20 path=../evil.txt\n";
    const tar = Buffer.concat([
      rawHeaderBlock({ name: "PaxHeaders.0/harmless", typeflag: "x", size: rec.length }),
      Buffer.from(rec.padEnd(512, "\0")),
      rawHeaderBlock({ name: "harmless", typeflag: "0", mode: 0o644, size: 0 }),
      TAR_TRAILER,
    ]);
    await expectRejected(chunks(gz(tar)), "ARCHIVE_INVALID", /'\.\.' component/);
  });

  test("a GNU long name with '..' is rejected", async () => {
    const long = "../" + "x".repeat(120);
    const tar = Buffer.concat([
      rawHeaderBlock({ name: "././@LongLink", typeflag: "L", size: long.length + 1, magic: "gnu" }),
      Buffer.from((long + "\0").padEnd(512, "\0")),
      rawHeaderBlock({ name: "x".repeat(100), typeflag: "0", mode: 0o644, magic: "gnu" }),
      TAR_TRAILER,
    ]);
    await expectRejected(chunks(gz(tar)), "ARCHIVE_INVALID", /'\.\.' component/);
  });

  test("symlink to /etc then a file through it: link skipped, file lands inside destDir", async () => {
    const { root, dest } = freshDest();
    const tar = tarOf([
      { name: "etc", type: "2", linkname: "/etc" },
      { name: "etc/berth-pwned", data: "x" },
    ]);
    const r = await extractTarGz(chunks(gz(tar)), dest);
    expect(r.skipped).toEqual([{ name: "etc", kind: "symlink", target: "/etc" }]);
    expect(existsSync("/etc/berth-pwned")).toBe(false);
    expect(lstatSync(join(dest, "etc")).isDirectory()).toBe(true);
    expect(readFileSync(join(dest, "etc", "berth-pwned"), "utf8")).toBe("x");
    expect(readdirSync(root)).toEqual(["dest"]);
  });

  test("symlinks fail the extraction when skipSymlinks is false", async () => {
    const tar = tarOf([{ name: "etc", type: "2", linkname: "/etc" }]);
    await expectRejected(chunks(gz(tar)), "ARCHIVE_INVALID", /is a symlink/, { skipSymlinks: false });
  });

  test("a symlink already in destDir is replaced, never followed", async () => {
    const { root, dest } = freshDest();
    const outside = join(root, "outside");
    mkdirSync(outside);
    symlinkSync(outside, join(dest, "sub"));
    const tar = tarOf([{ name: "sub", type: "5", mode: 0o755 }, { name: "sub/f.yaml", data: "f" }]);
    await extractTarGz(chunks(gz(tar)), dest);
    expect(readdirSync(outside)).toEqual([]);
    expect(lstatSync(join(dest, "sub")).isDirectory()).toBe(true);
    expect(readFileSync(join(dest, "sub", "f.yaml"), "utf8")).toBe("f");
  });

  test("hard link to /etc/passwd is skipped and reported, nothing is created", async () => {
    const { dest } = freshDest();
    const tar = tarOf([{ name: "passwd", type: "1", linkname: "/etc/passwd" }, { name: "a.txt", data: "a" }]);
    const r = await extractTarGz(chunks(gz(tar)), dest);
    expect(r.skipped).toEqual([{ name: "passwd", kind: "hardlink", target: "/etc/passwd" }]);
    expect(existsSync(join(dest, "passwd"))).toBe(false);
    expect(r.files).toBe(1);
  });

  test.each([
    ["character device", "3"],
    ["block device", "4"],
    ["FIFO", "6"],
    ["GNU sparse file", "S"],
  ])("%s is rejected", async (what, type) => {
    const tar = tarOf([{ name: "ok.txt", data: "ok" }, { name: "dev", type, mode: 0o666 }]);
    await expectRejected(chunks(gz(tar)), "ARCHIVE_INVALID", new RegExp(what));
  });

  test("decompression bomb: a 1 GiB entry stops at its header, quickly, writing nothing", async () => {
    const GiB = 1 << 30;
    async function* bomb(): AsyncGenerator<Uint8Array> {
      yield encodeTarHeader({ name: "bomb.bin", mode: 0o644, size: GiB });
      const zeros = new Uint8Array(1 << 20);
      for (let i = 0; i < 1024; i++) yield zeros;
      yield TAR_TRAILER;
    }
    const gzipped = Readable.from(bomb()).pipe(createGzip({ level: 1 })) as AsyncIterable<Uint8Array>;
    const t0 = performance.now();
    await expectRejected(gzipped, "SIZE_EXCEEDED", /bomb\.bin.*bigger than max archive size of 104857600 bytes/);
    expect(performance.now() - t0).toBeLessThan(3000);
  });

  test("many entries under the per-file size add up past the cap: fails, partial output discarded", async () => {
    const data = new Uint8Array(300 * 1024).fill(7);
    const tar = tarOf(Array.from({ length: 5 }, (_, i) => ({ name: `f${i}.bin`, data })));
    await expectRejected(chunks(gz(tar), 1 << 16), "SIZE_EXCEEDED", /f3\.bin/, { maxSize: 1 << 20 });
  });

  test("per-file cap", async () => {
    const tar = tarOf([{ name: "big.bin", data: new Uint8Array(2048) }]);
    await expectRejected(chunks(gz(tar)), "SIZE_EXCEEDED", /per-file limit/, { maxFileSize: 1024 });
  });

  test("extension headers count against the size cap and are limited to 1 MiB", async () => {
    const value = "x".repeat((1 << 20) + 10);
    const rec = `${value.length + 20} comment=${value}\n`;
    const fixed = `${rec.length} comment=${value}\n`;
    const tar = Buffer.concat([
      rawHeaderBlock({ name: "PaxHeaders.0/a", typeflag: "x", size: fixed.length }),
      Buffer.from(fixed),
      Buffer.alloc(tarPadding(fixed.length)),
      rawHeaderBlock({ name: "a", typeflag: "0", mode: 0o644 }),
      TAR_TRAILER,
    ]);
    await expectRejected(chunks(gz(tar)), "ARCHIVE_INVALID", /extension header is larger/);
  });

  test("100_001 tiny entries hit the default entry cap", async () => {
    // Repeated directory entries: the cap must trip on the count alone, without waiting on 100k file creations.
    const hdr = encodeTarHeader({ name: "d", type: "5", mode: 0o755 });
    async function* many(): AsyncGenerator<Uint8Array> {
      const batch = Buffer.concat(Array.from({ length: 1000 }, () => hdr));
      for (let i = 0; i < 101; i++) yield batch;
      yield TAR_TRAILER;
    }
    const gzipped = Readable.from(many()).pipe(createGzip({ level: 1 })) as AsyncIterable<Uint8Array>;
    await expectRejected(gzipped, "SIZE_EXCEEDED", /more than 100000 entries/);
  }, 30_000);

  test("truncated tar inside a file's content", async () => {
    const tar = tarOf([{ name: "a.txt", data: "hello" }], false);
    await expectRejected(chunks(gz(tar.subarray(0, 512 + 3))), "ARCHIVE_INVALID", /truncated/);
  });

  test("truncated gzip stream", async () => {
    const z = gz(tarOf([{ name: "a.txt", data: "hello world ".repeat(1000) }]));
    await expectRejected(chunks(z.subarray(0, z.length - 20)), "ARCHIVE_INVALID", /gzip/);
  });

  test("non-gzip blob", async () => {
    const err = await expectRejected(chunks(tarOf([{ name: "a", data: "plain tar" }])), "ARCHIVE_INVALID", /not a gzip/);
    expect(err.message).toBe(NOT_GZIP_MESSAGE);
    await expectRejected(chunks(new Uint8Array(0)), "ARCHIVE_INVALID", /not a gzip/);
    await expectRejected(chunks(new Uint8Array([0x1f])), "ARCHIVE_INVALID", /not a gzip/);
  });

  test("corrupt header checksum and zero block followed by data", async () => {
    const tar = tarOf([{ name: "a.txt", data: "a" }]);
    tar[10] = 0x41;
    await expectRejected(chunks(gz(tar)), "ARCHIVE_INVALID", /checksum/);
    const t2 = Buffer.concat([new Uint8Array(512), tarOf([{ name: "a", data: "a" }])]);
    await expectRejected(chunks(gz(t2)), "ARCHIVE_INVALID", /zero block followed by data/);
  });

  test("a file and a directory with the same name", async () => {
    const tar = tarOf([{ name: "x", data: "f" }, { name: "x/y", data: "g" }]);
    await expectRejected(chunks(gz(tar)), "ARCHIVE_INVALID", /both a file and a directory/);
  });

  test("a digest mismatch reported after the tar end marker still leaves destDir untouched", async () => {
    const z = gz(tarOf([{ name: "a.txt", data: "a" }]));
    const wrong = { digest: "sha256:" + "0".repeat(64), size: z.length };
    await expectRejected(verifyStream(chunks(z), wrong), "DIGEST_MISMATCH", /digest/);
  });

  test("cancellation", async () => {
    const ac = new AbortController();
    ac.abort();
    await expectRejected(chunks(gz(tarOf([{ name: "a", data: "a" }]))), "CANCELLED", /cancelled/, { signal: ac.signal });
  });
});

describe("extraction", () => {
  test("round trip of a built artifact: names, contents, modes, epoch mtimes", async () => {
    const trees = join(tmp, "trees");
    execFileSync("/work/shared/vectors/flux/make-trees.sh", [trees], { stdio: "ignore" });
    const tgz = join(tmp, "sample.tgz");
    await buildArtifactArchive(join(trees, "sample"), tgz);
    const { dest } = freshDest();
    const r = await extractTarGz(chunks(new Uint8Array(readFileSync(tgz))), dest);
    expect(r).toMatchObject({ entries: 6, files: 4, dirs: 1, skipped: [] });
    expect(readdirSync(dest).sort()).toEqual([".env", "deployment.yaml", "existing.txt", "run.sh", "sub"]);
    for (const f of [".env", "deployment.yaml", "run.sh", "sub/b.yaml"]) {
      expect(readFileSync(join(dest, f))).toEqual(readFileSync(join(trees, "sample", f)));
    }
    expect(statSync(join(dest, "run.sh")).mode & 0o777).toBe(0o755);
    expect(statSync(join(dest, "sub/b.yaml")).mode & 0o777).toBe(0o644);
    expect(statSync(join(dest, "sub/b.yaml")).mtimeMs).toBe(0);
    expect(readFileSync(join(dest, "existing.txt"), "utf8")).toBe("keep me\n");
  });

  test("same-named files are replaced, others kept; a missing destDir is created", async () => {
    const { dest } = freshDest();
    writeFileSync(join(dest, "a.txt"), "old");
    await extractTarGz(chunks(gz(tarOf([{ name: "./a.txt", data: "new" }, { name: ".", type: "5", mode: 0o700 }]))), dest);
    expect(readFileSync(join(dest, "a.txt"), "utf8")).toBe("new");
    expect(readFileSync(join(dest, "existing.txt"), "utf8")).toBe("keep me\n");
    const fresh = join(tmp, "brand", "new");
    await extractTarGz(chunks(gz(tarOf([{ name: "a.txt", data: "x" }]))), fresh);
    expect(readFileSync(join(fresh, "a.txt"), "utf8")).toBe("x");
  });

  test("a directory of destDir where the archive has a file fails before anything moves", async () => {
    const { root, dest } = freshDest();
    mkdirSync(join(dest, "conf"));
    const before = snapshot(root);
    const err = await extractTarGz(chunks(gz(tarOf([{ name: "a.txt", data: "a" }, { name: "conf", data: "c" }]))), dest).catch((e) => e);
    expect(isCoreError(err, "STORAGE_FAILED")).toBe(true);
    expect(snapshot(root)).toBe(before);
    expect(readdirSync(root)).toEqual(["dest"]);
  });

  test("modes: directories get 0700 added, setuid/setgid/sticky are dropped", async () => {
    const { dest } = freshDest();
    const tar = tarOf([
      { name: "locked", type: "5", mode: 0o500 },
      { name: "locked/suid", mode: 0o4755, data: "s" },
    ]);
    await extractTarGz(chunks(gz(tar)), dest);
    expect(statSync(join(dest, "locked")).mode & 0o7777).toBe(0o700);
    expect(statSync(join(dest, "locked/suid")).mode & 0o7777).toBe(0o755);
  });

  test("a directory entry after its children sets the directory's mode", async () => {
    const { dest } = freshDest();
    await extractTarGz(chunks(gz(tarOf([{ name: "d/f", data: "f" }, { name: "d", type: "5", mode: 0o755 }]))), dest);
    expect(statSync(join(dest, "d")).mode & 0o777).toBe(0o755 & ~process.umask());
  });

  test("PAX and GNU long names, USTAR prefix names and large files extract", async () => {
    const { dest } = freshDest();
    const longPax = "d/" + "p".repeat(150) + ".yaml";
    const prefixed = "a".repeat(60) + "/" + "b".repeat(60) + "/f.yaml";
    const gnuLong = "g".repeat(130);
    const big = new Uint8Array(3 * 1024 * 1024 + 5).map((_, i) => i % 256);
    const tar = Buffer.concat([
      tarOf([{ name: longPax, data: "pax" }, { name: prefixed, data: "prefix" }, { name: "ünï.yaml", data: "u" }, { name: "big.bin", data: big }], false),
      rawHeaderBlock({ name: "././@LongLink", typeflag: "L", size: gnuLong.length + 1, magic: "gnu" }),
      Buffer.from((gnuLong + "\0").padEnd(512, "\0")),
      rawHeaderBlock({ name: gnuLong.slice(0, 100), typeflag: "0", mode: 0o644, size: 3, magic: "gnu" }),
      Buffer.from("gnu".padEnd(512, "\0")),
      TAR_TRAILER,
    ]);
    const r = await extractTarGz(chunks(gz(tar), 7777), dest);
    expect(r.files).toBe(5);
    expect(readFileSync(join(dest, longPax), "utf8")).toBe("pax");
    expect(readFileSync(join(dest, prefixed), "utf8")).toBe("prefix");
    expect(readFileSync(join(dest, "ünï.yaml"), "utf8")).toBe("u");
    expect(readFileSync(join(dest, gnuLong), "utf8")).toBe("gnu");
    expect(new Uint8Array(readFileSync(join(dest, "big.bin")))).toEqual(big);
  });

  test("multi-member gzip is accepted; data after the end marker is not decompressed", async () => {
    const { dest } = freshDest();
    const t = tarOf([{ name: "a.txt", data: "a" }]);
    const two = Buffer.concat([gzipSync(t.subarray(0, 700)), gzipSync(t.subarray(700))]);
    await extractTarGz(chunks(new Uint8Array(two)), dest);
    expect(readFileSync(join(dest, "a.txt"), "utf8")).toBe("a");
    // 256 MiB of zeros after the end marker: read (compressed) but never inflated.
    async function* trailing(): AsyncGenerator<Uint8Array> {
      yield t;
      const zeros = new Uint8Array(1 << 20);
      for (let i = 0; i < 256; i++) yield zeros;
    }
    const z = Buffer.concat(await Array.fromAsync(Readable.from(trailing()).pipe(createGzip({ level: 1 })) as AsyncIterable<Buffer>));
    const t0 = performance.now();
    const { dest: d2 } = freshDest();
    await extractTarGz(chunks(new Uint8Array(z), 1 << 16), d2);
    expect(performance.now() - t0).toBeLessThan(1000);
  }, 30_000);

  test("archives written by GNU tar (gnu and posix formats, ./ prefixes, long names) extract", async () => {
    const src = join(tmp, `gnutar-src-${caseNo++}`);
    const long = "l".repeat(120);
    mkdirSync(join(src, "dir", long), { recursive: true });
    writeFileSync(join(src, "dir", long, "f.yaml"), "deep");
    writeFileSync(join(src, "ü.txt"), "u");
    for (const format of ["gnu", "posix", "ustar"]) {
      const tgz = join(tmp, `gnutar-${format}-${caseNo++}.tgz`);
      const args = ["-C", src, "--format", format, "-czf", tgz, "."];
      if (format === "ustar") args.splice(2, 0, "--exclude", "dir");
      execFileSync("tar", args);
      const { dest } = freshDest();
      const r = await extractTarGz(chunks(new Uint8Array(readFileSync(tgz))), dest);
      expect(r.skipped).toEqual([]);
      expect(readFileSync(join(dest, "ü.txt"), "utf8")).toBe("u");
      if (format !== "ustar") expect(readFileSync(join(dest, "dir", long, "f.yaml"), "utf8")).toBe("deep");
    }
  });

  test("round trip of the long-name vector tree", async () => {
    const trees = join(tmp, "trees-long");
    execFileSync("/work/shared/vectors/flux/make-trees.sh", [trees], { stdio: "ignore" });
    const tgz = join(tmp, "long.tgz");
    const built = await buildArtifactArchive(join(trees, "long"), tgz, { gzip: "zlib" });
    const { dest } = freshDest();
    const r = await extractTarGz(chunks(new Uint8Array(readFileSync(tgz))), dest);
    expect(r.entries).toBe(built.entries);
    for (const f of built.files.filter((f) => f.endsWith(".yaml"))) {
      expect(readFileSync(join(dest, f))).toEqual(readFileSync(join(trees, "long", f)));
    }
  });

  test("readTarEntries applies PAX records and skips unread bodies", async () => {
    const tar = tarOf([{ name: "x".repeat(120), data: "abc" }, { name: "b", data: "def" }]);
    const names: string[] = [];
    for await (const e of readTarEntries(chunks(tar, 100))) names.push(`${e.header.name}:${e.header.size}`);
    expect(names).toEqual([`${"x".repeat(120)}:3`, "b:3"]);
  });
});
