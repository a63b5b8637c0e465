import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { generateKeyPairSync } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { Writable } from "node:stream";
import { createKeySigner, findBundles, findLegacySignatures, publicKeyPem, signArtifact, type RegistryClient } from "../../src/core/index.ts";
import { KubeClient, loadKubeConnection } from "../../src/k8s/client/kube.ts";
import { findTrackingOCIRepositories } from "../../src/k8s/wait/wait.ts";
import { runMain } from "../../src/main.ts";
import { kubeJson, type KubeServer } from "../harness/kube.ts";
import { conditionOf, startFluxTestEnv, waitFor as harnessWaitFor, type FluxTestEnv } from "../harness/flux-env.ts";
import type { RegistryServer } from "../harness/registry.ts";
import { BERTH_BIN, berth, requireBinary } from "../e2e/berth-bin.ts";
import { exitOf } from "../harness/process.ts";

const NS = "berth-wait";
const OTHER_NS = "berth-wait-other";
const coll = (ns: string) => `/apis/source.toolkit.fluxcd.io/v1/namespaces/${ns}/ocirepositories`;

let env: FluxTestEnv;
let kube: KubeServer;
let reg: RegistryServer;
let regClient: RegistryClient;

beforeAll(async () => {
  env = await startFluxTestEnv({ namespaces: [NS, OTHER_NS], prefix: "berth-wait-test-" });
  ({ kube, reg, regClient } = env);
  await env.startController();
}, 180_000);

afterAll(() => env?.stop());

const push = (repo: string, tag: string, files: Record<string, string>) => env.push(repo, tag, files);

function ocirepo(ns: string, name: string, repo: string, ref: Record<string, string>) {
  return {
    apiVersion: "source.toolkit.fluxcd.io/v1",
    kind: "OCIRepository",
    metadata: { name, namespace: ns },
    // A long interval: only a reconcile request (which promote --wait sends) moves it within the test.
    spec: { url: `oci://${reg.host}/${repo}`, ref, interval: "1h", insecure: true },
  };
}

const cond = conditionOf;
const waitFor = <T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000) =>
  harnessWaitFor(what, probe, { timeoutMs, intervalMs: 100, context: () => `controller log:\n${env.logs.join("\n")}` });

const readyRevision = (ns: string, name: string) =>
  waitFor(`${ns}/${name} Ready`, async () => {
    const o = await kubeJson(kube, `${coll(ns)}/${name}`);
    return cond(o, "Ready")?.status === "True" && o.status.observedGeneration === o.metadata.generation ? (o.status.artifact.revision as string) : undefined;
  });

/** Runs berth in-process; stdin is whatever the test runner has (not a terminal). */
async function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const sink = (add: (t: string) => void) => new Writable({ write: (chunk, _enc, cb) => (add(String(chunk)), cb()) });
  const code = await runMain(args, { out: sink((t) => (out += t)), err: sink((t) => (err += t)) }, { HOME: "/nonexistent-berth-home", PATH: process.env.PATH, NO_COLOR: "1" });
  return { code, out, err };
}

const kubeArgs = () => ["--kubeconfig", kube.kubeconfigPath];

describe("berth wait / reconcile / promote against a real API server, registry and the in-process controller", () => {
  let prodDigest: string;
  let stagingDigest: string;

  test("promote staging -> production --yes --wait: every OCIRepository tracking the tag (in any namespace) reports the new digest; the staging one is left alone", async () => {
    prodDigest = await push("apps/web", "production", { "deploy.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web\ndata:\n  replicas: '1'\n" });
    stagingDigest = await push("apps/web", "staging", { "deploy.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web\ndata:\n  replicas: '3'\n" });
    expect(stagingDigest).not.toBe(prodDigest);
    await kubeJson(kube, coll(NS), { body: ocirepo(NS, "web-prod", "apps/web", { tag: "production" }) });
    await kubeJson(kube, coll(OTHER_NS), { body: ocirepo(OTHER_NS, "web-prod-2", "apps/web", { tag: "production" }) });
    await kubeJson(kube, coll(NS), { body: ocirepo(NS, "web-staging", "apps/web", { tag: "staging" }) });
    expect(await readyRevision(NS, "web-prod")).toBe(`production@${prodDigest}`);
    expect(await readyRevision(OTHER_NS, "web-prod-2")).toBe(`production@${prodDigest}`);
    expect(await readyRevision(NS, "web-staging")).toBe(`staging@${stagingDigest}`);
    const stagingBefore = (await kubeJson(kube, `${coll(NS)}/web-staging`)).metadata.annotations;

    const r = await cli(["promote", `oci://${reg.host}/apps/web:staging`, "--to", "production", "--yes", "--wait", "--insecure-registry", "--timeout", "2m", ...kubeArgs(), "-o", "json"]);
    expect({ code: r.code, err: r.err }).toEqual({ code: 0, err: r.err });
    const res = JSON.parse(r.out);
    expect(res.source.digest).toBe(stagingDigest);
    expect(res.target.previousDigest).toBe(prodDigest);
    expect(res.changes).toBe("1 file changed (1 modified); 1 object: 1 changed");
    expect(res.waits.map((w: { namespace: string; name: string; status: string; revision: string }) => [w.namespace, w.name, w.status, w.revision])).toEqual([
      [NS, "web-prod", "ready", `production@${stagingDigest}`],
      [OTHER_NS, "web-prod-2", "ready", `production@${stagingDigest}`],
    ]);
    expect((await kubeJson(kube, `${coll(NS)}/web-prod`)).status.artifact.revision).toBe(`production@${stagingDigest}`);
    expect((await regClient.repository({ registry: reg.host, repository: "apps/web" }).resolve("production")).digest).toBe(stagingDigest);
    // The staging tracker was not asked to reconcile.
    expect((await kubeJson(kube, `${coll(NS)}/web-staging`)).metadata.annotations).toEqual(stagingBefore);
  }, 180_000);

  test("wait on an already-ready object exits 0, by digest and by full revision", async () => {
    const byDigest = await cli(["wait", `ocirepository/${NS}/web-prod`, "--for-revision", stagingDigest, "--timeout", "30s", ...kubeArgs()]);
    expect(byDigest.code).toBe(0);
    expect(byDigest.err).toContain(`✔ ocirepository/${NS}/web-prod reports revision production@${stagingDigest}`);
    const byRevision = await cli(["wait", "ocirepository/web-prod", "-n", NS, "--for-revision", `production@${stagingDigest}`, "--timeout", "30s", ...kubeArgs(), "-o", "json"]);
    expect(byRevision.code).toBe(0);
    expect(JSON.parse(byRevision.out)).toMatchObject({ namespace: NS, name: "web-prod", status: "ready", revision: `production@${stagingDigest}` });
    // Without --for-revision: Ready for the current generation, whatever the revision (kubectl wait's way).
    const anyRevision = await cli(["wait", `ocirepository/${NS}/web-prod`, "--timeout", "30s", ...kubeArgs()]);
    expect(anyRevision.code).toBe(0);
    expect(anyRevision.err).toContain(`► waiting for ocirepository/${NS}/web-prod to be Ready`);
    expect(anyRevision.err).toContain(`✔ ocirepository/${NS}/web-prod reports revision production@${stagingDigest}`);
  }, 60_000);

  test("wait for a digest the object never gets times out with exit 9", async () => {
    const wrong = `sha256:${"0".repeat(64)}`;
    const t0 = Date.now();
    const r = await cli(["wait", `ocirepository/${NS}/web-prod`, "--for-revision", wrong, "--timeout", "2s", ...kubeArgs()]);
    expect(r.code).toBe(9);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1900);
    expect(r.err).toContain(`✗ timed out after 2s waiting for ocirepository/${NS}/web-prod to report ${wrong}; it reports production@${stagingDigest}`);
  }, 60_000);

  test("the compiled binary: wait on a missing object exits 4; a timeout exits 9; wait --help names the codes", async () => {
    requireBinary();
    const missing = await berth(["wait", `ocirepository/${NS}/nope`, "--for-revision", stagingDigest, "--timeout", "20s", ...kubeArgs()]);
    expect(missing.code).toBe(4);
    expect(missing.stderr).toContain(`✗ ocirepository/${NS}/nope not found`);
    const timeout = await berth(["wait", `ocirepository/${NS}/web-prod`, "--for-revision", prodDigest, "--timeout", "1s", ...kubeArgs(), "-o", "json"]);
    expect(timeout.code).toBe(9);
    expect(JSON.parse(timeout.stdout)).toMatchObject({ status: "timeout", revision: `production@${stagingDigest}` });
    const help = await berth(["wait", "--help"]);
    expect(help.stdout).toContain("9 timeout");
  }, 90_000);

  test("promote without --yes and without a terminal refuses and changes nothing", async () => {
    const r = await cli(["promote", `oci://${reg.host}/apps/web@${prodDigest}`, "--to", "production", "--insecure-registry", ...kubeArgs()]);
    expect(r.code).toBe(2);
    expect(r.err).toContain("no terminal to confirm on");
    expect(r.err).toContain("--yes");
    expect((await regClient.repository({ registry: reg.host, repository: "apps/web" }).resolve("production")).digest).toBe(stagingDigest);
  }, 60_000);

  test("cross-repository promote with --verify-key copies the signature; a semver tracker of the new tag is found and followed", async () => {
    const keys = generateKeyPairSync("ec", { namedCurve: "P-256" });
    const pub = join(env.work, "cosign.pub");
    writeFileSync(pub, publicKeyPem(keys.publicKey));
    const d = await push("team/api", "rc", { "api.yaml": "kind: ConfigMap\nmetadata:\n  name: api\n" });
    const staging = regClient.repository({ registry: reg.host, repository: "team/api" });
    await signArtifact(staging, await staging.resolve("rc"), `${reg.host}/team/api`, createKeySigner(keys.privateKey), { format: "legacy" });
    await signArtifact(staging, await staging.resolve("rc"), `${reg.host}/team/api`, createKeySigner(keys.privateKey), { format: "bundle" });
    await kubeJson(kube, coll(NS), { body: ocirepo(NS, "api-live", "live/api", { semver: ">=1.0.0" }) });
    const conn = await loadKubeConnection({ path: kube.kubeconfigPath });
    const client = new KubeClient(conn);
    try {
      expect(await findTrackingOCIRepositories(client, `oci://${reg.host}/live/api`, "1.2.0")).toEqual([{ namespace: NS, name: "api-live", ref: { semver: ">=1.0.0" } }]);
      expect(await findTrackingOCIRepositories(client, `oci://${reg.host}/live/api`, "0.9.0")).toEqual([]);
    } finally {
      await client.close();
    }

    const unsignedKey = join(env.work, "other.pub");
    writeFileSync(unsignedKey, publicKeyPem(generateKeyPairSync("ec", { namedCurve: "P-256" }).publicKey));
    const refused = await cli(["promote", `oci://${reg.host}/team/api:rc`, `oci://${reg.host}/live/api:1.2.0`, "--verify-key", unsignedKey, "--yes", "--insecure-registry"]);
    expect(refused.code).toBe(7);
    expect(refused.err).toContain("no matching signatures");

    const r = await cli(["promote", `oci://${reg.host}/team/api:rc`, `oci://${reg.host}/live/api:1.2.0`, "--verify-key", pub, "--yes", "--wait", "--insecure-registry", "--timeout", "2m", ...kubeArgs()]);
    expect({ code: r.code, err: r.err }).toEqual({ code: 0, err: r.err });
    expect(r.err).toContain("signature verified");
    expect(r.err).toContain(`✔ ocirepository/${NS}/api-live reports revision 1.2.0@${d}`);
    const live = regClient.repository({ registry: reg.host, repository: "live/api" });
    expect((await live.resolve("1.2.0")).digest).toBe(d);
    expect((await findLegacySignatures(live, d)).length).toBe(1);
    // Distribution 2.8 has no referrers API: the bundle is reachable through the sha256-<hex> index tag.
    expect((await findBundles(live, d)).length).toBe(1);
    const verified = await cli(["verify", "artifact", `oci://${reg.host}/live/api:1.2.0`, "--key", pub, "--insecure-registry", "-o", "json"]);
    expect(verified.code).toBe(0);
  }, 180_000);

  test("wait on a stalled object fails fast with exit 10 and the stall reason", async () => {
    await kubeJson(kube, coll(NS), { body: { ...ocirepo(NS, "broken", "apps/web", { tag: "production" }), spec: { ...ocirepo(NS, "broken", "apps/web", { tag: "production" }).spec, url: `oci://${reg.host}/apps/web:production` } } });
    const t0 = Date.now();
    const r = await cli(["wait", `ocirepository/${NS}/broken`, "--for-revision", stagingDigest, "--timeout", "1m", ...kubeArgs(), "-o", "json"]);
    expect(r.code).toBe(10);
    expect(JSON.parse(r.out)).toMatchObject({ status: "failed", reason: "URLInvalid" });
    expect(Date.now() - t0).toBeLessThan(50_000);
  }, 90_000);

  test("promote --wait of an unsigned digest to a tag Flux verifies fails fast with exit 7 (SourceVerified=False)", async () => {
    const keys = generateKeyPairSync("ec", { namedCurve: "P-256" });
    await kubeJson(kube, `/api/v1/namespaces/${NS}/secrets`, {
      body: { apiVersion: "v1", kind: "Secret", metadata: { name: "cosign-pub", namespace: NS }, data: { "cosign.pub": Buffer.from(publicKeyPem(keys.publicKey)).toString("base64") } },
    });
    const repo = regClient.repository({ registry: reg.host, repository: "secure/app" });
    const signed = await push("secure/app", "prod", { "a.yaml": "a: 1\n" });
    await signArtifact(repo, await repo.resolve("prod"), `${reg.host}/secure/app`, createKeySigner(keys.privateKey), { format: "bundle" });
    const body = ocirepo(NS, "secure-prod", "secure/app", { tag: "prod" });
    await kubeJson(kube, coll(NS), { body: { ...body, spec: { ...body.spec, verify: { provider: "cosign", secretRef: { name: "cosign-pub" } } } } });
    expect(await readyRevision(NS, "secure-prod")).toBe(`prod@${signed}`);

    const unsigned = await push("secure/app", "candidate", { "a.yaml": "a: 2\n" });
    const t0 = Date.now();
    const r = await cli(["promote", `oci://${reg.host}/secure/app:candidate`, "--to", "prod", "--yes", "--wait", "--insecure-registry", "--timeout", "2m", ...kubeArgs(), "-o", "json"]);
    expect(r.code).toBe(7);
    expect(Date.now() - t0).toBeLessThan(60_000);
    const w = JSON.parse(r.out).waits;
    expect(w).toHaveLength(1);
    expect(w[0]).toMatchObject({ name: "secure-prod", status: "failed", reason: "VerificationError", revision: `prod@${signed}` });
    expect((await repo.resolve("prod")).digest).toBe(unsigned);
  }, 120_000);

  test("reconcile --wait reports the fetched revision; reconcile of a missing object exits 4", async () => {
    const r = await cli(["reconcile", `ocirepository/${NS}/web-staging`, "--wait", "--timeout", "1m", ...kubeArgs()]);
    expect(r.code).toBe(0);
    expect(r.err).toContain(`✔ fetched revision staging@${stagingDigest}`);
    const o = await kubeJson(kube, `${coll(NS)}/web-staging`);
    expect(o.status.lastHandledReconcileAt).toBe(o.metadata.annotations["reconcile.fluxcd.io/requestedAt"]);
    const missing = await cli(["reconcile", `ocirepository/${NS}/nope`, ...kubeArgs()]);
    expect(missing.code).toBe(4);
  }, 90_000);

  test("the compiled binary on a terminal (script(1) pty): promote asks; n changes nothing (exit 130), y promotes", async () => {
    requireBinary();
    const a = await push("prompt/app", "a", { "x.yaml": "x: 1\n" });
    const b = await push("prompt/app", "b", { "x.yaml": "x: 2\n" });
    const repo = regClient.repository({ registry: reg.host, repository: "prompt/app" });
    // The answer is typed only once the question is on the screen, as a person would.
    const promote = async (answer: string) => {
      const proc = Bun.spawn(["script", "-qec", `${BERTH_BIN} promote oci://${reg.host}/prompt/app:a --to b --insecure-registry`, "/dev/null"], {
        stdin: "pipe",
        stdout: "pipe",
        stderr: "pipe",
        env: { PATH: process.env.PATH, HOME: "/nonexistent-berth-home", NO_COLOR: "1", TERM: "dumb" },
      });
      const killer = setTimeout(() => proc.kill(), 60_000);
      let stdout = "";
      const decoder = new TextDecoder();
      const reader = proc.stdout.getReader();
      let answered = false;
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        stdout += decoder.decode(value, { stream: true });
        if (!answered && stdout.includes("[y/N]")) {
          answered = true;
          proc.stdin.write(answer);
          await proc.stdin.flush();
        }
      }
      const code = await exitOf(proc);
      clearTimeout(killer);
      return { code, stdout };
    };
    const no = await promote("n\n");
    expect(no.stdout).toContain(`promote ${a} to ${reg.host}/prompt/app:b? [y/N]`);
    expect(no.stdout).toContain("1 file changed (1 modified)");
    expect(no.code).toBe(130);
    expect((await repo.resolve("b")).digest).toBe(b);
    const yes = await promote("y\n");
    expect(yes.code).toBe(0);
    expect(yes.stdout).toContain(`✔ ${reg.host}/prompt/app:b now points at ${a}`);
    expect((await repo.resolve("b")).digest).toBe(a);
  }, 120_000);
});
