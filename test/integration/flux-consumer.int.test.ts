// Real Flux consumers against berth's controller: the artifact fetcher kustomize-controller runs
// (fluxcd/pkg/http/fetch: download, digest check, untar) and kstatus (what the flux CLI,
// kustomize-controller health checks and `kubectl wait`-style tooling compute), both from the
// flux-consumer oracle that scripts/setup builds at the versions Flux 2.9 links.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { conditionOf as cond, ocirepositoriesPath, startFluxTestEnv, waitFor as harnessWaitFor, type FluxTestEnv } from "../harness/flux-env.ts";
import { kubeFetch, kubeJson, type KubeServer } from "../harness/kube.ts";
import type { RegistryServer } from "../harness/registry.ts";
import { freePort } from "../harness/free-port.ts";
import { fluxConsumerPath } from "../harness/peers.ts";
import { run, type RunResult } from "../harness/run.ts";
import { BERTH_BIN, requireBinary } from "../e2e/berth-bin.ts";
import { exitOf } from "../harness/process.ts";

const NS = "flux-consumer";
const COLLECTION = ocirepositoriesPath(NS);
/** What the stock Flux install advertises; consumers reach it through SOURCE_CONTROLLER_LOCALHOST here. */
const ADV_ADDR = "source-controller.flux-system.svc.cluster.local.";

let env: FluxTestEnv;
let kube: KubeServer;
let reg: RegistryServer;
let storageAddr: string;
let work: string;

beforeAll(async () => {
  fluxConsumerPath();
  env = await startFluxTestEnv({ namespaces: [NS], prefix: "berth-flux-consumer-" });
  ({ kube, reg, work } = env);
  storageAddr = `127.0.0.1:${await freePort()}`;
  await env.startController({
    namespace: NS,
    storagePath: join(work, "storage"),
    storageAddr,
    storageAdvAddr: ADV_ADDR,
    // Keeps the retry of a not-yet-pushed tag within a few seconds.
    maxRetryDelayMs: 3_000,
  });
}, 180_000);

afterAll(() => env?.stop());

type Tree = Record<string, string>;

/** Pushes `files` (slash paths, nested directories allowed) as `<repo>:<tag>`; resolves to the manifest digest. */
const push = (repo: string, tag: string, files: Tree): Promise<string> =>
  env.push(repo, tag, files, { source: "https://example.com/repo.git", revision: `main@sha1:${"b".repeat(40)}` });

function ocirepo(name: string, url: string, tag: string, ns = NS) {
  return {
    apiVersion: "source.toolkit.fluxcd.io/v1",
    kind: "OCIRepository",
    metadata: { name, namespace: ns },
    spec: { url, ref: { tag }, interval: "10m", insecure: true },
  };
}

const waitFor = <T>(what: string, probe: () => Promise<T | undefined>) => harnessWaitFor(what, probe, { context: () => `controller log:\n${env.logs.join("\n")}` });

type Obj = Record<string, any>;
const getObj = (name: string, ns = NS): Promise<Obj> => env.getOCIRepository(ns, name);
const waitReady = (name: string, ns = NS) =>
  waitFor(`${name} Ready=True`, async () => {
    const o = await getObj(name, ns);
    return cond(o, "Ready")?.status === "True" ? o : undefined;
  });

/** The listing `flux-consumer fetch` prints for `tree`: `<sha256 hex>  <path>` sorted by path. */
function listing(tree: Tree): string {
  const lines = Object.keys(tree)
    .sort()
    .map((p) => `${createHash("sha256").update(tree[p] as string).digest("hex")}  ${p}`);
  return `${lines.join("\n")}\n`;
}

/** Runs the real archive fetcher on an object's artifact into a fresh directory, like kustomize-controller. */
async function consumerFetch(artifact: { url: string; digest: string }, localhost = storageAddr): Promise<RunResult & { dir: string }> {
  const dir = mkdtempSync(join(work, "fetched-"));
  const res = await run([fluxConsumerPath(), "fetch", artifact.url, artifact.digest, dir, "--retries", "1"], {
    timeoutMs: 120_000,
    env: { SOURCE_CONTROLLER_LOCALHOST: localhost },
  });
  return { ...res, dir };
}

interface Kstatus {
  status: string;
  message: string;
}

/** kstatus of `obj` per Flux's fork of cli-utils; asserts upstream sigs.k8s.io/cli-utils agrees. */
async function kstatus(obj: Obj): Promise<Kstatus> {
  const file = join(mkdtempSync(join(work, "obj-")), "o.json");
  writeFileSync(file, JSON.stringify(obj));
  const res = await run([fluxConsumerPath(), "kstatus", file], { timeoutMs: 60_000 });
  if (res.code !== 0) throw new Error(`flux-consumer kstatus exited ${res.code}: ${res.stderr}`);
  const out = JSON.parse(res.stdout) as Kstatus & { sigsStatus: string; sigsMessage: string };
  expect({ status: out.sigsStatus, message: out.sigsMessage }).toEqual({ status: out.status, message: out.message });
  return { status: out.status, message: out.message };
}

async function requestReconcile(name: string): Promise<void> {
  await kubeJson(kube, `${COLLECTION}/${name}`, {
    method: "PATCH",
    contentType: "application/merge-patch+json",
    body: { metadata: { annotations: { "reconcile.fluxcd.io/requestedAt": new Date().toISOString() } } },
  });
}

describe("real Flux consumers against berth's controller", () => {
  test("kustomize-controller's fetcher extracts the pushed tree; kstatus Current; a tag move is Current with the new revision", async () => {
    const v1: Tree = {
      "kustomization.yaml": "resources:\n  - apps/deploy.yaml\n",
      "apps/deploy.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: one\n",
      "apps/nested/deeper/values.yaml": "replicas: 2\n",
      "README.md": "v1\n",
    };
    const d1 = await push("apps/site", "stable", v1);
    await kubeJson(kube, COLLECTION, { body: ocirepo("site", `oci://${reg.host}/apps/site`, "stable") });
    const ready = await waitReady("site");
    expect(ready.status.artifact.revision).toBe(`stable@${d1}`);
    // The advertised address is the in-cluster name: only the host override makes it reachable.
    expect(ready.status.artifact.url).toBe(`http://${ADV_ADDR}/ocirepository/${NS}/site/${d1}.tar.gz`);

    const fetched = await consumerFetch(ready.status.artifact);
    expect(fetched.stderr).toBe("");
    expect(fetched.code).toBe(0);
    expect(fetched.stdout).toBe(listing(v1));
    expect(readFileSync(join(fetched.dir, "apps/deploy.yaml"), "utf8")).toBe(v1["apps/deploy.yaml"] as string);

    expect(await kstatus(ready)).toEqual({ status: "Current", message: "Resource is Ready" });

    const v2: Tree = { "kustomization.yaml": "resources: []\n", "apps/deploy.yaml": "kind: ConfigMap\nmetadata:\n  name: two\n" };
    const d2 = await push("apps/site", "stable", v2);
    expect(d2).not.toBe(d1);
    await requestReconcile("site");
    const moved = await waitFor("new revision", async () => {
      const o = await getObj("site");
      return o.status?.artifact?.revision === `stable@${d2}` && cond(o, "Ready")?.status === "True" ? o : undefined;
    });
    expect(await kstatus(moved)).toEqual({ status: "Current", message: "Resource is Ready" });
    const refetched = await consumerFetch(moved.status.artifact);
    expect(refetched.code).toBe(0);
    expect(refetched.stdout).toBe(listing(v2));
  }, 180_000);

  test("a tampered stored artifact fails the real fetcher's digest check; a reconcile re-stores it", async () => {
    const tree: Tree = { "a.yaml": "a: 1\n" };
    await push("apps/tamper", "v1", tree);
    await kubeJson(kube, COLLECTION, { body: ocirepo("tamper", `oci://${reg.host}/apps/tamper`, "v1") });
    const ready = await waitReady("tamper");
    const art = ready.status.artifact;
    const stored = join(work, "storage", art.path);

    // A different but well-formed tar.gz, so only the digest check can catch it.
    const evil = join(work, "evil");
    mkdirSync(evil);
    writeFileSync(join(evil, "a.yaml"), "a: evil\n");
    const tar = Bun.spawn(["tar", "-czf", stored, "-C", evil, "a.yaml"]);
    expect(await exitOf(tar)).toBe(0);
    const servedDigest = `sha256:${createHash("sha256").update(readFileSync(stored)).digest("hex")}`;
    expect(servedDigest).not.toBe(art.digest);

    const bad = await consumerFetch(art);
    expect(bad.code).toBe(1);
    expect(bad.stderr.trim()).toBe(
      `failed to verify archive: computed digest doesn't match provided '${art.digest}' (check whether file size exceeds max download size)`,
    );
    expect(bad.stdout).toBe("");
    // The same bytes pass when the consumer is given their true digest: the failure is the check, not the transport.
    const own = await consumerFetch({ url: art.url, digest: servedDigest });
    expect(own.code).toBe(0);
    expect(own.stdout).toBe(listing({ "a.yaml": "a: evil\n" }));

    // source-controller re-verifies stored files each reconcile; berth must too, and re-store the artifact.
    await requestReconcile("tamper");
    await waitFor("re-stored artifact", async () => {
      const o = await getObj("tamper");
      if (cond(o, "Ready")?.status !== "True") return undefined;
      const r = await consumerFetch(o.status.artifact);
      return r.code === 0 && r.stdout === listing(tree) ? true : undefined;
    });
  }, 180_000);

  test("kstatus: InProgress while a missing tag is retried, Current once it is pushed; Failed for an invalid URL", async () => {
    await kubeJson(kube, COLLECTION, { body: ocirepo("later", `oci://${reg.host}/apps/later`, "v1") });
    const retrying = await waitFor("retrying", async () => {
      const o = await getObj("later");
      return cond(o, "Reconciling")?.reason === "ProgressingWithRetry" && cond(o, "Ready")?.status === "False" ? o : undefined;
    });
    expect(retrying.status.artifact).toBeUndefined();
    // A transient failure never records the generation (the CRD default -1 stays), which kstatus checks first.
    expect(retrying.status.observedGeneration).toBe(-1);
    expect(await kstatus(retrying)).toEqual({ status: "InProgress", message: "OCIRepository generation is 1, but latest observed generation is -1" });

    const tree: Tree = { "later.yaml": "here: now\n" };
    const digest = await push("apps/later", "v1", tree);
    const ready = await waitReady("later");
    expect(ready.status.artifact.revision).toBe(`v1@${digest}`);
    expect(await kstatus(ready)).toEqual({ status: "Current", message: "Resource is Ready" });
    expect((await consumerFetch(ready.status.artifact)).stdout).toBe(listing(tree));

    await kubeJson(kube, COLLECTION, { body: ocirepo("broken", `oci://${reg.host}/Not Valid`, "v1") });
    const stalled = await waitFor("stalled", async () => {
      const o = await getObj("broken");
      return cond(o, "Stalled")?.status === "True" ? o : undefined;
    });
    expect(await kstatus(stalled)).toEqual({ status: "Failed", message: cond(stalled, "Stalled")?.message });
    expect(cond(stalled, "Stalled")?.message).toStartWith(`URL validation failed for 'oci://${reg.host}/Not Valid'`);
  }, 180_000);

  test("kstatus: InProgress with the Reconciling message while an existing object retries; the old artifact stays fetchable until deleted", async () => {
    const tree: Tree = { "keep.yaml": "kept: true\n" };
    const digest = await push("apps/flaky", "v1", tree);
    await kubeJson(kube, COLLECTION, { body: ocirepo("flaky", `oci://${reg.host}/apps/flaky`, "v1") });
    const ready = await waitReady("flaky");
    // Deleting the manifest also drops its tag, so the next reconcile cannot resolve v1.
    const del = await fetch(`http://${reg.host}/v2/apps/flaky/manifests/${digest}`, { method: "DELETE" });
    expect(del.status).toBe(202);
    await requestReconcile("flaky");
    const retrying = await waitFor("retrying", async () => {
      const o = await getObj("flaky");
      return cond(o, "Reconciling")?.reason === "ProgressingWithRetry" && cond(o, "Ready")?.status === "False" ? o : undefined;
    });
    expect(retrying.status.observedGeneration).toBe(retrying.metadata.generation);
    expect(cond(retrying, "FetchFailed")?.status).toBe("True");
    expect(await kstatus(retrying)).toEqual({ status: "InProgress", message: cond(retrying, "Reconciling")?.message });
    expect(retrying.status.artifact).toEqual(ready.status.artifact);
    const fetched = await consumerFetch(retrying.status.artifact);
    expect(fetched.code).toBe(0);
    expect(fetched.stdout).toBe(listing(tree));

    // Once the object is deleted its files go: the fetcher's 404 error is what kustomize-controller
    // turns into "Source is not ready, artifact not found".
    await kubeJson(kube, `${COLLECTION}/flaky`, { method: "DELETE" });
    await waitFor("flaky gone", async () => ((await kubeFetch(kube, `${COLLECTION}/flaky`)).status === 404 ? true : undefined));
    const gone = await consumerFetch(retrying.status.artifact);
    expect({ code: gone.code, stderr: gone.stderr.trim() }).toEqual({ code: 1, stderr: "file not found" });
  }, 180_000);

  test("the compiled binary: berth --controller serves an artifact the real fetcher accepts; kstatus Current", async () => {
    requireBinary();
    const ns = "flux-consumer-bin";
    await env.namespace(ns);
    const tree: Tree = { "deploy/app.yaml": "kind: ConfigMap\n", "kustomization.yaml": "resources: [deploy/app.yaml]\n" };
    const digest = await push("apps/bin", "v1", tree);
    const port = await freePort();
    const proc = Bun.spawn(
      [BERTH_BIN, "--controller", "--kubeconfig", kube.kubeconfigPath, "--namespace", ns, "--storage-path", join(work, "bin-storage"), "--storage-addr", `127.0.0.1:${port}`, "--storage-adv-addr", ADV_ADDR, "--metrics-addr=0", "--health-addr=0", "--concurrent", "1"],
      { stdout: "pipe", stderr: "pipe", env: { HOME: "/nonexistent-berth-home", PATH: process.env.PATH } },
    );
    let failure: unknown;
    try {
      await kubeJson(kube, ocirepositoriesPath(ns), { body: ocirepo("bin", `oci://${reg.host}/apps/bin`, "v1", ns) });
      const o = await waitReady("bin", ns);
      expect(o.status.artifact.revision).toBe(`v1@${digest}`);
      expect(await kstatus(o)).toEqual({ status: "Current", message: "Resource is Ready" });
      const fetched = await consumerFetch(o.status.artifact, `127.0.0.1:${port}`);
      expect(fetched.stderr).toBe("");
      expect(fetched.stdout).toBe(listing(tree));
    } catch (e) {
      failure = e;
    } finally {
      proc.kill("SIGTERM");
    }
    const code = await exitOf(proc);
    if (failure) throw new Error(`${String(failure)}\nberth --controller stderr:\n${await new Response(proc.stderr).text()}`);
    expect(code).toBe(0);
  }, 180_000);
});
