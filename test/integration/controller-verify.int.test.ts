/**
 * The controller's `spec.verify` (verifySource) against a real kube-apiserver (Secrets holding keys
 * and trusted roots) and a real Distribution registry (no referrers API: bundles are found through
 * the `sha256-<hex>` tag schema). Signatures come from berth's core signer, from the real cosign CLI
 * (v3, offline: `--tlog-upload=false --use-signing-config=false`) and, for keyless, from the captured
 * public-good cosign signatures in shared/vectors/cosign.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { generateKeyPairSync, type KeyObject } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  createKeySigner,
  digestOf,
  publicKeyPem,
  pushArtifact,
  referrersTag,
  signArtifact,
  signatureTag,
  type Descriptor,
  type RegistryClient,
  type RegistryRepository,
  type SignatureFormat,
} from "../../src/core/index.ts";
import { parseOCIRepository } from "../../src/k8s/api/ocirepository.ts";
import { KubeClient } from "../../src/k8s/client/kube.ts";
import { verifySource } from "../../src/k8s/controller/verify.ts";
import { kubeJson, peerBinDir, run, type KubeServer, type RegistryServer, type RunResult } from "../harness/index.ts";
import { conditionOf, startFluxTestEnv, waitFor as harnessWaitFor, type FluxTestEnv } from "../harness/flux-env.ts";
import { storeBundleKeylessVector, storeLegacyKeylessVector, vectorBytes } from "../fixtures/cosign-vectors.ts";
import { coreFailure } from "../fixtures/core-error.ts";

const NS = "berth-verify";
const COSIGN = join(peerBinDir(), "cosign");
const GH = "https://github.com/login/oauth";

let env: FluxTestEnv;
let kube: KubeServer;
let reg: RegistryServer;
let kubeClient: KubeClient;
let regClient: RegistryClient;
let work: string;
let n = 0;
const berthKey = generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey;
const otherKey = generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey;

beforeAll(async () => {
  if (!existsSync(COSIGN)) throw new Error(`cosign not found at ${COSIGN}: run scripts/setup to build it`);
  env = await startFluxTestEnv({ namespaces: [NS], prefix: "berth-ctl-verify-" });
  ({ kube, reg, regClient, work } = env);
  kubeClient = new KubeClient(env.conn);
  const g = await cosign(["generate-key-pair", "--output-key-prefix", "cosign"], { COSIGN_PASSWORD: "cosign-pw" });
  expect(g.code).toBe(0);
}, 120_000);

afterAll(async () => {
  await kubeClient?.close();
  await env?.stop();
});

function cosign(args: string[], env: Record<string, string> = {}): Promise<RunResult> {
  return run([COSIGN, ...args], { cwd: work, env: { HOME: work, TUF_ROOT: join(work, "tuf"), ...env }, timeoutMs: 90_000 });
}

/** Creates a Secret in NS from string or byte values. */
async function secret(name: string, data: Record<string, string | Uint8Array>): Promise<void> {
  const enc = Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v).toString("base64")]));
  await kubeJson(kube, `/api/v1/namespaces/${NS}/secrets`, { body: { apiVersion: "v1", kind: "Secret", metadata: { name }, data: enc } });
}

/** Pushes a fresh artifact with pushArtifact; resolves to its repository and manifest digest. */
async function freshArtifact(): Promise<{ repo: RegistryRepository; desc: Descriptor; digest: string; ref: string }> {
  const name = `verify/app${++n}`;
  const dir = mkdtempSync(join(work, "src-"));
  writeFileSync(join(dir, "deploy.yaml"), `kind: ConfigMap\nmetadata:\n  name: app${n}\n# ${Date.now()}\n`);
  const repo = regClient.repository({ registry: reg.host, repository: name });
  const res = await pushArtifact(dir, repo, "v1", { metadata: { source: "https://example.com/repo.git", revision: `main@sha1:${"a".repeat(40)}` } });
  return { repo, desc: res.descriptor, digest: res.descriptor.digest, ref: `${reg.host}/${name}:v1` };
}

async function berthSign(a: { repo: RegistryRepository; desc: Descriptor }, key: KeyObject, format: SignatureFormat): Promise<void> {
  await signArtifact(a.repo, a.desc, a.repo.name, createKeySigner(key), { format });
}

function verify(repo: RegistryRepository, digest: string, spec: Record<string, unknown>) {
  const obj = parseOCIRepository({
    apiVersion: "source.toolkit.fluxcd.io/v1",
    kind: "OCIRepository",
    metadata: { name: "app", namespace: NS, generation: 1 },
    spec: { url: `oci://${repo.name}`, interval: "10m", insecure: true, verify: spec },
  });
  return verifySource({ kube: kubeClient, obj, repo, registryOptions: { insecure: true }, digest, revision: `v1@${digest}`, signal: AbortSignal.timeout(60_000) });
}

const failure = (p: Promise<unknown>) => coreFailure(p, "verifySource");

describe("cosign with public keys from a real Secret", () => {
  let keys = 0;
  /** A Secret holding `data`; resolves to the verify spec naming it. */
  async function keySecret(data: Record<string, string>) {
    const name = `keys-${++keys}`;
    await secret(name, data);
    return { provider: "cosign", secretRef: { name } };
  }

  for (const format of ["bundle", "legacy"] as const) {
    test(`berth-signed (${format}): the right key verifies, another key finds no match`, async () => {
      const a = await freshArtifact();
      await berthSign(a, berthKey, format);
      expect(await verify(a.repo, a.digest, await keySecret({ "cosign.pub": publicKeyPem(berthKey) }))).toBe("verified");
      const e = await failure(verify(a.repo, a.digest, await keySecret({ "cosign.pub": publicKeyPem(otherKey) })));
      expect(e.code).toBe("VERIFY_FAILED");
      expect(e.message).toBe(`failed to verify the signature using provider 'cosign': no matching signatures were found for '${a.repo.name}@${a.digest}'`);
    }, 60_000);
  }

  for (const [label, extra] of [["bundle (cosign v3 default)", []], ["legacy (--new-bundle-format=false)", ["--new-bundle-format=false"]]] as const) {
    test(`cosign-signed ${label}: verified with cosign.pub, refused with berth's key`, async () => {
      const a = await freshArtifact();
      const s = await cosign(
        ["sign", "--key", "cosign.key", "--tlog-upload=false", "--use-signing-config=false", "-y", "--allow-insecure-registry", "--allow-http-registry", ...extra, a.ref],
        { COSIGN_PASSWORD: "cosign-pw" },
      );
      expect(s.code).toBe(0);
      // The format under test is the one cosign wrote: a .sig image, or a bundle listed in the tag-schema index.
      const where = extra.length ? signatureTag(a.digest) : referrersTag(a.digest);
      expect((await a.repo.resolve(where)).digest).toMatch(/^sha256:/);
      const pub = readFileSync(join(work, "cosign.pub"), "utf8");
      expect(await verify(a.repo, a.digest, await keySecret({ "cosign.pub": pub }))).toBe("verified");
      const e = await failure(verify(a.repo, a.digest, await keySecret({ "cosign.pub": publicKeyPem(berthKey) })));
      expect(e.message).toContain("no matching signatures were found for");
    }, 120_000);
  }

  test("several *.pub keys: the second one matching verifies; a malformed one aborts", async () => {
    const a = await freshArtifact();
    await berthSign(a, berthKey, "bundle");
    const secondMatches = await keySecret({ "1-other.pub": publicKeyPem(otherKey), "2-berth.pub": publicKeyPem(berthKey), "README": "keys for app" });
    expect(await verify(a.repo, a.digest, secondMatches)).toBe("verified");
    const malformed = await keySecret({ "1-broken.pub": "-----BEGIN PUBLIC KEY-----\nbm90LWEta2V5\n-----END PUBLIC KEY-----\n", "2-berth.pub": publicKeyPem(berthKey) });
    const e = await failure(verify(a.repo, a.digest, malformed));
    expect(e.code).toBe("VERIFY_FAILED");
    expect(e.message).toStartWith("failed to verify the signature using provider 'cosign': unable to load the public key '1-broken.pub' of secret ");
    expect(e.message).not.toContain("bm90LWEta2V5");
  }, 60_000);

  test("unsigned artifact and missing Secret", async () => {
    const a = await freshArtifact();
    const none = await failure(verify(a.repo, a.digest, await keySecret({ "cosign.pub": publicKeyPem(berthKey) })));
    expect(none.message).toBe(`failed to verify the signature using provider 'cosign': no matching signatures were found for '${a.repo.name}@${a.digest}'`);
    const missing = await failure(verify(a.repo, a.digest, { provider: "cosign", secretRef: { name: "x" } }));
    expect(missing.code).toBe("VERIFY_FAILED");
    expect(missing.message).toBe(`failed to verify the signature using provider 'cosign': secrets "x" not found`);
  }, 60_000);
});

describe("cosign keyless with a trustedRootSecretRef (captured public-good signatures)", () => {
  const id = (subject: string, issuer = `^${GH.replaceAll(".", "\\.")}$`) => ({ issuer, subject });
  const spec = (matchOIDCIdentity: Array<{ issuer: string; subject: string }>) => ({ provider: "cosign", matchOIDCIdentity, trustedRootSecretRef: { name: "sigstore-root" } });

  beforeAll(async () => {
    await secret("sigstore-root", { "trusted_root.json": vectorBytes("cosign/trusted_root_pgi.json") });
    await secret("no-root", { "root.json": "{}" });
  });

  test("legacy .sig (vector A3): the signer's identity verifies, another is refused", async () => {
    const repo = regClient.repository({ registry: reg.host, repository: "verify/keyless-legacy" });
    // The signed image itself is not needed: verification starts from its digest.
    const digest = await storeLegacyKeylessVector(repo);
    expect(await verify(repo, digest, spec([id("^mitr@redhat\\.com$")]))).toBe("verified");
    expect(await verify(repo, digest, spec([]))).toBe("verified");
    expect(await verify(repo, digest, spec([id("^nobody@example\\.com$"), id("redhat")]))).toBe("verified");
    const e = await failure(verify(repo, digest, spec([id("^nobody@example\\.com$")])));
    expect(e.code).toBe("VERIFY_FAILED");
    expect(e.message).toBe(
      "failed to verify the signature using provider 'cosign keyless': no matching signatures: none of the expected identities matched what was in the certificate",
    );
    const noRoot = await failure(verify(repo, digest, { ...spec([]), trustedRootSecretRef: { name: "no-root" } }));
    expect(noRoot.message).toBe(`failed to verify the signature using provider 'cosign keyless': 'trusted_root.json' not found in secret '${NS}/no-root'`);
  }, 60_000);

  test("v0.3 bundle referrer (vector B6) on go-containerregistry's empty image", async () => {
    const repo = regClient.repository({ registry: reg.host, repository: "verify/keyless-bundle" });
    const subject = await storeBundleKeylessVector(repo, "empty");
    expect(await verify(repo, subject.digest, spec([id("^cody@soyland\\.com$")]))).toBe("verified");
    const e = await failure(verify(repo, subject.digest, spec([id("^cody@soyland\\.com$", "^https://accounts\\.google\\.com$")])));
    expect(e.message).toContain("none of the expected identities matched");
  }, 60_000);
});

test("notation is refused as not supported yet", async () => {
  const a = await freshArtifact();
  await secret("notation-policy", { "trustpolicy.json": "{}" });
  const e = await failure(verify(a.repo, a.digest, { provider: "notation", secretRef: { name: "notation-policy" } }));
  expect(e.code).toBe("VERIFY_FAILED");
  expect(e.message).toStartWith("failed to verify the signature using provider 'notation': ");
  expect(e.message).toContain("not supported");
}, 60_000);

describe("through startController: spec.verify decides what is served", () => {
  const COLLECTION = `/apis/source.toolkit.fluxcd.io/v1/namespaces/${NS}/ocirepositories`;

  beforeAll(async () => {
    await env.startController({ namespace: NS });
  }, 120_000);

  const waitFor = <T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000) =>
    harnessWaitFor(what, probe, { timeoutMs, context: () => `controller log:\n${env.logs.join("\n")}` });
  const cond = conditionOf;
  const getObj = (name: string) => env.getOCIRepository(NS, name);

  test("signed digest → Ready + SourceVerified=True; unsigned new tag → SourceVerified=False and the old artifact still served", async () => {
    const a = await freshArtifact();
    await berthSign(a, berthKey, "bundle");
    await secret("ctl-keys", { "cosign.pub": publicKeyPem(berthKey) });
    await kubeJson(kube, COLLECTION, {
      body: {
        apiVersion: "source.toolkit.fluxcd.io/v1",
        kind: "OCIRepository",
        metadata: { name: "signed", namespace: NS },
        spec: { url: `oci://${a.repo.name}`, ref: { tag: "v1" }, interval: "10m", insecure: true, verify: { provider: "cosign", secretRef: { name: "ctl-keys" } } },
      },
    });
    const ready = await waitFor("Ready=True", async () => {
      const o = await getObj("signed");
      return cond(o, "Ready")?.status === "True" ? o : undefined;
    });
    const revision1 = `v1@${a.digest}`;
    expect(ready.status.artifact.revision).toBe(revision1);
    expect(cond(ready, "SourceVerified")).toMatchObject({ status: "True", reason: "Succeeded", message: `verified signature of revision ${revision1}` });
    const served = new Uint8Array(await (await fetch(ready.status.artifact.url)).arrayBuffer());
    expect(digestOf(served)).toBe(ready.status.artifact.digest);

    // Move the tag to unsigned content, then ask for a reconcile as `flux reconcile` does.
    const dir = mkdtempSync(join(work, "src-"));
    writeFileSync(join(dir, "deploy.yaml"), "kind: ConfigMap\nmetadata:\n  name: tampered\n");
    const pushed = await pushArtifact(dir, a.repo, "v1", {});
    const digest2 = pushed.descriptor.digest;
    expect(digest2).not.toBe(a.digest);
    await kubeJson(kube, `${COLLECTION}/signed`, {
      method: "PATCH",
      contentType: "application/merge-patch+json",
      body: { metadata: { annotations: { "reconcile.fluxcd.io/requestedAt": new Date().toISOString() } } },
    });
    const refused = await waitFor("SourceVerified=False", async () => {
      const o = await getObj("signed");
      return cond(o, "SourceVerified")?.status === "False" ? o : undefined;
    });
    const msg = `failed to verify the signature using provider 'cosign': no matching signatures were found for '${a.repo.name}@${digest2}'`;
    expect(cond(refused, "SourceVerified")).toMatchObject({ reason: "VerificationError", message: msg });
    expect(cond(refused, "Ready")).toMatchObject({ status: "False", reason: "VerificationError", message: msg });
    expect(refused.status.artifact.revision).toBe(revision1);
    const still = new Uint8Array(await (await fetch(refused.status.artifact.url)).arrayBuffer());
    expect(still).toEqual(served);
  }, 120_000);
});
