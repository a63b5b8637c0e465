import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pushArtifact } from "../../src/core/index.ts";
import { kubeFetch, kubeJson, type KubeServer } from "../harness/kube.ts";
import type { RegistryServer } from "../harness/registry.ts";
import { conditionOf, startFluxTestEnv, waitFor as harnessWaitFor, type FluxTestEnv } from "../harness/flux-env.ts";
import { freePort } from "../harness/free-port.ts";
import { BERTH_BIN, requireBinary } from "../e2e/berth-bin.ts";
import { exitOf } from "../harness/process.ts";

const NS = "berth-ctl";
const COLLECTION = `/apis/source.toolkit.fluxcd.io/v1/namespaces/${NS}/ocirepositories`;

let env: FluxTestEnv;
let kube: KubeServer;
let reg: RegistryServer;
let work: string;

beforeAll(async () => {
  env = await startFluxTestEnv({ namespaces: [NS], prefix: "berth-ctl-test-" });
  ({ kube, reg, work } = env);
  await env.startController({ namespace: NS, storagePath: join(work, "storage") });
}, 120_000);

afterAll(() => env?.stop());

/** Pushes a directory holding `files` as `<repo>:<tag>`; resolves to the manifest digest. */
const push = (repo: string, tag: string, files: Record<string, string>) =>
  env.push(repo, tag, files, { source: "https://example.com/repo.git", revision: `main@sha1:${"a".repeat(40)}` });

function ocirepo(name: string, url: string, tag: string, interval = "10m") {
  return {
    apiVersion: "source.toolkit.fluxcd.io/v1",
    kind: "OCIRepository",
    metadata: { name, namespace: NS },
    spec: { url, ref: { tag }, interval, insecure: true },
  };
}

const waitFor = <T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 30_000) =>
  harnessWaitFor(what, probe, { timeoutMs, intervalMs: 100, context: () => `controller log:\n${env.logs.join("\n")}` });

const getObj = (name: string) => kubeJson(kube, `${COLLECTION}/${name}`);
const cond = conditionOf;

async function untar(bytes: Uint8Array): Promise<Record<string, string>> {
  const dir = mkdtempSync(join(work, "untar-"));
  const file = join(dir, "a.tgz");
  writeFileSync(file, bytes);
  mkdirSync(join(dir, "x"));
  const p = Bun.spawn(["tar", "-xzf", file, "-C", join(dir, "x")]);
  expect(await exitOf(p)).toBe(0);
  const out: Record<string, string> = {};
  for (const f of new Bun.Glob("**/*").scanSync({ cwd: join(dir, "x"), onlyFiles: true })) out[f] = readFileSync(join(dir, "x", f), "utf8");
  return out;
}

describe("berth --controller against a real API server and registry", () => {
  test("new OCIRepository → Ready=True with a served artifact; moved tag → new revision; delete → files and finalizer gone", async () => {
    const v1 = { "deploy.yaml": "kind: ConfigMap\nmetadata:\n  name: one\n", "README.md": "v1\n" };
    const digest1 = await push("apps/podinfo", "stable", v1);
    await kubeJson(kube, COLLECTION, { body: ocirepo("podinfo", `oci://${reg.host}/apps/podinfo`, "stable") });

    const ready = await waitFor("Ready=True", async () => {
      const o = await getObj("podinfo");
      return cond(o, "Ready")?.status === "True" ? o : undefined;
    });
    expect(ready.metadata.finalizers).toContain("finalizers.fluxcd.io");
    const art = ready.status.artifact;
    expect(art.revision).toBe(`stable@${digest1}`);
    expect(art.path).toBe(`ocirepository/${NS}/podinfo/${digest1}.tar.gz`);
    expect(art.metadata["org.opencontainers.image.source"]).toBe("https://example.com/repo.git");
    expect(ready.status.observedGeneration).toBe(ready.metadata.generation);
    expect(cond(ready, "Ready").reason).toBe("Succeeded");
    expect(cond(ready, "ArtifactInStorage").message).toBe(`stored artifact for digest 'stable@${digest1}'`);
    expect(cond(ready, "Reconciling")).toBeUndefined();

    const evs = await kubeJson(kube, `/api/v1/namespaces/${NS}/events?fieldSelector=${encodeURIComponent("involvedObject.name=podinfo")}`);
    expect(evs.items.map((e: { type: string; reason: string; message: string }) => [e.type, e.reason, e.message])).toContainEqual([
      "Normal",
      "NewArtifact",
      `stored artifact with revision 'stable@${digest1}' from 'oci://${reg.host}/apps/podinfo', origin source 'https://example.com/repo.git', origin revision 'main@sha1:${"a".repeat(40)}'`,
    ]);

    const res = await fetch(art.url);
    expect(res.status).toBe(200);
    const bytes = new Uint8Array(await res.arrayBuffer());
    expect(`sha256:${createHash("sha256").update(bytes).digest("hex")}`).toBe(art.digest);
    expect(bytes.length).toBe(art.size);
    expect(await untar(bytes)).toEqual(v1);
    const latest = await fetch(ready.status.url);
    expect(new Uint8Array(await latest.arrayBuffer())).toEqual(bytes);

    // Move the tag, then ask for a reconcile the way `flux reconcile` does.
    const v2 = { "deploy.yaml": "kind: ConfigMap\nmetadata:\n  name: two\n" };
    const digest2 = await push("apps/podinfo", "stable", v2);
    expect(digest2).not.toBe(digest1);
    const requestedAt = new Date().toISOString();
    await kubeJson(kube, `${COLLECTION}/podinfo`, {
      method: "PATCH",
      contentType: "application/merge-patch+json",
      body: { metadata: { annotations: { "reconcile.fluxcd.io/requestedAt": requestedAt } } },
    });
    const moved = await waitFor("new revision", async () => {
      const o = await getObj("podinfo");
      return o.status?.artifact?.revision === `stable@${digest2}` ? o : undefined;
    });
    expect(moved.status.lastHandledReconcileAt).toBe(requestedAt);
    expect(cond(moved, "Ready").status).toBe("True");
    const bytes2 = new Uint8Array(await (await fetch(moved.status.artifact.url)).arrayBuffer());
    expect(`sha256:${createHash("sha256").update(bytes2).digest("hex")}`).toBe(moved.status.artifact.digest);
    expect(await untar(bytes2)).toEqual(v2);

    // Delete: the finalizer keeps the object until the controller removed its files.
    const objectDir = join(work, "storage", "ocirepository", NS, "podinfo");
    expect(existsSync(objectDir)).toBe(true);
    await kubeJson(kube, `${COLLECTION}/podinfo`, { method: "DELETE" });
    await waitFor("object gone", async () => ((await kubeFetch(kube, `${COLLECTION}/podinfo`)).status === 404 ? true : undefined));
    expect(existsSync(objectDir)).toBe(false);
    expect((await fetch(moved.status.artifact.url)).status).toBe(404);
  }, 90_000);

  test("an invalid URL stalls with FetchFailed/URLInvalid and Ready=False", async () => {
    await kubeJson(kube, COLLECTION, { body: ocirepo("bad", `oci://${reg.host}/Not Valid`, "v1") });
    const o = await waitFor("Stalled", async () => {
      const x = await getObj("bad");
      return cond(x, "Stalled")?.status === "True" ? x : undefined;
    });
    expect(cond(o, "Stalled").reason).toBe("URLInvalid");
    expect(cond(o, "FetchFailed")).toMatchObject({ status: "True", reason: "URLInvalid" });
    expect(cond(o, "Ready")).toMatchObject({ status: "False", reason: "URLInvalid" });
    expect(cond(o, "Reconciling")).toBeUndefined();
    expect(o.status.artifact).toBeUndefined();
    expect(o.status.observedGeneration).toBe(o.metadata.generation);
  }, 60_000);

  test("a tag in the URL stalls as URLInvalid; a missing tag is a retried OCIArtifactPullFailed; suspend is honoured", async () => {
    await kubeJson(kube, COLLECTION, { body: ocirepo("tagged", `oci://${reg.host}/apps/podinfo:v1`, "v1") });
    await kubeJson(kube, COLLECTION, { body: ocirepo("missing", `oci://${reg.host}/apps/none`, "nope") });
    await kubeJson(kube, COLLECTION, { body: { ...ocirepo("paused", `oci://${reg.host}/apps/podinfo`, "stable"), spec: { ...ocirepo("x", `oci://${reg.host}/apps/podinfo`, "stable").spec, suspend: true } } });
    const tagged = await waitFor("tagged stalls", async () => {
      const x = await getObj("tagged");
      return cond(x, "Stalled")?.status === "True" ? x : undefined;
    });
    expect(cond(tagged, "Stalled").reason).toBe("URLInvalid");
    expect(cond(tagged, "Stalled").message).toBe(
      `URL validation failed for 'oci://${reg.host}/apps/podinfo:v1': repository can only contain the characters \`abcdefghijklmnopqrstuvwxyz0123456789_-./\`: apps/podinfo:v1`,
    );
    const missing = await waitFor("missing fails", async () => {
      const x = await getObj("missing");
      return cond(x, "Ready")?.status === "False" ? x : undefined;
    });
    expect(cond(missing, "Ready").reason).toBe("OCIArtifactPullFailed");
    expect(cond(missing, "FetchFailed").message).toStartWith("failed to determine artifact digest: ");
    expect(cond(missing, "Reconciling")).toMatchObject({ status: "True", reason: "ProgressingWithRetry" });
    expect(cond(missing, "Stalled")).toBeUndefined();
    const paused = await waitFor("finalizer on the suspended object", async () => {
      const x = await getObj("paused");
      return x.metadata.finalizers?.includes("finalizers.fluxcd.io") ? x : undefined;
    });
    await Bun.sleep(500);
    expect((await getObj("paused")).status ?? {}).toEqual(paused.status ?? {});
    expect(paused.status?.artifact).toBeUndefined();
  }, 60_000);

  test("a short interval picks up a moved tag without any request; old annotations are dropped from status", async () => {
    const d1 = await push("apps/ticker", "main", { "a.yaml": "a: 1\n" });
    await kubeJson(kube, COLLECTION, { body: ocirepo("ticker", `oci://${reg.host}/apps/ticker`, "main", "1s") });
    await waitFor("first revision", async () => ((await getObj("ticker")).status?.artifact?.revision === `main@${d1}` ? true : undefined));
    const dir = mkdtempSync(join(work, "src-"));
    writeFileSync(join(dir, "a.yaml"), "a: 2\n");
    const d2 = (await pushArtifact(dir, env.regClient.repository({ registry: reg.host, repository: "apps/ticker" }), "main", { metadata: { annotations: { team: "x" } } })).descriptor.digest;
    const o = await waitFor("revision after interval", async () => {
      const x = await getObj("ticker");
      return x.status?.artifact?.revision === `main@${d2}` ? x : undefined;
    }, 15_000);
    expect(o.status.artifact.metadata.team).toBe("x");
    expect(o.status.artifact.metadata["org.opencontainers.image.source"]).toBeUndefined();
    expect(cond(o, "Ready").status).toBe("True");
  }, 60_000);

  test("the compiled binary: --controller reconciles through the kubeconfig's CA and drains on SIGTERM", async () => {
    requireBinary();
    const ns = "berth-ctl-bin";
    await kubeJson(kube, "/api/v1/namespaces", { body: { apiVersion: "v1", kind: "Namespace", metadata: { name: ns } } });
    const digest = await push("apps/bin", "v1", { "a.yaml": "a: 1\n" });
    const port = await freePort();
    const proc = Bun.spawn(
      [BERTH_BIN, "--controller", "--kubeconfig", kube.kubeconfigPath, "--namespace", ns, "--storage-path", join(work, "bin-storage"), "--storage-addr", `127.0.0.1:${port}`, "--metrics-addr=0", "--health-addr=0", "--concurrent", "1"],
      { stdout: "pipe", stderr: "pipe", env: { HOME: "/nonexistent-berth-home", PATH: process.env.PATH } },
    );
    try {
      const coll = `/apis/source.toolkit.fluxcd.io/v1/namespaces/${ns}/ocirepositories`;
      await kubeJson(kube, coll, { body: { ...ocirepo("bin", `oci://${reg.host}/apps/bin`, "v1"), metadata: { name: "bin", namespace: ns } } });
      const o = await waitFor("Ready=True from the binary", async () => {
        const x = await kubeJson(kube, `${coll}/bin`);
        return cond(x, "Ready")?.status === "True" ? x : undefined;
      });
      expect(o.status.artifact.revision).toBe(`v1@${digest}`);
      expect(o.status.artifact.url).toBe(`http://127.0.0.1:${port}/ocirepository/${ns}/bin/${digest}.tar.gz`);
      const bytes = new Uint8Array(await (await fetch(o.status.artifact.url)).arrayBuffer());
      expect(`sha256:${createHash("sha256").update(bytes).digest("hex")}`).toBe(o.status.artifact.digest);
    } finally {
      proc.kill("SIGTERM");
    }
    expect(await exitOf(proc)).toBe(0);
    expect(await new Response(proc.stderr).text()).toContain("shutting down");
  }, 60_000);
});
