/**
 * The controller's runtime surface against a real API server and registry: leader election on a Lease,
 * sharding by label selector, metrics and health endpoints, and (with the compiled binary) crash and
 * SIGTERM in the middle of storing a large artifact.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createHash, randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pushArtifact, type RegistryClient } from "../../src/core/index.ts";
import type { ControllerOptions, RunningController } from "../../src/k8s/controller/controller.ts";
import { leaseName } from "../../src/k8s/controller/leader.ts";
import { kubeFetch, kubeJson, type KubeServer } from "../harness/kube.ts";
import type { RegistryServer } from "../harness/registry.ts";
import { conditionOf, startFluxTestEnv, waitFor as harnessWaitFor, type FluxTestEnv } from "../harness/flux-env.ts";
import { freePort } from "../harness/free-port.ts";
import { BERTH_BIN, requireBinary } from "../e2e/berth-bin.ts";
import { exitOf } from "../harness/process.ts";

let env: FluxTestEnv;
let kube: KubeServer;
let reg: RegistryServer;
let regClient: RegistryClient;
let work: string;
const logs: string[] = [];

beforeAll(async () => {
  env = await startFluxTestEnv({ namespaces: ["le", "shard", "kill", "term"], prefix: "berth-ctl-ops-" });
  ({ kube, reg, regClient, work } = env);
}, 120_000);

afterAll(async () => {
  console.log(logs.filter((l) => l.startsWith("[measure]")).join("\n"));
  await env?.stop();
});

/** A controller with its own storage and log prefix; stopped with the environment. */
const start = (id: string, opts: Partial<ControllerOptions>): Promise<RunningController> =>
  env.startController({
    storagePath: join(work, `storage-${id}`),
    metricsAddr: undefined,
    healthAddr: undefined,
    log: (m, level) => logs.push(`[${id}] ${level ?? "info"} ${m}`),
    ...opts,
  });

async function push(repo: string, tag: string, files: Record<string, string | Uint8Array>): Promise<string> {
  const dir = mkdtempSync(join(work, "src-"));
  for (const [name, data] of Object.entries(files)) writeFileSync(join(dir, name), data);
  const res = await pushArtifact(dir, regClient.repository({ registry: reg.host, repository: repo }), tag);
  rmSync(dir, { recursive: true, force: true });
  return res.descriptor.digest;
}

const coll = (ns: string) => `/apis/source.toolkit.fluxcd.io/v1/namespaces/${ns}/ocirepositories`;
const leasePath = (ns: string, name: string) => `/apis/coordination.k8s.io/v1/namespaces/${ns}/leases/${name}`;
const cond = conditionOf;

async function create(ns: string, name: string, repo: string, tag: string, labels: Record<string, string> = {}) {
  await kubeJson(kube, coll(ns), {
    body: {
      apiVersion: "source.toolkit.fluxcd.io/v1",
      kind: "OCIRepository",
      metadata: { name, namespace: ns, labels },
      spec: { url: `oci://${reg.host}/${repo}`, ref: { tag }, interval: "10m", insecure: true },
    },
  });
}

const waitFor = <T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 60_000, everyMs = 100) =>
  harnessWaitFor(what, async () => probe(), { timeoutMs, intervalMs: everyMs, context: () => `controller log:\n${logs.slice(-60).join("\n")}` });

const ready = (ns: string, name: string, pred: (o: Record<string, any>) => boolean = () => true) =>
  waitFor(`${ns}/${name} Ready`, async () => {
    const o = await kubeJson(kube, `${coll(ns)}/${name}`);
    return cond(o, "Ready")?.status === "True" && pred(o) ? o : undefined;
  });

/** Every file under `dir`, relative. */
function walk(dir: string, base = dir): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...walk(p, base));
    else out.push(p.slice(base.length + 1));
  }
  return out;
}

describe("leader election", () => {
  test("one of two controllers reconciles; a crashed leader is replaced after the lease duration, a stopped one at once", async () => {
    const timing = { namespace: "le", leaseDurationMs: 3000, renewDeadlineMs: 2000, retryPeriodMs: 500 };
    const a = await start("le-a", { namespace: "le", leaderElection: { ...timing, identity: "ctl-a", releaseOnCancel: false } });
    await waitFor("a leads", () => (a.isLeader() ? true : undefined), 20_000);
    const b = await start("le-b", { namespace: "le", leaderElection: { ...timing, identity: "ctl-b" } });
    const lease = await kubeJson(kube, leasePath("le", "berth-controller-leader-election"));
    expect(lease.spec.holderIdentity).toBe("ctl-a");
    expect(lease.spec.leaseDurationSeconds).toBe(3);
    // As upstream, a standby does not serve artifacts: its file server starts when it is elected.
    expect(b.storageAddress).toBe("");
    expect(a.storageAddress).toMatch(/^127\.0\.0\.1:\d+$/);

    const d1 = await push("le/one", "v1", { "a.yaml": "a: 1\n" });
    const d2 = await push("le/two", "v1", { "b.yaml": "b: 2\n" });
    await create("le", "one", "le/one", "v1");
    await create("le", "two", "le/two", "v1");
    const one = await ready("le", "one");
    const two = await ready("le", "two");
    expect(one.status.artifact.revision).toBe(`v1@${d1}`);
    expect(two.status.artifact.revision).toBe(`v1@${d2}`);
    // The artifact URL names the server of the controller that stored it.
    expect(one.status.artifact.url).toStartWith(`http://${a.storageAddress}/`);
    expect(two.status.artifact.url).toStartWith(`http://${a.storageAddress}/`);
    await Bun.sleep(1500);
    expect(b.isLeader()).toBe(false);
    expect(b.metrics.objects).toEqual([]);
    expect(a.metrics.objects.sort()).toEqual(["le/one", "le/two"]);
    expect(b.metrics.render()).toContain('leader_election_master_status{name="berth-controller-leader-election"} 0');
    expect((await kubeJson(kube, leasePath("le", "berth-controller-leader-election"))).spec.holderIdentity).toBe("ctl-a");

    // a "crashes": it stops without releasing, so b must wait out the lease.
    const t0 = Date.now();
    await a.stop();
    await waitFor("b leads", () => (b.isLeader() ? true : undefined), 20_000, 20);
    const takeover = Date.now() - t0;
    logs.push(`[measure] takeover after an unreleased stop: ${takeover}ms (lease 3000ms, retry 500ms)`);
    expect(takeover).toBeGreaterThan(2000);
    expect(takeover).toBeLessThan(3000 + 3000);
    // The new leader passes over every object it saw while standing by: the URLs move to its server.
    await ready("le", "one", (o) => o.status.artifact.url.startsWith(`http://${b.storageAddress}/`));
    await ready("le", "two", (o) => o.status.artifact.url.startsWith(`http://${b.storageAddress}/`));

    // b stops cleanly and releases: c takes over at its next attempt, well before the lease duration.
    const c = await start("le-c", { namespace: "le", leaderElection: { ...timing, identity: "ctl-c" } });
    await Bun.sleep(1000);
    expect(c.isLeader()).toBe(false);
    const t1 = Date.now();
    await b.stop();
    await waitFor("c leads", () => (c.isLeader() ? true : undefined), 20_000, 20);
    const handover = Date.now() - t1;
    logs.push(`[measure] takeover after a released stop: ${handover}ms`);
    expect(handover).toBeLessThan(2000);
    const final = await kubeJson(kube, leasePath("le", "berth-controller-leader-election"));
    expect(final.spec.holderIdentity).toBe("ctl-c");
    expect(final.spec.leaseTransitions).toBe(2);
    await ready("le", "one", (o) => o.status.artifact.url.startsWith(`http://${c.storageAddress}/`));
  }, 120_000);
});

describe("leader election", () => {
  test("a leader whose lease is taken over stops reconciling and reports why", async () => {
    const timing = { namespace: "le", name: "lost-lease", leaseDurationMs: 3000, renewDeadlineMs: 2000, retryPeriodMs: 500 };
    const c = await start("lost", { namespace: "le", leaderElection: { ...timing, identity: "ctl-lost" } });
    await waitFor("leads", () => (c.isLeader() ? true : undefined), 20_000);
    const lease = await kubeJson(kube, leasePath("le", "lost-lease"));
    // Another party writes itself in as holder (as a replica would after a network partition).
    await kubeJson(kube, leasePath("le", "lost-lease"), {
      method: "PUT",
      body: { ...lease, spec: { ...lease.spec, holderIdentity: "intruder", renewTime: new Date().toISOString().replace("Z", "000Z") } },
    });
    const t0 = Date.now();
    const reason = await Promise.race([c.done, Bun.sleep(15_000).then(() => "timeout")]);
    expect(reason).toBe("leader election lost");
    const lostAfter = Date.now() - t0;
    expect(lostAfter).toBeGreaterThanOrEqual(1000);
    expect(c.isLeader()).toBe(false);
    expect(c.metrics.render()).toContain('leader_election_master_status{name="lost-lease"} 0');
    await c.stop();
    // It did not release what it no longer holds.
    expect((await kubeJson(kube, leasePath("le", "lost-lease"))).spec.holderIdentity).toBe("intruder");
    logs.push(`[measure] leadership lost ${lostAfter}ms after the lease was taken (renew deadline 2000ms)`);
  }, 60_000);
});

describe("sharding, metrics and health", () => {
  test("two controllers with complementary label selectors each reconcile only their shard, under separate leases", async () => {
    const s1 = "sharding.fluxcd.io/key=shard1";
    const s0 = "sharding.fluxcd.io/key notin (shard1)";
    const timing = { namespace: "shard", leaseDurationMs: 3000, renewDeadlineMs: 2000, retryPeriodMs: 500 };
    const c1 = await start("shard1", { namespace: "shard", labelSelector: s1, leaderElection: timing, metricsAddr: "127.0.0.1:0", healthAddr: "127.0.0.1:0" });
    const c0 = await start("shard0", { namespace: "shard", labelSelector: s0, leaderElection: timing, metricsAddr: "127.0.0.1:0", healthAddr: "127.0.0.1:0" });
    await waitFor("both lead their own lease", () => (c1.isLeader() && c0.isLeader() ? true : undefined), 20_000);
    expect(leaseName(s1)).not.toBe(leaseName(s0));
    expect((await kubeJson(kube, leasePath("shard", leaseName(s1)))).spec.holderIdentity).toStartWith("berth_");
    expect((await kubeJson(kube, leasePath("shard", leaseName(s0)))).spec.holderIdentity).toStartWith("berth_");

    for (const c of [c1, c0]) {
      expect((await fetch(`http://${c.healthAddress}/healthz`)).status).toBe(200);
      await waitFor("readyz", async () => ((await fetch(`http://${c.healthAddress}/readyz`)).status === 200 ? true : undefined), 20_000);
    }
    await push("shard/app", "v1", { "a.yaml": "a: 1\n" });
    await create("shard", "in-shard1", "shard/app", "v1", { "sharding.fluxcd.io/key": "shard1" });
    await create("shard", "unlabelled", "shard/app", "v1");
    await create("shard", "in-shard2", "shard/app", "v1", { "sharding.fluxcd.io/key": "shard2" });
    const o1 = await ready("shard", "in-shard1");
    const o0 = await ready("shard", "unlabelled");
    const o2 = await ready("shard", "in-shard2");
    expect(o1.status.artifact.url).toStartWith(`http://${c1.storageAddress}/`);
    expect(o0.status.artifact.url).toStartWith(`http://${c0.storageAddress}/`);
    expect(o2.status.artifact.url).toStartWith(`http://${c0.storageAddress}/`);
    await Bun.sleep(1000);
    expect(c1.metrics.objects).toEqual(["shard/in-shard1"]);
    expect(c0.metrics.objects.sort()).toEqual(["shard/in-shard2", "shard/unlabelled"]);

    const scrape = async (c: RunningController) => {
      const r = await fetch(`http://${c.metricsAddress}/metrics`);
      expect(r.status).toBe(200);
      expect(r.headers.get("content-type")).toStartWith("text/plain; version=0.0.4");
      return r.text();
    };
    let m1 = await scrape(c1);
    expect(m1).toMatch(/^gotk_reconcile_duration_seconds_count\{kind="OCIRepository",name="in-shard1",namespace="shard"\} [1-9]\d*$/m);
    expect(m1).not.toContain('name="unlabelled"');
    expect(m1).toMatch(/^controller_runtime_reconcile_total\{controller="ocirepository",result="requeue_after"\} [1-9]\d*$/m);
    expect(m1).toContain('controller_runtime_reconcile_errors_total{controller="ocirepository"} 0');
    expect(m1).toContain('workqueue_depth{name="ocirepository"} 0');
    expect(m1).toContain(`leader_election_master_status{name="${leaseName(s1)}"} 1`);

    // Deleting the object (the finalizer makes the controller run once more) drops its series.
    await kubeJson(kube, `${coll("shard")}/in-shard1`, { method: "DELETE" });
    await waitFor("in-shard1 gone", async () => ((await kubeFetch(kube, `${coll("shard")}/in-shard1`)).status === 404 ? true : undefined));
    await waitFor("series dropped", async () => (!(await scrape(c1)).includes('name="in-shard1"') ? true : undefined), 10_000);
    m1 = await scrape(c1);
    expect(m1).toMatch(/^controller_runtime_reconcile_total\{controller="ocirepository",result="success"\} [1-9]\d*$/m);

    // Relabelling moves an object between shards: the old shard sees it deleted, the new one reconciles it.
    await kubeJson(kube, `${coll("shard")}/unlabelled`, {
      method: "PATCH",
      contentType: "application/merge-patch+json",
      body: { metadata: { labels: { "sharding.fluxcd.io/key": "shard1" } } },
    });
    await ready("shard", "unlabelled", (o) => o.status.artifact.url.startsWith(`http://${c1.storageAddress}/`));
    await waitFor("c0 forgot it", () => (!c0.metrics.objects.includes("shard/unlabelled") ? true : undefined), 10_000);
  }, 120_000);
});

/** Pushes ~30 MB of incompressible files so storing the artifact takes a while. */
async function pushBig(repo: string): Promise<string> {
  const files: Record<string, Uint8Array> = {};
  for (let i = 0; i < 3; i++) files[`blob-${i}.bin`] = randomBytes(10 * 1024 * 1024);
  return push(repo, "v1", files);
}

function spawnController(ns: string, storage: string, port: number, healthPort: number, tmp: string, extra: string[] = []) {
  const proc = Bun.spawn(
    [
      BERTH_BIN,
      "--controller",
      "--kubeconfig",
      kube.kubeconfigPath,
      "--watch-all-namespaces=false",
      `--storage-path=${storage}`,
      `--storage-addr=127.0.0.1:${port}`,
      "--metrics-addr=0",
      `--health-addr=127.0.0.1:${healthPort}`,
      "--enable-leader-election",
      "--leader-election-lease-duration=3s",
      "--leader-election-renew-deadline=2s",
      "--leader-election-retry-period=500ms",
      "--log-encoding=console",
      // A stock Deployment's extra flags must not stop it.
      "--events-addr=http://notification-controller.flux-system.svc.cluster.local./",
      "--helm-cache-max-size=10",
      "--feature-gates=CacheSecretsAndConfigMaps=true",
      ...extra,
    ],
    { stdout: "pipe", stderr: "pipe", env: { HOME: "/nonexistent-berth-home", PATH: process.env.PATH, RUNTIME_NAMESPACE: ns, TMPDIR: tmp, HOSTNAME: `bin-${ns}` } },
  );
  return proc;
}

/** Resolves the first `.tmp` file under `dir` (an artifact being written), polling every 5 ms. */
async function tempFileAppears(dir: string, timeoutMs: number): Promise<string> {
  return waitFor("a temp file in the storage dir", () => {
    try {
      return walk(dir).find((f) => f.endsWith(".tmp"));
    } catch {
      return undefined;
    }
  }, timeoutMs, 5);
}

describe("the compiled binary under crash and shutdown", () => {
  test("SIGKILL while the artifact is being written: after a restart the object is Ready with an intact artifact and no temp files", async () => {
    requireBinary();
    const storage = join(work, "kill-storage");
    const tmp = join(work, "kill-tmp");
    mkdirSync(tmp);
    const digest = await pushBig("kill/big");
    const [port, healthPort] = [await freePort(), await freePort()];
    const first = spawnController("kill", storage, port, healthPort, tmp);
    let firstErr = "";
    try {
      await waitFor("readyz", async () => ((await fetch(`http://127.0.0.1:${healthPort}/readyz`)).status === 200 ? true : undefined), 30_000);
      await create("kill", "big", "kill/big", "v1");
      const partial = await tempFileAppears(storage, 90_000);
      first.kill("SIGKILL");
      await exitOf(first);
      firstErr = await new Response(first.stderr).text();
      logs.push(`[measure] killed while writing ${partial}`);
      const left = walk(storage).filter((f) => f.endsWith(".tmp"));
      expect(left.length).toBeGreaterThan(0);
      const before = await kubeJson(kube, `${coll("kill")}/big`);
      expect(cond(before, "Ready")?.status).not.toBe("True");
    } finally {
      first.kill("SIGKILL");
    }

    const second = spawnController("kill", storage, port, healthPort, tmp);
    try {
      const o = await ready("kill", "big", (x) => x.status?.artifact !== undefined);
      expect(o.status.artifact.revision).toBe(`v1@${digest}`);
      const res = await fetch(o.status.artifact.url);
      expect(res.status).toBe(200);
      const h = createHash("sha256");
      let size = 0;
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        h.update(chunk);
        size += chunk.byteLength;
      }
      expect(`sha256:${h.digest("hex")}`).toBe(o.status.artifact.digest);
      expect(size).toBe(o.status.artifact.size);
      expect(size).toBeGreaterThan(30 * 1024 * 1024);
      const files = walk(storage).sort();
      expect(files).toEqual([`ocirepository/kill/big/${digest}.tar.gz`, "ocirepository/kill/big/latest.tar.gz"].sort());
      expect(statSync(join(storage, "ocirepository/kill/big", `${digest}.tar.gz`)).size).toBe(o.status.artifact.size);
      const leftoverScratch = readdirSync(tmp).filter((n) => n.startsWith("ocirepository-"));
      logs.push(`[measure] reconciler scratch dirs left in TMPDIR by the killed process: ${leftoverScratch.length}`);
    } finally {
      second.kill("SIGTERM");
    }
    expect(await exitOf(second)).toBe(0);
    const err = await new Response(second.stderr).text();
    expect(err).toContain("removed leftover temp file");
    expect(err).toContain("shutting down: SIGTERM");
    expect(firstErr).toContain("successfully acquired lease kill/berth-controller-leader-election");
  }, 240_000);

  test("SIGTERM mid-write: past a tiny grace period the reconcile is aborted cleanly; within the default one it finishes, then exit 0", async () => {
    requireBinary();
    const storage = join(work, "term-storage");
    const tmp = join(work, "term-tmp");
    mkdirSync(tmp);
    const digest = await pushBig("term/big");
    const [port, healthPort] = [await freePort(), await freePort()];
    const waitReady = () => waitFor("readyz", async () => ((await fetch(`http://127.0.0.1:${healthPort}/readyz`)).status === 200 ? true : undefined), 30_000);

    const hasty = spawnController("term", storage, port, healthPort, tmp, ["--graceful-shutdown-timeout=50ms"]);
    try {
      await waitReady();
      await create("term", "big", "term/big", "v1");
      await tempFileAppears(storage, 90_000);
      const t0 = Date.now();
      hasty.kill("SIGTERM");
      expect(await exitOf(hasty)).toBe(0);
      logs.push(`[measure] SIGTERM mid-write to exit with a 50ms grace period: ${Date.now() - t0}ms`);
    } finally {
      hasty.kill("SIGKILL");
    }
    const hastyErr = await new Response(hasty.stderr).text();
    expect(hastyErr).toContain("grace period over");
    // The aborted write removed its temp file and never produced the artifact.
    expect(walk(storage).filter((f) => f.endsWith(".tmp") || f.endsWith(".tar.gz"))).toEqual([]);
    const aborted = await kubeJson(kube, `${coll("term")}/big`);
    expect(cond(aborted, "Ready")?.status).not.toBe("True");
    expect(aborted.status?.artifact).toBeUndefined();

    const proc = spawnController("term", storage, port, healthPort, tmp);
    let code: number;
    try {
      await waitReady();
      await tempFileAppears(storage, 90_000);
      const t0 = Date.now();
      proc.kill("SIGTERM");
      code = await exitOf(proc);
      logs.push(`[measure] SIGTERM mid-write to exit: ${Date.now() - t0}ms`);
    } finally {
      proc.kill("SIGKILL");
    }
    expect(code).toBe(0);
    const err = await new Response(proc.stderr).text();
    expect(err).not.toContain("grace period over");
    expect(err).toContain("released lease term/berth-controller-leader-election");
    const o = await kubeJson(kube, `${coll("term")}/big`);
    expect(cond(o, "Ready")?.status).toBe("True");
    expect(o.status.artifact.revision).toBe(`v1@${digest}`);
    expect(walk(storage).filter((f) => f.endsWith(".tmp"))).toEqual([]);
    const lease = await kubeJson(kube, leasePath("term", "berth-controller-leader-election"));
    expect(lease.spec.holderIdentity).toBe("");
  }, 240_000);
});
