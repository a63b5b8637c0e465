/**
 * The Cluster screen as data: OCIRepository rows kept from a list+watch, filtered and sorted, the
 * connection state of the watch, and the conditions + Events timeline of one object. Pure; no React,
 * no I/O (the watch and the patches are the view's, through `cluster-client.ts`).
 */
import { OCIREPOSITORY_GVR, RECONCILE_REQUEST_ANNOTATION } from "../../k8s/index.ts";

type Obj = Record<string, any>;

/** What the list shows of one OCIRepository. */
export interface ClusterRow {
  /** `<namespace>/<name>`. */
  key: string;
  namespace: string;
  name: string;
  /** The Ready condition's status; "" when the object has none yet. */
  ready: "True" | "False" | "Unknown" | "";
  /** The Ready condition's reason and message ("" when absent). */
  reason: string;
  message: string;
  /** `status.artifact.revision` (`<tag>@sha256:…`), "" before the first artifact. */
  revision: string;
  /** `metadata.creationTimestamp`. */
  created: string;
  suspended: boolean;
  url: string;
  /** True while `Reconciling` is True. */
  reconciling: boolean;
  /** The `reconcile.fluxcd.io/requestedAt` annotation, "" when unset. */
  requestedAt: string;
  /** Which list the row was last seen in (rows missing from a relist are dropped). */
  gen: number;
}

/** Column the list is sorted by. */
export type ClusterSortColumn = "namespace" | "name" | "ready" | "revision" | "age";

/** Sort columns in the order `o` cycles through them. */
export const CLUSTER_SORT_COLUMNS: readonly ClusterSortColumn[] = ["namespace", "name", "ready", "revision", "age"];

/** State of the watch behind the list. */
export type ConnectionState = "connecting" | "live" | "reconnecting";

/** The list model. */
export interface ClusterState {
  readonly rows: Readonly<Record<string, ClusterRow>>;
  readonly filter: string;
  readonly sort: ClusterSortColumn;
  readonly desc: boolean;
  readonly connection: ConnectionState;
  /** The last watch failure, shown while reconnecting. */
  readonly error?: string;
  /** Increases at the start of every list; rows carry the generation they were last seen in. */
  readonly gen: number;
}

/** List model actions. */
export type ClusterAction =
  | { kind: "event"; type: "ADDED" | "MODIFIED" | "DELETED"; obj: Obj }
  /** A list started: the objects it delivers next are the whole collection. */
  | { kind: "listStart" }
  /** The list's objects were all delivered: rows not in it are gone. */
  | { kind: "listed" }
  /** The watch failed; the informer retries by itself. */
  | { kind: "error"; error: string }
  | { kind: "filter"; filter: string }
  /** Sort by `column`; the same column again reverses the order. */
  | { kind: "sort"; column: ClusterSortColumn }
  /** Another namespace or context: forget everything but filter and sort. */
  | { kind: "reset" };

/** An empty list, connecting, sorted by namespace then name. */
export function createCluster(): ClusterState {
  return { rows: {}, filter: "", sort: "namespace", desc: false, connection: "connecting", gen: 0 };
}

/** The Ready condition, if any. */
function condition(obj: Obj, type: string): Obj | undefined {
  const cs = obj.status?.conditions;
  return Array.isArray(cs) ? cs.find((c: Obj) => c?.type === type) : undefined;
}

/** `<namespace>/<name>` of an object. */
export function objectKey(obj: Obj): string {
  return `${obj.metadata?.namespace ?? ""}/${obj.metadata?.name ?? ""}`;
}

/** The row of an OCIRepository object (k9s-style pure renderer input). */
export function toClusterRow(obj: Obj, gen = 0): ClusterRow {
  const ready = condition(obj, "Ready");
  const status = ready?.status;
  return {
    key: objectKey(obj),
    namespace: String(obj.metadata?.namespace ?? ""),
    name: String(obj.metadata?.name ?? ""),
    ready: status === "True" || status === "False" || status === "Unknown" ? status : "",
    reason: String(ready?.reason ?? ""),
    message: String(ready?.message ?? ""),
    revision: String(obj.status?.artifact?.revision ?? ""),
    created: String(obj.metadata?.creationTimestamp ?? ""),
    suspended: obj.spec?.suspend === true,
    url: String(obj.spec?.url ?? ""),
    reconciling: condition(obj, "Reconciling")?.status === "True",
    requestedAt: String(obj.metadata?.annotations?.[RECONCILE_REQUEST_ANNOTATION] ?? ""),
    gen,
  };
}

/** Applies an action. */
export function clusterReducer(s: ClusterState, a: ClusterAction): ClusterState {
  switch (a.kind) {
    case "event": {
      const key = objectKey(a.obj);
      if (a.type === "DELETED") {
        if (!(key in s.rows)) return s;
        const { [key]: _, ...rows } = s.rows;
        return { ...s, rows };
      }
      // Any event proves the connection works again.
      return { ...s, rows: { ...s.rows, [key]: toClusterRow(a.obj, s.gen) }, connection: s.connection === "reconnecting" ? "live" : s.connection };
    }
    case "listStart":
      return { ...s, gen: s.gen + 1 };
    case "listed": {
      const rows: Record<string, ClusterRow> = {};
      for (const [k, r] of Object.entries(s.rows)) if (r.gen >= s.gen) rows[k] = r;
      const { error: _, ...rest } = s;
      return { ...rest, rows, connection: "live" };
    }
    case "error":
      return { ...s, connection: "reconnecting", error: a.error };
    case "filter":
      return { ...s, filter: a.filter };
    case "sort":
      return a.column === s.sort ? { ...s, desc: !s.desc } : { ...s, sort: a.column, desc: a.column === "age" };
    case "reset":
      return { ...createCluster(), filter: s.filter, sort: s.sort, desc: s.desc, gen: s.gen };
    default:
      return a satisfies never;
  }
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

const READY_ORDER: Record<ClusterRow["ready"], number> = { False: 0, Unknown: 1, "": 2, True: 3 };

/**
 * The rows to show: those whose namespace, name, revision, URL or Ready message contain the filter
 * (case-insensitive), sorted by the chosen column, ties by namespace then name. Age sorts newest first.
 */
export function clusterRows(s: ClusterState): ClusterRow[] {
  const f = s.filter.toLowerCase();
  const rows = Object.values(s.rows).filter((r) => !f || [r.namespace, r.name, r.revision, r.url, r.message].some((x) => x.toLowerCase().includes(f)));
  const by = (a: ClusterRow, b: ClusterRow): number => {
    switch (s.sort) {
      case "namespace":
        return compare(a.namespace, b.namespace);
      case "name":
        return compare(a.name, b.name);
      case "ready":
        return READY_ORDER[a.ready] - READY_ORDER[b.ready];
      case "revision":
        return compare(a.revision, b.revision);
      case "age":
        // Ascending = oldest first; `desc` (the default for age) puts the newest on top.
        return compare(a.created, b.created);
      default:
        return s.sort satisfies never;
    }
  };
  const dir = s.desc ? -1 : 1;
  return rows.sort((a, b) => dir * by(a, b) || compare(a.namespace, b.namespace) || compare(a.name, b.name));
}

/** kubectl-style age: `45s`, `12m`, `3h`, `5d`, `2y`; `-` for an unknown time. */
export function formatAge(time: string, now: number): string {
  const t = Date.parse(time);
  if (!time || Number.isNaN(t)) return "-";
  const s = Math.max(0, Math.floor((now - t) / 1000));
  if (s < 120) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 120) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h`;
  const d = Math.floor(h / 24);
  return d < 730 ? `${d}d` : `${Math.floor(d / 365)}y`;
}

/** A column of the list. */
export interface ClusterColumn {
  title: string;
  width: number;
  cell: (r: ClusterRow, now: number) => string;
}

/**
 * Columns for a terminal `width` wide (the selection marker not included): NAMESPACE NAME READY
 * REVISION AGE SUSPENDED, plus URL when at least 40 columns are left over for it. REVISION gets what
 * the fixed columns leave.
 */
export function clusterColumns(width: number, rows: readonly ClusterRow[]): ClusterColumn[] {
  const avail = Math.max(20, width - 2);
  const nsW = Math.min(16, Math.max(9, ...rows.map((r) => r.namespace.length)));
  const nameW = Math.min(24, Math.max(4, ...rows.map((r) => r.name.length)));
  const fixed = nsW + nameW + 7 + 5 + 9 + 5; // READY, AGE, SUSPENDED and the five separators
  const revNeed = Math.max(8, ...rows.map((r) => r.revision.length));
  const urlNeed = Math.max(3, ...rows.map((r) => r.url.length));
  let revW = Math.max(8, avail - fixed);
  let urlW = 0;
  if (avail - fixed - Math.min(revNeed, 40) - 1 >= 40) {
    revW = Math.min(revNeed, Math.max(40, avail - fixed - 1 - urlNeed));
    urlW = avail - fixed - revW - 1;
  }
  const cols: ClusterColumn[] = [
    { title: "NAMESPACE", width: nsW, cell: (r) => r.namespace },
    { title: "NAME", width: nameW, cell: (r) => r.name },
    { title: "READY", width: 7, cell: (r) => r.ready || "-" },
    { title: "REVISION", width: revW, cell: (r) => r.revision || "-" },
    { title: "AGE", width: 5, cell: (r, now) => formatAge(r.created, now) },
    { title: "SUSPENDED", width: 9, cell: (r) => String(r.suspended) },
  ];
  if (urlW > 0) cols.push({ title: "URL", width: urlW, cell: (r) => r.url });
  return cols;
}

/** The collection path of OCIRepositories in `namespace`, or in every namespace when undefined. */
export function ocirepositoriesPath(namespace?: string): string {
  const { group, version, resource } = OCIREPOSITORY_GVR;
  return namespace ? `/apis/${group}/${version}/namespaces/${encodeURIComponent(namespace)}/${resource}` : `/apis/${group}/${version}/${resource}`;
}

/** The path of one OCIRepository. */
export function ocirepositoryPath(namespace: string, name: string): string {
  return `${ocirepositoriesPath(namespace)}/${encodeURIComponent(name)}`;
}

/** The core/v1 Events collection about one OCIRepository (`involvedObject` field selector). */
export function eventsPath(namespace: string, name: string): string {
  const selector = `involvedObject.kind=OCIRepository,involvedObject.name=${name}`;
  return `/api/v1/namespaces/${encodeURIComponent(namespace)}/events?fieldSelector=${encodeURIComponent(selector)}`;
}

/** The merge patch `flux reconcile source oci` sends: a fresh requestedAt annotation. */
export function reconcilePatch(now: Date): Obj {
  return { metadata: { annotations: { [RECONCILE_REQUEST_ANNOTATION]: now.toISOString() } } };
}

/** The merge patch of `flux suspend` (true) and `flux resume` (false). */
export function suspendPatch(suspend: boolean): Obj {
  return { spec: { suspend } };
}

/** One line of an object's timeline. */
export interface TimelineEntry {
  /** RFC 3339; "" when unknown (sorted first). */
  time: string;
  /** A condition's last transition, or a Kubernetes Event. */
  source: "condition" | "event";
  /** The condition type (`Ready`) or the Event type (`Normal`, `Warning`). */
  type: string;
  /** The condition's status; "" for Events. */
  status: string;
  reason: string;
  message: string;
  /** How many times the Event happened (1 for conditions). */
  count: number;
  /** True for Warning Events and for failed conditions (Ready/…=False, Stalled=True, FetchFailed=True). */
  warning: boolean;
}

const NEGATIVE_CONDITIONS = new Set(["Stalled", "FetchFailed", "StorageOperationFailed", "ArtifactOutdated"]);

/** The time an Event last happened: the series' last time, else lastTimestamp, eventTime, firstTimestamp, creation. */
function eventTime(e: Obj): string {
  return String(e.series?.lastObservedTime ?? e.lastTimestamp ?? e.eventTime ?? e.firstTimestamp ?? e.metadata?.creationTimestamp ?? "");
}

/**
 * Conditions (at their last transition) and Events (at their latest occurrence) as one timeline,
 * oldest first; at equal times conditions come after the Events that led to them.
 */
export function buildTimeline(conditions: readonly Obj[], events: readonly Obj[]): TimelineEntry[] {
  const out: TimelineEntry[] = [];
  for (const c of conditions) {
    const status = String(c.status ?? "");
    const type = String(c.type ?? "");
    out.push({
      time: String(c.lastTransitionTime ?? ""),
      source: "condition",
      type,
      status,
      reason: String(c.reason ?? ""),
      message: String(c.message ?? ""),
      count: 1,
      warning: NEGATIVE_CONDITIONS.has(type) ? status === "True" : status === "False",
    });
  }
  for (const e of events) {
    const type = String(e.type ?? "Normal");
    out.push({
      time: eventTime(e),
      source: "event",
      type,
      status: "",
      reason: String(e.reason ?? ""),
      message: String(e.message ?? e.note ?? ""),
      count: Number(e.series?.count ?? e.count ?? 1) || 1,
      warning: type === "Warning",
    });
  }
  const ms = (t: string) => {
    const v = Date.parse(t);
    return Number.isNaN(v) ? -Infinity : v;
  };
  return out
    .map((e, i) => ({ e, i }))
    .sort((a, b) => ms(a.e.time) - ms(b.e.time) || (a.e.source === b.e.source ? a.i - b.i : a.e.source === "event" ? -1 : 1))
    .map((x) => x.e);
}

/** `2024-05-01 12:00:05` from an RFC 3339 time (UTC as given); `-` when empty. */
export function timelineTime(t: string): string {
  const m = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2})/.exec(t);
  return m ? `${m[1]} ${m[2]}` : t || "-";
}

/** One timeline entry as a line: time, what, reason, message (`×3` for repeated Events). */
export function timelineLine(e: TimelineEntry): string {
  const what = e.source === "condition" ? `${e.type}=${e.status}` : e.type;
  return `${timelineTime(e.time).padEnd(19)} ${what.padEnd(14)} ${e.reason}${e.count > 1 ? ` ×${e.count}` : ""}: ${e.message}`;
}

/** Namespaces for the picker: "all" first, then the known ones sorted and deduplicated. */
export function namespaceChoices(known: readonly string[]): string[] {
  return [ALL_NAMESPACES, ...[...new Set(known.filter(Boolean))].sort(compare)];
}

/** The picker's entry for every namespace. */
export const ALL_NAMESPACES = "all";
