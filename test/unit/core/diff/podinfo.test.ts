import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { diffTrees, dirTreeReader, renderTreeDiff, type TreeDiff } from "../../../../src/core/diff/index.ts";

const DATA = "/work/shared/data/podinfo";
const tree = (v: string) => dirTreeReader(join(DATA, v));

/** Files whose bytes differ, computed independently of the engine. */
async function changedFiles(a: string, b: string): Promise<{ added: string[]; removed: string[]; modified: string[] }> {
  const la = new Set(await tree(a).list());
  const lb = new Set(await tree(b).list());
  const modified = [...la].filter((p) => lb.has(p) && !readFileSync(join(DATA, a, p)).equals(readFileSync(join(DATA, b, p))));
  return { added: [...lb].filter((p) => !la.has(p)), removed: [...la].filter((p) => !lb.has(p)), modified };
}

function obj(d: TreeDiff, kind: string, name: string, path: string) {
  const o = d.objects.find((x) => x.kind === kind && x.name === name && x.path === path);
  if (!o) throw new Error(`no change for ${kind}/${name} in ${path}; have ${d.objects.map((x) => `${x.kind}/${x.name}@${x.path}`).join(", ")}`);
  return o;
}

describe("podinfo 6.12.0 → 6.13.0", async () => {
  const d = await diffTrees(tree("6.12.0"), tree("6.13.0"));

  test("file list matches a byte comparison", async () => {
    const want = await changedFiles("6.12.0", "6.13.0");
    expect(want.modified.length).toBe(10);
    expect(d.files.map((f) => f.path)).toEqual([...want.modified].sort());
    expect(d.files.every((f) => f.status === "modified" && f.structured && !f.binary && f.unified !== undefined)).toBe(true);
    expect(d.summary).toEqual({ files: { added: 0, removed: 0, modified: 10 }, objects: { added: 0, removed: 0, changed: 10 } });
    expect(d.equal).toBe(false);
  });

  test("every changed object is a podinfo image bump, and nothing else is reported", () => {
    expect(d.objects.map((o) => `${o.kind}/${o.name}`).sort()).toEqual([
      "CronJob/backup-daily", "CronJob/rollup-daily", "CronJob/rollup-weekly", "Deployment/backend", "Deployment/backend",
      "Deployment/database-replica", "Deployment/frontend", "Deployment/frontend", "Deployment/podinfo", "StatefulSet/database-primary",
    ]);
    for (const o of d.objects) {
      expect(o.status).toBe("changed");
      expect(o.highlights).toEqual(["image ghcr.io/stefanprodan/podinfo:6.12.0 → 6.13.0"]);
      expect(o.unified).toMatch(/\n-\s+image: ghcr\.io\/stefanprodan\/podinfo:6\.12\.0\n\+\s+image: ghcr\.io\/stefanprodan\/podinfo:6\.13\.0\n/);
    }
    expect(obj(d, "Deployment", "backend", "deploy/webapp/backend/deployment.yaml").namespace).toBe("webapp");
    expect(obj(d, "Deployment", "backend", "deploy/bases/backend/deployment.yaml").namespace).toBeUndefined();
  });

  test("object diff is scoped to the document, with file headers", () => {
    const o = obj(d, "Deployment", "podinfo", "kustomize/deployment.yaml");
    expect(o.unified!.split("\n").slice(0, 3)).toEqual([
      "--- a/kustomize/deployment.yaml",
      "+++ b/kustomize/deployment.yaml",
      "@@ -23,7 +23,7 @@",
    ]);
    expect(o.unified).toContain("\n-        image: ghcr.io/stefanprodan/podinfo:6.12.0\n+        image: ghcr.io/stefanprodan/podinfo:6.13.0\n");
  });
});

describe("podinfo 6.13.0 → 6.14.1", async () => {
  const d = await diffTrees(tree("6.13.0"), tree("6.14.1"));

  test("added and modified files match a byte comparison", async () => {
    const want = await changedFiles("6.13.0", "6.14.1");
    expect(d.files.filter((f) => f.status === "added").map((f) => f.path)).toEqual(want.added.sort());
    expect(d.files.filter((f) => f.status === "modified").map((f) => f.path)).toEqual(want.modified.sort());
    expect(want.added).toContain("deploy/bases/frontend/scripts/warm-cache.sh");
    const sh = d.files.find((f) => f.path === "deploy/bases/frontend/scripts/warm-cache.sh")!;
    expect(sh.structured).toBe(false);
    expect(sh.unified!.startsWith("--- /dev/null\n+++ b/deploy/bases/frontend/scripts/warm-cache.sh\n@@ -0,0 +1,")).toBe(true);
  });

  test("the frontend Deployment: service account, image, log level", () => {
    const o = obj(d, "Deployment", "frontend", "deploy/bases/frontend/deployment.yaml");
    expect(o.highlights).toEqual([
      "serviceAccountName unset → frontend",
      "image ghcr.io/stefanprodan/podinfo:6.13.0 → 6.14.1",
      "command frontend: --level=info → --level=debug",
    ]);
  });

  test("HPA minReplicas, redis bump, kustomization resources", () => {
    expect(obj(d, "HorizontalPodAutoscaler", "frontend", "deploy/bases/frontend/hpa.yaml").highlights).toEqual(["minReplicas 1 → 2"]);
    expect(obj(d, "Deployment", "cache", "deploy/bases/cache/deployment.yaml").highlights).toEqual(["image docker.io/redis:8.6.3 → 8.8.0"]);
    const k = obj(d, "Kustomization", "", "deploy/bases/frontend/kustomization.yaml");
    expect(k.highlights).toEqual(["resources: added serviceaccount.yaml, cronjob-warm-cache.yaml", "configMapGenerator: +warm-cache-script"]);
  });

  test("new objects come from new files", () => {
    const added = d.objects.filter((o) => o.status === "added");
    expect(added.map((o) => `${o.kind}/${o.name}@${o.path}`)).toEqual([
      "CronJob/warm-cache@deploy/bases/frontend/cronjob-warm-cache.yaml",
      "ServiceAccount/frontend@deploy/bases/frontend/serviceaccount.yaml",
    ]);
    expect(added[0]!.highlights).toEqual(["image ghcr.io/stefanprodan/podinfo:6.14.1"]);
    expect(d.summary.objects).toEqual({ added: 2, removed: 0, changed: 13 });
  });

  test("render: summary first, then files, objects and diffs", () => {
    const text = renderTreeDiff(d, { color: false });
    expect(text.split("\n")[0]).toBe("17 files changed (4 added, 13 modified); 15 objects: 13 changed, 2 added");
    expect(text).toContain("  A deploy/bases/frontend/serviceaccount.yaml\n");
    expect(text).toContain("  ~ HorizontalPodAutoscaler frontend  autoscaling/v2 · deploy/bases/frontend/hpa.yaml\n      • minReplicas 1 → 2\n");
    expect(text).toContain("# changed Deployment frontend\n--- a/deploy/bases/frontend/deployment.yaml");
    expect(text).not.toContain("\x1b[");
    // YAML files are shown per object, not again as whole files; the shell scripts are shown as files.
    expect(text.split("--- a/deploy/bases/frontend/hpa.yaml").length).toBe(2);
    expect(text).toContain("+++ b/deploy/bases/frontend/scripts/warm-cache-init.sh");
    const colored = renderTreeDiff(d, { color: true });
    expect(colored).toContain("\x1b[32m+        image: ghcr.io/stefanprodan/podinfo:6.14.1\x1b[0m");
    expect(colored).toContain("\x1b[31m-        image: ghcr.io/stefanprodan/podinfo:6.13.0\x1b[0m");
    expect(renderTreeDiff(d, { color: false, patch: false })).not.toContain("@@");
  });
});

describe("podinfo reversed and equal", () => {
  test("6.14.1 → 6.13.0 removes what 6.13.0 → 6.14.1 added", async () => {
    const d = await diffTrees(tree("6.14.1"), tree("6.13.0"));
    expect(d.summary).toEqual({ files: { added: 0, removed: 4, modified: 13 }, objects: { added: 0, removed: 2, changed: 13 } });
    const hpa = obj(d, "HorizontalPodAutoscaler", "frontend", "deploy/bases/frontend/hpa.yaml");
    expect(hpa.highlights).toEqual(["minReplicas 2 → 1"]);
    const sa = d.objects.find((o) => o.kind === "ServiceAccount")!;
    expect(sa.status).toBe("removed");
    expect(sa.unified!.split("\n")[1]).toBe("+++ /dev/null");
  });

  test("a tree against itself is equal", async () => {
    const d = await diffTrees(tree("6.13.0"), tree("6.13.0"));
    expect(d).toEqual({
      equal: true,
      summary: { files: { added: 0, removed: 0, modified: 0 }, objects: { added: 0, removed: 0, changed: 0 } },
      files: [],
      objects: [],
    });
    expect(renderTreeDiff(d, { color: false })).toBe("no changes\n");
  });

  test("JSON round trip keeps everything", async () => {
    const d = await diffTrees(tree("6.12.0"), tree("6.14.1"));
    expect(JSON.parse(JSON.stringify(d))).toEqual(d);
  });
});
