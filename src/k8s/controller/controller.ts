/**
 * `berth --controller`: the artifact file server, an informer over OCIRepositories, a work queue feeding
 * the reconciler, leader election, metrics and health probes, wired together and stopped together.
 */
import { createHash } from "node:crypto";
import { mkdir, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { KubeClient, loadKubeConnection, type KubeConnection } from "../client/kube.ts";
import { Informer } from "../watch/informer.ts";
import { ArtifactStore, LATEST_LINK } from "../storage/artifact-store.ts";
import { ArtifactFileServer } from "../storage/file-server.ts";
import { RECONCILE_REQUEST_ANNOTATION, SOURCE_FINALIZER } from "../api/ocirepository.ts";
import { WorkQueue } from "./queue.ts";
import { OCIRepositoryReconciler, splitKey } from "./reconciler.ts";
import { holderIdentity, LeaderElector, leaseName, type LeaseTiming } from "./leader.ts";
import { ControllerMetrics, parseListenAddr, PROMETHEUS_CONTENT_TYPE, serveProbes, type ProbeServer, type ReconcileResult } from "./metrics.ts";


type Obj = Record<string, any>;

/** Log severity (`--log-level`: trace and debug are both "debug" here). */
export type LogLevel = "debug" | "info" | "error";

/** Leader election settings (`--enable-leader-election`, `--leader-election-*`). */
export interface LeaderElectionOptions extends Partial<LeaseTiming> {
  /** Namespace of the Lease. Default `$RUNTIME_NAMESPACE`, then the connection's namespace, then `default`. */
  namespace?: string;
  /** Lease name. Default `leaseName(labelSelector)`. */
  name?: string;
  /** Holder identity. Default `$HOSTNAME_<random hex>`. */
  identity?: string;
  /** Release the lease on stop so a standby takes over at once (`--leader-election-release-on-cancel`). Default true. */
  releaseOnCancel?: boolean;
}

/** Options of `startController`. */
export interface ControllerOptions {
  /** Connection to use; default: loaded from `kubeconfig` (or the in-cluster service account). */
  connection?: KubeConnection;
  /** kubeconfig path (`--kubeconfig`). Default `$KUBECONFIG`, then `~/.kube/config`, then in-cluster. */
  kubeconfig?: string;
  /** Environment for kubeconfig discovery, `RUNTIME_NAMESPACE`, `HOSTNAME` and cloud credentials. Default `{}`. */
  env?: Record<string, string | undefined>;
  /** Where the per-controller scratch directory for pulls is made. Default `os.tmpdir()`. */
  scratchRoot?: string;
  /** Namespace to watch (`--watch-all-namespaces=false` → `$RUNTIME_NAMESPACE`). Default: all namespaces. */
  namespace?: string;
  /** Only reconcile objects matching this label selector (`--watch-label-selector`, sharding). Default: all. */
  labelSelector?: string;
  /** Artifact storage root (`--storage-path`). Required. */
  storagePath: string;
  /** `[host]:port` the file server binds (`--storage-addr`). Default `:9090`. */
  storageAddr?: string;
  /** Host[:port] put in artifact URLs (`--storage-adv-addr`). Default derived from the bound address. */
  storageAdvAddr?: string;
  /** The `ObjectLevelWorkloadIdentity` feature gate (`--feature-gates`). Default false. */
  objectLevelWorkloadIdentity?: boolean;
  /** Objects reconciled at once (`--concurrent`). Default 2. */
  concurrent?: number;
  /** First failure retry delay (`--min-retry-delay`). Default 750. */
  minRetryDelayMs?: number;
  /** Failure retry delay cap (`--max-retry-delay`). Default 900_000. */
  maxRetryDelayMs?: number;
  /** ±% spread of interval requeues (`--interval-jitter-percentage`), 0 ≤ p < 100. Default 5. */
  intervalJitterPercentage?: number;
  /** Age after which non-current artifacts are collected (`--artifact-retention-ttl`). Default 60_000. */
  artifactRetentionTTLMs?: number;
  /** Artifacts kept per object (`--artifact-retention-records`). Default 2. */
  artifactRetentionRecords?: number;
  /** Elect a leader before reconciling. Default: off (this process reconciles at once). */
  leaderElection?: LeaderElectionOptions;
  /** `[host]:port` for `/metrics` (`--metrics-addr`); "0" or unset: not served. */
  metricsAddr?: string;
  /** `[host]:port` for `/healthz` and `/readyz` (`--health-addr`); "0" or unset: not served. */
  healthAddr?: string;
  /** How long `stop()` lets running reconciles finish before giving up on them. Default 25_000. */
  shutdownGraceMs?: number;
  /**
   * Under Bun, a full garbage collection at most this often while passes complete (never when
   * idle); 0 turns it off. JSC grows its heap generously during a burst of passes and returns
   * little of it; collecting keeps the peak resident set lower for about 1% of a core. Default 1000.
   */
  gcIntervalMs?: number;
  /** One line per event. Default: none. */
  log?: (msg: string, level?: LogLevel) => void;
}

/** A running controller. */
export interface RunningController {
  /**
   * The advertised storage address (host:port). With leader election the file server starts only once
   * elected (as upstream: a standby has no artifacts to serve), so it is "" until then.
   */
  readonly storageAddress: string;
  /** Bound `/metrics` address, when served. */
  metricsAddress?: string;
  /** Bound `/healthz` `/readyz` address, when served. */
  healthAddress?: string;
  /** The metric state behind `/metrics`. */
  metrics: ControllerMetrics;
  /** True while reconciling: always without leader election, else while holding the lease. */
  isLeader(): boolean;
  /** True once the first list of the watched collection has been delivered (`/readyz`). */
  isSynced(): boolean;
  /** Resolves with a reason when the controller stopped working on its own (the lease was lost). */
  done: Promise<string>;
  /**
   * Stops watching, lets running reconciles finish up to the grace period, releases the lease and
   * closes the servers and clients. Resolves to false when reconciles were still running at the end.
   */
  stop(): Promise<boolean>;
}

/** Documented defaults of `ControllerOptions` (upstream's flag defaults). */
export const DEFAULT_CONTROLLER_OPTIONS = {
  storageAddr: ":9090",
  concurrent: 2,
  minRetryDelayMs: 750,
  maxRetryDelayMs: 900_000,
  intervalJitterPercentage: 5,
  artifactRetentionTTLMs: 60_000,
  artifactRetentionRecords: 2,
  shutdownGraceMs: 25_000,
  gcIntervalMs: 1000,
} as const;

/**
 * Removes temp files a killed process left under the storage root (`.<random>.tmp` from atomic
 * writes, `latest.tar.gz.tmp` from the symlink swap). Only the reconciling process writes there, so
 * this runs before it starts reconciling. Returns the removed paths.
 */
export async function sweepTempFiles(root: string): Promise<string[]> {
  const removed: string[] = [];
  const walk = async (dir: string, depth: number): Promise<void> => {
    const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
    for (const e of entries) {
      const p = join(dir, e.name);
      if (e.isDirectory() && depth < 4) await walk(p, depth + 1);
      else if ((e.isFile() || e.isSymbolicLink()) && ((e.name.startsWith(".") && e.name.endsWith(".tmp")) || e.name === `${LATEST_LINK}.tmp`)) {
        await rm(p, { force: true }).then(() => removed.push(p), () => undefined);
      }
    }
  };
  await walk(root, 0);
  return removed;
}

/** Starts the controller; resolves once the servers listen and the watch is started. */
export async function startController(opts: ControllerOptions): Promise<RunningController> {
  const env = opts.env ?? {};
  const log = opts.log ?? (() => {});
  const D = DEFAULT_CONTROLLER_OPTIONS;
  const jitter = opts.intervalJitterPercentage ?? D.intervalJitterPercentage;
  if (!(jitter >= 0 && jitter < 100)) throw new RangeError(`--interval-jitter-percentage must be in [0, 100), got ${jitter}`);
  const conn = opts.connection ?? (await loadKubeConnection({ path: opts.kubeconfig, env }));
  const kube = new KubeClient(conn);
  await mkdir(opts.storagePath, { recursive: true });
  const server = new ArtifactFileServer({ root: opts.storagePath, advertisedAddress: opts.storageAdvAddr });
  const { host, port } = parseListenAddr(opts.storageAddr ?? D.storageAddr);
  let storageAddress = "";
  let reconciler: OCIRepositoryReconciler | undefined;
  const metrics = new ControllerMetrics();
  const seen = new Map<string, string>();
  // The object of an event that queued a pass, until that pass takes it (saves its GET). Objects of
  // interval requeues are not kept: holding every object would cost more memory than the GETs cost.
  const latest = new Map<string, Obj>();

  let passesSinceGC = 0;
  const reconcileOne = async (key: string, signal: AbortSignal) => {
    passesSinceGC++;
    const { namespace, name } = splitKey(key);
    metrics.started();
    const t0 = performance.now();
    let result: ReconcileResult = "error";
    try {
      // The signal aborts when the shutdown grace period runs out; the reconciler then stops where it is
      // (artifact writes are temp file + rename, so nothing half-written is left to serve).
      const r = await reconciler!.reconcile(key, signal);
      result = r.requeueAfterMs !== undefined && r.requeueAfterMs > 0 ? "requeue_after" : "success";
      return r;
    } finally {
      metrics.reconciled(namespace, name, (performance.now() - t0) / 1000, result);
      // A pass that ran after the object went away must not bring its series back.
      if (!seen.has(key)) metrics.forget(namespace, name);
    }
  };
  const election = opts.leaderElection;
  const queue = new WorkQueue({
    concurrency: opts.concurrent ?? D.concurrent,
    baseDelayMs: opts.minRetryDelayMs ?? D.minRetryDelayMs,
    maxDelayMs: opts.maxRetryDelayMs ?? D.maxRetryDelayMs,
    jitter: jitter / 100,
    paused: election !== undefined,
    worker: reconcileOne,
    onError: (key, e) => log(`${key}: retrying: ${e instanceof Error ? e.message : String(e)}`, "error"),
  });
  metrics.depth = () => queue.depth;

  // Our own status patches come back as MODIFIED events; only spec changes, reconcile requests,
  // deletion and a lost finalizer are worth a pass (the interval requeue covers the rest). The
  // finalizer a pass adds itself must not bring the object back for a second pass.
  const onEvent = (type: "ADDED" | "MODIFIED" | "DELETED", obj: Obj) => {
    const key = `${obj.metadata?.namespace}/${obj.metadata?.name}`;
    if (type === "DELETED") {
      seen.delete(key);
      latest.delete(key);
      reconciler?.forget(key);
      queue.forget(key);
      metrics.forget(obj.metadata?.namespace, obj.metadata?.name);
      return;
    }
    const md = obj.metadata ?? {};
    const hasFinalizer = (md.finalizers ?? []).includes(SOURCE_FINALIZER);
    const fingerprint = `${hasFinalizer ? "+" : "-"}${JSON.stringify([md.generation, md.annotations?.[RECONCILE_REQUEST_ANNOTATION], md.deletionTimestamp ?? null])}`;
    const prev = seen.get(key);
    seen.set(key, fingerprint);
    if (prev !== undefined && prev.slice(1) === fingerprint.slice(1) && !(prev[0] === "+" && !hasFinalizer)) {
      // A newer copy of an object still waiting for its pass replaces the one held.
      if (latest.has(key)) latest.set(key, obj);
      return;
    }
    latest.set(key, obj);
    queue.add(key);
  };
  const base = "/apis/source.toolkit.fluxcd.io/v1";
  const path = opts.namespace ? `${base}/namespaces/${encodeURIComponent(opts.namespace)}/ocirepositories` : `${base}/ocirepositories`;
  const informer = new Informer(kube, {
    path,
    labelSelector: opts.labelSelector || undefined,
    onEvent,
    onError: (e) => log(`watch: ${e instanceof Error ? e.message : String(e)}`, "error"),
  });

  let resolveDone!: (reason: string) => void;
  const done = new Promise<string>((r) => (resolveDone = r));
  let leader = election === undefined;
  let elector: LeaderElector | undefined;
  const beginReconciling = async () => {
    await server.listen(port, host);
    storageAddress = server.advertisedAddress;
    const store = new ArtifactStore({
      root: opts.storagePath,
      advertisedAddress: storageAddress,
      retentionTTL: opts.artifactRetentionTTLMs ?? D.artifactRetentionTTLMs,
      retentionRecords: opts.artifactRetentionRecords ?? D.artifactRetentionRecords,
    });
    // Scratch space of our own, keyed by the storage path: what a killed predecessor left there is
    // ours to remove, while other processes' files in a shared /tmp are left alone.
    const scratchDir = join(opts.scratchRoot ?? tmpdir(), `berth-controller-${createHash("sha256").update(resolve(opts.storagePath)).digest("hex").slice(0, 12)}`);
    await rm(scratchDir, { recursive: true, force: true }).catch(() => undefined);
    await mkdir(scratchDir, { recursive: true, mode: 0o700 });
    const takeCached = (key: string) => {
      const o = latest.get(key);
      latest.delete(key);
      return o;
    };
    reconciler = new OCIRepositoryReconciler({ kube, store, env, scratchDir, log: (m) => log(m, "info"), takeCached, objectLevelWorkloadIdentity: opts.objectLevelWorkloadIdentity });
    const swept = await sweepTempFiles(opts.storagePath);
    for (const p of swept) log(`removed leftover temp file ${p}`, "info");
    log(`serving ${opts.storagePath} at ${storageAddress}`);
    queue.resume();
  };
  if (election) {
    const name = election.name ?? leaseName(opts.labelSelector);
    metrics.leaseName = name;
    elector = new LeaderElector({
      kube,
      namespace: election.namespace ?? env.RUNTIME_NAMESPACE ?? conn.namespace ?? "default",
      name,
      identity: election.identity ?? holderIdentity(env.HOSTNAME),
      leaseDurationMs: election.leaseDurationMs,
      renewDeadlineMs: election.renewDeadlineMs,
      retryPeriodMs: election.retryPeriodMs,
      log,
      onStartedLeading: () => {
        leader = true;
        beginReconciling().catch((e) => {
          log(`starting the file server on ${opts.storageAddr ?? D.storageAddr}: ${(e as Error).message}`, "error");
          resolveDone("file server failed");
        });
      },
      onStoppedLeading: () => {
        leader = false;
        // As upstream: a replica that lost the lease stops; its pod restarts as a standby.
        resolveDone("leader election lost");
      },
    });
  }
  metrics.leader = () => leader;

  const servers: ProbeServer[] = [];
  let metricsAddress: string | undefined;
  let healthAddress: string | undefined;
  try {
    if (opts.metricsAddr && opts.metricsAddr !== "0") {
      const s = await serveProbes(opts.metricsAddr, { "/metrics": () => ({ status: 200, body: metrics.render(), type: PROMETHEUS_CONTENT_TYPE }) });
      servers.push(s);
      metricsAddress = s.address;
    }
    if (opts.healthAddr && opts.healthAddr !== "0") {
      const s = await serveProbes(opts.healthAddr, {
        "/healthz": () => ({ status: 200, body: "ok" }),
        "/readyz": () => (informer.synced ? { status: 200, body: "ok" } : { status: 500, body: "informer not synced\n" }),
      });
      servers.push(s);
      healthAddress = s.address;
    }
  } catch (e) {
    await Promise.all(servers.map((s) => s.close()));
    await server.close(0);
    await kube.close();
    throw e;
  }

  if (!elector) {
    try {
      await beginReconciling();
    } catch (e) {
      await Promise.all(servers.map((s) => s.close()));
      await kube.close();
      throw e;
    }
  }
  const stopInformer = informer.start();
  const gcMs = opts.gcIntervalMs ?? D.gcIntervalMs;
  const bun = (globalThis as { Bun?: { gc(force: boolean): void } }).Bun;
  const gcTimer = bun && gcMs > 0
    ? setInterval(() => {
        if (passesSinceGC === 0) return;
        passesSinceGC = 0;
        bun.gc(true);
      }, gcMs)
    : undefined;
  gcTimer?.unref?.();
  elector?.start();
  log(`controller started: watching ${path}${opts.labelSelector ? `?labelSelector=${opts.labelSelector}` : ""}${elector ? ", campaigning for the leader lease" : ""}`);

  let stopped: Promise<boolean> | undefined;
  return {
    get storageAddress() {
      return storageAddress;
    },
    metricsAddress,
    healthAddress,
    metrics,
    isLeader: () => leader,
    isSynced: () => informer.synced,
    done,
    stop: () => {
      stopped ??= (async () => {
        clearInterval(gcTimer);
        await stopInformer();
        const lost = elector !== undefined && !elector.leading && leader === false;
        // After losing the lease another replica is already writing: do not keep going.
        const drained = await queue.stop(lost ? 0 : (opts.shutdownGraceMs ?? D.shutdownGraceMs));
        if (!drained) log("grace period over: abandoning running reconciles", "error");
        leader = false;
        await elector?.stop(election?.releaseOnCancel ?? true);
        await Promise.all(servers.map((s) => s.close()));
        // With reconciles still running, their requests would hold these pools open: close without waiting.
        const closing = Promise.all([reconciler?.close(), server.close(1000), kube.close()]);
        if (drained) await closing;
        else void closing.catch(() => undefined);
        resolveDone("stopped");
        return drained;
      })();
      return stopped;
    },
  };
}
