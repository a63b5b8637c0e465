/**
 * The controller's Prometheus metrics (the series Flux dashboards and alerts query) in the text
 * exposition format, and the `/metrics`, `/healthz`, `/readyz` HTTP endpoints.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

/** Controller label value used by controller-runtime for this reconciler. */
export const CONTROLLER_NAME = "ocirepository";

/** Kind label of `gotk_reconcile_duration_seconds`. */
export const RECONCILE_KIND = "OCIRepository";

/** `count` bucket bounds from `min` to `max`, evenly spaced on a log scale (prometheus ExponentialBucketsRange). */
export function exponentialBucketsRange(min: number, max: number, count: number): number[] {
  const factor = (max / min) ** (1 / (count - 1));
  const out: number[] = [];
  for (let i = 0; i < count; i++) out.push(min * factor ** i);
  out[count - 1] = max;
  return out;
}

/** `gotk_reconcile_duration_seconds` buckets: 10ms … 1800s in 10 steps, as upstream. */
export const RECONCILE_DURATION_BUCKETS: readonly number[] = Object.freeze(exponentialBucketsRange(0.01, 1800, 10));

/** controller-runtime's `controller_runtime_reconcile_time_seconds` buckets. */
export const RECONCILE_TIME_BUCKETS: readonly number[] = Object.freeze([
  0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6, 0.7, 0.8, 0.9, 1, 1.25, 1.5, 1.75, 2, 2.5, 3, 3.5, 4, 4.5, 5, 6, 7, 8, 9, 10, 15,
  20, 25, 30, 40, 50, 60,
]);

/** How one reconcile ended, as controller-runtime's `result` label spells it. */
export type ReconcileResult = "success" | "error" | "requeue" | "requeue_after";

interface HistogramSeries {
  counts: number[];
  sum: number;
  count: number;
}

function newSeries(buckets: readonly number[]): HistogramSeries {
  return { counts: buckets.map(() => 0), sum: 0, count: 0 };
}

function observe(s: HistogramSeries, buckets: readonly number[], v: number): void {
  for (let i = 0; i < buckets.length; i++) if (v <= buckets[i]!) s.counts[i]!++;
  s.sum += v;
  s.count++;
}

/** Prometheus label value escaping (backslash, quote, newline). */
function esc(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

function labels(l: Record<string, string>): string {
  const parts = Object.entries(l).map(([k, v]) => `${k}="${esc(v)}"`);
  return parts.length ? `{${parts.join(",")}}` : "";
}

/** Go's `%g`-like float formatting Prometheus accepts (`+Inf`, integers without a dot). */
function num(v: number): string {
  if (v === Infinity) return "+Inf";
  return String(v);
}

function renderHistogram(out: string[], name: string, buckets: readonly number[], base: Record<string, string>, s: HistogramSeries): void {
  for (let i = 0; i < buckets.length; i++) out.push(`${name}_bucket${labels({ ...base, le: num(buckets[i]!) })} ${s.counts[i]}`);
  out.push(`${name}_bucket${labels({ ...base, le: "+Inf" })} ${s.count}`);
  out.push(`${name}_sum${labels(base)} ${num(s.sum)}`);
  out.push(`${name}_count${labels(base)} ${s.count}`);
}

/** The controller's metric state; `render()` gives the exposition text. */
export class ControllerMetrics {
  private readonly durations = new Map<string, HistogramSeries>();
  private readonly reconcileTime = newSeries(RECONCILE_TIME_BUCKETS);
  private readonly totals: Record<ReconcileResult, number> = { success: 0, error: 0, requeue: 0, requeue_after: 0 };
  private errors = 0;
  private active = 0;
  /** Sampled at render time (the work queue's length). */
  depth: () => number = () => 0;
  /** 1 while this process holds the leader lease (or leader election is off); sampled at render time. */
  leader: () => boolean = () => true;
  /** Lease name for `leader_election_master_status`. */
  leaseName = "";

  /** Counts a reconcile starting (`controller_runtime_active_workers`). */
  started(): void {
    this.active++;
  }

  /** Records one finished reconcile of `namespace/name`. */
  reconciled(namespace: string, name: string, seconds: number, result: ReconcileResult): void {
    this.active = Math.max(0, this.active - 1);
    const key = `${namespace}/${name}`;
    let s = this.durations.get(key);
    if (!s) this.durations.set(key, (s = newSeries(RECONCILE_DURATION_BUCKETS)));
    observe(s, RECONCILE_DURATION_BUCKETS, seconds);
    observe(this.reconcileTime, RECONCILE_TIME_BUCKETS, seconds);
    this.totals[result]++;
    if (result === "error") this.errors++;
  }

  /** Drops the per-object series of a deleted object (upstream deletes them when the object is finalized). */
  forget(namespace: string, name: string): void {
    this.durations.delete(`${namespace}/${name}`);
  }

  /** Objects with a duration series (for tests). */
  get objects(): string[] {
    return [...this.durations.keys()];
  }

  /** Prometheus text exposition format 0.0.4. */
  render(): string {
    const out: string[] = [];
    const ctl = { controller: CONTROLLER_NAME };
    out.push("# HELP gotk_reconcile_duration_seconds The duration in seconds of a gitops toolkit resource reconciliation.");
    out.push("# TYPE gotk_reconcile_duration_seconds histogram");
    for (const [key, s] of [...this.durations].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      const i = key.indexOf("/");
      renderHistogram(out, "gotk_reconcile_duration_seconds", RECONCILE_DURATION_BUCKETS, { kind: RECONCILE_KIND, name: key.slice(i + 1), namespace: key.slice(0, i) }, s);
    }
    out.push("# HELP controller_runtime_reconcile_total Total number of reconciliations per controller");
    out.push("# TYPE controller_runtime_reconcile_total counter");
    for (const r of ["error", "requeue", "requeue_after", "success"] as const) out.push(`controller_runtime_reconcile_total${labels({ ...ctl, result: r })} ${this.totals[r]}`);
    out.push("# HELP controller_runtime_reconcile_errors_total Total number of reconciliation errors per controller");
    out.push("# TYPE controller_runtime_reconcile_errors_total counter");
    out.push(`controller_runtime_reconcile_errors_total${labels(ctl)} ${this.errors}`);
    out.push("# HELP controller_runtime_reconcile_time_seconds Length of time per reconciliation per controller");
    out.push("# TYPE controller_runtime_reconcile_time_seconds histogram");
    renderHistogram(out, "controller_runtime_reconcile_time_seconds", RECONCILE_TIME_BUCKETS, ctl, this.reconcileTime);
    out.push("# HELP controller_runtime_active_workers Number of currently used workers per controller");
    out.push("# TYPE controller_runtime_active_workers gauge");
    out.push(`controller_runtime_active_workers${labels(ctl)} ${this.active}`);
    out.push("# HELP workqueue_depth Current depth of workqueue");
    out.push("# TYPE workqueue_depth gauge");
    out.push(`workqueue_depth${labels({ name: CONTROLLER_NAME })} ${this.depth()}`);
    if (this.leaseName) {
      out.push("# HELP leader_election_master_status Gauge of if the reporting system is master of the relevant lease, 0 indicates backup, 1 indicates master.");
      out.push("# TYPE leader_election_master_status gauge");
      out.push(`leader_election_master_status${labels({ name: this.leaseName })} ${this.leader() ? 1 : 0}`);
    }
    return `${out.join("\n")}\n`;
  }
}

/** A small HTTP server for `/metrics` or the health probes. */
export interface ProbeServer {
  /** Bound `host:port`. */
  address: string;
  close(): Promise<void>;
}

/** Splits `[host]:port` (`:8080` binds every interface). */
export function parseListenAddr(addr: string): { host?: string; port: number } {
  const i = addr.lastIndexOf(":");
  const host = i <= 0 ? undefined : addr.slice(0, i).replace(/^\[(.*)\]$/, "$1");
  const port = Number(i === -1 ? addr : addr.slice(i + 1));
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new RangeError(`invalid listen address ${JSON.stringify(addr)}`);
  return { host, port };
}

/**
 * Serves `routes` (path → handler returning status and body) on `addr`. A probe answers from
 * in-memory state only, so it never blocks on the API server.
 */
export async function serveProbes(addr: string, routes: Record<string, () => { status: number; body: string; type?: string }>): Promise<ProbeServer> {
  const { host, port } = parseListenAddr(addr);
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0]!;
    const route = routes[path];
    if (!route || (req.method !== "GET" && req.method !== "HEAD")) {
      res.writeHead(404, { "content-type": "text/plain" }).end("404 page not found\n");
      return;
    }
    let r: { status: number; body: string; type?: string };
    try {
      r = route();
    } catch (e) {
      r = { status: 500, body: `${(e as Error).message}\n` };
    }
    res.writeHead(r.status, { "content-type": r.type ?? "text/plain; charset=utf-8" });
    res.end(req.method === "HEAD" ? undefined : r.body);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const a = server.address() as AddressInfo;
  return {
    address: `${a.family === "IPv6" ? `[${a.address}]` : a.address}:${a.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections?.();
      }),
  };
}

/** `text/plain; version=0.0.4`: the content type Prometheus scrapes. */
export const PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";
