import { beforeAll, expect, test } from "bun:test";
import { isCoreError, type MemoryStore } from "../../../src/core/index.ts";
import { describeTag, diffSides, inspectArtifact, listLayerFiles, listTags, parseRepo, planPromotion, promote, readLayerFile, repoURL, Repos } from "../../../src/tui/api.ts";
import { sampleRepo } from "./fixtures.ts";

const URL = "oci://mem/app";
let repos: Repos;
let store: MemoryStore;
let digests: Record<string, string>;

beforeAll(async () => {
  const s = await sampleRepo();
  repos = new Repos(s.services);
  store = s.store;
  digests = s.digests;
});

test("repository URLs drop the tag and keep their scheme", () => {
  expect(repoURL(parseRepo("oci://ghcr.io/org/app:v1"))).toBe("oci://ghcr.io/org/app");
  expect(repoURL(parseRepo("oci-layout://./out:latest"))).toBe("oci-layout://./out");
  expect(() => parseRepo("ghcr.io/org/app")).toThrow();
});

test("tags and their Flux metadata", async () => {
  expect((await listTags(repos, URL)).sort()).toEqual(["prod", `sha256-${"c".repeat(64)}.sig`, "staging", "v1.0.0", "v1.1.0"]);
  const i = await describeTag(repos, URL, "prod");
  expect(i).toEqual({ digest: digests.v1!, mediaType: "application/vnd.oci.image.manifest.v1+json", created: "2024-05-01T12:00:00Z", source: "https://git.example/app", revision: "main@sha1:1111" });
});

test("artifact details, file list and a file read by streaming the layer", async () => {
  const d = await inspectArtifact(repos, URL, "v1.1.0");
  expect(d.digest).toBe(digests.v2!);
  expect(d.layers).toHaveLength(1);
  expect(d.annotations["org.opencontainers.image.revision"]).toBe("main@sha1:2222");
  expect(JSON.parse(d.manifestText).layers[0].digest).toBe(d.layers[0]!.digest);
  const files = await listLayerFiles(repos, URL, d.layers[0]!);
  expect(files.map((f) => f.path)).toEqual(["README.md", "deploy.yaml"]);
  expect(files[0]!.size).toBe(6);
  const f = await readLayerFile(repos, URL, d.layers[0]!, "deploy.yaml");
  expect(f.text).toContain("image: ghcr.io/x/web:1.1.0");
  expect(f.truncated).toBe(false);
  const missing = await readLayerFile(repos, URL, d.layers[0]!, "nope.yaml").catch((e) => e);
  expect(isCoreError(missing, "NOT_FOUND")).toBe(true);
});

test("diff of two tags uses the core engine: object highlights", async () => {
  const d = await diffSides(repos, URL, { kind: "tag", tag: "v1.0.0" }, { kind: "tag", tag: "v1.1.0" });
  expect(d.equal).toBe(false);
  const dep = d.changes!.objects.find((o) => o.kind === "Deployment")!;
  expect(dep.highlights).toEqual(expect.arrayContaining(["replicas 1 → 3", "image ghcr.io/x/web:1.0.0 → 1.1.0"]));
  expect((await diffSides(repos, URL, { kind: "tag", tag: "prod" }, { kind: "tag", tag: "v1.0.0" })).equal).toBe(true);
});

test("promotion: plan shows the target's current content → the source's, then retags by digest", async () => {
  const plan = await planPromotion(repos, URL, "v1.1.0", "prod");
  expect(plan).toMatchObject({ source: "v1.1.0", target: "prod", sourceDigest: digests.v2, targetDigest: digests.v1 });
  expect(plan.changes!.objects[0]!.highlights).toContain("replicas 1 → 3");
  await promote(repos, URL, plan);
  expect((await store.resolve("prod")).digest).toBe(digests.v2!);
  // Equal now: nothing to diff.
  expect((await planPromotion(repos, URL, "v1.1.0", "prod")).changes).toBeUndefined();
  // A new tag is not an error.
  const fresh = await planPromotion(repos, URL, "v1.0.0", "canary");
  expect(fresh.targetDigest).toBeUndefined();
  await promote(repos, URL, fresh);
  expect((await store.resolve("canary")).digest).toBe(digests.v1!);
});
