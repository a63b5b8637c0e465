import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtemp, mkdir, readFile, rm, writeFile, readdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { startRegistry, skopeoCopy, dockerRef, tarFiles, orasPath, cranePath, run, type RegistryServer } from "../harness/index.ts";
import { LayoutStore } from "../../src/core/content/layout-store.ts";
import { MemoryStore } from "../../src/core/content/memory-store.ts";
import { copy } from "../../src/core/artifact/copy.ts";
import { encodeIndex, encodeManifest } from "../../src/core/oci/manifest.ts";
import { OCI_INDEX, OCI_MANIFEST } from "../../src/core/oci/media-types.ts";
import { berth, requireBinary } from "../e2e/berth-bin.ts";

let reg: RegistryServer;
let work: string;
beforeAll(async () => {
  requireBinary();
  reg = await startRegistry();
  work = await mkdtemp(join(tmpdir(), "berth-peers-"));
});
afterAll(async () => {
  await reg?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

/**
 * Writes an OCI layout holding an index with linux/amd64 and linux/arm64 manifests; each has a config of a
 * custom type and two layers of custom types (a gzip tar and a plain JSON blob).
 */
async function multiPlatformLayout(dir: string) {
  const mem = new MemoryStore();
  const children = [];
  for (const arch of ["arm64", "amd64"]) {
    const config = await mem.add("application/vnd.example.config.v1+json", new TextEncoder().encode(JSON.stringify({ arch })));
    const tgz = await mem.add("application/vnd.example.bundle.v1.tar+gzip", gzipSync(tarFiles({ [`for-${arch}.yaml`]: `arch: ${arch}\n` })));
    const json = await mem.add("application/vnd.example.notes.v1+json", new TextEncoder().encode(`{"notes":"${arch}"}`));
    const m = encodeManifest({ schemaVersion: 2, mediaType: OCI_MANIFEST, config, layers: [json, tgz], annotations: { "org.opencontainers.image.revision": `rev-${arch}` } });
    const md = await mem.add(OCI_MANIFEST, m);
    children.push({ ...md, platform: { architecture: arch, os: "linux" } });
  }
  const ix = await mem.add(OCI_INDEX, encodeIndex({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: children }));
  await mem.tag(ix, "multi");
  const layout = await LayoutStore.open(dir, { create: true });
  await copy(mem, "multi", layout, "multi");
  return ix;
}

test("skopeo pushes an index with multi-layer custom-type manifests; berth pulls linux/amd64 by layer media type", async () => {
  const dir = join(work, "multi-layout");
  const ix = await multiPlatformLayout(dir);
  const c = await skopeoCopy(`oci:${dir}:multi`, { ref: dockerRef(reg, "peers/multi:v1"), endpoint: { registry: reg } }, { extraArgs: ["--all", "--preserve-digests"] });
  expect(c.stderr).toBe("");
  expect(c.code).toBe(0);

  const out = join(work, "multi-out");
  await mkdir(out);
  const url = `oci://${reg.host}/peers/multi:v1`;
  const r = await berth(["pull", "artifact", url, "-o", out, "--layer-media-type", "application/vnd.example.bundle.v1.tar+gzip", "--output-format", "json"]);
  expect(r.code).toBe(0);
  const res = JSON.parse(r.stdout);
  expect(res.digest).toBe(ix.digest);
  expect(res.revision).toBe("rev-amd64");
  expect(await readdir(out)).toEqual(["for-amd64.yaml"]);

  // The first layer is JSON, not a tarball: extract refuses it clearly, copy stores it as is.
  const bad = await berth(["pull", "artifact", url, "-o", out]);
  expect(bad.code).toBe(6);
  expect(bad.stderr).toContain("not a gzip-compressed tarball");
  expect(await readdir(out)).toEqual(["for-amd64.yaml"]);
  const copied = await berth(["pull", "artifact", url, "-o", out, "--layer-operation", "copy", "--layer-media-type", "application/vnd.example.notes.v1+json"]);
  expect(copied.code).toBe(0);
  const file = (await readdir(out)).find((f) => f.endsWith(".tgz"))!;
  expect(await readFile(join(out, file), "utf8")).toBe('{"notes":"amd64"}');

  // list reads the index's own annotations (none) and reports the index digest.
  const l = await berth(["list", "artifacts", `oci://${reg.host}/peers/multi`, "-o", "json"]);
  expect(JSON.parse(l.stdout)[0].digest).toBe(ix.digest);
});

test("oras pushes a directory; berth pulls it. berth pushes; oras pulls the layer", async () => {
  const src = join(work, "oras-src");
  await mkdir(join(src, "cfg"), { recursive: true });
  await writeFile(join(src, "cfg", "app.yaml"), "kind: ConfigMap\n");
  const push = await run([orasPath(), "push", "--plain-http", `${reg.host}/peers/oras:v1`, "cfg"], { cwd: src });
  expect(push.code).toBe(0);
  const out = join(work, "oras-out");
  await mkdir(out);
  const r = await berth(["pull", "artifact", `oci://${reg.host}/peers/oras:v1`, "-o", out]);
  expect(r.stderr).toContain("✔ artifact content extracted");
  expect(r.code).toBe(0);
  expect(await readFile(join(out, "cfg", "app.yaml"), "utf8")).toBe("kind: ConfigMap\n");

  const p = await berth(["push", "artifact", `oci://${reg.host}/peers/berth:v1`, "-f", join(src, "cfg"), "--source=s", "--revision=r"]);
  expect(p.code).toBe(0);
  const odir = join(work, "oras-pulled");
  await mkdir(odir);
  const op = await run([orasPath(), "manifest", "fetch", "--plain-http", `${reg.host}/peers/berth:v1`]);
  expect(op.code).toBe(0);
  const layer = JSON.parse(op.stdout).layers[0];
  const blob = await run([orasPath(), "blob", "fetch", "--plain-http", `${reg.host}/peers/berth@${layer.digest}`, "--output", join(odir, "layer.tgz")]);
  expect(blob.code).toBe(0);
  const untar = await run(["tar", "-xzf", join(odir, "layer.tgz"), "-C", odir]);
  expect(untar.code).toBe(0);
  expect(await readFile(join(odir, "app.yaml"), "utf8")).toBe("kind: ConfigMap\n");
});

test("crane sees berth's tags and digests; berth lists what crane tagged", async () => {
  const ls = await run([cranePath(), "ls", "--insecure", `${reg.host}/peers/berth`]);
  expect(ls.stdout.trim().split("\n")).toEqual(["v1"]);
  const dig = await run([cranePath(), "digest", "--insecure", `${reg.host}/peers/berth:v1`]);
  const t = await run([cranePath(), "tag", "--insecure", `${reg.host}/peers/berth:v1`, "promoted"]);
  expect(t.code).toBe(0);
  const l = await berth(["list", "artifacts", `oci://${reg.host}/peers/berth`, "-o", "json"]);
  const rows = JSON.parse(l.stdout) as { tag: string; digest: string }[];
  expect(rows.map((r) => r.tag).sort()).toEqual(["promoted", "v1"]);
  for (const row of rows) expect(row.digest).toBe(dig.stdout.trim());
});

test("--media-types docker pushes RFC-0003's original types; skopeo and berth read them", async () => {
  const p = await berth(["push", "artifact", `oci://${reg.host}/peers/docker:v1`, "-f", join(import.meta.dir, "../../examples/podinfo"), "--source=s", "--revision=r", "--media-types", "docker"]);
  expect(p.code).toBe(0);
  const raw = await run(["skopeo", "inspect", "--raw", "--tls-verify=false", `docker://${reg.host}/peers/docker:v1`]);
  const m = JSON.parse(raw.stdout);
  expect(m.mediaType).toBe("application/vnd.docker.distribution.manifest.v2+json");
  expect(m.config.mediaType).toBe("application/vnd.docker.container.image.v1+json");
  expect(m.layers[0].mediaType).toBe("application/vnd.docker.image.rootfs.diff.tar.gzip");
  const out = join(work, "docker-out");
  await mkdir(out);
  const r = await berth(["pull", "artifact", `oci://${reg.host}/peers/docker:v1`, "-o", out]);
  expect(r.code).toBe(0);
  expect((await readdir(out)).sort()).toEqual(["deployment.yaml", "kustomization.yaml", "namespace.yaml", "service.yaml"]);
});
