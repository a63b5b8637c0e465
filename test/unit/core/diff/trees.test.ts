import { describe, expect, test } from "bun:test";
import { mkdtempSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { diffTrees, dirTreeReader, memoryTreeReader as mem, renderTreeDiff } from "../../../../src/core/diff/index.ts";

const deploy = (name: string, image: string, extra = "") => `apiVersion: apps/v1
kind: Deployment
metadata:
  name: ${name}
spec:
  replicas: 1
  template:
    spec:
      containers:
      - name: app
        image: ${image}
${extra}`;
const cm = (name: string, v: string) => `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\ndata:\n  k: "${v}"\n`;

describe("diffTrees on small trees", () => {
  test("added and removed files, with /dev/null headers", async () => {
    const d = await diffTrees(mem({ "old.txt": "x\n", "same.txt": "s\n" }), mem({ "new.txt": "y\n", "same.txt": "s\n" }));
    expect(d.files.map((f) => [f.path, f.status])).toEqual([["new.txt", "added"], ["old.txt", "removed"]]);
    expect(d.files[0]!.unified).toBe("--- /dev/null\n+++ b/new.txt\n@@ -0,0 +1 @@\n+y\n");
    expect(d.files[1]!.unified).toBe("--- a/old.txt\n+++ /dev/null\n@@ -1 +0,0 @@\n-x\n");
    expect(d.objects).toEqual([]);
  });

  test("context lines follow the option", async () => {
    const lines = (n: number) => Array.from({ length: 20 }, (_, i) => (i === 10 ? `changed${n}` : `l${i}`)).join("\n") + "\n";
    const d1 = await diffTrees(mem({ f: lines(1) }), mem({ f: lines(2) }), { context: 1 });
    expect(d1.files[0]!.unified).toBe("--- a/f\n+++ b/f\n@@ -10,3 +10,3 @@\n l9\n-changed1\n+changed2\n l11\n");
    const d3 = await diffTrees(mem({ f: lines(1) }), mem({ f: lines(2) }));
    expect(d3.files[0]!.unified!.split("\n")[2]).toBe("@@ -8,7 +8,7 @@");
  });

  test("an object moved to another file, unchanged: files differ, no object change", async () => {
    const a = mem({ "a.yaml": deploy("web", "nginx:1") + "---\n" + cm("c", "1"), "b.yaml": cm("other", "x") });
    const b = mem({ "a.yaml": cm("c", "1"), "b.yaml": cm("other", "x") + "---\n" + deploy("web", "nginx:1") });
    const d = await diffTrees(a, b);
    expect(d.files.map((f) => f.path)).toEqual(["a.yaml", "b.yaml"]);
    expect(d.objects).toEqual([]);
    expect(d.equal).toBe(false);
  });

  test("an object moved and edited: changed, with fromPath", async () => {
    const d = await diffTrees(mem({ "a.yaml": deploy("web", "nginx:1") }), mem({ "b.yaml": deploy("web", "nginx:2") }));
    expect(d.objects).toHaveLength(1);
    const o = d.objects[0]!;
    expect([o.status, o.path, o.fromPath, o.kind, o.name, o.apiVersion]).toEqual(["changed", "b.yaml", "a.yaml", "Deployment", "web", "apps/v1"]);
    expect(o.highlights).toEqual(["image nginx:1 → 2", "moved from a.yaml"]);
    expect(o.unified!.split("\n").slice(0, 2)).toEqual(["--- a/a.yaml", "+++ b/b.yaml"]);
  });

  test("multi-document file: only the edited document is reported; reordering is not a change", async () => {
    const docs = [cm("one", "1"), cm("two", "2"), cm("three", "3")];
    const a = mem({ "all.yaml": docs.join("---\n") });
    const edited = await diffTrees(a, mem({ "all.yaml": [docs[0], cm("two", "22"), docs[2]].join("---\n") }));
    expect(edited.objects.map((o) => [o.name, o.status, o.highlights])).toEqual([["two", "changed", ["data key k changed"]]]);
    expect(edited.objects[0]!.unified).toBe('--- a/all.yaml\n+++ b/all.yaml\n@@ -3,4 +3,4 @@\n metadata:\n   name: two\n data:\n-  k: "2"\n+  k: "22"\n');
    const reordered = await diffTrees(a, mem({ "all.yaml": [docs[2], docs[0], docs[1]].join("---\n") }));
    expect(reordered.files).toHaveLength(1);
    expect(reordered.objects).toEqual([]);
    const commented = await diffTrees(a, mem({ "all.yaml": "# a comment\n" + docs.join("---\n") }));
    expect(commented.objects).toEqual([]);
  });

  test("same key in several files pairs by path first (kustomize bases and overlays)", async () => {
    const a = mem({ "base/d.yaml": deploy("web", "nginx:1"), "overlay/d.yaml": deploy("web", "nginx:1") });
    const b = mem({ "base/d.yaml": deploy("web", "nginx:1"), "overlay/d.yaml": deploy("web", "nginx:2") });
    const d = await diffTrees(a, b);
    expect(d.objects.map((o) => [o.path, o.fromPath, o.highlights])).toEqual([["overlay/d.yaml", undefined, ["image nginx:1 → 2"]]]);
  });

  test("namespace and API group are part of the identity; the version is not", async () => {
    const withNs = deploy("web", "nginx:1").replace("  name: web", "  name: web\n  namespace: prod");
    const d = await diffTrees(mem({ "d.yaml": deploy("web", "nginx:1") }), mem({ "d.yaml": withNs }));
    expect(d.objects.map((o) => [o.status, o.namespace])).toEqual([["added", "prod"], ["removed", undefined]]);
    const hpa = (v: string) => `apiVersion: autoscaling/${v}\nkind: HorizontalPodAutoscaler\nmetadata:\n  name: h\nspec:\n  maxReplicas: 3\n`;
    const v = await diffTrees(mem({ "h.yaml": hpa("v2beta2") }), mem({ "h.yaml": hpa("v2") }));
    expect(v.objects.map((o) => [o.status, o.highlights])).toEqual([["changed", ["apiVersion autoscaling/v2beta2 → autoscaling/v2"]]]);
  });

  test("invalid YAML falls back to a text diff", async () => {
    const d = await diffTrees(mem({ "x.yaml": cm("c", "1") }), mem({ "x.yaml": cm("c", "1") + "data: [\n" }));
    expect(d.objects).toEqual([]);
    expect(d.files[0]!.structured).toBe(false);
    expect(d.files[0]!.unified).toContain("+data: [\n");
    const text = renderTreeDiff(d, { color: false });
    expect(text).toContain("--- a/x.yaml\n+++ b/x.yaml\n");
  });

  test("YAML that is not Kubernetes objects is text; so is a duplicate key", async () => {
    const plain = await diffTrees(mem({ "values.yaml": "replicas: 1\n" }), mem({ "values.yaml": "replicas: 2\n" }));
    expect([plain.objects.length, plain.files[0]!.structured]).toEqual([0, false]);
    const dup = await diffTrees(mem({ "c.yml": cm("c", "1") }), mem({ "c.yml": cm("c", "2") + "kind: Secret\n" }));
    expect([dup.objects.length, dup.files[0]!.structured]).toEqual([0, false]);
  });

  test("empty documents and .yml are handled; YAML 1.1 scalars compare as Kubernetes reads them", async () => {
    const d = await diffTrees(mem({ "c.yml": "---\n" + cm("c", "1") + "---\n" }), mem({ "c.yml": cm("c", "1") }));
    expect(d.files).toHaveLength(1);
    expect(d.objects).toEqual([]);
    const yes = (v: string) => `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: b\nflag: ${v}\n`;
    expect((await diffTrees(mem({ "b.yaml": yes("yes") }), mem({ "b.yaml": yes("true") }))).objects).toEqual([]);
  });

  test("binary files are flagged and not diffed", async () => {
    const d = await diffTrees(mem({ "logo.png": new Uint8Array([137, 80, 78, 71, 0, 1]) }), mem({ "logo.png": new Uint8Array([137, 80, 78, 71, 0, 2]) }));
    expect(d.files).toEqual([{ path: "logo.png", status: "modified", binary: true, structured: false }]);
    expect(renderTreeDiff(d, { color: false })).toContain("  M logo.png (binary)\n");
    const latin1 = await diffTrees(mem({}), mem({ "l.txt": new Uint8Array([0x63, 0x61, 0x66, 0xe9]) }));
    expect(latin1.files[0]!.binary).toBe(true);
  });

  test("files over maxFileBytes are compared but not diffed", async () => {
    const d = await diffTrees(mem({ "big.yaml": cm("c", "x".repeat(100)) }), mem({ "big.yaml": cm("c", "y".repeat(100)) }), { maxFileBytes: 64 });
    expect(d.files).toEqual([{ path: "big.yaml", status: "modified", binary: false, tooLarge: true, structured: false }]);
    expect(d.objects).toEqual([]);
  });

  test("a file without a final newline", async () => {
    const d = await diffTrees(mem({ f: "a\nb" }), mem({ f: "a\nc" }));
    expect(d.files[0]!.unified).toBe("--- a/f\n+++ b/f\n@@ -1,2 +1,2 @@\n a\n-b\n\\ No newline at end of file\n+c\n\\ No newline at end of file\n");
  });
});

describe("dirTreeReader", () => {
  test("lists regular files with POSIX paths, skips symlinks, accepts a single file", async () => {
    const dir = mkdtempSync(join(tmpdir(), "berth-diff-"));
    try {
      mkdirSync(join(dir, "a/b"), { recursive: true });
      writeFileSync(join(dir, "a/b/c.yaml"), cm("c", "1"));
      writeFileSync(join(dir, "top.txt"), "t\n");
      symlinkSync(join(dir, "top.txt"), join(dir, "link.txt"));
      const r = dirTreeReader(dir);
      expect(await r.list()).toEqual(["a/b/c.yaml", "top.txt"]);
      expect(new TextDecoder().decode(await r.read("a/b/c.yaml"))).toBe(cm("c", "1"));
      expect(new TextDecoder().decode(await dirTreeReader(join(dir, "top.txt")).read("top.txt"))).toBe("t\n");
      const single = dirTreeReader(join(dir, "a/b/c.yaml"));
      expect(await single.list()).toEqual(["c.yaml"]);
      const d = await diffTrees(single, mem({ "c.yaml": cm("c", "2") }));
      expect(d.objects.map((o) => o.name)).toEqual(["c"]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("rendering edge cases", () => {
  test("a YAML file whose objects did not change still shows its text diff", async () => {
    const a = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n";
    const d = await diffTrees(mem({ "c.yaml": a }), mem({ "c.yaml": "# owned by team x\n" + a }));
    expect(d.objects).toEqual([]);
    const text = renderTreeDiff(d, { color: false });
    expect(text).toContain("+# owned by team x\n");
    expect(text.split("\n")[0]).toBe("1 file changed (1 modified)");
  });
});

describe("dirTreeReader errors", () => {
  test("a missing path is a usage error with flux's wording", async () => {
    const p = join(tmpdir(), "berth-no-such-dir-" + process.pid);
    await expect(dirTreeReader(p).list()).rejects.toThrow(`invalid path '${p}', must point to an existing directory or file`);
    await expect(dirTreeReader(tmpdir()).read("no/such/file")).rejects.toMatchObject({ code: "STORAGE_FAILED" });
  });
});
