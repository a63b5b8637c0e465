/**
 * What the Cluster screen asks of a Kubernetes API server, as a small interface (tests pass a fake)
 * and its implementation over src/k8s's `KubeClient` and self-restarting `Informer`.
 */
import { parse as parseYaml } from "yaml";
import {
  findTrackingOCIRepositories,
  Informer,
  KubeClient,
  waitForRevision,
  type KubeConnection,
  type TrackingOCIRepository,
  type WaitOptions,
  type WaitResult,
  type WaitTarget,
} from "../k8s/index.ts";

type Obj = Record<string, any>;

/** Callbacks of a watched collection. */
export interface WatchHandlers {
  onEvent(type: "ADDED" | "MODIFIED" | "DELETED", obj: Obj): void;
  /** A (re)list is about to deliver the whole collection as ADDED events. */
  onListStart?(): void;
  /** The list's objects have all been delivered. */
  onListed?(): void;
  /** The watch failed; it restarts by itself after a backoff. */
  onError?(e: unknown): void;
}

/** One cluster (kubeconfig context) as the TUI uses it. */
export interface ClusterClient {
  /** The context's name, for the header ("" for in-cluster). */
  readonly context: string;
  /** The context's namespace, if it sets one. */
  readonly namespace?: string;
  /** Lists then watches `path`; the returned function stops the watch. */
  watch(path: string, handlers: WatchHandlers): () => Promise<void>;
  /** GET of a path. */
  get(path: string, signal?: AbortSignal): Promise<Obj>;
  /** JSON merge patch of a path. */
  mergePatch(path: string, patch: Obj, signal?: AbortSignal): Promise<Obj>;
  /** OCIRepositories in any namespace that follow `url`'s tag `tag` (src/k8s `findTrackingOCIRepositories`). */
  findTracking(url: string, tag: string, signal?: AbortSignal): Promise<TrackingOCIRepository[]>;
  /** Follows one OCIRepository until it reports revision `want` (src/k8s `waitForRevision`). */
  waitForRevision(target: WaitTarget, want: string, opts: WaitOptions): Promise<WaitResult>;
  /** Closes the connections. */
  close(): Promise<void>;
}

/** How the TUI reaches clusters, built by main from `--kubeconfig`/`--context`. */
export interface KubeAccess {
  /** The kubeconfig's contexts and its current one; empty when there is no kubeconfig. */
  contexts(): Promise<{ names: string[]; current?: string }>;
  /** Connects to `context` (undefined: `--context`, else the kubeconfig's current context). */
  connect(context?: string): Promise<ClusterClient>;
}

/** Options of {@link createClusterClient}. */
export interface ClusterClientOptions {
  /** First retry delay of a failed watch, in ms. Default 500 (the informer's). */
  backoffMs?: number;
  /** Longest retry delay, in ms. Default 10_000: a person is waiting for the screen to recover. */
  maxBackoffMs?: number;
}

/** A {@link ClusterClient} over a connection. */
export function createClusterClient(conn: KubeConnection, context: string, opts: ClusterClientOptions = {}): ClusterClient {
  const client = new KubeClient(conn);
  return {
    context,
    ...(conn.namespace ? { namespace: conn.namespace } : {}),
    watch(path, h) {
      // The informer reports a list's start and end in order with its events, so a watch that fails
      // right after a list can never be followed by that list's late "listed" (a stale "live").
      const informer = new Informer(client, {
        path,
        onEvent: (t, o) => h.onEvent(t, o),
        onError: (e) => h.onError?.(e),
        onListStart: () => h.onListStart?.(),
        onListed: () => h.onListed?.(),
        ...(opts.backoffMs !== undefined ? { backoffMs: opts.backoffMs } : {}),
        maxBackoffMs: opts.maxBackoffMs ?? 10_000,
      });
      return informer.start();
    },
    get: (p, signal) => client.get(p, signal),
    mergePatch: (p, patch, signal) => client.mergePatch(p, patch, signal),
    findTracking: (url, tag, signal) => findTrackingOCIRepositories(client, url, tag, signal ? { signal } : {}),
    waitForRevision: (target, want, o) => waitForRevision(client, target, want, o),
    close: () => client.close(),
  };
}

/** The context names of a kubeconfig's text and its current-context; empty for no or bad YAML. */
export function kubeContexts(kubeconfigText: string): { names: string[]; current?: string } {
  let cfg: Obj;
  try {
    cfg = (parseYaml(kubeconfigText) ?? {}) as Obj;
  } catch {
    return { names: [] };
  }
  const names = (Array.isArray(cfg.contexts) ? cfg.contexts : []).map((c: Obj) => String(c?.name ?? "")).filter(Boolean);
  return { names, ...(typeof cfg["current-context"] === "string" && cfg["current-context"] ? { current: cfg["current-context"] } : {}) };
}
