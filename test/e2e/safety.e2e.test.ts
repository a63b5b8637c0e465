import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtemp, mkdir, readdir, rm, writeFile, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startRegistry, skopeoCopy, dockerRef, writeOciImageLayout, type RegistryServer } from "../harness/index.ts";
import { berth, requireBinary } from "./berth-bin.ts";

let reg: RegistryServer;
let tokenReg: RegistryServer;
let work: string;
beforeAll(async () => {
  requireBinary();
  [reg, tokenReg] = await Promise.all([startRegistry(), startRegistry({ auth: "token" })]);
  work = await mkdtemp(join(tmpdir(), "berth-safety-"));
});
afterAll(async () => {
  await Promise.all([reg?.stop(), tokenReg?.stop()]);
  if (work) await rm(work, { recursive: true, force: true });
});

/** Pushes a one-layer image whose tar holds `files` (names taken verbatim, so they can be hostile). */
async function pushHostile(name: string, files: Record<string, string>) {
  const img = writeOciImageLayout(join(work, `layout-${name}`), { tag: "v1", files });
  const c = await skopeoCopy(`oci:${img.dir}:v1`, { ref: dockerRef(reg, `hostile/${name}:v1`), endpoint: { registry: reg } });
  expect(c.code).toBe(0);
  return `oci://${reg.host}/hostile/${name}:v1`;
}

for (const [name, files, want] of [
  ["traversal", { "ok.yaml": "a: 1\n", "../../escaped.txt": "pwned\n" }, /\.\.\/\.\.\/escaped\.txt/],
  ["absolute", { "/tmp/berth-absolute-escape.txt": "pwned\n" }, /berth-absolute-escape/],
  ["inner-dotdot", { "a/../../escaped2.txt": "pwned\n" }, /escaped2/],
] as const) {
  test(`a hostile archive (${name}) is refused with exit 6; nothing is written, the output dir is unchanged`, async () => {
    const url = await pushHostile(name, files);
    const out = join(work, `out-${name}`, "deep", "dest");
    await mkdir(out, { recursive: true });
    await writeFile(join(out, "existing.txt"), "keep\n");
    const r = await berth(["pull", "artifact", url, "-o", out]);
    expect(r.code).toBe(6);
    expect(r.stderr).toMatch(want);
    expect(await readdir(out)).toEqual(["existing.txt"]);
    expect(await readdir(join(work, `out-${name}`, "deep"))).toEqual(["dest"]);
    expect(await readdir(join(work, `out-${name}`))).toEqual(["deep"]);
    expect(await stat("/tmp/berth-absolute-escape.txt").catch(() => null)).toBeNull();
  });
}

test("an archive over --max-size is refused before anything lands", async () => {
  const url = await pushHostile("big", { "big.yaml": "x".repeat(2 * 1024 * 1024) });
  const out = join(work, "out-big");
  await mkdir(out);
  const r = await berth(["pull", "artifact", url, "-o", out, "--max-size", "1MiB"]);
  expect(r.code).toBe(6);
  expect(await readdir(out)).toEqual([]);
  const ok = await berth(["pull", "artifact", url, "-o", out, "--max-size", "3MiB"]);
  expect(ok.code).toBe(0);
  expect(await readdir(out)).toEqual(["big.yaml"]);
});

test("list over a token-auth registry uses one token for the whole command", async () => {
  const creds = `${tokenReg.username}:${tokenReg.password}`;
  const src = join(import.meta.dir, "../../examples/podinfo");
  const url = `oci://${tokenReg.host}/tok/app`;
  const p = await berth(["push", "artifact", `${url}:v1`, "-f", src, "--source=s", "--revision=r", "--creds", creds]);
  expect(p.code).toBe(0);
  const tags = Array.from({ length: 12 }, (_, i) => `1.0.${i}`);
  const t = await berth(["tag", "artifact", `${url}:v1`, "--tag", tags.join(","), "--creds", creds]);
  expect(t.code).toBe(0);
  const before = tokenReg.tokenServer!.requests.length;
  const l = await berth(["list", "artifacts", url, "--creds", creds, "-o", "json"]);
  expect(l.code).toBe(0);
  expect(JSON.parse(l.stdout)).toHaveLength(13);
  const issued = tokenReg.tokenServer!.requests.slice(before);
  expect(issued.map((r) => r.status)).toEqual([200]);
});
