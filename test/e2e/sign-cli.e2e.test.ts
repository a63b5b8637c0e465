/**
 * `push --sign`, `tag --sign` and `list --signed|--verify-key` through the compiled binary against a
 * real Distribution registry (no referrers API: bundles go through the `sha256-<hex>` tag schema),
 * checked with `berth verify` and the real cosign CLI.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { peerBinDir, run, startRegistry, type RegistryServer } from "../harness/index.ts";
import { berth as berthBin, requireBinary } from "./berth-bin.ts";

const EXAMPLE = join(import.meta.dir, "../../examples/podinfo");
const COSIGN = join(peerBinDir(), "cosign");
const PASSWORD = { COSIGN_PASSWORD: "e2e-pw" };

let reg: RegistryServer;
let work: string;

const berth = (args: string[], env: Record<string, string> = {}) => berthBin(args, { cwd: work, env });
const meta = (rev: string) => ["--source=https://example.com/config", `--revision=main@sha1:${rev}`];
const repoUrl = () => `oci://${reg.host}/sign-cli/app`;

beforeAll(async () => {
  requireBinary();
  reg = await startRegistry();
  work = await mkdtemp(join(tmpdir(), "berth-sign-cli-"));
  for (const prefix of ["good", "other"]) {
    const g = await berth(["generate-key-pair", "--output-key-prefix", prefix], PASSWORD);
    expect(g.code).toBe(0);
  }
});
afterAll(async () => {
  await reg?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

/** Parses `berth list artifacts` table output into { tag: signedCell }. */
function signedColumn(table: string): Record<string, string> {
  const lines = table.trimEnd().split("\n");
  const header = lines[0]!.split("\t").map((c) => c.trim());
  const i = header.indexOf("SIGNED");
  expect(i).toBeGreaterThan(0);
  const out: Record<string, string> = {};
  for (const l of lines.slice(1)) {
    const cells = l.split("\t").map((c) => c.trim());
    out[cells[0]!.slice(cells[0]!.lastIndexOf(":") + 1)] = cells[i]!;
  }
  return out;
}

describe("signing from push, tag and list (compiled binary)", () => {
  const digests: Record<string, string> = {};

  test("push --sign (bundle) signs the pushed digest; -o json carries it; berth verify accepts it", async () => {
    const r = await berth(["push", "artifact", `${repoUrl()}:v1.0.0`, "-f", EXAMPLE, ...meta("1".repeat(40)), "--sign", "--key", "good.key", "-o", "json"], PASSWORD);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    digests.v1 = out.digest;
    expect(out.signature).toMatchObject({ digest: out.digest, format: "bundle", tag: out.digest.replace(":", "-"), pushed: true });
    expect(out.signature.signature).toMatch(/^sha256:[a-f0-9]{64}$/);
    const v = await berth(["verify", "artifact", `${repoUrl()}:v1.0.0`, "--key", "good.pub", "-o", "json"]);
    expect(v.code).toBe(0);
    const vj = JSON.parse(v.stdout);
    expect(vj.digest).toBe(out.digest);
    expect(vj.signatures.map((s: { format: string; source: string }) => [s.format, s.source])).toEqual([["bundle", `referrer ${out.signature.signature}`]]);
    expect((await berth(["verify", "artifact", `${repoUrl()}:v1.0.0`, "--key", "other.pub"])).code).toBe(7);
  });

  test("push --sign --sign-format legacy prints the signed line and writes the .sig image", async () => {
    const r = await berth(["push", "artifact", `${repoUrl()}:v2.0.0`, "-f", EXAMPLE, ...meta("2".repeat(40)), "--sign", "--key", "good.key", "--sign-format", "legacy"], PASSWORD);
    expect(r.code).toBe(0);
    const m = /✔ artifact successfully pushed to \S+@(sha256:[a-f0-9]{64})/.exec(r.stderr);
    expect(m).not.toBeNull();
    digests.v2 = m![1]!;
    expect(r.stderr).toContain(`✔ artifact signed: legacy signature sha256:`);
    expect(r.stderr).toContain(`(tag ${digests.v2.replace(":", "-")}.sig)`);
    const v = await berth(["verify", "artifact", `${repoUrl()}:v2.0.0`, "--key", "good.pub", "-o", "json"]);
    expect(v.code).toBe(0);
    expect(JSON.parse(v.stdout).signatures[0]).toMatchObject({ format: "legacy", source: `${digests.v2.replace(":", "-")}.sig layer 1` });
  });

  test("push --sign with a wrong password or without --key pushes nothing", async () => {
    const bad = await berth(["push", "artifact", `${repoUrl()}:never`, "-f", EXAMPLE, ...meta("9".repeat(40)), "--sign", "--key", "good.key"], { COSIGN_PASSWORD: "wrong" });
    expect(bad.code).not.toBe(0);
    const noKey = await berth(["push", "artifact", `${repoUrl()}:never`, "-f", EXAMPLE, ...meta("9".repeat(40)), "--sign"]);
    expect(noKey.code).toBe(2);
    expect(noKey.stderr).toContain("--sign needs --key");
    const keyOnly = await berth(["push", "artifact", `${repoUrl()}:never`, "-f", EXAMPLE, ...meta("9".repeat(40)), "--key", "good.key"]);
    expect(keyOnly.code).toBe(2);
    const ls = await berth(["list", "artifacts", repoUrl(), "-o", "json"]);
    expect(JSON.parse(ls.stdout).map((r: { tag: string }) => r.tag)).not.toContain("never");
  });

  test("tag --sign signs the digest the new tags point at", async () => {
    const p = await berth(["push", "artifact", `${repoUrl()}:v3.0.0`, "-f", EXAMPLE, ...meta("3".repeat(40)), "-o", "json"]);
    expect(p.code).toBe(0);
    digests.v3 = JSON.parse(p.stdout).digest;
    expect((await berth(["verify", "artifact", `${repoUrl()}:v3.0.0`, "--key", "good.pub"])).code).toBe(7);
    const t = await berth(["tag", "artifact", `${repoUrl()}:v3.0.0`, "--tag", "production", "--sign", "--key", "good.key", "-o", "json"], PASSWORD);
    expect(t.code).toBe(0);
    const tj = JSON.parse(t.stdout);
    expect(tj.digest).toBe(digests.v3);
    expect(tj.signature).toMatchObject({ digest: digests.v3, format: "bundle", pushed: true });
    const h = await berth(["tag", "artifact", `${repoUrl()}:v3.0.0`, "--tag", "stable", "--sign", "--key", "good.key", "--sign-format", "legacy"], PASSWORD);
    expect(h.code).toBe(0);
    expect(h.stderr).toContain("✔ artifact tagged as");
    expect(h.stderr).toContain("✔ artifact signed: legacy signature");
    const v = await berth(["verify", "artifact", `${repoUrl()}:production`, "--key", "good.pub", "-o", "json"]);
    expect(v.code).toBe(0);
    expect(JSON.parse(v.stdout).digest).toBe(digests.v3);
  });

  test("list: no SIGNED column by default; --signed shows present and -", async () => {
    const unsigned = await berth(["push", "artifact", `${repoUrl()}:v4.0.0`, "-f", EXAMPLE, ...meta("4".repeat(40)), "-o", "json"]);
    expect(unsigned.code).toBe(0);
    digests.v4 = JSON.parse(unsigned.stdout).digest;

    const plain = await berth(["list", "artifacts", repoUrl()]);
    expect(plain.code).toBe(0);
    expect(plain.stdout.split("\n")[0]).not.toContain("SIGNED");
    expect(plain.stdout).not.toContain("present");

    const r = await berth(["list", "artifacts", repoUrl(), "--signed"]);
    expect(r.code).toBe(0);
    expect(signedColumn(r.stdout)).toEqual({ "v4.0.0": "-", "v3.0.0": "present", "v2.0.0": "present", "v1.0.0": "present", stable: "present", production: "present" });
    // The SIGNED column is appended: the other columns are the default table's, cell for cell.
    const strip = (t: string) => t.split("\n").map((l) => l.split("\t").slice(0, 4).map((c) => c.trim()));
    expect(strip(r.stdout).slice(1)).toEqual(strip(plain.stdout).slice(1));

    const j = await berth(["list", "artifacts", repoUrl(), "--signed", "-o", "json"]);
    const rows = JSON.parse(j.stdout) as Array<{ tag: string; digest: string; signed: string }>;
    expect(Object.fromEntries(rows.map((x) => [x.tag, x.signed]))).toMatchObject({ "v4.0.0": "absent", "v1.0.0": "present" });
    expect(rows.find((x) => x.tag === "v4.0.0")!.digest).toBe(digests.v4!);
  });

  test("list --verify-key: verified with the signing key, invalid with another, unsigned without signatures", async () => {
    const good = await berth(["list", "artifacts", repoUrl(), "--verify-key", "good.pub"]);
    expect(good.code).toBe(0);
    expect(signedColumn(good.stdout)).toEqual({ "v4.0.0": "unsigned", "v3.0.0": "verified", "v2.0.0": "verified", "v1.0.0": "verified", stable: "verified", production: "verified" });

    const wrong = await berth(["list", "artifacts", repoUrl(), "--verify-key", "other.pub", "-o", "json"]);
    expect(wrong.code).toBe(0);
    const rows = JSON.parse(wrong.stdout) as Array<{ tag: string; signed: string }>;
    expect(Object.fromEntries(rows.map((x) => [x.tag, x.signed]))).toEqual({ "v4.0.0": "unsigned", "v3.0.0": "invalid", "v2.0.0": "invalid", "v1.0.0": "invalid", stable: "invalid", production: "invalid" });

    // Any of several keys may match.
    const either = await berth(["list", "artifacts", repoUrl(), "--verify-key", "other.pub", "--verify-key", "good.pub", "--filter-semver", ">=2.0.0"]);
    expect(signedColumn(either.stdout)).toEqual({ "v4.0.0": "unsigned", "v3.0.0": "verified", "v2.0.0": "verified" });
  });

  test("cosign verify accepts signatures made by push --sign (bundle and legacy)", async () => {
    if (!existsSync(COSIGN)) throw new Error(`cosign not found at ${COSIGN}: run scripts/setup to build it`);
    const cosign = (ref: string, key: string) =>
      run([COSIGN, "verify", "--key", key, "--insecure-ignore-tlog", "--allow-insecure-registry", "--allow-http-registry", ref], {
        cwd: work,
        env: { HOME: work, TUF_ROOT: join(work, "tuf") },
        timeoutMs: 60_000,
      });
    for (const [tag, digest] of [["v1.0.0", digests.v1], ["v2.0.0", digests.v2]] as const) {
      const v = await cosign(`${reg.host}/sign-cli/app:${tag}`, "good.pub");
      expect(v.code).toBe(0);
      expect(JSON.parse(v.stdout)[0].critical.image["docker-manifest-digest"]).toBe(digest!);
      expect((await cosign(`${reg.host}/sign-cli/app:${tag}`, "other.pub")).code).not.toBe(0);
    }
  });
});
