import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { configBlob, packArtifact } from "../../../../src/core/artifact/pack.ts";
import { digestOf } from "../../../../src/core/oci/digest.ts";

const VECTORS = join(import.meta.dir, "../../../../../shared/vectors/flux/vectors.txt");

/** Pulls `config(N)=sha256:… {json}` and `manifest(N)=sha256:…` + next-line JSON for each tree/era from vectors.txt. */
function vectorCases() {
  const lines = readFileSync(VECTORS, "utf8").split("\n");
  const cases: { tree: string; era: string; tgz: { digest: string; size: number }; diffId: string; manifestDigest: string; manifestJSON: string; configDigest: string }[] = [];
  let tree = "", era = "", diffId = "", tgz = { digest: "", size: 0 }, configDigest = "";
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i]!;
    let m;
    if ((m = /^== (\S+)/.exec(l))) tree = m[1]!;
    else if ((m = /tar\s+size=\d+ diffID=(sha256:\w+)/.exec(l))) diffId = m[1]!;
    else if ((m = /tgz\s+size=(\d+) digest=(sha256:\w+)/.exec(l))) tgz = { size: Number(m[1]), digest: m[2]! };
    else if ((m = /^\s+-- (.*)$/.exec(l))) era = m[1]!;
    else if ((m = /config\(\d+\)=(sha256:\w+)/.exec(l))) configDigest = m[1]!;
    else if ((m = /manifest\(\d+\)=(sha256:\w+)/.exec(l))) {
      cases.push({ tree, era, tgz, diffId, manifestDigest: m[1]!, manifestJSON: lines[i + 1]!.trim(), configDigest });
    }
  }
  return cases;
}

describe("packArtifact reproduces the flux golden manifests", () => {
  const cases = vectorCases().filter((c) => !c.era.startsWith("oci lib"));
  test("vectors were found", () => expect(cases.length).toBe(4));
  for (const c of cases) {
    test(`${c.tree} ${c.era}`, () => {
      const want = JSON.parse(c.manifestJSON);
      const profile = c.era.includes("2.9") ? "flux-2.9" : "flux-2.8";
      const p = packArtifact({ ...c.tgz, diffId: c.diffId }, want.annotations, { configProfile: profile });
      expect(p.configDescriptor.digest).toBe(c.configDigest);
      expect(new TextDecoder().decode(p.manifestBytes)).toBe(c.manifestJSON);
      expect(p.manifestDescriptor.digest).toBe(c.manifestDigest);
    });
  }
});

test("flux 2.9 config is the constant 115-byte document", () => {
  const b = configBlob("flux-2.9", "sha256:" + "0".repeat(64));
  expect(b.byteLength).toBe(115);
  expect(digestOf(b) as string).toBe("sha256:5b943e2b943f6c81dbbd4e2eca5121f4fcc39139e3d1219d6d89bd925b77d9fe");
});

test("docker media types for registries that reject Flux's", () => {
  const p = packArtifact({ digest: "sha256:" + "1".repeat(64), size: 10, diffId: "sha256:" + "2".repeat(64) }, {}, { mediaTypes: "docker" });
  expect(p.manifest.mediaType).toBe("application/vnd.docker.distribution.manifest.v2+json");
  expect(p.configDescriptor.mediaType).toBe("application/vnd.docker.container.image.v1+json");
  expect(p.layerDescriptor.mediaType).toBe("application/vnd.docker.image.rootfs.diff.tar.gzip");
});
