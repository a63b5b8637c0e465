import { afterAll, describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { generateTree, prng } from "./tree.ts";

function digestTree(root: string): { files: Map<string, string>; bytes: number; yaml: number; bin: number } {
  const files = new Map<string, string>();
  let bytes = 0;
  let yaml = 0;
  let bin = 0;
  for (const e of readdirSync(root, { withFileTypes: true, recursive: true })) {
    if (!e.isFile()) continue;
    const path = join(e.parentPath, e.name);
    const data = readFileSync(path);
    bytes += data.length;
    if (e.name.endsWith(".yaml")) yaml++;
    if (e.name.endsWith(".bin")) bin++;
    files.set(path.slice(root.length), createHash("sha256").update(data).digest("hex"));
  }
  return { files, bytes, yaml, bin };
}

describe("generateTree", () => {
  const dirs: string[] = [];
  const mk = () => {
    const d = mkdtempSync(join(tmpdir(), "berth-bench-tree-test-"));
    dirs.push(d);
    return d;
  };
  afterAll(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  test("writes exactly the requested files and bytes, with the random share in .bin files", () => {
    const root = mk();
    const s = generateTree(root, { files: 300, bytes: 2_000_000, seed: 7 });
    const t = digestTree(root);
    expect(t.files.size).toBe(300);
    expect(t.bytes).toBe(2_000_000);
    expect(s.bytes).toBe(2_000_000);
    expect(t.bin).toBe(3);
    expect(t.yaml).toBe(297);
    expect(s.randomBytes).toBe(400_000);
    expect(s.dirs).toBeGreaterThan(1);
  });

  test("same seed gives the same tree; another seed a different one", () => {
    const a = mk();
    const b = mk();
    const c = mk();
    generateTree(a, { files: 120, bytes: 300_000, seed: 3 });
    generateTree(b, { files: 120, bytes: 300_000, seed: 3 });
    generateTree(c, { files: 120, bytes: 300_000, seed: 4 });
    const ta = digestTree(a);
    expect([...digestTree(b).files]).toEqual([...ta.files]);
    expect([...digestTree(c).files]).not.toEqual([...ta.files]);
  });

  test("YAML compresses well and the .bin files do not", () => {
    const root = mk();
    generateTree(root, { files: 50, bytes: 1_000_000, randomShare: 0.3, randomFileShare: 0.1, seed: 1 });
    let yaml = 0;
    let yamlGz = 0;
    let bin = 0;
    let binGz = 0;
    for (const e of readdirSync(root, { withFileTypes: true, recursive: true })) {
      if (!e.isFile()) continue;
      const data = readFileSync(join(e.parentPath, e.name));
      const gz = gzipSync(data).length;
      if (e.name.endsWith(".bin")) {
        bin += data.length;
        binGz += gz;
      } else {
        yaml += data.length;
        yamlGz += gz;
      }
    }
    expect(yaml / yamlGz).toBeGreaterThan(3);
    expect(binGz / bin).toBeGreaterThan(0.99);
  });

  test("prng is deterministic and in [0, 1)", () => {
    const a = prng(42);
    const b = prng(42);
    const xs = Array.from({ length: 1000 }, () => a());
    expect(Array.from({ length: 1000 }, () => b())).toEqual(xs);
    expect(Math.min(...xs)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...xs)).toBeLessThan(1);
  });

});
