import { afterEach, expect, test } from "bun:test";
import { mkdtemp, readFile, rm, readdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LayoutStore } from "../../../../src/core/content/layout-store.ts";
import { MemoryStore } from "../../../../src/core/content/memory-store.ts";
import { copy } from "../../../../src/core/artifact/copy.ts";
import { packArtifact } from "../../../../src/core/artifact/pack.ts";
import { digestOf, readAll } from "../../../../src/core/oci/digest.ts";
import { CoreError } from "../../../../src/core/errors.ts";

const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});
async function tmp() {
  const d = await mkdtemp(join(tmpdir(), "berth-layout-test-"));
  dirs.push(d);
  return d;
}

/** A small artifact in a MemoryStore: layer + config + manifest. */
async function sampleArtifact(text = "kind: ConfigMap\n") {
  const mem = new MemoryStore();
  const layer = new TextEncoder().encode(text);
  const ld = await mem.add("application/vnd.cncf.flux.content.v1.tar+gzip", layer);
  const p = packArtifact({ digest: ld.digest, size: ld.size, diffId: digestOf(layer) }, { a: "b" });
  await mem.push(p.configDescriptor, p.configBytes);
  await mem.push(p.manifestDescriptor, p.manifestBytes);
  return { mem, p };
}

test("copy into a layout writes a valid image layout that round-trips", async () => {
  const dir = await tmp();
  const { mem, p } = await sampleArtifact();
  const layout = await LayoutStore.open(dir, { create: true });
  const res = await copy(mem, p.manifestDescriptor.digest, layout, "v1");
  expect(res.copied).toBe(3);
  expect(JSON.parse(await readFile(join(dir, "oci-layout"), "utf8"))).toEqual({ imageLayoutVersion: "1.0.0" });
  const index = JSON.parse(await readFile(join(dir, "index.json"), "utf8"));
  expect(index.manifests).toHaveLength(1);
  expect(index.manifests[0].annotations["org.opencontainers.image.ref.name"]).toBe("v1");
  expect((await readdir(join(dir, "blobs/sha256"))).sort()).toEqual(
    [p.manifestDescriptor, p.configDescriptor, p.layerDescriptor].map((d) => d.digest.slice(7)).sort(),
  );
  const reopened = await LayoutStore.open(dir);
  const d = await reopened.resolve("v1");
  expect(d.digest).toBe(p.manifestDescriptor.digest);
  expect(await readAll(await reopened.fetch(d), 1 << 20)).toEqual(p.manifestBytes);
  // Copying again skips everything.
  const again = await copy(mem, p.manifestDescriptor.digest, reopened, "v1");
  expect(again.copied).toBe(0);
});

test("retagging moves the tag; two tags on one digest are both listed", async () => {
  const dir = await tmp();
  const layout = await LayoutStore.open(dir, { create: true });
  const a = await sampleArtifact("a");
  const b = await sampleArtifact("b");
  await copy(a.mem, a.p.manifestDescriptor.digest, layout, "latest");
  await copy(a.mem, a.p.manifestDescriptor.digest, layout, "v1");
  await copy(b.mem, b.p.manifestDescriptor.digest, layout, "latest");
  expect((await layout.tags()).sort()).toEqual(["latest", "v1"]);
  expect((await layout.resolve("latest")).digest).toBe(b.p.manifestDescriptor.digest);
  expect((await layout.resolve("v1")).digest).toBe(a.p.manifestDescriptor.digest);
});

test("a blob whose bytes do not match its digest is refused and not stored", async () => {
  const dir = await tmp();
  const layout = await LayoutStore.open(dir, { create: true });
  const bytes = new TextEncoder().encode("hello");
  const desc = { mediaType: "x", digest: digestOf("other"), size: 5 };
  const err = await layout.push(desc, bytes).catch((e) => e);
  expect(err).toBeInstanceOf(CoreError);
  expect((err as CoreError).code).toBe("DIGEST_MISMATCH");
  expect(await layout.exists(desc)).toBe(false);
  expect(await readdir(join(dir, "blobs/sha256"))).toEqual([]);
});

test("opening a missing layout without create is NOT_FOUND with a hint", async () => {
  const err = await LayoutStore.open(join(await tmp(), "nope")).catch((e) => e);
  expect((err as CoreError).code).toBe("NOT_FOUND");
});

test("unknown tag is NOT_FOUND", async () => {
  const layout = await LayoutStore.open(await tmp(), { create: true });
  expect(((await layout.resolve("nope").catch((e) => e)) as CoreError).code).toBe("NOT_FOUND");
});
