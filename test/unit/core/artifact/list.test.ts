import { expect, test } from "bun:test";
import { MemoryStore } from "../../../../src/core/content/memory-store.ts";
import { listArtifacts } from "../../../../src/core/artifact/list.ts";
import { packArtifact } from "../../../../src/core/artifact/pack.ts";
import { digestOf } from "../../../../src/core/oci/digest.ts";

async function repoWith(tags: Record<string, string>) {
  const mem = new MemoryStore();
  const digests: Record<string, string> = {};
  for (const [tag, rev] of Object.entries(tags)) {
    const layer = new TextEncoder().encode(rev);
    const ld = await mem.add("application/vnd.cncf.flux.content.v1.tar+gzip", layer);
    const p = packArtifact({ ...ld, diffId: digestOf(layer) }, { "org.opencontainers.image.source": "git", "org.opencontainers.image.revision": rev });
    await mem.push(p.configDescriptor, p.configBytes);
    await mem.push(p.manifestDescriptor, p.manifestBytes);
    await mem.tag(p.manifestDescriptor, tag);
    digests[tag] = p.manifestDescriptor.digest;
  }
  return { mem, digests };
}

const SIG = "sha256-" + "a".repeat(64);

test("list sorts by semver, hides signature and referrer tags, reads metadata", async () => {
  const { mem, digests } = await repoWith({ "v1.9.0": "r19", "v1.10.0": "r110", latest: "rl", [`${SIG}.sig`]: "s", [SIG]: "ref" });
  const rows = await listArtifacts(mem);
  expect(rows.map((r) => r.tag)).toEqual(["v1.10.0", "v1.9.0", "latest"]);
  expect(rows[0]).toMatchObject({ revision: "r110", source: "git", digest: digests["v1.10.0"] });
  const flux = await listArtifacts(mem, { sort: "flux" });
  expect(flux.map((r) => r.tag)).toEqual(["v1.9.0", "v1.10.0", "latest"]);
  const all = await listArtifacts(mem, { all: true });
  expect(all.map((r) => r.tag).sort()).toEqual([SIG, `${SIG}.sig`, "latest", "v1.10.0", "v1.9.0"].sort());
});

test("list filters by semver and regex", async () => {
  const { mem } = await repoWith({ "1.0.0": "a", "1.1.0-rc.1": "b", "2.0.0": "c", dev: "d" });
  expect((await listArtifacts(mem, { semver: ">=1.0.0 <2.0.0" })).map((r) => r.tag)).toEqual(["1.0.0"]);
  expect((await listArtifacts(mem, { regex: "^1\\." })).map((r) => r.tag)).toEqual(["1.1.0-rc.1", "1.0.0"]);
});
