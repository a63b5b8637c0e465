/**
 * `bun run bench:controller`: the compiled `berth --controller` against a real kube-apiserver and a
 * real registry, with N OCIRepositories (default 100, 500 and 1000) spread over a few repositories.
 * For each N it prints the time from the first create to all objects Ready, the controller's peak
 * RSS, and the registry requests seen during one steady interval once everything is Ready, next to
 * the number of distinct (repository, ref) pairs — the floor a shared look-up can reach. It also
 * prints the CPU seconds the controller and the API server used until all were Ready, and the API
 * requests by verb and resource (on a small machine the API server is the bottleneck).
 *
 *   bun run bench:controller                       100, 500 and 1000 objects
 *   bun run bench:controller --n 100 --repos 5     one size, five repositories
 *   bun run bench:controller --berth ./dist/berth --interval 20s --concurrent 10 --json
 *
 * When Flux's own source-controller is built (`bash scripts/setup --bench` builds v1.9.6 from the Go
 * module proxy into the tool cache), each size runs it too, on the same API server, registry and
 * objects, right after berth, and prints the same-run ratios. Both get the upstream CRDs (berth's are
 * structurally identical) and the same `--concurrent`; source-controller keeps its own API client
 * limits (--kube-api-qps 50, --kube-api-burst 300) unless `--peer-qps` says otherwise, as deployed.
 * Flux's published anchor (1000 objects, 16-core runner: 85 s, 67 MiB) is printed for orientation.
 * Everything runs in temp dirs that are removed on exit, failure or ^C.
 *
 *   bun run bench:controller --peer none            berth only
 *   bun run bench:controller --peer-qps 1000        source-controller without its client-side limit
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, homedir, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { childExit } from "../src/core/child-exit.ts";
import { createRegistryClient, pushArtifact } from "../src/core/index.ts";
import { ocirepositoryCRD } from "../src/k8s/index.ts";
import { KubeClient, loadKubeConnection } from "../src/k8s/client/kube.ts";
import { freePort } from "../test/harness/free-port.ts";
import { installCRDs, kubeFetch, kubeJson, startKube, type KubeServer } from "../test/harness/kube.ts";
import { startRegistry } from "../test/harness/registry.ts";
import { installSignalHandlers, onCleanup, runCleanup } from "./lib/cleanup.ts";

const REPO_ROOT = resolve(import.meta.dir, "..");
const TOOL_DIR = join(process.env.BERTH_CACHE ?? join(homedir(), ".cache", "berth"), "bin");
/** Where scripts/setup --bench puts source-controller and its CRDs. */
const PEER = { bin: join(TOOL_DIR, "source-controller"), crds: join(TOOL_DIR, "source-controller-crds"), version: "v1.9.6" };
const ANCHOR = { objects: 1000, seconds: 85, rssMiB: 67, cores: 16 };

interface Config {
  sizes: number[];
  repos: number;
  intervalS: number;
  concurrent: number;
  berth: string;
  json: boolean;
  timeoutS: number;
  /** Also run source-controller: "auto" when it is built, "none", or "require" (fail when missing). */
  peer: "auto" | "none" | "require";
  /** source-controller's --kube-api-qps (burst 6x); undefined keeps its defaults. */
  peerQps?: number;
}

function parseConfig(argv: string[]): Config {
  const { values } = parseArgs({
    args: argv,
    options: {
      n: { type: "string", default: "100,500,1000" },
      repos: { type: "string", default: "10" },
      interval: { type: "string", default: "30s" },
      // The controller's own default is upstream's 2; passes wait on the API server far more than on
      // CPU, so more at once finish sooner (1000 objects on 2 cores: ~30 s at 10, ~21-25 s at 30-50).
      concurrent: { type: "string", default: "30" },
      berth: { type: "string", default: join(REPO_ROOT, "dist", "berth") },
      timeout: { type: "string", default: "600" },
      json: { type: "boolean", default: false },
      peer: { type: "string", default: "auto" },
      "peer-qps": { type: "string" },
      help: { type: "boolean", short: "h", default: false },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(readFileSync(import.meta.path, "utf8").split("*/")[0]!.replace(/^\/\*\*\n/, "").replace(/^ \* ?/gm, "") + "\n");
    process.exit(0);
  }
  if (!["auto", "none", "require"].includes(values.peer!)) throw new Error(`--peer must be auto, none or require, got ${values.peer}`);
  const interval = /^(\d+)s$/.exec(values.interval!);
  if (!interval) throw new Error(`--interval must be whole seconds like 30s, got ${values.interval}`);
  return {
    sizes: values.n!.split(",").map((x) => Number(x.trim())).filter((x) => Number.isInteger(x) && x > 0),
    repos: Number(values.repos),
    intervalS: Number(interval[1]),
    concurrent: Number(values.concurrent),
    berth: resolve(values.berth!),
    json: values.json!,
    timeoutS: Number(values.timeout),
    peer: values.peer as Config["peer"],
    peerQps: values["peer-qps"] === undefined ? undefined : Number(values["peer-qps"]),
  };
}

/** Counts registry requests by kind while forwarding them to the real registry. */
function countingProxy(target: string, port: number) {
  const counts = new Map<string, number>();
  const server = Bun.serve({
    port,
    hostname: "127.0.0.1",
    async fetch(req) {
      const url = new URL(req.url);
      const kind = `${req.method} ${/\/manifests\//.test(url.pathname) ? "manifest" : /\/blobs\//.test(url.pathname) ? "blob" : /\/tags\/list/.test(url.pathname) ? "tags" : url.pathname === "/v2/" ? "ping" : "other"}`;
      counts.set(kind, (counts.get(kind) ?? 0) + 1);
      const res = await fetch(`${target}${url.pathname}${url.search}`, {
        method: req.method,
        headers: req.headers,
        body: req.method === "GET" || req.method === "HEAD" ? undefined : await req.arrayBuffer(),
        redirect: "manual",
      });
      return new Response(req.method === "HEAD" ? null : res.body, { status: res.status, headers: res.headers });
    },
  });
  return {
    host: `127.0.0.1:${port}`,
    counts,
    total: () => [...counts.values()].reduce((a, b) => a + b, 0),
    reset: () => counts.clear(),
    stop: () => server.stop(true),
  };
}

/** Peak resident set of a live process, from the kernel (VmHWM), in MiB. */
function peakRssMiB(pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) / 1024 : NaN;
}

async function inBatches<T>(items: readonly T[], width: number, fn: (t: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: width }, async () => {
    while (next < items.length) await fn(items[next++]!);
  }));
}

type ControllerKind = "berth" | "source-controller";

interface Result {
  controller: ControllerKind;
  objects: number;
  distinctPairs: number;
  createSeconds: number;
  readySeconds: number;
  peakRssMiB: number;
  requestsPerInterval: number;
  requestsByKind: Record<string, number>;
  /** CPU seconds from the first create to all Ready: the controller, and the API server (the usual bottleneck). */
  controllerCpuSeconds: number;
  apiServerCpuSeconds: number;
  /** API requests from the first create to all Ready, by verb and resource (the bench's creates included). */
  apiRequests: Record<string, number>;
}

/**
 * Follows the namespace's OCIRepositories with one watch and counts those whose Ready is True. A
 * watch costs the API server one event per write; listing 1000 objects every few hundred ms (what
 * this bench did first) cost it more CPU than the controller's own requests did.
 */
function followReady(kube: KubeClient, ns: string, resourceVersion: string) {
  const ready = new Set<string>();
  const ac = new AbortController();
  const path = `/apis/source.toolkit.fluxcd.io/v1/namespaces/${ns}/ocirepositories`;
  const done = (async () => {
    let rv = resourceVersion;
    while (!ac.signal.aborted) {
      try {
        for await (const ev of kube.watch(path, rv, ac.signal)) {
          const o = ev.object as any;
          if (typeof o?.metadata?.resourceVersion === "string") rv = o.metadata.resourceVersion;
          if (ev.type === "BOOKMARK") continue;
          const isReady = ev.type !== "DELETED" && (o.status?.conditions ?? []).some((c: any) => c.type === "Ready" && c.status === "True");
          if (isReady) ready.add(o.metadata.name);
          else ready.delete(o.metadata.name);
        }
      } catch (e) {
        if (ac.signal.aborted) break;
        throw e;
      }
    }
  })();
  return { count: () => ready.size, stop: () => (ac.abort(), done.catch(() => undefined)) };
}

/** The kube-apiserver serving `kube` (found by its --secure-port), to read its CPU time. */
function apiServerPid(kube: KubeServer): number | undefined {
  const port = new URL(kube.url).port;
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const cmd = readFileSync(`/proc/${d}/cmdline`, "utf8").split("\0");
      if (cmd[0]?.endsWith("kube-apiserver") && cmd.includes(`--secure-port=${port}`)) return Number(d);
    } catch {
      // gone meanwhile
    }
  }
  return undefined;
}

/** `apiserver_request_total` summed by verb, resource and subresource (what the API server was asked). */
async function apiRequestCounts(kube: KubeServer): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  const text = await (await kubeFetch(kube, "/metrics")).text();
  for (const line of text.split("\n")) {
    if (!line.startsWith("apiserver_request_total{")) continue;
    const label = (k: string) => new RegExp(`[{,]${k}="([^"]*)"`).exec(line)?.[1] ?? "";
    const key = `${label("verb")} ${label("resource")}${label("subresource") ? `/${label("subresource")}` : ""}`;
    out.set(key, (out.get(key) ?? 0) + Number(line.slice(line.lastIndexOf(" ") + 1)));
  }
  return out;
}

/** CPU seconds (user + system) a process has used so far, from /proc. */
function cpuSeconds(pid: number | undefined): number {
  if (pid === undefined) return NaN;
  try {
    const f = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = f.slice(f.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return NaN;
  }
}

/** The controller's command line and environment: berth as `berth install` deploys it, source-controller as Flux does. */
function controllerCommand(kind: ControllerKind, cfg: Config, kube: KubeServer, ns: string, storage: string, ports: { storage: number; metrics: number; health: number }, work: string) {
  const common = { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: work };
  if (kind === "berth") {
    return {
      cmd: [cfg.berth, "--controller", "--kubeconfig", kube.kubeconfigPath, "--namespace", ns, "--storage-path", storage,
        "--storage-addr", `127.0.0.1:${ports.storage}`, "--concurrent", String(cfg.concurrent),
        "--metrics-addr", `127.0.0.1:${ports.metrics}`, "--health-addr", `127.0.0.1:${ports.health}`],
      env: { ...common, ...runtimeTuning() },
    };
  }
  const qps = cfg.peerQps === undefined ? [] : [`--kube-api-qps=${cfg.peerQps}`, `--kube-api-burst=${cfg.peerQps * 6}`];
  return {
    cmd: [PEER.bin, "--watch-all-namespaces=false", "--storage-path", storage, "--storage-addr", `127.0.0.1:${ports.storage}`,
      "--storage-adv-addr", `127.0.0.1:${ports.storage}`, "--concurrent", String(cfg.concurrent),
      "--metrics-addr", `127.0.0.1:${ports.metrics}`, "--health-addr", `127.0.0.1:${ports.health}`, "--log-level=error", ...qps],
    // fluxcd/pkg/runtime watches RUNTIME_NAMESPACE when --watch-all-namespaces=false.
    env: { ...common, KUBECONFIG: kube.kubeconfigPath, RUNTIME_NAMESPACE: ns },
  };
}

async function runSize(kind: ControllerKind, cfg: Config, kube: KubeServer, api: KubeClient, proxy: ReturnType<typeof countingProxy>, n: number, work: string): Promise<Result> {
  const ns = `bench-${kind === "berth" ? "b" : "sc"}-${n}-${Date.now().toString(36)}`;
  const collection = `/apis/source.toolkit.fluxcd.io/v1/namespaces/${ns}/ocirepositories`;
  await kubeJson(kube, "/api/v1/namespaces", { body: { apiVersion: "v1", kind: "Namespace", metadata: { name: ns } } });
  const storage = mkdtempSync(join(work, `storage-${kind}-${n}-`));
  // Metrics and probes stay on (as deployed) but on free ports: :8080 and :9440 may be taken.
  const ports = { storage: await freePort(), metrics: await freePort(), health: await freePort() };
  const log = join(work, `${kind}-${n}.log`);
  const { cmd, env } = controllerCommand(kind, cfg, kube, ns, storage, ports, work);
  const proc = Bun.spawn(cmd, { stdout: Bun.file(log), stderr: Bun.file(log), env });
  onCleanup(() => proc.kill("SIGKILL"));
  const logTail = () => (existsSync(log) ? readFileSync(log, "utf8").split("\n").slice(-15).join("\n") : "");
  try {
    const pairs = Math.min(cfg.repos, n);
    const objs = Array.from({ length: n }, (_, i) => ({
      apiVersion: "source.toolkit.fluxcd.io/v1",
      kind: "OCIRepository",
      metadata: { name: `app-${i}`, namespace: ns },
      spec: { url: `oci://${proxy.host}/bench/app-${i % pairs}`, ref: { tag: "v1" }, interval: `${cfg.intervalS}s`, insecure: true },
    }));
    const start = await api.get<{ metadata: { resourceVersion: string } }>(collection);
    const follower = followReady(api, ns, start.metadata.resourceVersion);
    onCleanup(() => follower.stop());
    proxy.reset();
    const apiPid = apiServerPid(kube);
    const cpu0 = { controller: cpuSeconds(proc.pid), api: cpuSeconds(apiPid) };
    const api0 = await apiRequestCounts(kube);
    const t0 = performance.now();
    await inBatches(objs, 16, (o) => kubeJson(kube, collection, { body: o }));
    const createSeconds = (performance.now() - t0) / 1000;
    const deadline = Date.now() + cfg.timeoutS * 1000;
    while (follower.count() < n) {
      if (proc.exitCode !== null) throw new Error(`${kind} exited ${proc.exitCode}:\n${logTail()}`);
      if (Date.now() > deadline) throw new Error(`${kind}: only ${follower.count()}/${n} Ready after ${cfg.timeoutS}s:\n${logTail()}`);
      await Bun.sleep(20);
    }
    const readySeconds = (performance.now() - t0) / 1000;
    const controllerCpuSeconds = cpuSeconds(proc.pid) - cpu0.controller;
    const apiServerCpuSeconds = cpuSeconds(apiPid) - cpu0.api;
    await follower.stop();
    const apiRequests: Record<string, number> = {};
    for (const [k, v] of await apiRequestCounts(kube)) {
      const d = v - (api0.get(k) ?? 0);
      if (d >= n / 10 && !/^(WATCH|LIST) (leases|apiservices|customresourcedefinitions)/.test(k)) apiRequests[k] = d;
    }
    // Steady state: every object requeues once per interval (±jitter); count one interval's traffic.
    await Bun.sleep(cfg.intervalS * 200);
    proxy.reset();
    await Bun.sleep(cfg.intervalS * 1000);
    const requestsByKind = Object.fromEntries(proxy.counts);
    const requestsPerInterval = proxy.total();
    const peak = peakRssMiB(proc.pid);
    // Leave the API server as this size found it, so the next controller or size starts equal: the
    // controller still runs, releases each finalizer and removes the objects.
    await kubeFetch(kube, collection, { method: "DELETE" });
    const gone = Date.now() + 180_000;
    while (Date.now() < gone && ((await kubeJson(kube, `${collection}?limit=1`)).items as unknown[]).length > 0) await Bun.sleep(500);
    return { controller: kind, objects: n, distinctPairs: pairs, createSeconds, readySeconds, peakRssMiB: peak, requestsPerInterval, requestsByKind, controllerCpuSeconds, apiServerCpuSeconds, apiRequests };
  } finally {
    proc.kill("SIGTERM");
    await Promise.race([childExit(proc.pid, proc.exited), Bun.sleep(5000)]);
    proc.kill("SIGKILL");
    rmSync(storage, { recursive: true, force: true });
    await kubeFetch(kube, `/api/v1/namespaces/${ns}`, { method: "DELETE" }).catch(() => undefined);
  }
}

async function main() {
  installSignalHandlers();
  const cfg = parseConfig(process.argv.slice(2));
  if (!existsSync(cfg.berth)) throw new Error(`${cfg.berth} not found: run bash scripts/compile first (or pass --berth)`);
  const work = mkdtempSync(join(tmpdir(), "berth-bench-controller-"));
  onCleanup(() => rmSync(work, { recursive: true, force: true }));
  process.stderr.write(`starting kube-apiserver, etcd and a registry…\n`);
  const [kube, reg] = await Promise.all([startKube(), startRegistry()]);
  onCleanup(() => kube.stop());
  onCleanup(() => reg.stop());
  const proxy = countingProxy(reg.url, await freePort());
  onCleanup(() => proxy.stop());
  const peerBuilt = existsSync(PEER.bin) && existsSync(PEER.crds);
  if (cfg.peer === "require" && !peerBuilt) throw new Error(`source-controller not found at ${PEER.bin}: run bash scripts/setup --bench`);
  const withPeer = cfg.peer !== "none" && peerBuilt;
  if (cfg.peer === "auto" && !peerBuilt) process.stderr.write(`source-controller is not built (bash scripts/setup --bench builds it): measuring berth alone\n`);
  if (withPeer) {
    // Upstream's CRDs for both controllers (source-controller also watches its other kinds).
    await installCRDs(kube, readdirSync(PEER.crds).filter((f) => f.endsWith(".yaml")).map((f) => join(PEER.crds, f)));
  } else {
    const crd = join(work, "crd.json");
    writeFileSync(crd, JSON.stringify(ocirepositoryCRD()));
    await installCRDs(kube, [crd]);
  }
  const client = createRegistryClient({ insecure: true });
  const src = join(REPO_ROOT, "..", "shared", "data", "podinfo");
  const tree = existsSync(src) ? join(src, readdirFirst(src), "kustomize") : undefined;
  for (let i = 0; i < cfg.repos; i++) {
    const dir = tree && existsSync(tree) ? tree : mkdtempSync(join(work, "src-"));
    if (!tree || !existsSync(tree)) writeFileSync(join(dir, "cm.yaml"), `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app-${i}\n`);
    await pushArtifact(dir, client.repository({ registry: reg.host, repository: `bench/app-${i}` }), "v1", {
      metadata: { source: "https://example.com/bench.git", revision: `main@sha1:${"b".repeat(40)}` },
    });
  }
  await client.close();
  const api = new KubeClient(await loadKubeConnection({ path: kube.kubeconfigPath }));
  onCleanup(() => api.close());
  const results: Result[] = [];
  const kinds: ControllerKind[] = withPeer ? ["berth", "source-controller"] : ["berth"];
  for (const n of cfg.sizes) {
    for (const kind of kinds) {
      process.stderr.write(`${kind}: ${n} objects over ${Math.min(cfg.repos, n)} repositories, interval ${cfg.intervalS}s, --concurrent ${cfg.concurrent}…\n`);
      results.push(await runSize(kind, cfg, kube, api, proxy, n, work));
    }
  }
  const peerSetting = cfg.peerQps === undefined ? "its default --kube-api-qps 50 / burst 300" : `--kube-api-qps ${cfg.peerQps} / burst ${cfg.peerQps * 6}`;
  if (cfg.json) {
    process.stdout.write(JSON.stringify({ cores: cpus().length, intervalS: cfg.intervalS, concurrent: cfg.concurrent, peer: withPeer ? { version: PEER.version, apiClient: peerSetting } : null, results, anchor: ANCHOR }, null, 2) + "\n");
  } else {
    const rows = [["controller", "objects", "pairs", "create s", "all Ready s", "peak RSS MiB", "req/interval", "req/pair", "cpu s ctl", "cpu s api"]];
    for (const r of results) {
      rows.push([r.controller, String(r.objects), String(r.distinctPairs), r.createSeconds.toFixed(1), r.readySeconds.toFixed(1), r.peakRssMiB.toFixed(0), String(r.requestsPerInterval), (r.requestsPerInterval / r.distinctPairs).toFixed(2), r.controllerCpuSeconds.toFixed(1), r.apiServerCpuSeconds.toFixed(1)]);
    }
    const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
    for (const r of rows) process.stdout.write(r.map((x, c) => (c === 0 ? x.padEnd(widths[c]!) : x.padStart(widths[c]!))).join("  ") + "\n");
    process.stdout.write(`\nmachine: ${cpus().length} cores; --concurrent ${cfg.concurrent} for both; interval ${cfg.intervalS}s\n`);
    if (withPeer) {
      process.stdout.write(`peer: source-controller ${PEER.version} built from the Go module proxy, same run, same API server and registry, ${peerSetting}\n`);
      for (const n of cfg.sizes) {
        const b = results.find((r) => r.controller === "berth" && r.objects === n);
        const p = results.find((r) => r.controller === "source-controller" && r.objects === n);
        if (!b || !p) continue;
        process.stdout.write(`at ${n}: source-controller/berth time ${(p.readySeconds / b.readySeconds).toFixed(2)}x (goal >= 4x), berth/source-controller peak RSS ${(b.peakRssMiB / p.peakRssMiB).toFixed(2)}x (goal <= 1x), registry requests per interval ${b.requestsPerInterval} vs ${p.requestsPerInterval}\n`);
      }
    }
    const k = results.find((r) => r.controller === "berth" && r.objects === ANCHOR.objects);
    process.stdout.write(`anchor (published, not measured here): source-controller ${ANCHOR.objects} objects in ${ANCHOR.seconds} s, ${ANCHOR.rssMiB} MiB on ${ANCHOR.cores} cores\n`);
    if (k) process.stdout.write(`berth vs anchor at ${k.objects}: ${(ANCHOR.seconds / k.readySeconds).toFixed(2)}x faster (goal 4x), memory ${(k.peakRssMiB / ANCHOR.rssMiB).toFixed(2)}x of the anchor (goal <= 1x)\n`);
    for (const r of results) process.stdout.write(`${r.controller}: registry requests in one interval at ${r.objects}: ${JSON.stringify(r.requestsByKind)}\n`);
    for (const r of results) process.stdout.write(`${r.controller}: API requests until all Ready at ${r.objects}: ${JSON.stringify(r.apiRequests)}\n`);
  }
}

/** Runtime knobs passed through to the controller (`BUN_*`, e.g. BUN_JSC_forceRAMSize), to compare settings. */
function runtimeTuning(): Record<string, string> {
  return Object.fromEntries(Object.entries(process.env).filter((e): e is [string, string] => e[0].startsWith("BUN_") && e[1] !== undefined));
}

function readdirFirst(dir: string): string {
  return readdirSync(dir).sort()[0] ?? "";
}

main().then(
  () => runCleanup(),
  async (e) => {
    process.stderr.write(`bench:controller: ${e instanceof Error ? e.message : String(e)}\n`);
    await runCleanup();
    process.exit(1);
  },
);
