/**
 * Kubernetes Events for OCIRepository objects (spec §3.11), written the way client-go's recorder
 * writes them for source-controller: core/v1 Events named `<object>.<hex nanoseconds>`, source
 * component `source-controller`, repeats of an identical event (same object, type, reason and
 * message) folded into one Event whose `count` and `lastTimestamp` grow, and a per-object token
 * bucket (burst 25, one more every 5 minutes) that drops floods. `Trace` events are written as
 * `Normal`. Messages pass through `redactSecrets` first: an event is readable by anyone who may list
 * events in the namespace.
 */
import { hostname } from "node:os";
import type { KubeClient } from "../client/kube.ts";
import { kubeStatusOf } from "../client/kube.ts";

/** Event types: Kubernetes' two, plus Flux's `Trace` (recorded as `Normal`, never forwarded). */
export type EventType = "Normal" | "Warning" | "Trace";

/** The object an event is about. */
export interface InvolvedObject {
  apiVersion: string;
  kind: string;
  name: string;
  namespace: string;
  uid?: string;
  resourceVersion?: string;
}

/** Records events about objects. Implementations never throw: an event is not worth failing a reconcile. */
export interface EventRecorder {
  /** Records one event; `annotations` become the Event's `metadata.annotations`. */
  record(obj: InvolvedObject, type: EventType, reason: string, message: string, annotations?: Record<string, string>): Promise<void>;
}

/** An EventRecorder that drops everything. */
export const NOOP_EVENT_RECORDER: EventRecorder = { record: async () => {} };

/** Options of `KubeEventRecorder`. */
export interface KubeEventRecorderOptions {
  kube: KubeClient;
  /** `source.component` and `reportingComponent`. Default `source-controller`. */
  component?: string;
  /** `source.host` and `reportingInstance`. Default the OS host name. */
  host?: string;
  /** Events an object may emit at once before the bucket throttles. Default 25 (client-go). */
  burst?: number;
  /** One token comes back every this many ms. Default 300_000 (client-go's 1/300 qps). */
  refillMs?: number;
  /** Identical events remembered for folding. Default 4096 (client-go's LRU size). */
  cacheSize?: number;
  /** Default `() => new Date()`. */
  now?: () => Date;
  /** Where write failures are reported. Default: dropped. */
  log?: (msg: string) => void;
}

/** Documented defaults of `KubeEventRecorderOptions`. */
export const DEFAULT_EVENT_RECORDER_OPTIONS = { component: "source-controller", burst: 25, refillMs: 300_000, cacheSize: 4096 } as const;

/**
 * Removes credentials that could ride along in an error text: URL user-info, `Authorization`
 * values, bearer tokens and `password=`/`token=` style pairs.
 */
export function redactSecrets(message: string): string {
  return message
    .replace(/([a-z][a-z0-9+.-]*:\/\/)[^\s/@'"]+@/gi, "$1***@")
    .replace(/\b(authorization\s*[:=]\s*)(basic|bearer)\s+[^\s,;'"]+/gi, "$1$2 ***")
    .replace(/\b(bearer)\s+[A-Za-z0-9._~+/=-]{8,}/gi, "$1 ***")
    .replace(/\b(password|passwd|secret|token|access_token|refresh_token)(["']?\s*[:=]\s*["']?)[^\s,;&'"]+/gi, "$1$2***");
}

function rfc3339(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, "Z");
}

interface Folded {
  name: string;
  namespace: string;
  count: number;
}

/** Writes core/v1 Events through the API server. */
export class KubeEventRecorder implements EventRecorder {
  private readonly kube: KubeClient;
  private readonly component: string;
  private readonly host: string;
  private readonly burst: number;
  private readonly refillMs: number;
  private readonly cacheSize: number;
  private readonly now: () => Date;
  private readonly log?: (msg: string) => void;
  private readonly folded = new Map<string, Folded>();
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  private seq = 0;

  constructor(opts: KubeEventRecorderOptions) {
    this.kube = opts.kube;
    this.component = opts.component ?? DEFAULT_EVENT_RECORDER_OPTIONS.component;
    this.host = opts.host ?? hostname();
    this.burst = opts.burst ?? DEFAULT_EVENT_RECORDER_OPTIONS.burst;
    this.refillMs = opts.refillMs ?? DEFAULT_EVENT_RECORDER_OPTIONS.refillMs;
    this.cacheSize = opts.cacheSize ?? DEFAULT_EVENT_RECORDER_OPTIONS.cacheSize;
    this.now = opts.now ?? (() => new Date());
    this.log = opts.log;
  }

  async record(obj: InvolvedObject, type: EventType, reason: string, message: string, annotations?: Record<string, string>): Promise<void> {
    const k8sType = type === "Trace" ? "Normal" : type;
    const msg = redactSecrets(message);
    const now = this.now();
    if (!this.take(`${obj.namespace}/${obj.kind}/${obj.name}/${obj.uid ?? ""}`, now.getTime())) return;
    const key = JSON.stringify([obj.apiVersion, obj.kind, obj.namespace, obj.name, obj.uid ?? "", k8sType, reason, msg]);
    const ts = rfc3339(now);
    try {
      const prev = this.folded.get(key);
      if (prev) {
        const count = prev.count + 1;
        try {
          await this.kube.mergePatch(`/api/v1/namespaces/${encodeURIComponent(prev.namespace)}/events/${encodeURIComponent(prev.name)}`, { count, lastTimestamp: ts });
          this.remember(key, { ...prev, count });
          return;
        } catch (e) {
          // The API server expires events (1h by default); start a new one.
          if (kubeStatusOf(e) !== 404) throw e;
          this.folded.delete(key);
        }
      }
      const name = `${obj.name}.${this.nanos(now)}`;
      const event = {
        apiVersion: "v1",
        kind: "Event",
        metadata: { name, namespace: obj.namespace, ...(annotations && Object.keys(annotations).length > 0 ? { annotations: { ...annotations } } : {}) },
        involvedObject: {
          apiVersion: obj.apiVersion,
          kind: obj.kind,
          name: obj.name,
          namespace: obj.namespace,
          ...(obj.uid ? { uid: obj.uid } : {}),
          ...(obj.resourceVersion ? { resourceVersion: obj.resourceVersion } : {}),
        },
        reason,
        message: msg,
        type: k8sType,
        source: { component: this.component, host: this.host },
        firstTimestamp: ts,
        lastTimestamp: ts,
        count: 1,
        reportingComponent: this.component,
        reportingInstance: this.host,
      };
      await this.kube.create(`/api/v1/namespaces/${encodeURIComponent(obj.namespace)}/events`, event);
      this.remember(key, { name, namespace: obj.namespace, count: 1 });
    } catch (e) {
      this.log?.(`event ${reason} for ${obj.namespace}/${obj.name} not recorded: ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  /** client-go names events `<object>.<UnixNano in hex>`; a sequence keeps names unique within one ms. */
  private nanos(now: Date): string {
    this.seq = (this.seq + 1) % 1_000_000;
    return (BigInt(now.getTime()) * 1_000_000n + BigInt(this.seq)).toString(16);
  }

  private remember(key: string, f: Folded): void {
    this.folded.delete(key);
    this.folded.set(key, f);
    while (this.folded.size > this.cacheSize) this.folded.delete(this.folded.keys().next().value as string);
  }

  private take(objKey: string, nowMs: number): boolean {
    let b = this.buckets.get(objKey);
    if (!b) {
      b = { tokens: this.burst, at: nowMs };
      this.buckets.set(objKey, b);
      while (this.buckets.size > this.cacheSize) this.buckets.delete(this.buckets.keys().next().value as string);
    }
    if (this.refillMs > 0) {
      const refill = Math.floor((nowMs - b.at) / this.refillMs);
      if (refill > 0) {
        b.tokens = Math.min(this.burst, b.tokens + refill);
        b.at += refill * this.refillMs;
      }
    }
    if (b.tokens <= 0) return false;
    b.tokens--;
    return true;
  }
}
