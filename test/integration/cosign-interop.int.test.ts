/**
 * Key-based signing interop with the real cosign CLI (v3.1.2, built by scripts/setup) over a real
 * Distribution registry (no referrers API, so bundles go through the `sha256-<hex>` tag schema).
 * cosign runs offline: `--insecure-ignore-tlog` to verify, `--tlog-upload=false
 * --use-signing-config=false` to sign.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { generateKeyPairSync } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { peerBinDir, run, startRegistry, type RegistryServer, type RunResult } from "../harness/index.ts";
import { createRegistryClient, type RegistryClient, type RegistryRepository } from "../../src/core/registry/index.ts";
import { MemoryStore } from "../../src/core/content/memory-store.ts";
import { digestOf, readAll } from "../../src/core/oci/digest.ts";
import { encodeIndex, encodeManifest, parseManifest } from "../../src/core/oci/manifest.ts";
import { OCI_INDEX, OCI_MANIFEST } from "../../src/core/oci/media-types.ts";
import { signArtifact } from "../../src/core/sign/attach.ts";
import { encodeBundleReferrer } from "../../src/core/sign/bundle.ts";
import { decryptCosignKey, generateKeyPair, loadPublicKey } from "../../src/core/sign/keys.ts";
import { signatureTag, referrersTag } from "../../src/core/sign/legacy.ts";
import { findSignatures } from "../../src/core/sign/referrers.ts";
import { createKeySigner } from "../../src/core/sign/signer.ts";
import { verifySignatures } from "../../src/core/sign/verifier.ts";
import { copy } from "../../src/core/artifact/copy.ts";
import { COSIGN_VECTORS, storeBundleKeylessVector } from "../fixtures/cosign-vectors.ts";

const MAIN = join(import.meta.dir, "../../src/main.ts");
const COSIGN = join(peerBinDir(), "cosign");
const INSECURE = ["--allow-insecure-registry", "--allow-http-registry"];

let reg: RegistryServer;
let work: string;
let client: RegistryClient;
let n = 0;

beforeAll(async () => {
  if (!existsSync(COSIGN)) throw new Error(`cosign not found at ${COSIGN}: run scripts/setup to build it`);
  reg = await startRegistry();
  work = await mkdtemp(join(tmpdir(), "berth-cosign-"));
  client = createRegistryClient({});
  for (const [prefix, password] of [["berth", "berth-pw"], ["other", "other-pw"]] as const) {
    const kp = generateKeyPair(password);
    await writeFile(join(work, `${prefix}.key`), kp.privateKeyPem, { mode: 0o600 });
    await writeFile(join(work, `${prefix}.pub`), kp.publicKeyPem);
  }
  // cosign's own key pair, so berth signs with a key file cosign wrote.
  const g = await cosign(["generate-key-pair", "--output-key-prefix", "cosign"], { COSIGN_PASSWORD: "cosign-pw" });
  expect(g.code).toBe(0);
});
afterAll(async () => {
  await client?.close();
  await reg?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

function cosign(args: string[], env: Record<string, string> = {}): Promise<RunResult> {
  return run([COSIGN, ...args], { cwd: work, env: { HOME: work, TUF_ROOT: join(work, "tuf"), ...env }, timeoutMs: 60_000 });
}
function berth(args: string[], env: Record<string, string> = {}): Promise<RunResult> {
  return run([process.execPath, MAIN, ...args], { cwd: work, env: { HOME: work, ...env }, timeoutMs: 60_000 });
}
const cosignVerify = (ref: string, key: string, extra: string[] = []) => cosign(["verify", "--key", key, "--insecure-ignore-tlog", ...INSECURE, ...extra, ref]);
const cosignSign = (ref: string, key: string, password: string, extra: string[] = []) =>
  cosign(["sign", "--key", key, "--tlog-upload=false", "--use-signing-config=false", "-y", ...INSECURE, ...extra, ref], { COSIGN_PASSWORD: password });

/** Pushes a fresh small artifact and returns its repository, digest and references. */
async function freshArtifact(): Promise<{ repo: RegistryRepository; digest: string; ref: string; url: string }> {
  const name = `sign/app${++n}`;
  const mem = new MemoryStore();
  const config = await mem.add("application/vnd.cncf.flux.config.v1+json", new TextEncoder().encode("{}"));
  const layer = await mem.add("application/vnd.cncf.flux.content.v1.tar+gzip", new TextEncoder().encode(`artifact ${n} ${Date.now()}`));
  const m = await mem.add(OCI_MANIFEST, encodeManifest({ schemaVersion: 2, mediaType: OCI_MANIFEST, config, layers: [layer] }));
  await mem.tag(m, "v1");
  const repo = client.repository({ registry: reg.host, repository: name });
  await copy(mem, "v1", repo, "v1");
  return { repo, digest: m.digest, ref: `${reg.host}/${name}:v1`, url: `oci://${reg.host}/${name}:v1` };
}

async function manifestJSON(repo: RegistryRepository, reference: string): Promise<Record<string, unknown>> {
  return JSON.parse(new TextDecoder().decode((await repo.fetchManifest(reference)).bytes));
}

describe("berth signs, cosign verifies", () => {
  test("bundle format (default): cosign verify --key accepts, another key is refused", async () => {
    const a = await freshArtifact();
    const s = await berth(["sign", "artifact", a.url, "--key", "berth.key", "-a", "env=prod", "-o", "json"], { COSIGN_PASSWORD: "berth-pw" });
    expect(s.stderr).not.toContain("berth-pw");
    expect(s.code).toBe(0);
    const out = JSON.parse(s.stdout);
    expect(out).toMatchObject({ digest: a.digest, format: "bundle", tag: referrersTag(a.digest), pushed: true });
    // The registry has no referrers API: the signature is listed in the tag-schema index.
    const ix = await manifestJSON(a.repo, referrersTag(a.digest));
    expect(ix.mediaType).toBe(OCI_INDEX);
    expect((ix.manifests as Array<{ digest: string; artifactType: string }>).map((d) => [d.digest, d.artifactType])).toEqual([
      [out.signature, "application/vnd.dev.sigstore.bundle.v0.3+json"],
    ]);
    const v = await cosignVerify(a.ref, "berth.pub", ["-a", "env=prod"]);
    expect(v.code).toBe(0);
    const claims = JSON.parse(v.stdout);
    expect(claims[0].critical.image["docker-manifest-digest"]).toBe(a.digest);
    expect(claims[0].critical.type).toBe("https://sigstore.dev/cosign/sign/v1");
    const wrong = await cosignVerify(a.ref, "other.pub");
    expect(wrong.code).not.toBe(0);
    const wrongAnn = await cosignVerify(a.ref, "berth.pub", ["-a", "env=dev"]);
    expect(wrongAnn.code).not.toBe(0);
  });

  test("legacy format: cosign verify --key accepts the .sig image, also after a second signer appended", async () => {
    const a = await freshArtifact();
    const s = await berth(["sign", "artifact", a.url, "--key", "berth.key", "--format", "legacy", "-a", "env=prod"], { COSIGN_PASSWORD: "berth-pw" });
    expect(s.code).toBe(0);
    const s2 = await berth(["sign", "artifact", a.url, "--key", "other.key", "--format", "legacy"], { COSIGN_PASSWORD: "other-pw" });
    expect(s2.code).toBe(0);
    const sig = await manifestJSON(a.repo, signatureTag(a.digest));
    expect((sig.layers as unknown[]).length).toBe(2);
    for (const [key, want] of [["berth.pub", 0], ["other.pub", 0]] as const) {
      const v = await cosignVerify(a.ref, key);
      expect(v.code).toBe(want);
      expect(JSON.parse(v.stdout)[0].critical.type).toBe("cosign container image signature");
    }
    expect((await cosignVerify(a.ref, "berth.pub", ["-a", "env=prod"])).code).toBe(0);
    expect((await cosignVerify(a.ref, "cosign.pub")).code).not.toBe(0);
  });

  test("berth signs with a cosign.key that cosign generated; cosign verifies", async () => {
    const a = await freshArtifact();
    expect((await berth(["sign", "artifact", a.url, "--key", "cosign.key"], { COSIGN_PASSWORD: "cosign-pw" })).code).toBe(0);
    expect((await cosignVerify(a.ref, "cosign.pub")).code).toBe(0);
    const bad = await berth(["sign", "artifact", a.url, "--key", "cosign.key"], { COSIGN_PASSWORD: "nope-123" });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("wrong password");
    expect(bad.stderr).not.toContain("nope-123");
  });
});

describe("cosign signs, berth verifies", () => {
  test("bundle (cosign v3 default), with a key berth generated", async () => {
    const a = await freshArtifact();
    const s = await cosignSign(a.ref, "berth.key", "berth-pw", ["-a", "team=a"]);
    expect(s.code).toBe(0);
    const v = await berth(["verify", "artifact", a.url, "--key", "other.pub", "--key", "berth.pub", "-a", "team=a", "-o", "json"]);
    expect(v.code).toBe(0);
    const out = JSON.parse(v.stdout);
    expect(out.digest).toBe(a.digest);
    expect(out.signatures).toHaveLength(1);
    expect(out.signatures[0]).toMatchObject({ format: "bundle", keyFile: "berth.pub", annotations: { team: "a" } });
    expect(out.signatures[0].claimedTime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    const wrong = await berth(["verify", "artifact", a.url, "--key", "other.pub"]);
    expect(wrong.code).toBe(7);
    expect(wrong.stderr).toContain("no matching signatures");
  });

  test("legacy (--new-bundle-format=false)", async () => {
    const a = await freshArtifact();
    expect((await cosignSign(a.ref, "cosign.key", "cosign-pw", ["--new-bundle-format=false"])).code).toBe(0);
    const v = await berth(["verify", "artifact", a.url, "--key", "cosign.pub", "-o", "json"]);
    expect(v.code).toBe(0);
    expect(JSON.parse(v.stdout).signatures[0]).toMatchObject({ format: "legacy", source: `${signatureTag(a.digest)} layer 1` });
    expect((await berth(["verify", "artifact", a.url, "--key", "berth.pub"])).code).toBe(7);
  });

  test("an unsigned artifact fails with exit 7 in both tools", async () => {
    const a = await freshArtifact();
    const v = await berth(["verify", "artifact", a.url, "--key", "berth.pub"]);
    expect(v.code).toBe(7);
    expect(v.stderr).toContain("no signatures found");
    expect((await cosignVerify(a.ref, "berth.pub")).code).not.toBe(0);
  });
});

test("Ed25519 key imported into cosign: cosign signs in Ed25519ph mode (its own verify refuses that), berth verifies both formats", async () => {
  const { privateKey } = generateKeyPairSync("ed25519");
  await writeFile(join(work, "ed.pem"), privateKey.export({ type: "pkcs8", format: "pem" }));
  expect((await cosign(["import-key-pair", "--key", "ed.pem", "--output-key-prefix", "ed"], { COSIGN_PASSWORD: "ed-pw" })).code).toBe(0);
  for (const extra of [["--new-bundle-format=false"], []]) {
    const a = await freshArtifact();
    expect((await cosignSign(a.ref, "ed.key", "ed-pw", extra)).code).toBe(0);
    // cosign v3.1.2 signs Ed25519 with ph but verifies pure Ed25519 (spec §1.5), so it refuses its own signature.
    expect((await cosignVerify(a.ref, "ed.pub")).code).not.toBe(0);
    const v = await berth(["verify", "artifact", a.url, "--key", "ed.pub", "-o", "json"]);
    expect(v.code).toBe(0);
    expect(JSON.parse(v.stdout).signatures[0].format).toBe(extra.length ? "legacy" : "bundle");
    expect((await berth(["verify", "artifact", a.url, "--key", "berth.pub"])).code).toBe(7);
  }
});

describe("tampering is refused by both tools", () => {
  test("legacy: a payload rewritten to another digest", async () => {
    const a = await freshArtifact();
    const b = await freshArtifact();
    expect((await cosignSign(a.ref, "cosign.key", "cosign-pw", ["--new-bundle-format=false"])).code).toBe(0);
    // Move a's signature image onto b with the payload's digest claim edited to b (signature unchanged).
    const sig = parseManifest((await a.repo.fetchManifest(signatureTag(a.digest))).bytes);
    if (sig.kind !== "manifest") throw new Error("expected a manifest");
    const layer = sig.manifest.layers[0]!;
    const payload = new TextDecoder().decode(await readAll(await a.repo.fetch(layer), 1 << 20)).replace(a.digest, b.digest);
    const bytes = new TextEncoder().encode(payload);
    const newLayer = { ...layer, digest: digestOf(bytes), size: bytes.byteLength };
    await b.repo.push(newLayer, bytes);
    await b.repo.push(sig.manifest.config, await readAll(await a.repo.fetch(sig.manifest.config), 1 << 20));
    const m = encodeManifest({ ...sig.manifest, layers: [newLayer] });
    await b.repo.pushReference({ mediaType: OCI_MANIFEST, digest: digestOf(m), size: m.byteLength }, m, signatureTag(b.digest));
    expect((await berth(["verify", "artifact", b.url, "--key", "cosign.pub"])).code).toBe(7);
    expect((await cosignVerify(b.ref, "cosign.pub")).code).not.toBe(0);
    // The untouched original still verifies in both.
    expect((await berth(["verify", "artifact", a.url, "--key", "cosign.pub"])).code).toBe(0);
    expect((await cosignVerify(a.ref, "cosign.pub")).code).toBe(0);
  });

  test("bundle: a statement edited after signing", async () => {
    const a = await freshArtifact();
    expect((await berth(["sign", "artifact", a.url, "--key", "berth.key", "-a", "env=dev"], { COSIGN_PASSWORD: "berth-pw" })).code).toBe(0);
    const ix = await manifestJSON(a.repo, referrersTag(a.digest));
    const refDesc = (ix.manifests as Array<{ digest: string; mediaType: string; size: number }>)[0]!;
    const refManifest = parseManifest((await a.repo.fetchManifest(refDesc.digest)).bytes);
    if (refManifest.kind !== "manifest") throw new Error("expected a manifest");
    const bundle = JSON.parse(new TextDecoder().decode(await readAll(await a.repo.fetch(refManifest.manifest.layers[0]!), 1 << 20)));
    const st = Buffer.from(bundle.dsseEnvelope.payload, "base64").toString("utf8").replace('"env":"dev"', '"env":"prd"');
    bundle.dsseEnvelope.payload = Buffer.from(st).toString("base64");
    const bytes = new TextEncoder().encode(JSON.stringify(bundle));
    const subject = await a.repo.resolve(a.digest);
    const r = encodeBundleReferrer(bytes, subject, new Date());
    await a.repo.push(r.layer, bytes);
    await a.repo.push(r.manifest, r.manifestBytes);
    const newIx = encodeIndex({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [r.manifest] });
    await a.repo.pushReference({ mediaType: OCI_INDEX, digest: digestOf(newIx), size: newIx.byteLength }, newIx, referrersTag(a.digest));
    expect((await berth(["verify", "artifact", a.url, "--key", "berth.pub", "-a", "env=prd"])).code).toBe(7);
    expect((await cosignVerify(a.ref, "berth.pub", ["-a", "env=prd"])).code).not.toBe(0);
    expect((await cosignVerify(a.ref, "berth.pub")).code).not.toBe(0);
  });
});

test("keyless: cosign's own attestation bundle attached to go-containerregistry's empty image verifies offline in berth and cosign", async () => {
  const repo = client.repository({ registry: reg.host, repository: "sign/keyless" });
  const subject = await storeBundleKeylessVector(repo, "empty");
  expect(String(subject.digest)).toBe("sha256:732112270d7e59418a8c080b134b24cabd67d250d0d0147a97ed95ba5c280aa4");
  const root = join(COSIGN_VECTORS, "cosign/trusted_root_pgi.json");
  const url = `oci://${reg.host}/sign/keyless:empty`;
  const id = ["--trusted-root", root, "--certificate-identity", "cody@soyland.com", "--certificate-oidc-issuer", "https://github.com/login/oauth"];
  const v = await berth(["verify", "artifact", url, ...id, "--any-predicate", "-o", "json"]);
  expect(v.code).toBe(0);
  expect(JSON.parse(v.stdout).signatures[0]).toMatchObject({ format: "bundle", identity: { subject: "cody@soyland.com", issuer: "https://github.com/login/oauth" } });
  // Stricter than cosign by default: an attestation is not an image signature.
  expect((await berth(["verify", "artifact", url, ...id])).code).toBe(7);
  const wrongId = ["--trusted-root", root, "--certificate-identity", "someone@example.com", "--certificate-oidc-issuer", "https://github.com/login/oauth"];
  expect((await berth(["verify", "artifact", url, ...wrongId, "--any-predicate"])).code).toBe(7);
  // cosign reaches the same verdicts offline with the same trusted root.
  expect((await cosign(["verify", ...id, ...INSECURE, `${reg.host}/sign/keyless:empty`])).code).toBe(0);
  expect((await cosign(["verify", ...wrongId, ...INSECURE, `${reg.host}/sign/keyless:empty`])).code).not.toBe(0);
});

describe("core API against the registry", () => {
  test("legacy re-sign with the same key and payload pushes nothing; bundle signatures accumulate in the index", async () => {
    const a = await freshArtifact();
    const signer = createKeySigner(decryptCosignKey(await Bun.file(join(work, "berth.key")).text(), "berth-pw"));
    const subject = await a.repo.resolve("v1");
    const dockerRef = `${reg.host}/${a.repo.ref.repository}`;
    expect((await signArtifact(a.repo, subject, dockerRef, signer, { format: "legacy" })).pushed).toBe(true);
    const again = await signArtifact(a.repo, subject, dockerRef, signer, { format: "legacy" });
    expect(again.pushed).toBe(false);
    const r1 = await signArtifact(a.repo, subject, dockerRef, signer);
    const r2 = await signArtifact(a.repo, subject, dockerRef, signer, { annotations: { n: "2" } });
    const ix = await manifestJSON(a.repo, referrersTag(a.digest));
    const listed = (ix.manifests as Array<{ digest: string }>).map((d) => d.digest);
    expect(listed).toEqual([r1.signatureManifest, r2.signatureManifest].sort());
    const found = await findSignatures(a.repo, a.digest);
    expect(found.bundles).toHaveLength(2);
    expect(found.legacy).toEqual([]); // bundles win, as in cosign v3
    const key = loadPublicKey(await Bun.file(join(work, "berth.pub")).text());
    expect(verifySignatures(found.bundles, a.digest, { keys: [key] }, { annotations: { n: "2" } }).verified).toHaveLength(1);
    // cosign sees both formats' signatures as valid too.
    expect((await cosignVerify(a.ref, "berth.pub", ["-a", "n=2"])).code).toBe(0);
  });
});

test("berth signs and verifies both formats on a token-auth registry with --creds (pushes the tags with push scope)", async () => {
  const tok = await startRegistry({ auth: "token" });
  try {
    const creds = `${tok.username}:${tok.password}`;
    const url = `oci://${tok.host}/sign/auth:v1`;
    expect((await berth(["push", "artifact", url, "-f", join(import.meta.dir, "../../examples/podinfo"), "--source=x", "--revision=y", "--creds", creds, "-q"])).code).toBe(0);
    for (const format of ["bundle", "legacy"]) {
      const s = await berth(["sign", "artifact", url, "--key", "berth.key", "--format", format, "--creds", creds, "-q"], { COSIGN_PASSWORD: "berth-pw" });
      expect(s.stderr).toBe("");
      expect(s.code).toBe(0);
    }
    const v = await berth(["verify", "artifact", url, "--key", "berth.pub", "--creds", creds, "-o", "json"]);
    expect(v.code).toBe(0);
    expect(JSON.parse(v.stdout).signatures.map((x: { format: string }) => x.format)).toEqual(["bundle"]);
    expect((await berth(["verify", "artifact", url, "--key", "berth.pub"])).code).toBe(3);
  } finally {
    await tok.stop();
  }
});

test("cosign's experimental OCI 1.1 legacy mode (.sig image as a referrer, no .sig tag): berth finds and verifies it", async () => {
  const a = await freshArtifact();
  const s = await cosign(
    ["sign", "--key", "cosign.key", "--tlog-upload=false", "--use-signing-config=false", "--new-bundle-format=false", "--registry-referrers-mode=oci-1-1", "-y", ...INSECURE, a.ref],
    { COSIGN_PASSWORD: "cosign-pw", COSIGN_EXPERIMENTAL: "1" },
  );
  expect(s.code).toBe(0);
  await expect(a.repo.resolve(signatureTag(a.digest))).rejects.toThrow();
  const v = await berth(["verify", "artifact", a.url, "--key", "cosign.pub", "-o", "json"]);
  expect(v.code).toBe(0);
  expect(JSON.parse(v.stdout).signatures[0]).toMatchObject({ format: "legacy" });
  expect(JSON.parse(v.stdout).signatures[0].source).toStartWith("referrer sha256:");
});
