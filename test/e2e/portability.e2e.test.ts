import { afterAll, beforeAll, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { mkdtemp, mkdir, readFile, readdir, rm } from "node:fs/promises";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import { run, startRegistry, type RegistryServer } from "../harness/index.ts";
import { berth, requireBinary } from "./berth-bin.ts";

/** Node 22 from scripts/setup, and the Node bundle from scripts/compile. */
const NODE = join(process.env.BERTH_CACHE ?? join(homedir(), ".cache", "berth"), "node-22.23.3", "bin", "node");
const DENO = join(process.env.BERTH_CACHE ?? join(homedir(), ".cache", "berth"), "deno-2.9.6", "deno");
const BUNDLE = join(import.meta.dir, "../../dist/berth.mjs");
const MAIN = join(import.meta.dir, "../../src/main.ts");
const EXAMPLE = join(import.meta.dir, "../../examples/podinfo");

let reg: RegistryServer;
let work: string;
beforeAll(async () => {
  requireBinary();
  if (!existsSync(NODE)) throw new Error(`${NODE} missing: run scripts/setup`);
  if (!existsSync(DENO)) throw new Error(`${DENO} missing: run scripts/setup`);
  if (!existsSync(BUNDLE)) throw new Error(`${BUNDLE} missing: run scripts/compile`);
  reg = await startRegistry();
  work = await mkdtemp(join(tmpdir(), "berth-node-"));
});
afterAll(async () => {
  await reg?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

const node = (args: string[]) => run([NODE, BUNDLE, ...args], { env: { HOME: "/nonexistent-berth-home", NO_COLOR: "1" }, timeoutMs: 60_000 });

test("on Node 22 berth gives the same digests as the compiled binary, and reads what it wrote", async () => {
  expect((await run([NODE, "--version"])).stdout.trim()).toStartWith("v22.");
  const args = (url: string) => ["push", "artifact", url, "-f", EXAMPLE, "--source=s", "--revision=r", "--reproducible", "-o", "json"];
  const viaNode = await node(args(`oci://${reg.host}/node/app:v1`));
  expect(viaNode.stderr).toBe("");
  expect(viaNode.code).toBe(0);
  const viaBin = await berth(args(`oci-layout://${join(work, "layout")}:v1`));
  expect(viaBin.code).toBe(0);
  expect(JSON.parse(viaNode.stdout).digest).toBe(JSON.parse(viaBin.stdout).digest);

  const out = join(work, "out");
  await mkdir(out);
  const pull = await node(["pull", "artifact", `oci://${reg.host}/node/app:v1`, "-o", out]);
  expect(pull.code).toBe(0);
  expect((await readdir(out)).sort()).toEqual((await readdir(EXAMPLE)).sort());
  expect(await readFile(join(out, "deployment.yaml"), "utf8")).toBe(await readFile(join(EXAMPLE, "deployment.yaml"), "utf8"));
  const list = await node(["list", "artifacts", `oci://${reg.host}/node/app`]);
  expect(list.stdout).toContain(`${reg.host}/node/app:v1`);
  // Errors keep their exit codes on Node too (the bundle must not turn them into "unexpected error").
  const missing = await node(["pull", "artifact", `oci://${reg.host}/node/app:nope`, "-o", out]);
  expect(missing.code).toBe(4);
  expect(missing.stderr).not.toContain("unexpected error");
});

test("under deno run, the TypeScript sources work unchanged and give the same digest", async () => {
  const args = ["push", "artifact", `oci://${reg.host}/deno/app:v1`, "-f", EXAMPLE, "--source=s", "--revision=r", "--reproducible", "-o", "json"];
  const viaDeno = await run([DENO, "run", "-A", MAIN, ...args], { env: { HOME: "/nonexistent-berth-home", NO_COLOR: "1", DENO_NO_UPDATE_CHECK: "1" }, timeoutMs: 60_000 });
  expect(viaDeno.code).toBe(0);
  const viaBin = await berth(["push", "artifact", `oci-layout://${join(work, "deno-layout")}:v1`, ...args.slice(3)]);
  expect(JSON.parse(viaDeno.stdout).digest).toBe(JSON.parse(viaBin.stdout).digest);
  const list = await run([DENO, "run", "-A", MAIN, "list", "artifacts", `oci://${reg.host}/deno/app`, "-o", "json"], { env: { HOME: "/nonexistent-berth-home", DENO_NO_UPDATE_CHECK: "1" } });
  expect(JSON.parse(list.stdout)[0].tag).toBe("v1");
});
