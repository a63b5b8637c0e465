/** The Artifact screen of an artifact with several layers: the file tree follows the chosen layer. */
import { afterEach, beforeEach, expect, test } from "bun:test";
import { cleanup, render } from "ink-testing-library";
import { digestOf, encodeManifest, fetchImageManifest, OCI_MANIFEST, type ImageManifest, type MemoryStore } from "../../../src/core/index.ts";
import App from "../../../src/tui/app.tsx";
import type { TuiServices } from "../../../src/tui/services.ts";
import { driveInk, pushFiles, sampleRepo } from "./fixtures.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let services: TuiServices;
let store: MemoryStore;
let layers: string[];

beforeEach(async () => {
  ({ services, store } = await sampleRepo());
  // A three-layer artifact from the layers of three pushes: v1.0.0's content, extra files, v1.1.0's content.
  await pushFiles(store, "extra", { "extra/settings.yaml": "a: 1\n", "extra/more.yaml": "b: 2\n" });
  const parts = await Promise.all(["v1.0.0", "extra", "v1.1.0"].map((t) => fetchImageManifest(store, t)));
  const m: ImageManifest = { ...parts[0]!.manifest, layers: parts.map((p) => p.manifest.layers[0]!) };
  const bytes = encodeManifest(m);
  const desc = { mediaType: OCI_MANIFEST, digest: digestOf(bytes), size: bytes.length };
  await store.push(desc, bytes);
  await store.tag(desc, "multi");
  layers = m.layers.map((l) => l.digest);
});
afterEach(() => cleanup());

function start() {
  const r = render(<App services={services} initial={[{ kind: "repos" }, { kind: "tags", repo: "oci://mem/app" }, { kind: "artifact", repo: "oci://mem/app", tag: "multi" }]} color={false} size={{ columns: 100, rows: 24 }} />);
  return driveInk(r);
}

test("files of the first layer by default; enter on a layer lists that layer's files; L cycles; a file opens from its layer", async () => {
  const ui = start();
  await ui.until((f) => f.includes("3 layers"), "artifact");
  await ui.press("4");
  let f = await ui.until((f) => f.includes("deploy.yaml"), "files of layer 1");
  expect(f).toContain(`layer 1/3 ${layers[0]!.slice(0, 19)}`);
  expect(f).not.toContain("settings.yaml");

  // Layers tab: the shown layer is marked; enter on the second lists its files.
  await ui.press("3");
  f = await ui.until((f) => f.includes("MEDIA TYPE"), "layers");
  const rows = f.split("\n").filter((l) => /^[▸* ] application\//.test(l));
  expect(rows.map((l) => l.slice(0, 1))).toEqual(["▸", " ", " "]);
  await ui.press("j");
  f = await ui.until((f) => f.split("\n").some((l) => l.startsWith("▸") && l.includes(layers[1]!.slice(0, 30))), "cursor on layer 2");
  expect(f.split("\n").find((l) => l.includes(layers[0]!.slice(0, 30)))!.startsWith("*")).toBe(true);
  await ui.press("\r");
  f = await ui.until((f) => f.includes("settings.yaml"), "files of layer 2");
  expect(f).toContain(`layer 2/3 ${layers[1]!.slice(0, 19)}`);
  expect(f).toContain("[4 Files]");
  expect(f).toContain("more.yaml");
  expect(f).not.toContain("deploy.yaml");

  // A file opens from the layer it is listed in.
  await ui.press("j", "\r");
  f = await ui.until((f) => f.includes("a: 1"), "settings.yaml from layer 2");
  await ui.press("q");

  // L: layer 3 (v1.1.0's content), then back round to layer 1.
  await ui.press("L");
  f = await ui.until((f) => f.includes("layer 3/3"), "layer 3");
  f = await ui.until((f) => f.includes("deploy.yaml"), "files of layer 3");
  await ui.press("\r");
  f = await ui.until((f) => f.includes("image: ghcr.io/x/web:1.1.0"), "deploy.yaml from layer 3");
  await ui.press("q", "L");
  await ui.until((f) => f.includes("layer 1/3") && f.includes("deploy.yaml"), "layer 1 again");
  await ui.press("\r");
  await ui.until((f) => f.includes("image: ghcr.io/x/web:1.0.0"), "deploy.yaml from layer 1");
}, 30_000);

test("one layer: no layer number, and L is not taken", async () => {
  const ui = start();
  await ui.until((f) => f.includes("3 layers"), "artifact");
  await ui.press("q");
  await ui.until((f) => f.includes("main@sha1:2222"), "tags");
  await ui.press("\r", "4");
  const f = await ui.until((f) => f.includes("deploy.yaml") && f.includes("1 layer "), "files");
  expect(f).not.toContain("layer 1/1");
  await ui.press("L");
  await sleep(100);
  expect(await ui.until((f) => f.includes("deploy.yaml"), "still files")).not.toContain("layer 1/");
}, 30_000);
