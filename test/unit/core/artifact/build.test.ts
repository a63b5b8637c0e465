import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { buildArtifactArchive, type BuildOptions } from "../../../../src/core/artifact/build.ts";
import { readTarEntries } from "../../../../src/core/archive/extract.ts";
import { isCoreError } from "../../../../src/core/errors.ts";

const VECTORS = "/work/shared/vectors/flux";
const SAMPLE_DIFFID = "sha256:4dc4e703814337151185eb951abe273b79ef53609a65586ef536c5f53a5f0036";
const SINGLE_DIFFID = "sha256:147cc7007f60f29070c192fa140efa0102963c802935698319c8bea70b4717aa";
const EMPTY_TAR = "sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef";

let tmp: string;
let trees: string;
let n = 0;
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), "berth-build-"));
  trees = join(tmp, "trees");
  execFileSync(join(VECTORS, "make-trees.sh"), [trees], { stdio: "ignore" });
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const out = () => join(tmp, `out-${n++}.tgz`);
const sha = (b: Uint8Array) => "sha256:" + createHash("sha256").update(b).digest("hex");

/** A private copy of the sample tree, so tests can change it. */
function sampleCopy(): string {
  const d = join(tmp, `sample-${n++}`);
  execFileSync("cp", ["-a", join(trees, "sample"), d]);
  return d;
}

async function build(src: string, opts: BuildOptions = {}) {
  const file = out();
  const r = await buildArtifactArchive(src, file, opts);
  return { ...r, digest: r.digest as string, diffId: r.diffId as string, file };
}

async function* once(b: Uint8Array): AsyncGenerator<Uint8Array> {
  yield new Uint8Array(b);
}

async function names(tgz: string): Promise<string[]> {
  const tar = gunzipSync(readFileSync(tgz));
  const got: string[] = [];
  for await (const e of readTarEntries(once(tar))) got.push(e.header.name);
  return got;
}

describe("golden vectors", () => {
  test("sample: tar diffID, entries, skipped symlink", async () => {
    const r = await build(join(trees, "sample"));
    expect(r.diffId).toBe(SAMPLE_DIFFID);
    expect(r.tarSize).toBe(6144);
    expect(r.files).toEqual([".", ".env", "deployment.yaml", "run.sh", "sub", "sub/b.yaml"]);
    expect(r.entries).toBe(6);
    expect(r.skipped).toEqual([{ path: "link.yaml", kind: "symlink" }]);
    expect(r.size).toBe(statSync(r.file).size);
    expect(r.digest).toBe(sha(readFileSync(r.file)));
  });

  // These two need gzip.ts's Go-compatible deflate; with zlib they fail by design.
  test("sample: tgz bytes equal gen/sample.tgz (layer digest 58eb11fc…)", async () => {
    const r = await build(join(trees, "sample"), { gzip: "go" });
    expect(r.digest).toBe("sha256:58eb11fc244e7fdea44165e4a55cd929e4e8080a8d7bf5f6f46ca9360bc38aeb");
    expect(r.size).toBe(297);
    expect(readFileSync(r.file).equals(readFileSync(join(VECTORS, "gen/sample.tgz")))).toBe(true);
  });
  test("single file (flux 2.9 staging): tgz bytes equal gen/single.tgz (2aa4fa04…)", async () => {
    const r = await build(join(trees, "single", "manifest.yaml"));
    expect(r.diffId).toBe(SINGLE_DIFFID);
    expect(r.files).toEqual([".", "manifest.yaml"]);
    expect(r.digest).toBe("sha256:2aa4fa04bde7690d5aab7dfc850248756c58494afaba6f7c9d5495e7704650fb");
    expect(readFileSync(r.file).equals(readFileSync(join(VECTORS, "gen/single.tgz")))).toBe(true);
  });

  test("single 0700 directory gives the same diffID as the staged file", async () => {
    expect((await build(join(trees, "single"))).diffId).toBe(SINGLE_DIFFID);
  });

  test("flux 2.8 single-file layout: just the file entry", async () => {
    const r = await build(join(trees, "single", "manifest.yaml"), { singleFileMode: "flux-2.8" });
    expect(r.files).toEqual(["manifest.yaml"]);
    expect(r.tarSize).toBe(2048);
    expect(r.diffId).not.toBe(SINGLE_DIFFID);
  });

  test("zlib gzip: same tar inside, different (non-flux) layer digest", async () => {
    const r = await build(join(trees, "sample"), { gzip: "zlib" });
    expect(sha(gunzipSync(readFileSync(r.file)))).toBe(SAMPLE_DIFFID);
    expect(r.diffId).toBe(SAMPLE_DIFFID);
  });
});

describe("reproducibility and what changes the digest", () => {
  test("building twice gives the same digest; mtimes do not matter", async () => {
    const src = sampleCopy();
    const a = await build(src);
    execFileSync("touch", ["-d", "2001-02-03", join(src, ".env"), join(src, "sub")]);
    const b = await build(src);
    expect(b.digest).toBe(a.digest);
    expect(b.diffId).toBe(SAMPLE_DIFFID);
  });

  test("a mode change changes the digest unless modes are normalised", async () => {
    const src = sampleCopy();
    const before = await build(src, { normalizeModes: true });
    chmodSync(join(src, "deployment.yaml"), 0o600);
    chmodSync(join(src, "sub"), 0o700);
    const after = await build(src);
    expect(after.diffId).not.toBe(SAMPLE_DIFFID);
    const normalised = await build(src, { normalizeModes: true });
    expect(normalised.digest).toBe(before.digest);
    chmodSync(join(src, "run.sh"), 0o700);
    expect((await build(src, { normalizeModes: true })).digest).toBe(before.digest);
  });

  test("normalised modes: 0644 files, 0755 executables and directories", async () => {
    const src = sampleCopy();
    chmodSync(src, 0o700);
    const r = await build(src, { normalizeModes: true });
    const tar = gunzipSync(readFileSync(r.file));
    const modes: Record<string, number> = {};
    for await (const e of readTarEntries(once(tar))) modes[e.header.name] = e.header.mode;
    expect(modes).toEqual({ ".": 0o755, ".env": 0o644, "deployment.yaml": 0o644, "run.sh": 0o755, sub: 0o755, "sub/b.yaml": 0o644 });
  });
});

describe("options", () => {
  test("the output file inside the source tree is never archived", async () => {
    const src = sampleCopy();
    const file = join(src, "artifact.tgz");
    const a = await buildArtifactArchive(src, file);
    const b = await buildArtifactArchive(src, file);
    expect(a.diffId as string).toBe(SAMPLE_DIFFID);
    expect(b.digest).toBe(a.digest);
    expect(b.files).not.toContain("artifact.tgz");
  });

  test("exclude: absolute paths left out", async () => {
    const src = sampleCopy();
    const r = await build(src, { exclude: [join(src, "sub"), join(src, ".env")] });
    expect(r.files).toEqual([".", "deployment.yaml", "run.sh"]);
  });

  test("ignorePaths [] disables the defaults; .git and *.png are archived", async () => {
    const r = await build(join(trees, "sample"), { ignorePaths: [] });
    expect(r.files).toEqual([".", ".env", ".git", ".git/config", "deployment.yaml", "logo.png", "run.sh", "sub", "sub/b.yaml"]);
  });

  test("ignorePaths replaces the defaults; addIgnorePaths appends", async () => {
    const r = await build(join(trees, "sample"), { ignorePaths: ["*.png"], addIgnorePaths: ["*.sh", "sub/"] });
    expect(r.files).toEqual([".", ".env", ".git", ".git/config", "deployment.yaml"]);
    const d = await build(join(trees, "sample"), { addIgnorePaths: ["!logo.png", ".env"] });
    expect(d.files).toEqual([".", "deployment.yaml", "logo.png", "run.sh", "sub", "sub/b.yaml"]);
  });

  test(".sourceignore in the root is applied last, unless disabled", async () => {
    const src = sampleCopy();
    writeFileSync(join(src, ".sourceignore"), "# berth\nsub/\n*.sh\n!logo.png\n");
    const r = await build(src);
    expect(r.files).toEqual([".", ".env", ".sourceignore", "deployment.yaml", "logo.png"]);
    const off = await build(src, { sourceIgnore: false });
    expect(off.files).toEqual([".", ".env", ".sourceignore", "deployment.yaml", "run.sh", "sub", "sub/b.yaml"]);
  });

  test("ignored symlinks are not reported as skipped", async () => {
    const r = await build(join(trees, "sample"), { addIgnorePaths: ["link.yaml"] });
    expect(r.diffId).toBe(SAMPLE_DIFFID);
    expect(r.skipped).toEqual([]);
  });

  test("a symlinked root archives nothing, as flux does", async () => {
    const link = join(tmp, `root-link-${n++}`);
    symlinkSync(join(trees, "sample"), link);
    const r = await build(link);
    expect(r.diffId).toBe(EMPTY_TAR);
    expect(r.entries).toBe(0);
    expect(r.skipped).toEqual([{ path: ".", kind: "symlink" }]);
  });

  test("resolveSymlinks: link targets are copied in, root becomes 0700, cycles are broken", async () => {
    const src = sampleCopy();
    mkdirSync(join(src, "d"));
    writeFileSync(join(src, "d", "x.yaml"), "x");
    symlinkSync("..", join(src, "d", "up"));
    symlinkSync("d", join(src, "dlink"));
    const r = await build(src, { resolveSymlinks: true });
    expect(r.files).toEqual([
      ".", ".env", "d", "d/x.yaml", "deployment.yaml", "dlink", "dlink/x.yaml", "link.yaml", "run.sh", "sub", "sub/b.yaml",
    ]);
    expect(r.skipped).toEqual([
      { path: "d/up", kind: "cycle" },
      { path: "dlink/up", kind: "cycle" },
    ]);
    const tar = gunzipSync(readFileSync(r.file));
    for await (const e of readTarEntries(once(tar))) {
      if (e.header.name === ".") expect(e.header.mode).toBe(0o700);
      if (e.header.name === "link.yaml") {
        const parts: Uint8Array[] = [];
        for await (const c of e.body) parts.push(c);
        expect(Buffer.concat(parts).toString()).toBe(readFileSync(join(src, "deployment.yaml"), "utf8"));
      }
    }
  });

  test("resolveSymlinks: targets outside the root fail unless allowed", async () => {
    const src = sampleCopy();
    const outside = join(tmp, `outside-${n++}`);
    writeFileSync(outside, "secret");
    symlinkSync(outside, join(src, "ext"));
    const err = await build(src, { resolveSymlinks: true }).catch((e) => e);
    expect(isCoreError(err, "USAGE")).toBe(true);
    expect((err as Error).message).toMatch(/outside the source directory/);
    const ok = await build(src, { resolveSymlinks: true, allowOutside: true });
    expect(ok.files).toContain("ext");
  });
});

describe("output file handling", () => {
  test("the output file has mode 0640", async () => {
    const r = await build(join(trees, "sample"));
    expect(statSync(r.file).mode & 0o777).toBe(0o640);
  });

  test("a missing source path is a USAGE error and nothing is written", async () => {
    const file = out();
    const err = await buildArtifactArchive(join(tmp, "nope"), file).catch((e) => e);
    expect(isCoreError(err, "USAGE")).toBe(true);
    expect(existsSync(file)).toBe(false);
  });

  test("a failed build leaves the old output untouched and removes its temp file", async () => {
    const dir = join(tmp, `outdir-${n++}`);
    mkdirSync(dir);
    const file = join(dir, "artifact.tgz");
    writeFileSync(file, "previous");
    const ac = new AbortController();
    ac.abort();
    const err = await buildArtifactArchive(join(trees, "sample"), file, { signal: ac.signal }).catch((e) => e);
    expect(isCoreError(err, "CANCELLED")).toBe(true);
    expect(readFileSync(file, "utf8")).toBe("previous");
    expect(readdirSync(dir)).toEqual(["artifact.tgz"]);

    const src = sampleCopy();
    mkdirSync(join(src, "unreadable"));
    writeFileSync(join(src, "unreadable", "f"), "f");
    chmodSync(join(src, "unreadable"), 0o000);
    const isRoot = process.getuid?.() === 0;
    const err2 = await buildArtifactArchive(src, file).catch((e) => e);
    chmodSync(join(src, "unreadable"), 0o755);
    if (!isRoot) {
      expect(isCoreError(err2, "STORAGE_FAILED")).toBe(true);
      expect(readFileSync(file, "utf8")).toBe("previous");
    }
    expect(readdirSync(dir)).toEqual(["artifact.tgz"]);
  });

  test("a file that changes size while being archived fails cleanly", async () => {
    const src = sampleCopy();
    const big = join(src, "big.bin");
    writeFileSync(big, Buffer.alloc(8 << 20, 1));
    const dir = join(tmp, `outdir-${n++}`);
    mkdirSync(dir);
    const file = join(dir, "a.tgz");
    const p = buildArtifactArchive(src, file, { gzip: "zlib" });
    writeFileSync(big, "short now");
    const err = await p.catch((e) => e);
    // The race may be lost (the file read before the rewrite); then the build must simply succeed.
    if (err instanceof Error) {
      expect(isCoreError(err, "STORAGE_FAILED")).toBe(true);
      expect(readdirSync(dir)).toEqual([]);
    } else {
      expect(readdirSync(dir)).toEqual(["a.tgz"]);
    }
  });

  test("many files stream through: 3000 files in 100 dirs, sorted, all archived", async () => {
    const src = join(tmp, `many-${n++}`);
    for (let d = 0; d < 100; d++) {
      mkdirSync(join(src, `d${d}`), { recursive: true });
      for (let f = 0; f < 30; f++) writeFileSync(join(src, `d${d}`, `f${f}.yaml`), `n: ${d * 30 + f}\n`);
    }
    const r = await build(src);
    expect(r.entries).toBe(1 + 100 + 3000);
    const got = await names(r.file);
    expect(got).toEqual(r.files);
    expect(got[1]).toBe("d0");
    expect(got[2]).toBe("d0/f0.yaml");
    expect(got[3]).toBe("d0/f1.yaml");
    expect(got[4]).toBe("d0/f10.yaml");
  });
});
