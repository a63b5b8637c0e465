import { expect, test } from "bun:test";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";

/** Dependency rules of ../shared/design.md §2.2, checked on every import specifier in src/. */
const SRC = join(import.meta.dir, "../../src");

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? files(p) : /\.(ts|tsx)$/.test(n) ? [p] : [];
  });
}

function imports(src: string): string[] {
  const out: string[] = [];
  const re = /(?:import|export)\s+(?:type\s+)?(?:[^'"]*?\sfrom\s+)?["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)/g;
  for (const m of src.matchAll(re)) out.push((m[1] ?? m[2])!);
  return out;
}

const all = files(SRC).map((f) => ({ file: relative(SRC, f), text: readFileSync(f, "utf8") }));

test("the scan sees the tree", () => {
  expect(all.some((f) => f.file.startsWith("core/"))).toBe(true);
  expect(all.some((f) => f.file.startsWith("cli/"))).toBe(true);
});

test("core imports neither k8s, tui, cli nor UI or Kubernetes libraries", () => {
  const bad: string[] = [];
  for (const f of all.filter((x) => x.file.startsWith("core/"))) {
    for (const spec of imports(f.text)) {
      if (/(^|\/)(k8s|tui|cli)\//.test(spec) || /^(react|ink|@kubernetes\/client-node|commander)/.test(spec)) bad.push(`${f.file} → ${spec}`);
    }
  }
  expect(bad).toEqual([]);
});

test("core never reads the environment, exits or prints", () => {
  const bad: string[] = [];
  for (const f of all.filter((x) => x.file.startsWith("core/"))) {
    const code = f.text.replace(/\/\*[\s\S]*?\*\//g, "").replace(/\/\/.*$/gm, "");
    for (const pat of [/process\.env/, /process\.exit/, /\bconsole\./]) if (pat.test(code)) bad.push(`${f.file}: ${pat.source}`);
  }
  expect(bad).toEqual([]);
});

test("k8s does not import tui or cli; tui does not import cli", () => {
  const bad: string[] = [];
  for (const f of all) {
    for (const spec of imports(f.text)) {
      if (f.file.startsWith("k8s/") && /(^|\/)(tui|cli)\//.test(spec)) bad.push(`${f.file} → ${spec}`);
      if (f.file.startsWith("tui/") && /(^|\/)cli\//.test(spec)) bad.push(`${f.file} → ${spec}`);
    }
  }
  expect(bad).toEqual([]);
});

test("main.ts loads commands lazily so --version stays fast", () => {
  const main = readFileSync(join(SRC, "main.ts"), "utf8");
  const staticCommandImports = imports(main).filter((s) => s.includes("/commands/") && !main.includes(`import("${s}")`));
  expect(staticCommandImports).toEqual([]);
});

test("tui and k8s reach core only through its public index", () => {
  const bad: string[] = [];
  for (const f of all.filter((x) => x.file.startsWith("tui/") || x.file.startsWith("k8s/"))) {
    for (const spec of imports(f.text)) {
      if (/(^|\/)core\//.test(spec) && !/(^|\/)core\/index\.ts$/.test(spec)) bad.push(`${f.file} → ${spec}`);
    }
  }
  expect(bad).toEqual([]);
});
