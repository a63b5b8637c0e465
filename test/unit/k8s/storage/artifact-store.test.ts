import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createReadStream } from "node:fs";
import {
  ArtifactStore,
  artifactFileName,
  artifactPathFor,
  artifactURL,
  rootScopedPattern,
  sourceControllerIgnore,
  type StoredArtifact,
} from "../../../../src/k8s/storage/artifact-store.ts";
import { CoreError, extractTarGz, readTarEntries } from "../../../../src/core/index.ts";
import { createGunzip } from "node:zlib";

let tmp: string;
let n = 0;
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), "berth-storage-"));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const fresh = (name = "d") => {
  const d = join(tmp, `${name}-${n++}`);
  mkdirSync(d, { recursive: true });
  return d;
};
const sha = (b: Uint8Array | string) => "sha256:" + createHash("sha256").update(b).digest("hex");

async function* chunks(...parts: (string | Uint8Array)[]): AsyncGenerator<Uint8Array> {
  for (const p of parts) yield typeof p === "string" ? new TextEncoder().encode(p) : p;
}

async function* failing(after: string): AsyncGenerator<Uint8Array> {
  yield new TextEncoder().encode(after);
  throw new Error("registry connection reset");
}

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    return e instanceof CoreError ? e.code : `non-core: ${String(e)}`;
  }
  return "no error";
}

describe("paths and URLs", () => {
  test("artifactPathFor lower-cases the kind and keeps the digest file name", () => {
    expect(artifactPathFor("OCIRepository", "apps", "podinfo", "sha256:ab12.tar.gz")).toBe("ocirepository/apps/podinfo/sha256:ab12.tar.gz");
  });
  test.each([
    ["..", "x", "f"],
    ["apps", "a/b", "f"],
    ["apps", "x", "../f"],
    ["apps", "x", ""],
    ["apps", "x", "/etc"],
  ])("artifactPathFor rejects %p/%p/%p", (ns, name, file) => {
    expect(() => artifactPathFor("OCIRepository", ns, name, file)).toThrow(CoreError);
  });
  test("URLs: plain host gets http://, a scheme is used as prefix", () => {
    expect(artifactURL("source-controller.flux-system.svc.cluster.local.", "ocirepository/a/b/f.tar.gz")).toBe(
      "http://source-controller.flux-system.svc.cluster.local./ocirepository/a/b/f.tar.gz",
    );
    expect(artifactURL("https://files.example:8443/", "ocirepository/a/b/f.tar.gz")).toBe("https://files.example:8443/ocirepository/a/b/f.tar.gz");
  });
  test("artifactFileName takes the digest after the last @", () => {
    const hex = "a".repeat(64);
    expect(artifactFileName(`latest@sha256:${hex}`)).toBe(`sha256:${hex}.tar.gz`);
    expect(artifactFileName(`6.5.0@sha256:${hex}`)).toBe(`sha256:${hex}.tar.gz`);
    expect(artifactFileName(`sha256:${hex}`)).toBe(`sha256:${hex}.tar.gz`);
    expect(() => artifactFileName("latest")).toThrow(CoreError);
    expect(() => artifactFileName("x@../../etc")).toThrow(CoreError);
  });
  test("localPath refuses paths that leave the root", () => {
    const s = new ArtifactStore({ root: fresh() });
    expect(() => s.localPath("../outside")).toThrow(CoreError);
    expect(() => s.localPath("/etc/passwd")).toThrow(CoreError);
  });
});

describe("store", () => {
  test("writes atomically with the digest and size of the bytes written", async () => {
    const s = new ArtifactStore({ root: fresh(), advertisedAddress: "files.test", now: () => new Date("2026-01-02T03:04:05.678Z") });
    const a = s.newArtifact("OCIRepository", "apps", "podinfo", "sha256:aa.tar.gz", "latest@sha256:aa");
    const stored = await s.store(a, chunks("hello ", "storage ", new Uint8Array(70_000).fill(7)));
    const bytes = readFileSync(s.localPath(a));
    expect(stored.digest).toBe(sha(bytes));
    expect(stored.size).toBe(bytes.byteLength);
    expect(bytes.byteLength).toBe(6 + 8 + 70_000);
    expect(stored.lastUpdateTime).toBe("2026-01-02T03:04:05Z");
    expect(stored.url).toBe("http://files.test/ocirepository/apps/podinfo/sha256:aa.tar.gz");
    expect(statSync(s.localPath(a)).mode & 0o777).toBe(0o600);
    expect(readdirSync(join(s.root, "ocirepository/apps/podinfo"))).toEqual(["sha256:aa.tar.gz"]);
  });

  test("a failing stream leaves no new file and the previous artifact intact", async () => {
    const s = new ArtifactStore({ root: fresh() });
    const old = await s.store(s.newArtifact("OCIRepository", "ns", "o", "sha256:old.tar.gz", "r1"), chunks("old content"));
    const next = s.newArtifact("OCIRepository", "ns", "o", "sha256:new.tar.gz", "r2");
    expect(await codeOf(s.store(next, failing("partial")))).toBe("STORAGE_FAILED");
    expect(existsSync(s.localPath(next))).toBe(false);
    expect(readdirSync(join(s.root, "ocirepository/ns/o"))).toEqual(["sha256:old.tar.gz"]);
    await s.verify(old);

    // Same name as the current artifact: the failed rewrite must not clobber it.
    expect(await codeOf(s.store(old, failing("garbage")))).toBe("STORAGE_FAILED");
    expect(readFileSync(s.localPath(old), "utf8")).toBe("old content");
    await s.verify(old);
  });

  test("an aborted store is CANCELLED and leaves nothing", async () => {
    const s = new ArtifactStore({ root: fresh() });
    const ac = new AbortController();
    ac.abort();
    const a = s.newArtifact("OCIRepository", "ns", "o", "sha256:x.tar.gz", "r");
    expect(await codeOf(s.store(a, chunks("x"), ac.signal))).toBe("CANCELLED");
    expect(readdirSync(join(s.root, "ocirepository/ns/o"))).toEqual([]);
  });

  test("concurrent stores to one object run one after the other", async () => {
    const s = new ArtifactStore({ root: fresh() });
    const order: string[] = [];
    async function* slow(tag: string): AsyncGenerator<Uint8Array> {
      order.push(`${tag}:start`);
      await new Promise((r) => setTimeout(r, 20));
      yield new TextEncoder().encode(tag);
      order.push(`${tag}:end`);
    }
    await Promise.all([
      s.store(s.newArtifact("OCIRepository", "ns", "o", "sha256:1.tar.gz", "r"), slow("a")),
      s.store(s.newArtifact("OCIRepository", "ns", "o", "sha256:2.tar.gz", "r"), slow("b")),
    ]);
    expect(order).toEqual(["a:start", "a:end", "b:start", "b:end"]);
  });
});

describe("verify", () => {
  test("detects a changed byte, a truncated file and a missing file", async () => {
    const s = new ArtifactStore({ root: fresh() });
    const a = await s.store(s.newArtifact("OCIRepository", "ns", "o", "sha256:v.tar.gz", "r"), chunks("0123456789"));
    await s.verify(a);
    const p = s.localPath(a);
    writeFileSync(p, "0123456788");
    expect(await codeOf(s.verify(a))).toBe("DIGEST_MISMATCH");
    writeFileSync(p, "012345678");
    expect(await codeOf(s.verify(a))).toBe("DIGEST_MISMATCH");
    rmSync(p);
    expect(await codeOf(s.verify(a))).toBe("NOT_FOUND");
    expect(await s.exists(a)).toBe(false);
  });
});

describe("latest link", () => {
  test("points at the newest artifact by absolute path and returns the status URL", async () => {
    const s = new ArtifactStore({ root: fresh(), advertisedAddress: "sc.flux-system.svc.cluster.local." });
    const a = await s.store(s.newArtifact("OCIRepository", "apps", "p", "sha256:a.tar.gz", "r1"), chunks("a"));
    expect(await s.symlinkLatest(a)).toBe("http://sc.flux-system.svc.cluster.local./ocirepository/apps/p/latest.tar.gz");
    const link = join(s.root, "ocirepository/apps/p/latest.tar.gz");
    expect(readlinkSync(link)).toBe(s.localPath(a));
    const b = await s.store(s.newArtifact("OCIRepository", "apps", "p", "sha256:b.tar.gz", "r2"), chunks("bb"));
    await s.symlinkLatest(b);
    expect(readlinkSync(link)).toBe(s.localPath(b));
    expect(readFileSync(link, "utf8")).toBe("bb");
    expect(readdirSync(join(s.root, "ocirepository/apps/p")).sort()).toEqual(["latest.tar.gz", "sha256:a.tar.gz", "sha256:b.tar.gz"]);
  });
});

describe("garbageCollect", () => {
  const NOW = new Date("2026-06-01T12:00:00Z").getTime();
  /** Stores files aged `ageSeconds` (in that order) and returns their artifacts. */
  async function seed(s: ArtifactStore, ages: number[]): Promise<StoredArtifact[]> {
    const out: StoredArtifact[] = [];
    for (const [i, age] of ages.entries()) {
      const a = await s.store(s.newArtifact("OCIRepository", "ns", "o", `sha256:${i}.tar.gz`, `r${i}`), chunks(`content ${i}`));
      const t = (NOW - age * 1000) / 1000;
      utimesSync(s.localPath(a), t, t);
      out.push(a);
    }
    return out;
  }
  const left = (s: ArtifactStore) => readdirSync(join(s.root, "ocirepository/ns/o")).sort();

  test("by records: keeps the current artifact and the newest others up to the limit", async () => {
    const s = new ArtifactStore({ root: fresh(), retentionTTL: 3_600_000, retentionRecords: 2, now: () => new Date(NOW) });
    const arts = await seed(s, [50, 40, 30, 20]);
    const { deleted } = await s.garbageCollect(arts[3]!);
    expect(deleted.map((p) => p.split("/").pop()).sort()).toEqual(["sha256:0.tar.gz", "sha256:1.tar.gz"]);
    expect(left(s)).toEqual(["sha256:2.tar.gz", "sha256:3.tar.gz"]);
  });

  test("by records: an old current artifact survives, the newest other one stays", async () => {
    const s = new ArtifactStore({ root: fresh(), retentionTTL: 3_600_000, retentionRecords: 2, now: () => new Date(NOW) });
    const arts = await seed(s, [50, 40, 30, 20]);
    await s.garbageCollect(arts[0]!);
    expect(left(s)).toEqual(["sha256:0.tar.gz", "sha256:3.tar.gz"]);
  });

  test("by TTL: every non-current file past the TTL goes, even under the record limit", async () => {
    const s = new ArtifactStore({ root: fresh(), retentionTTL: 60_000, retentionRecords: 10, now: () => new Date(NOW) });
    const arts = await seed(s, [600, 120, 59, 300]);
    writeFileSync(s.localPath(arts[1]!) + ".lock", "");
    await s.symlinkLatest(arts[3]!);
    const { deleted } = await s.garbageCollect(arts[3]!);
    expect(deleted).toHaveLength(2);
    // The current (old) artifact, the young one and the latest link remain; the lock went with its file.
    expect(left(s)).toEqual(["latest.tar.gz", "sha256:2.tar.gz", "sha256:3.tar.gz"]);
  });

  test("option overrides, missing directory and stale temp files", async () => {
    const s = new ArtifactStore({ root: fresh(), retentionTTL: 3_600_000, retentionRecords: 5, now: () => new Date(NOW) });
    expect((await s.garbageCollect({ path: "ocirepository/ns/none/sha256:x.tar.gz" })).deleted).toEqual([]);
    const arts = await seed(s, [30, 20, 10]);
    const tmpFile = join(s.root, "ocirepository/ns/o/.deadbeef.tmp");
    writeFileSync(tmpFile, "half");
    utimesSync(tmpFile, (NOW - 7_200_000) / 1000, (NOW - 7_200_000) / 1000);
    await s.garbageCollect(arts[2]!, { maxRecords: 1 });
    expect(left(s)).toEqual(["sha256:2.tar.gz"]);
  });
});

describe("removeAll", () => {
  test("removes the object directory with its link and reports whether it existed", async () => {
    const s = new ArtifactStore({ root: fresh() });
    const a = await s.store(s.newArtifact("OCIRepository", "ns", "gone", "sha256:g.tar.gz", "r"), chunks("g"));
    await s.symlinkLatest(a);
    const other = await s.store(s.newArtifact("OCIRepository", "ns", "kept", "sha256:k.tar.gz", "r"), chunks("k"));
    expect(await s.removeAll("OCIRepository", "ns", "gone")).toBe(true);
    expect(existsSync(join(s.root, "ocirepository/ns/gone"))).toBe(false);
    await s.verify(other);
    expect(await s.removeAll("OCIRepository", "ns", "gone")).toBe(false);
  });
});

async function tarHeaders(file: string) {
  const gunzipped = createReadStream(file).pipe(createGunzip());
  const out: { name: string; type: string; mode: number; mtime: number; size: number }[] = [];
  for await (const e of readTarEntries(gunzipped as AsyncIterable<Uint8Array>)) {
    out.push({ name: e.header.name, type: e.header.type, mode: e.header.mode, mtime: e.header.mtime, size: e.header.size });
    for await (const _ of e.body) void _;
  }
  return out;
}

describe("archiveDir", () => {
  function tree(): string {
    const d = fresh("tree");
    mkdirSync(join(d, "apps/base"), { recursive: true });
    mkdirSync(join(d, ".git/objects"), { recursive: true });
    mkdirSync(join(d, ".github"), { recursive: true });
    writeFileSync(join(d, "apps/base/deploy.yaml"), "kind: Deployment\n");
    writeFileSync(join(d, "apps/run.sh"), "#!/bin/sh\n");
    chmodSync(join(d, "apps/run.sh"), 0o755);
    writeFileSync(join(d, "kustomization.yaml"), "resources: []\n");
    writeFileSync(join(d, "logo.png"), "png");
    writeFileSync(join(d, ".git/HEAD"), "ref");
    writeFileSync(join(d, ".github/ci.yml"), "ci");
    symlinkSync("kustomization.yaml", join(d, "link.yaml"));
    chmodSync(join(d, "kustomization.yaml"), 0o644);
    return d;
  }

  test("writes source-controller's headers: root '.', sorted, modes 0750/0700/0600, mtime 0, defaults ignored", async () => {
    const s = new ArtifactStore({ root: fresh() });
    const a = await s.archiveDir(tree(), s.newArtifact("OCIRepository", "apps", "p", "sha256:t.tar.gz", "latest@sha256:t"));
    const p = s.localPath(a);
    expect(a.digest).toBe(sha(readFileSync(p)));
    expect(a.size).toBe(statSync(p).size);
    expect(statSync(p).mode & 0o777).toBe(0o600);
    const h = await tarHeaders(p);
    expect(h.map((e) => [e.name, e.type, e.mode.toString(8)])).toEqual([
      [".", "5", "750"],
      ["apps", "5", "750"],
      ["apps/base", "5", "750"],
      ["apps/base/deploy.yaml", "0", "600"],
      ["apps/run.sh", "0", "700"],
      ["kustomization.yaml", "0", "600"],
    ]);
    expect(h.every((e) => e.mtime === 0)).toBe(true);
  });

  test("is deterministic and extractable by a consumer", async () => {
    const s = new ArtifactStore({ root: fresh() });
    const a1 = await s.archiveDir(tree(), s.newArtifact("OCIRepository", "apps", "p", "sha256:1.tar.gz", "r"));
    const a2 = await s.archiveDir(tree(), s.newArtifact("OCIRepository", "apps", "p", "sha256:2.tar.gz", "r"));
    expect(a1.digest).toBe(a2.digest);
    const dest = fresh("out");
    await extractTarGz(createReadStream(s.localPath(a1)) as AsyncIterable<Uint8Array>, dest);
    expect(readFileSync(join(dest, "apps/base/deploy.yaml"), "utf8")).toBe("kind: Deployment\n");
    expect(existsSync(join(dest, "logo.png"))).toBe(false);
  });

  test("spec.ignore replaces the defaults; nested .sourceignore is scoped to its directory", async () => {
    const s = new ArtifactStore({ root: fresh() });
    const d = tree();
    writeFileSync(join(d, "apps/.sourceignore"), "# comment\n*.sh\n/base/\n");
    const a = await s.archiveDir(d, s.newArtifact("OCIRepository", "apps", "p", "sha256:i.tar.gz", "r"), { ignore: "kustomization.yaml\n" });
    const names = (await tarHeaders(s.localPath(a))).map((e) => e.name);
    expect(names).toEqual([".", ".github", ".github/ci.yml", "apps", "apps/.sourceignore", "logo.png"]);
  });

  test("a missing source dir is STORAGE_FAILED and writes nothing", async () => {
    const s = new ArtifactStore({ root: fresh() });
    const a = s.newArtifact("OCIRepository", "apps", "p", "sha256:m.tar.gz", "r");
    expect(await codeOf(s.archiveDir(join(tmp, "nope"), a))).toBe("STORAGE_FAILED");
    expect(existsSync(s.localPath(a))).toBe(false);
  });
});

describe("ignore helpers", () => {
  test.each([
    ["*.sh", [], "*.sh"],
    ["*.sh", ["apps"], "apps/**/*.sh"],
    ["!keep.sh", ["apps", "x"], "!apps/x/**/keep.sh"],
    ["/base/", ["apps"], "apps/base/"],
    ["base/deploy.yaml", ["apps"], "apps/base/deploy.yaml"],
    ["tmp/", ["a*b"], "a\\*b/**/tmp/"],
  ])("rootScopedPattern(%p, %p) = %p", (line, domain, want) => {
    expect(rootScopedPattern(line, domain)).toBe(want);
  });
  test("defaults only apply when no pattern is given", async () => {
    const d = fresh();
    expect(await sourceControllerIgnore(d, "")).toContain("*.png");
    expect(await sourceControllerIgnore(d, "# only a comment\n")).toContain("*.png");
    expect(await sourceControllerIgnore(d, "foo")).toEqual([".git/", ".gitignore", ".gitmodules", ".gitattributes", "foo"]);
  });
});
