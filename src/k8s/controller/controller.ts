/**
 * `berth --controller`: the artifact file server, an informer over OCIRepositories and a work queue
 * feeding the reconciler, wired together and stopped together.
 */
import { mkdir } from "node:fs/promises";
import { KubeClient, loadKubeConnection, type KubeConnection } from "../client/kube.ts";
import { Informer } from "../watch/informer.ts";
import { ArtifactStore } from "../storage/artifact-store.ts";
import { ArtifactFileServer } from "../storage/file-server.ts";
import { RECONCILE_REQUEST_ANNOTATION, SOURCE_FINALIZER } from "../api/ocirepository.ts";
import { WorkQueue } from "./queue.ts";
import { OCIRepositoryReconciler } from "./reconciler.ts";

type Obj = Record<string, any>;

/** Options of `startController`. */
export interface ControllerOptions {
  /** Connection to use; default: loaded from `kubeconfig` (or the in-cluster service account). */
  connection?: KubeConnection;
  /** kubeconfig path (`--kubeconfig`). Default `$KUBECONFIG`, then `~/.kube/config`, then in-cluster. */
  kubeconfig?: string;
  /** Environment for kubeconfig discovery. Default `{}`. */
  env?: Record<string, string | undefined>;
  /** Namespace to watch (`--namespace`). Default: all namespaces. */
  namespace?: string;
  /** Artifact storage root (`--storage-path`). Required. */
  storagePath: string;
  /** `[host]:port` the file server binds (`--storage-addr`). Default `:9090`. */
  storageAddr?: string;
  /** Host[:port] put in artifact URLs (`--storage-adv-addr`). Default derived from the bound address. */
  storageAdvAddr?: string;
  /** Objects reconciled at once (`--concurrent`). Default 4. */
  concurrent?: number;
  /** One line per event. Default: none. */
  log?: (msg: string) => void;
}

/** A running controller. */
export interface RunningController {
  /** The advertised storage address (host:port). */
  storageAddress: string;
  /** Stops watching, waits for running reconciles, closes the file server and clients. */
  stop(): Promise<void>;
}

function parseAddr(addr: string): { host?: string; port: number } {
  const i = addr.lastIndexOf(":");
  const host = i <= 0 ? undefined : addr.slice(0, i).replace(/^\[(.*)\]$/, "$1");
  return { host, port: Number(i === -1 ? addr : addr.slice(i + 1)) };
}

/** Starts the controller; resolves once the file server listens and the watch is started. */
export async function startController(opts: ControllerOptions): Promise<RunningController> {
  const conn = opts.connection ?? (await loadKubeConnection({ path: opts.kubeconfig, env: opts.env ?? {} }));
  const kube = new KubeClient(conn);
  await mkdir(opts.storagePath, { recursive: true });
  const server = new ArtifactFileServer({ root: opts.storagePath, advertisedAddress: opts.storageAdvAddr });
  const { host, port } = parseAddr(opts.storageAddr ?? ":9090");
  await server.listen(port, host);
  const store = new ArtifactStore({ root: opts.storagePath, advertisedAddress: server.advertisedAddress });
  const reconciler = new OCIRepositoryReconciler({ kube, store, log: opts.log });
  const queue = new WorkQueue({
    concurrency: opts.concurrent ?? 4,
    worker: (key) => reconciler.reconcile(key),
    onError: (key, e) => opts.log?.(`${key}: retrying: ${e instanceof Error ? e.message : String(e)}`),
  });
  // Our own status patches come back as MODIFIED events; only spec changes, reconcile requests,
  // deletion and a missing finalizer are worth a pass (the interval requeue covers the rest).
  const seen = new Map<string, string>();
  const onEvent = (type: "ADDED" | "MODIFIED" | "DELETED", obj: Obj) => {
    const key = `${obj.metadata?.namespace}/${obj.metadata?.name}`;
    if (type === "DELETED") {
      seen.delete(key);
      queue.forget(key);
      return;
    }
    const md = obj.metadata ?? {};
    const fingerprint = JSON.stringify([
      md.generation,
      md.annotations?.[RECONCILE_REQUEST_ANNOTATION],
      md.deletionTimestamp ?? null,
      (md.finalizers ?? []).includes(SOURCE_FINALIZER),
    ]);
    if (seen.get(key) === fingerprint) return;
    seen.set(key, fingerprint);
    queue.add(key);
  };
  const base = "/apis/source.toolkit.fluxcd.io/v1";
  const path = opts.namespace ? `${base}/namespaces/${encodeURIComponent(opts.namespace)}/ocirepositories` : `${base}/ocirepositories`;
  const informer = new Informer(kube, { path, onEvent, onError: (e) => opts.log?.(`watch: ${e instanceof Error ? e.message : String(e)}`) });
  const stopInformer = informer.start();
  opts.log?.(`controller started: watching ${path}, serving ${opts.storagePath} at ${server.advertisedAddress}`);
  let stopped: Promise<void> | undefined;
  return {
    storageAddress: server.advertisedAddress,
    stop: () => {
      stopped ??= (async () => {
        await stopInformer();
        await queue.stop();
        await reconciler.close();
        await server.close(1000);
        await kube.close();
      })();
      return stopped;
    },
  };
}
