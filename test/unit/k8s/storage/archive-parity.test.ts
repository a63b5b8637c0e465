import { afterAll, beforeAll, expect, test } from "bun:test";
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ArtifactStore } from "../../../../src/k8s/storage/artifact-store.ts";

/**
 * Byte parity of archiveDir with Go's archive/tar + compress/gzip under the header rules
 * source-controller applies (spec §3.7), using the oracle in testdata/sc-archive.go. Go is part of
 * the test toolchain (design §2.5); a missing `go` fails this test rather than skipping it.
 */
const ORACLE = join(import.meta.dir, "testdata", "sc-archive.go");
let tmp: string;
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), "berth-parity-"));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function tree(dir: string): void {
  const long = "a-directory-name-that-is-rather-long-on-purpose/another-quite-long-directory-name-here";
  mkdirSync(join(dir, long, "deeper"), { recursive: true });
  mkdirSync(join(dir, "empty-dir"), { recursive: true });
  mkdirSync(join(dir, "apps/base"), { recursive: true });
  writeFileSync(join(dir, long, "deeper", "manifest-with-a-long-file-name.yaml"), "kind: ConfigMap\n");
  writeFileSync(join(dir, "x".repeat(120) + ".yaml"), "pax path\n");
  writeFileSync(join(dir, "apps/base/défaut-ünïcode.yaml"), "non-ascii name\n");
  writeFileSync(join(dir, "apps/base/empty.yaml"), "");
  writeFileSync(join(dir, "apps/block.bin"), new Uint8Array(512).fill(65));
  let seed = 42;
  const big = new Uint8Array(1_500_000).map(() => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 24) % 7 + 97);
  writeFileSync(join(dir, "apps/big.txt"), big);
  writeFileSync(join(dir, "apps/run.sh"), "#!/bin/sh\necho hi\n");
  chmodSync(join(dir, "apps/run.sh"), 0o751);
  writeFileSync(join(dir, "apps/setuid"), "s");
  chmodSync(join(dir, "apps/setuid"), 0o4644);
  writeFileSync(join(dir, "Kustomization.yaml"), "upper case sorts first\n");
}

test("archiveDir writes the same bytes as Go's archive/tar + gzip with source-controller's header rules", async () => {
  const src = join(tmp, "src");
  mkdirSync(src);
  tree(src);
  const goOut = join(tmp, "go.tar.gz");
  execFileSync("go", ["run", ORACLE, src, goOut], { cwd: tmp, env: { ...process.env, GOTOOLCHAIN: "local", GO111MODULE: "off" }, stdio: "pipe" });
  const goBytes = readFileSync(goOut);

  const store = new ArtifactStore({ root: join(tmp, "data") });
  const a = await store.archiveDir(src, store.newArtifact("OCIRepository", "ns", "p", "sha256:p.tar.gz", "r"));
  const ours = readFileSync(store.localPath(a));
  expect(ours.byteLength).toBe(goBytes.byteLength);
  expect(a.digest).toBe("sha256:" + createHash("sha256").update(goBytes).digest("hex"));
  expect(ours.equals(goBytes)).toBe(true);
}, 120_000);
