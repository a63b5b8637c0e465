/**
 * `push --sign`, `tag --sign` and `list --signed|--verify-key` through the compiled binary against a
 * real Distribution registry (no referrers API: bundles go through the `sha256-<hex>` tag schema),
 * checked with `berth verify` and the real cosign CLI.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createHash, createPublicKey } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { peerBinDir, run, startRegistry, type RegistryServer } from "../harness/index.ts";
import { BERTH_BIN, berth as berthBin, requireBinary } from "./berth-bin.ts";
import { LayoutStore } from "../../src/core/content/layout-store.ts";
import { digestOf } from "../../src/core/oci/digest.ts";
import { encodeIndex } from "../../src/core/oci/manifest.ts";
import { OCI_INDEX } from "../../src/core/oci/media-types.ts";
import { encodeBundleReferrer } from "../../src/core/sign/bundle.ts";
import { referrersTag, signatureTag } from "../../src/core/sign/legacy.ts";

const EXAMPLE = join(import.meta.dir, "../../examples/podinfo");
const COSIGN = join(peerBinDir(), "cosign");
const PASSWORD = { COSIGN_PASSWORD: "e2e-pw" };

let reg: RegistryServer;
let work: string;

const berth = (args: string[], env: Record<string, string | undefined> = {}) => berthBin(args, { cwd: work, env });
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
    // Who and when: the key's SPKI fingerprint and file; no identity, no timestamp, no log entry for a key signature.
    const spki = createPublicKey(await readFile(join(work, "good.pub"), "utf8")).export({ format: "der", type: "spki" });
    const fingerprint = `ecdsa-p256 sha256:${createHash("sha256").update(spki).digest("hex")}`;
    expect(vj.signatures[0]).toMatchObject({ key: fingerprint, keyFile: "good.pub", identity: null, signedAt: null, logIndex: null });
    const h = await berth(["verify", "artifact", `${repoUrl()}:v1.0.0`, "--key", "other.pub", "--key", "good.pub"]);
    expect(h.code).toBe(0);
    expect(h.stderr).toContain(`✔ bundle signature referrer ${out.signature.signature} verified: signed by key ${fingerprint} (good.pub), no timestamp`);
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

  test("push --sign with a wrong password, or keyless without an identity token, pushes nothing", async () => {
    const bad = await berth(["push", "artifact", `${repoUrl()}:never`, "-f", EXAMPLE, ...meta("9".repeat(40)), "--sign", "--key", "good.key"], { COSIGN_PASSWORD: "wrong" });
    expect(bad.code).not.toBe(0);
    const noToken = { SIGSTORE_ID_TOKEN: undefined, ACTIONS_ID_TOKEN_REQUEST_URL: undefined, ACTIONS_ID_TOKEN_REQUEST_TOKEN: undefined };
    const noKey = await berth(["push", "artifact", `${repoUrl()}:never`, "-f", EXAMPLE, ...meta("9".repeat(40)), "--sign"], noToken);
    expect(noKey.code).toBe(2);
    expect(noKey.stderr).toContain("keyless signing needs an OIDC identity token");
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

describe("keyless verification with the embedded public-good trusted root (compiled binary, empty dir, no network)", () => {
  const VEC = join(import.meta.dir, "../../../shared/vectors/cosign");
  let layout: string;
  let empty: string;
  let isolated: string[] = [];

  beforeAll(async () => {
    layout = join(work, "pgi-layout");
    empty = await mkdtemp(join(tmpdir(), "berth-empty-"));
    const store = await LayoutStore.open(layout, { create: true });
    const read = async (p: string) => new Uint8Array(await readFile(join(VEC, p)));
    const desc = (mediaType: string, b: Uint8Array) => ({ mediaType, digest: digestOf(b), size: b.byteLength });
    // cosign's keyless attestation bundle (public-good Fulcio/Rekor, 2025) as a referrer of go-containerregistry's empty image.
    const man = await read("derived/ggcr-empty-image/manifest.json");
    const m = JSON.parse(new TextDecoder().decode(man));
    await store.push(m.config, await read("derived/ggcr-empty-image/config.json"));
    const subject = desc(m.mediaType, man);
    await store.push(subject, man);
    await store.tag(subject, "bundle");
    const bundle = await read("cosign/oci-attestation.sigstore.json");
    const r = encodeBundleReferrer(bundle, subject, new Date(0));
    await store.push(r.config, new TextEncoder().encode("{}"));
    await store.push(r.layer, bundle);
    await store.push(r.manifest, r.manifestBytes);
    const ix = encodeIndex({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [r.manifest] });
    const ixd = desc(OCI_INDEX, ix);
    await store.push(ixd, ix);
    await store.tag(ixd, referrersTag(subject.digest));
    // Real cosign's legacy keyless signature (public-good Fulcio/Rekor, 2023) in a .sig image.
    const dir = "dir-img-cosign-fulcio-rekor-valid";
    const am = await read(`containers-image/${dir}/manifest.json`);
    const ad = desc(JSON.parse(new TextDecoder().decode(am)).mediaType, am);
    await store.push(ad, am);
    await store.tag(ad, "legacy");
    const sm = await read(`derived/${dir}/sig-manifest.json`);
    const smj = JSON.parse(new TextDecoder().decode(sm));
    await store.push(smj.config, await read(`derived/${dir}/sig-config.json`));
    await store.push(smj.layers[0], await read(`derived/${dir}/payload.json`));
    const sd = desc(smj.mediaType, sm);
    await store.push(sd, sm);
    await store.tag(sd, signatureTag(ad.digest));
    // A private network namespace with no interfaces up proves nothing is fetched; used where the kernel allows it.
    if ((await run(["unshare", "-rn", "true"])).code === 0) isolated = ["unshare", "-rn"];
  });
  afterAll(async () => {
    if (empty) await rm(empty, { recursive: true, force: true });
  });

  /** The binary with an empty environment, from an empty directory, without network when possible. */
  const offline = (args: string[]) => run([...isolated, "env", "-i", `HOME=${empty}`, BERTH_BIN, ...args], { cwd: empty, timeoutMs: 60_000 });
  const GH = ["--certificate-oidc-issuer", "https://github.com/login/oauth"];

  test("cosign's keyless bundle and legacy signature verify without --trusted-root; another identity does not", async () => {
    const b = await offline(["verify", "artifact", `oci-layout://${layout}:bundle`, "--certificate-identity", "cody@soyland.com", ...GH, "--any-predicate", "-o", "json"]);
    expect(b.stderr).toBe("");
    expect(b.code).toBe(0);
    expect(JSON.parse(b.stdout).signatures[0]).toMatchObject({ format: "bundle", identity: { subject: "cody@soyland.com" }, signedAt: "2025-02-28T19:18:11Z", logIndex: 175508996 });
    const l = await offline(["verify", "artifact", `oci-layout://${layout}:legacy`, "--certificate-identity", "mitr@redhat.com", ...GH, "-o", "json"]);
    expect(l.code).toBe(0);
    expect(JSON.parse(l.stdout).signatures[0]).toMatchObject({ format: "legacy", identity: { subject: "mitr@redhat.com" }, signedAt: "2023-01-20T20:51:33Z", logIndex: 11605770 });
    const other = await offline(["verify", "artifact", `oci-layout://${layout}:legacy`, "--certificate-identity", "someone@redhat.com", ...GH]);
    expect(other.code).toBe(7);
    expect(other.stderr).toContain("matches no trusted identity");
    const noId = await offline(["verify", "artifact", `oci-layout://${layout}:legacy`]);
    expect(noId.code).toBe(2);
  });
});

describe("secrets stay out of the output", () => {
  test("a wrong key password and a rejected identity token are never printed", async () => {
    const url = `${repoUrl()}:v1.0.0`;
    const pw = "e2e-wrong-pw-4f1d2c";
    const bad = await berth(["sign", "artifact", url, "--key", "good.key"], { COSIGN_PASSWORD: pw });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("wrong password");
    expect(bad.stderr).not.toContain(pw);
    const part = (o: unknown) => Buffer.from(JSON.stringify(o)).toString("base64url");
    const token = `${part({ alg: "none" })}.${part({ iss: "https://issuer.invalid", sub: "x" })}.c2VjcmV0LXNpZy0xMjM0NQ`;
    // Nothing listens on port 1: Fulcio is unreachable, and the error must not carry the token.
    const kl = await berth(["sign", "artifact", url, "--identity-token", token, "--fulcio-url", "http://127.0.0.1:1", "--rekor-url", "http://127.0.0.1:1", "--debug"]);
    expect(kl.code).not.toBe(0);
    expect(kl.stderr).toContain("Fulcio");
    expect(kl.stderr).not.toContain(token);
    expect(kl.stderr).not.toContain("c2VjcmV0LXNpZy0xMjM0NQ");
  });
});
