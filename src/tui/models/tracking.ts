/**
 * After a promote: the OCIRepositories in the cluster that track the target tag, each followed until
 * it reports the promoted digest. Pure; the view finds and follows them through `cluster-client.ts`.
 */
import type { TrackingOCIRepository, WaitResult, WaitUpdate } from "../../k8s/index.ts";

/** One tracking OCIRepository and how far it is. */
export interface Tracker {
  /** `<namespace>/<name>`. */
  key: string;
  namespace: string;
  name: string;
  /** `tag latest` or `semver >=1.0.0`. */
  ref: string;
  /** Its artifact revision as last seen; "" before any. */
  revision: string;
  ready: string;
  suspended: boolean;
  /** `waiting` until its wait ends. */
  outcome: "waiting" | WaitResult["status"] | "error";
  /** The Ready message, or why the wait ended. */
  message: string;
}

/** Where following is. */
export type TrackingState =
  | { step: "idle" }
  | { step: "finding" }
  | { step: "failed"; error: string }
  | { step: "following"; trackers: readonly Tracker[] };

/** Tracking actions. */
export type TrackingAction =
  | { kind: "find" }
  | { kind: "found"; objects: readonly TrackingOCIRepository[] }
  | { kind: "failed"; error: string }
  | { kind: "update"; key: string; update: WaitUpdate }
  | { kind: "result"; key: string; result: WaitResult }
  | { kind: "error"; key: string; error: string };

/** Nothing followed yet. */
export function createTracking(): TrackingState {
  return { step: "idle" };
}

function refLabel(o: TrackingOCIRepository): string {
  return o.ref.tag !== undefined ? `tag ${o.ref.tag}` : o.ref.semver !== undefined ? `semver ${o.ref.semver}` : "";
}

function patch(s: TrackingState, key: string, f: (t: Tracker) => Tracker): TrackingState {
  if (s.step !== "following") return s;
  // A finished tracker keeps its outcome: late updates of its watch do not reopen it.
  return { step: "following", trackers: s.trackers.map((t) => (t.key === key ? f(t) : t)) };
}

/** Applies an action. */
export function trackingReducer(s: TrackingState, a: TrackingAction): TrackingState {
  switch (a.kind) {
    case "find":
      return { step: "finding" };
    case "found":
      return {
        step: "following",
        trackers: a.objects.map((o) => ({ key: `${o.namespace}/${o.name}`, namespace: o.namespace, name: o.name, ref: refLabel(o), revision: "", ready: "", suspended: false, outcome: "waiting", message: "" })),
      };
    case "failed":
      return { step: "failed", error: a.error };
    case "update":
      return patch(s, a.key, (t) =>
        t.outcome !== "waiting" ? t : { ...t, revision: a.update.revision ?? t.revision, ready: a.update.ready ?? "", suspended: a.update.suspended, message: a.update.message ?? t.message },
      );
    case "result":
      return patch(s, a.key, (t) => (t.outcome !== "waiting" ? t : { ...t, outcome: a.result.status, revision: a.result.revision ?? t.revision, message: a.result.message ?? t.message }));
    case "error":
      return patch(s, a.key, (t) => (t.outcome !== "waiting" ? t : { ...t, outcome: "error", message: a.error }));
    default:
      return a satisfies never;
  }
}

/** One line per tracker: mark, object, revision as last seen (digest shortened), and what it waits for or how it ended. */
export function trackerLine(t: Tracker, spin: string): string {
  const mark = { waiting: spin || "…", ready: "✔", failed: "✗", timeout: "⌛", "not-found": "✗", error: "✗" }[t.outcome];
  const state =
    t.outcome === "ready"
      ? "has the new revision"
      : t.outcome === "waiting"
        ? t.suspended
          ? "suspended: will not move until resumed"
          : `waiting (Ready=${t.ready || "-"})`
        : `${t.outcome}: ${t.message}`;
  // Digests shortened as elsewhere in the UI, so the state fits an 80-column line.
  const revision = t.revision ? t.revision.replace(/sha256:([0-9a-f]{12})[0-9a-f]{52}/, "sha256:$1") : "-";
  return `${mark} ${t.key} (${t.ref})  ${revision}  ${state}`;
}

/** The heading of the panel. */
export function trackingSummary(s: TrackingState, target: string, spin: string): string {
  switch (s.step) {
    case "idle":
      return "";
    case "finding":
      return `${spin} looking for OCIRepositories that track ${target}…`;
    case "failed":
      return `cluster not followed: ${s.error}`;
    case "following": {
      if (s.trackers.length === 0) return `no OCIRepository in the cluster tracks ${target}`;
      const done = s.trackers.filter((t) => t.outcome === "ready").length;
      const n = s.trackers.length;
      return `cluster: ${done}/${n} OCIRepositor${n === 1 ? "y" : "ies"} tracking ${target} ${n === 1 ? "has" : "have"} the new digest`;
    }
    default:
      return s satisfies never;
  }
}
