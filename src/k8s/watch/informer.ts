/**
 * List + watch of one collection, kept alive: a watch that ends resumes from the last resourceVersion,
 * a 410 (history compacted) relists, any other error waits a jittered, growing delay and relists.
 */
import type { KubeClient } from "../client/kube.ts";
import { kubeStatusOf } from "../client/kube.ts";
import { pause } from "../../core/index.ts";

type Obj = Record<string, any>;

/** Options of `Informer`. */
export interface InformerOptions {
  /** Collection path, e.g. `/apis/source.toolkit.fluxcd.io/v1/ocirepositories`. */
  path: string;
  /**
   * Only objects matching this selector are listed and watched (`--watch-label-selector`, sharding:
   * `sharding.fluxcd.io/key notin (shard1)`). An object relabelled out of the selector arrives as DELETED.
   * Default: all objects.
   */
  labelSelector?: string;
  /** Called for every object seen by a list, and for each watch event. */
  onEvent: (type: "ADDED" | "MODIFIED" | "DELETED", obj: Obj) => void;
  /** Called for failures before the informer retries (logging). Default: ignored. */
  onError?: (e: unknown) => void;
  /** Called when a list's response arrived, before its objects are delivered (a relist starts). Default: none. */
  onListStart?: () => void;
  /** Called once a list's objects are all delivered, before its watch starts. Default: none. */
  onListed?: () => void;
  /** First retry delay in ms; doubles up to `maxBackoffMs`, ±50% jitter. Default 500. */
  backoffMs?: number;
  /** Default 30_000. */
  maxBackoffMs?: number;
}

/** A running list+watch loop over one collection. */
export class Informer {
  private readonly client: KubeClient;
  private readonly opts: InformerOptions;
  /** True once the first list has been delivered. */
  synced = false;

  private readonly path: string;

  constructor(client: KubeClient, opts: InformerOptions) {
    this.client = client;
    this.opts = opts;
    const sep = opts.path.includes("?") ? "&" : "?";
    this.path = opts.labelSelector ? `${opts.path}${sep}labelSelector=${encodeURIComponent(opts.labelSelector)}` : opts.path;
  }

  /** Starts the loop; the returned function stops it and resolves when it has stopped. */
  start(): () => Promise<void> {
    const ac = new AbortController();
    const done = this.run(ac.signal);
    return async () => {
      ac.abort();
      await done;
    };
  }

  private async run(signal: AbortSignal): Promise<void> {
    const base = this.opts.backoffMs ?? 500;
    const max = this.opts.maxBackoffMs ?? 30_000;
    let failures = 0;
    let rv: string | undefined;
    while (!signal.aborted) {
      try {
        if (rv === undefined) {
          const list = await this.client.get<{ metadata: { resourceVersion: string }; items: Obj[] }>(this.path, signal);
          this.opts.onListStart?.();
          for (const item of list.items) this.opts.onEvent("ADDED", item);
          rv = list.metadata.resourceVersion;
          this.synced = true;
          this.opts.onListed?.();
        }
        for await (const ev of this.client.watch(this.path, rv, signal)) {
          const next = (ev.object as Obj).metadata?.resourceVersion;
          if (typeof next === "string") rv = next;
          if (ev.type !== "BOOKMARK") this.opts.onEvent(ev.type as "ADDED" | "MODIFIED" | "DELETED", ev.object);
          failures = 0;
        }
      } catch (e) {
        if (signal.aborted) break;
        if (kubeStatusOf(e) === 410) {
          rv = undefined;
          continue;
        }
        this.opts.onError?.(e);
        rv = undefined;
        const delay = Math.min(max, base * 2 ** failures) * (0.5 + Math.random());
        failures++;
        await pause(delay, signal);
      }
    }
  }
}
