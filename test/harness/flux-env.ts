/**
 * The set-up most controller tests share: a real kube-apiserver with the OCIRepository CRD and some
 * namespaces, a plain registry with a client to push artifacts, and in-process controllers that are
 * stopped with everything else.
 *
 * ```ts
 * let env: FluxTestEnv;
 * beforeAll(async () => { env = await startFluxTestEnv({ namespaces: ["app"] }); await env.startController(); }, 180_000);
 * afterAll(() => env?.stop());
 * ```
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { createRegistryClient, pushArtifact, type Metadata, type RegistryClient } from "../../src/core/index.ts";
import { ocirepositoryCRD } from "../../src/k8s/index.ts";
import { loadKubeConnection, type KubeConnection } from "../../src/k8s/client/kube.ts";
import { startController, type ControllerOptions, type RunningController } from "../../src/k8s/controller/controller.ts";
import { installCRDs, kubeJson, startKube, type KubeOptions, type KubeServer } from "./kube.ts";
import { startRegistry, type RegistryOptions, type RegistryServer } from "./registry.ts";

/** Options of {@link startFluxTestEnv}. */
export interface FluxTestEnvOptions {
  /** Namespaces created up front. Default none. */
  namespaces?: string[];
  /** Options of the registry. Default: plain HTTP, no auth. */
  registry?: RegistryOptions;
  /** Options of the API server. Default: the harness defaults. */
  kube?: KubeOptions;
  /** Prefix of the temp dir. Default "berth-flux-env-". */
  prefix?: string;
}

/** A running API server + registry pair and the controllers started on it. */
export interface FluxTestEnv {
  kube: KubeServer;
  reg: RegistryServer;
  /** Anonymous (insecure) client of `reg`, for pushing test artifacts. */
  regClient: RegistryClient;
  /** Connection to `kube` as the admin, from its kubeconfig. */
  conn: KubeConnection;
  /** Scratch dir removed by `stop()`. */
  work: string;
  /** Log lines of every controller started with {@link FluxTestEnv.startController}. */
  logs: string[];
  /** Creates a namespace. */
  namespace(name: string): Promise<void>;
  /** Pushes a directory holding `files` (slash paths, nested directories allowed) as `<repo>:<tag>` to `reg`; resolves to the manifest digest. */
  push(repo: string, tag: string, files: Record<string, string>, metadata?: Metadata): Promise<string>;
  /**
   * Starts an in-process controller on this API server (storage under `work`, file server on a free
   * loopback port, concurrency 2, logs into `logs`); `stop()` stops it.
   */
  startController(opts?: Partial<ControllerOptions>): Promise<RunningController>;
  /** GET of an OCIRepository (v1). */
  getOCIRepository(namespace: string, name: string): Promise<Record<string, any>>;
  /** Stops controllers, the registry client, the registry and the API server; removes `work`. */
  stop(): Promise<void>;
}

/** `/apis/source.toolkit.fluxcd.io/v1/namespaces/<ns>/ocirepositories`. */
export function ocirepositoriesPath(namespace: string): string {
  return `/apis/source.toolkit.fluxcd.io/v1/namespaces/${namespace}/ocirepositories`;
}

/** The condition `type` of an object, if set (loosely typed, for assertions). */
export function conditionOf(obj: Record<string, any>, type: string): any {
  return (obj.status?.conditions ?? []).find((c: { type: string }) => c.type === type);
}

/**
 * Polls `probe` until it returns something other than undefined. On timeout the error names `what`,
 * the probe's last error and `context()` (e.g. the controller log).
 */
export async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, opts: { timeoutMs?: number; intervalMs?: number; context?: () => string } = {}): Promise<T> {
  const deadline = Date.now() + (opts.timeoutMs ?? 60_000);
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    await Bun.sleep(opts.intervalMs ?? 150);
  }
  throw new Error(`timed out waiting for ${what}; last error: ${String(last)}${opts.context ? `\n${opts.context()}` : ""}`);
}

/** Starts the API server (with the CRD and namespaces) and the registry together. */
export async function startFluxTestEnv(opts: FluxTestEnvOptions = {}): Promise<FluxTestEnv> {
  const work = mkdtempSync(join(tmpdir(), opts.prefix ?? "berth-flux-env-"));
  const controllers: RunningController[] = [];
  const logs: string[] = [];
  let kube: KubeServer | undefined;
  let reg: RegistryServer | undefined;
  let regClient: RegistryClient | undefined;
  const stop = async () => {
    try {
      // A controller stuck on a broken API server must not keep the servers alive: they are stopped regardless.
      await Promise.race([Promise.all(controllers.splice(0).map((c) => c.stop().catch(() => undefined))), Bun.sleep(15_000)]);
      await regClient?.close().catch(() => undefined);
    } finally {
      await Promise.all([kube?.stop(), reg?.stop()]);
      rmSync(work, { recursive: true, force: true });
    }
  };
  try {
    [kube, reg] = await Promise.all([startKube(opts.kube), startRegistry(opts.registry)]);
    const crdFile = join(work, "crd.json");
    writeFileSync(crdFile, JSON.stringify(ocirepositoryCRD()));
    await installCRDs(kube, [crdFile]);
    const k = kube;
    const r = reg;
    const namespace = async (name: string) => {
      await kubeJson(k, "/api/v1/namespaces", { body: { apiVersion: "v1", kind: "Namespace", metadata: { name } } });
    };
    for (const ns of opts.namespaces ?? []) await namespace(ns);
    const client = (regClient = createRegistryClient({ insecure: true }));
    const conn = await loadKubeConnection({ path: k.kubeconfigPath });
    return {
      kube: k,
      reg: r,
      regClient: client,
      conn,
      work,
      logs,
      namespace,
      async push(repo, tag, files, metadata) {
        const dir = mkdtempSync(join(work, "src-"));
        for (const [name, text] of Object.entries(files)) {
          mkdirSync(dirname(join(dir, name)), { recursive: true });
          writeFileSync(join(dir, name), text);
        }
        const res = await pushArtifact(dir, client.repository({ registry: r.host, repository: repo }), tag, metadata ? { metadata } : {});
        return res.descriptor.digest;
      },
      async startController(o = {}) {
        const c = await startController({
          connection: conn,
          storagePath: mkdtempSync(join(work, "storage-")),
          storageAddr: "127.0.0.1:0",
          concurrent: 2,
          metricsAddr: "0",
          healthAddr: "0",
          log: (m) => logs.push(m),
          ...o,
        });
        controllers.push(c);
        return c;
      },
      getOCIRepository: (ns, name) => kubeJson(k, `${ocirepositoriesPath(ns)}/${name}`),
      stop,
    };
  } catch (e) {
    await stop();
    throw e;
  }
}
