import { afterEach, beforeEach, expect, test } from "bun:test";
import { render, cleanup } from "ink-testing-library";
import App from "../../../src/tui/app.tsx";
import Table from "../../../src/tui/components/Table.tsx";
import { createTable, tableReducer } from "../../../src/tui/models/table-model.ts";
import { MONO_THEME } from "../../../src/tui/render/theme.ts";
import { tagArtifact, type MemoryStore } from "../../../src/core/index.ts";
import { memoryHistory, type TuiServices } from "../../../src/tui/services.ts";
import { deployment, driveApp, sampleRepo } from "./fixtures.ts";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

let services: TuiServices;
let store: MemoryStore;
let digests: Record<string, string>;

beforeEach(async () => {
  ({ services, store, digests } = await sampleRepo());
});
afterEach(() => cleanup());

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor(frame: () => string | undefined, pred: (f: string) => boolean, what: string): Promise<string> {
  for (let i = 0; i < 1000; i++) {
    const f = frame() ?? "";
    if (pred(f)) return f;
    await sleep(10);
  }
  throw new Error(`timed out waiting for ${what}; last frame:\n${frame()}`);
}

function start(size = { columns: 100, rows: 24 }) {
  const r = render(<App services={services} initial={[{ kind: "repos" }, { kind: "tags", repo: "oci://mem/app" }]} repositories={["oci://mem/app"]} color={false} size={size} />);
  return { ...r, ...driveApp(r, 1000) };
}

test("tags: listed at once, filled in, grouped by digest; signature tags behind a toggle", async () => {
  const ui = start();
  const f = await ui.until((f) => f.includes("main@sha1:1111") && f.includes("main@sha1:2222"), "loaded rows");
  const lines = f.split("\n");
  expect(lines[0]).toContain("berth › repositories › oci://mem/app");
  const rows = lines.filter((l) => /v1\.|prod|staging/.test(l)).map((l) => l.trim().split(/\s+/)[l.trim().startsWith("▸") ? 1 : 0]);
  expect(rows).toEqual(["v1.1.0", "└", "v1.0.0", "└"]);
  expect(f).toContain("└ staging");
  expect(f).toContain("└ prod");
  expect(f).toContain(digests.v2!.slice(0, 19));
  expect(f).toContain("1 signature/referrer tags hidden (a)");
  expect(f).not.toContain(".sig");
  expect(f).toMatch(/<\/> filter/);
  await ui.press("a");
  await ui.until((f) => f.includes("└ sha256-ccc"), "signature tag shown");
});

test("filter with /, enter keeps it", async () => {
  const ui = start();
  await ui.until((f) => f.includes("main@sha1:1111"), "loaded");
  await ui.press("/", "1", ".", "0", ".", "0");
  const typing = await ui.until((f) => f.includes("/1.0.0"), "prompt");
  expect(typing.split("\n").at(-1)).toContain("/1.0.0");
  await ui.press("\r");
  const f = await ui.until((f) => f.includes('filter "1.0.0"'), "filter applied");
  expect(f).toContain("v1.0.0");
  expect(f).not.toContain("v1.1.0");
});

test("artifact → files → YAML viewer, and back with q", async () => {
  const ui = start();
  await ui.until((f) => f.includes("main@sha1:2222"), "loaded");
  await ui.press("\r");
  let f = await ui.until((f) => f.includes("[1 Manifest]") && f.includes('"schemaVersion": 2'), "artifact");
  expect(f).toContain(`v1.1.0 → ${digests.v2!.slice(0, 19)}`);
  await ui.press("4");
  f = await ui.until((f) => f.includes("deploy.yaml"), "files");
  expect(f).toContain("README.md");
  await ui.press("j", "\r");
  f = await ui.until((f) => f.includes("image: ghcr.io/x/web:1.1.0"), "file viewer");
  expect(f).toContain("deploy.yaml · 12 lines");
  expect(f).toMatch(/ 7 {3}replicas: 3/);
  await ui.press("q");
  await ui.until((f) => f.includes("[4 Files]"), "back on the artifact, same tab");
  await ui.press("q");
  await ui.until((f) => f.includes("TAG") && f.includes("DIGEST"), "back on tags");
});

test("d diffs the selected tag with the next older one: replica and image changes stand out", async () => {
  const ui = start();
  await ui.until((f) => f.includes("main@sha1:1111"), "loaded");
  await ui.press("d");
  const f = await ui.until((f) => f.includes("replicas 1 → 3"), "diff");
  expect(f).toContain("diff v1.0.0 → v1.1.0");
  expect(f).toContain("1 file changed (1 modified); 1 object: 1 changed");
  expect(f).toContain("~ Deployment web (namespace prod)");
  expect(f).toContain("• image ghcr.io/x/web:1.0.0 → 1.1.0");
  expect(f).toContain("+  replicas: 3");
});

test("L diffs a tag with a local directory (what pushing it would change)", async () => {
  const dir = await mkdtemp(join(tmpdir(), "berth-tui-local-"));
  try {
    await writeFile(join(dir, "deploy.yaml"), deployment("ghcr.io/x/web:2.0.0", 3));
    await writeFile(join(dir, "README.md"), "hello\n");
    const ui = start();
    await ui.until((f) => f.includes("main@sha1:2222"), "loaded");
    await ui.press("L");
    await ui.until((f) => f.includes("diff v1.1.0 with local dir: ./"), "prompt");
    for (let i = 0; i < 2; i++) await ui.press("\x7f");
    await ui.press(dir, "\r");
    const f = await ui.until((f) => f.includes("image ghcr.io/x/web:1.1.0 → 2.0.0"), "local diff");
    expect(f).toContain(`diff v1.1.0 → ${dir} (local)`);
    expect(f).not.toContain("replicas");
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("promote: pick the target, review the diff, confirm; the target moves to the source's digest", async () => {
  const ui = start();
  await ui.until((f) => f.includes("main@sha1:2222"), "loaded");
  await ui.press("p");
  let f = await ui.until((f) => f.includes("TARGET TAG") && f.includes("prod"), "pick");
  const targets = f.split("\n").filter((l) => /^[▸ ] /.test(l) && !l.includes("TARGET")).map((l) => l.slice(2).trim()).filter(Boolean);
  expect(targets).toEqual(["v1.0.0", "staging", "prod"]);
  await ui.press("j", "j", "\r");
  f = await ui.until((f) => f.includes("Promote v1.1.0 to prod?"), "review");
  expect(f).toContain(`prod: ${digests.v1!.slice(0, 19)} → ${digests.v2!.slice(0, 19)} (v1.1.0)`);
  expect(f).toContain("replicas 1 → 3");
  const footer = (await ui.until((f) => f.split("\n").at(-1)!.includes("<y> confirm"), "review footer")).split("\n").at(-1)!;
  expect(footer).toContain("<n/esc> cancel");
  expect(footer).not.toContain("new tag");
  expect((await store.resolve("prod")).digest).toBe(digests.v1!);
  await ui.press("y");
  await ui.until((f) => f.includes("✔ promoted: prod now points at"), "done");
  expect((await store.resolve("prod")).digest).toBe(digests.v2!);
});

test("? lists the screen's keys from the keymap; NO_COLOR frames carry no colour codes", async () => {
  const ui = start();
  await ui.until((f) => f.includes("main@sha1:1111"), "loaded");
  await ui.press("?");
  const f = await ui.until((f) => f.includes("Keys of oci://mem/app"), "help");
  expect(f).toContain("promote this tag to another tag");
  expect(f).toContain("show/hide signature and referrer tags");
  for (const frame of ui.frames) expect(frame).not.toMatch(/\x1b\[(3[0-7]|9[0-7]|38;)/);
});

test(": opens a repository typed by the user; a bad URL is a message, not a crash", async () => {
  const ui = start();
  await ui.until((f) => f.includes("main@sha1:1111"), "loaded");
  await ui.press(":");
  await ui.until((f) => f.split("\n").at(-1)!.startsWith(":oci://"), "prompt");
  for (let i = 0; i < 6; i++) await ui.press("\x7f");
  await ui.press("nope", "\r");
  await ui.until((f) => f.includes("URL must be in format"), "error flash");
  await ui.press(":");
  await ui.until((f) => f.split("\n").at(-1)!.startsWith(":oci://"), "prompt again");
  await ui.press("mem.example/app:v1.0.0", "\r");
  const f = await ui.until((f) => f.includes("[1 Manifest]"), "artifact of the typed tag");
  expect(f.split("\n")[0]!.trimEnd()).toBe("berth › repositories › oci://mem.example/app › :v1.0.0");
});

test("repositories: command line, history, docker-config registries; a registry asks for the repository", async () => {
  services = { ...services, history: memoryHistory(["oci://mem/old"]) };
  const r = render(<App services={services} initial={[{ kind: "repos" }]} repositories={["oci://mem/app"]} color={false} size={{ columns: 100, rows: 24 }} />);
  const f = await waitFor(r.lastFrame, (f) => f.includes("oci://mem/old"), "history row");
  const rows = f.split("\n").filter((l) => l.includes("oci://") && !l.includes("press :")).map((l) => l.replace(/^[▸ ] /, "").replace(/\s+/g, " ").trim());
  expect(rows).toEqual(["oci://mem/app command line", "oci://mem/old recent", "oci://ghcr.io/ docker config"]);
  for (const k of ["G", "\r"]) {
    r.stdin.write(k);
    await sleep(30);
  }
  await waitFor(r.lastFrame, (f) => f.split("\n").at(-1)!.startsWith(":oci://ghcr.io/"), "prompt prefilled with the registry");
  r.stdin.write("\x1b");
  await sleep(30);
  r.stdin.write("g");
  await sleep(30);
  r.stdin.write("\r");
  await waitFor(r.lastFrame, (f) => f.includes("main@sha1:2222"), "tags of the first repository");
});

test("the layout follows the terminal size (80x24 down to 60x12)", async () => {
  const ui = start({ columns: 80, rows: 24 });
  let f = await ui.until((f) => f.includes("main@sha1:1111"), "loaded");
  expect(f.split("\n").length).toBeLessThanOrEqual(24);
  ui.rerender(<App services={services} initial={[{ kind: "repos" }, { kind: "tags", repo: "oci://mem/app" }]} color={false} size={{ columns: 60, rows: 12 }} />);
  f = await ui.until((f) => f.split("\n").length <= 12, "resized");
  for (const l of f.split("\n")) expect([...l].length).toBeLessThanOrEqual(60);
  expect(f).toContain("v1.1.0");
});

test("300 tags over a slow backend all fill in (results landing between flushes are kept)", async () => {
  await tagArtifact(store, "v1.1.0", Array.from({ length: 300 }, (_, i) => `2.0.${i}`));
  const slow = new Proxy(store, {
    get(t, p, r) {
      const v = Reflect.get(t, p, r);
      if (p !== "resolve" && p !== "fetch") return typeof v === "function" ? v.bind(t) : v;
      return async (...a: unknown[]) => {
        await sleep(1 + Math.random() * 4);
        return (v as (...x: unknown[]) => unknown).apply(t, a);
      };
    },
  });
  services = { ...services, open: async () => slow };
  const ui = start();
  const f = await waitFor(ui.lastFrame, (f) => f.includes("304 tags") && !f.includes("loaded"), "all loaded");
  expect(f).toMatch(/▸ 2\.0\.299 \(3/);
  expect(f).not.toContain("…   ");
  const loading = ui.frames.filter((x) => / \d+\/304 loaded/.test(x));
  expect(loading.length).toBeGreaterThan(1);
}, 20_000);

test("Table renders only the visible rows of 1000", () => {
  const keys = Array.from({ length: 1000 }, (_, i) => `tag-${i}`);
  let s = tableReducer(createTable(20), { kind: "rows", keys });
  s = tableReducer(s, { kind: "select", index: 500 }, keys);
  let calls = 0;
  const r = render(<Table header="TAG" state={s} width={40} theme={MONO_THEME} row={(i) => (calls++, { key: keys[i]!, text: keys[i]! })} />);
  const lines = r.lastFrame()!.split("\n");
  expect(lines).toHaveLength(21);
  expect(calls).toBeLessThanOrEqual(40);
  expect(lines.find((l) => l.startsWith("▸"))).toContain("tag-500");
});
