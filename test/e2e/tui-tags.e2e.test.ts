/**
 * A 1000-tag repository in the compiled binary's TUI (tmux, 80x24) against the harness's real
 * registry: the list fills in, G reaches the last tag, a filter narrows it, and a burst of keys is
 * applied one by one. Times are printed for the record; nothing asserts on them (design §2.5).
 * The tags are pushed through core: one artifact, then 1000 manifests that differ only in their
 * revision annotation (so every tag is its own row, not a member of another tag's digest group).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createRegistryClient, digestOf, encodeManifest, fetchImageManifest, OCI_MANIFEST, pushArtifact } from "../../src/core/index.ts";
import { startRegistry, type RegistryServer } from "../harness/index.ts";
import { requireBinary } from "./berth-bin.ts";
import { TmuxUi } from "./tmux.ts";

const EXAMPLE = join(import.meta.dir, "../../examples/podinfo");
const ui = new TmuxUi(`berth-e2e-tags-${process.pid}`, { timeoutMs: 30_000, pollMs: 20 });
const N = 1000;

let reg: RegistryServer;
let work: string;
let repo: string;

/** Sends `keys` and returns the screen that satisfies `pred`, with the time it took. */
async function timed(keys: string[], pred: (s: string) => boolean, what: string): Promise<{ s: string; ms: number }> {
  const t0 = performance.now();
  await ui.burst(...keys);
  const s = await ui.waitScreen(pred, what);
  return { s, ms: performance.now() - t0 };
}

const selected = (s: string) => s.split("\n").find((l) => l.startsWith("▸"))?.slice(2).trim().split(/\s+/)[0];
const tagOf = (i: number) => `2.${i}.0`;

beforeAll(async () => {
  requireBinary();
  reg = await startRegistry();
  work = await mkdtemp(join(tmpdir(), "berth-tui-tags-e2e-"));
  repo = `oci://${reg.host}/e2e/many`;
  const target = createRegistryClient({ insecure: true }).repository({ registry: reg.host, repository: "e2e/many" });
  await pushArtifact(EXAMPLE, target, "1.0.0", { metadata: { source: "https://github.com/example/podinfo", revision: `main@sha1:${"f".repeat(40)}` } });
  const base = (await fetchImageManifest(target, "1.0.0")).manifest;
  const queue = Array.from({ length: N }, (_, i) => i);
  const worker = async () => {
    for (let i = queue.shift(); i !== undefined; i = queue.shift()) {
      const bytes = encodeManifest({ ...base, annotations: { ...base.annotations, "org.opencontainers.image.revision": `main@sha1:${String(i).padStart(40, "0")}` } });
      const desc = { mediaType: OCI_MANIFEST, digest: digestOf(bytes), size: bytes.length };
      await target.push(desc, bytes);
      await target.tag(desc, tagOf(i));
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  await ui.start(["ui", repo], { HOME: join(work, "home") });
}, 180_000);

afterAll(async () => {
  await ui.stop();
  await reg?.stop();
  if (work) await rm(work, { recursive: true, force: true });
}, 30_000);

describe("1000 tags in the compiled TUI (real registry)", () => {
  test("G, g, a burst of j, and a filter stay correct on a 1000-tag list", async () => {
    const t0 = performance.now();
    let s = await ui.waitScreen((x) => x.includes(`${N + 1} tags`) && !x.includes("loaded"), "all rows filled in", 120_000);
    const filled = performance.now() - t0;
    const lines = s.trimEnd().split("\n");
    expect(lines.length).toBeLessThanOrEqual(24);
    for (const l of lines) expect(l.length).toBeLessThanOrEqual(80);
    expect(selected(s)).toBe(tagOf(N - 1));

    const end = await timed(["G"], (x) => selected(x) === "1.0.0", "G: the last tag");
    expect(end.s).toContain(tagOf(0));
    expect(end.s).not.toContain(tagOf(N - 1));
    const top = await timed(["g"], (x) => selected(x) === tagOf(N - 1), "g: the first tag");
    // 50 keys in one chunk (as tmux sends them): each is applied, one row each.
    const burst = await timed(Array(50).fill("j"), (x) => selected(x) === tagOf(N - 51), "50 × j");

    const filter = await timed(["/", "2", ".", "5", "Enter"], (x) => x.includes('filter "2.5"') && x.includes("111 tags"), "filter 2.5");
    expect(selected(filter.s)).toMatch(/^2\.5/);
    const filteredEnd = await timed(["G"], (x) => selected(x) === "2.5.0", "G in the filtered list");
    s = filteredEnd.s;
    for (const l of s.split("\n").filter((x) => /^[▸ ] \d/.test(x))) expect(l.slice(2).split(/\s+/)[0]!.startsWith("2.5")).toBe(true);

    process.stderr.write(
      `1000-tag list: filled in ${filled.toFixed(0)} ms; G ${end.ms.toFixed(0)} ms, g ${top.ms.toFixed(0)} ms, 50×j ${burst.ms.toFixed(0)} ms, filter ${filter.ms.toFixed(0)} ms, G filtered ${filteredEnd.ms.toFixed(0)} ms (screen polled every 20 ms)\n`,
    );
    await ui.keys("Q");
    expect(await ui.waitScreen((x) => x.includes("EXIT:"), "quit")).toContain("EXIT:0");
  }, 180_000);
});
