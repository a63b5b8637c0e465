import { describe, expect, test } from "bun:test";
import {
  buildTimeline,
  clusterColumns,
  clusterReducer,
  clusterRows,
  createCluster,
  eventsPath,
  formatAge,
  namespaceChoices,
  ocirepositoriesPath,
  ocirepositoryPath,
  reconcilePatch,
  suspendPatch,
  timelineLine,
  toClusterRow,
  type ClusterAction,
  type ClusterState,
} from "../../../../src/tui/models/cluster.ts";

type Obj = Record<string, any>;

function repo(ns: string, name: string, o: { ready?: string; revision?: string; created?: string; suspend?: boolean; reason?: string; message?: string } = {}): Obj {
  return {
    metadata: { namespace: ns, name, creationTimestamp: o.created ?? "2026-01-01T00:00:00Z", resourceVersion: "1" },
    spec: { url: `oci://reg.example/${name}`, interval: "1m", ...(o.suspend !== undefined ? { suspend: o.suspend } : {}) },
    status: {
      ...(o.revision ? { artifact: { revision: o.revision } } : {}),
      conditions: o.ready ? [{ type: "Ready", status: o.ready, reason: o.reason ?? "Succeeded", message: o.message ?? "ok", lastTransitionTime: "2026-01-01T00:01:00Z" }] : [],
    },
  };
}

const apply = (s: ClusterState, ...as: ClusterAction[]) => as.reduce(clusterReducer, s);
const names = (s: ClusterState) => clusterRows(s).map((r) => r.key);

describe("rows", () => {
  test("toClusterRow reads Ready, revision, suspend, url and the reconcile request", () => {
    const o = repo("apps", "web", { ready: "False", revision: "v1@sha256:abc", suspend: true, reason: "OCIArtifactPullFailed", message: "manifest unknown" });
    o.metadata.annotations = { "reconcile.fluxcd.io/requestedAt": "2026-01-02T00:00:00Z" };
    o.status.conditions.push({ type: "Reconciling", status: "True" });
    expect(toClusterRow(o)).toEqual({
      key: "apps/web",
      namespace: "apps",
      name: "web",
      ready: "False",
      reason: "OCIArtifactPullFailed",
      message: "manifest unknown",
      revision: "v1@sha256:abc",
      created: "2026-01-01T00:00:00Z",
      suspended: true,
      url: "oci://reg.example/web",
      reconciling: true,
      requestedAt: "2026-01-02T00:00:00Z",
      gen: 0,
    });
    const fresh = toClusterRow({ metadata: { namespace: "a", name: "b" }, spec: {} });
    expect([fresh.ready, fresh.revision, fresh.suspended, fresh.reconciling]).toEqual(["", "", false, false]);
  });

  test("events add, update and delete rows; a MODIFIED of an unknown object adds it", () => {
    let s = apply(createCluster(), { kind: "event", type: "ADDED", obj: repo("b", "x") }, { kind: "event", type: "ADDED", obj: repo("a", "y") });
    expect(names(s)).toEqual(["a/y", "b/x"]);
    s = apply(s, { kind: "event", type: "MODIFIED", obj: repo("b", "x", { ready: "True", revision: "latest@sha256:1" }) });
    expect(clusterRows(s).find((r) => r.key === "b/x")!.revision).toBe("latest@sha256:1");
    s = apply(s, { kind: "event", type: "DELETED", obj: repo("a", "y") }, { kind: "event", type: "MODIFIED", obj: repo("c", "z") });
    expect(names(s)).toEqual(["b/x", "c/z"]);
    const same = apply(s, { kind: "event", type: "DELETED", obj: repo("q", "gone") });
    expect(same).toBe(s);
  });

  test("connection: connecting until listed; an error means reconnecting until the next event or list", () => {
    let s = createCluster();
    expect(s.connection).toBe("connecting");
    s = apply(s, { kind: "listStart" }, { kind: "event", type: "ADDED", obj: repo("a", "x") });
    expect(s.connection).toBe("connecting");
    s = apply(s, { kind: "listed" });
    expect(s.connection).toBe("live");
    s = apply(s, { kind: "error", error: "connection refused" });
    expect([s.connection, s.error]).toEqual(["reconnecting", "connection refused"]);
    expect(apply(s, { kind: "event", type: "MODIFIED", obj: repo("a", "x") }).connection).toBe("live");
    const relisted = apply(s, { kind: "listStart" }, { kind: "listed" });
    expect(relisted.connection).toBe("live");
    expect(relisted.error).toBeUndefined();
  });

  test("a relist drops the rows it no longer contains (deleted while the watch was down)", () => {
    let s = apply(createCluster(), { kind: "listStart" }, ...["x", "y", "z"].map((n): ClusterAction => ({ kind: "event", type: "ADDED", obj: repo("a", n) })), { kind: "listed" });
    expect(names(s)).toEqual(["a/x", "a/y", "a/z"]);
    s = apply(s, { kind: "error", error: "EOF" }, { kind: "listStart" }, { kind: "event", type: "ADDED", obj: repo("a", "y") }, { kind: "listed" });
    expect(names(s)).toEqual(["a/y"]);
    // An empty relist empties the list.
    expect(names(apply(s, { kind: "listStart" }, { kind: "listed" }))).toEqual([]);
  });

  test("reset forgets rows and connection but keeps filter and sort", () => {
    let s = apply(createCluster(), { kind: "event", type: "ADDED", obj: repo("a", "x") }, { kind: "filter", filter: "x" }, { kind: "sort", column: "age" }, { kind: "listed" });
    s = apply(s, { kind: "reset" });
    expect([names(s), s.filter, s.sort, s.desc, s.connection]).toEqual([[], "x", "age", true, "connecting"]);
  });
});

describe("filter and sort", () => {
  const base = apply(
    createCluster(),
    { kind: "event", type: "ADDED", obj: repo("prod", "web", { ready: "True", revision: "v2@sha256:bb", created: "2026-01-03T00:00:00Z" }) },
    { kind: "event", type: "ADDED", obj: repo("dev", "web", { ready: "False", revision: "v1@sha256:aa", created: "2026-01-01T00:00:00Z", message: "pull failed: manifest unknown" }) },
    { kind: "event", type: "ADDED", obj: repo("dev", "api", { ready: "Unknown", created: "2026-01-02T00:00:00Z" }) },
  );

  test("filter matches namespace, name, revision, url and message, case-insensitively", () => {
    expect(names(apply(base, { kind: "filter", filter: "PROD" }))).toEqual(["prod/web"]);
    expect(names(apply(base, { kind: "filter", filter: "sha256:aa" }))).toEqual(["dev/web"]);
    expect(names(apply(base, { kind: "filter", filter: "reg.example/api" }))).toEqual(["dev/api"]);
    expect(names(apply(base, { kind: "filter", filter: "manifest unknown" }))).toEqual(["dev/web"]);
    expect(names(apply(base, { kind: "filter", filter: "nothing" }))).toEqual([]);
  });

  test.each([
    ["namespace", ["dev/api", "dev/web", "prod/web"]],
    ["name", ["dev/api", "dev/web", "prod/web"]],
    ["ready", ["dev/web", "dev/api", "prod/web"]],
    ["revision", ["dev/api", "dev/web", "prod/web"]],
    ["age", ["prod/web", "dev/api", "dev/web"]],
  ] as const)("sort by %s (age newest first), ties by namespace/name", (column, want) => {
    const s = apply(base, { kind: "sort", column: column === "namespace" ? "name" : column }, ...(column === "namespace" ? [{ kind: "sort", column: "namespace" } as ClusterAction] : []));
    expect(names(s)).toEqual([...want]);
  });

  test("the same column again reverses it; ties stay by namespace/name ascending", () => {
    const s = apply(base, { kind: "sort", column: "namespace" });
    expect(s.desc).toBe(true);
    expect(names(s)).toEqual(["prod/web", "dev/api", "dev/web"]);
  });
});

describe("layout", () => {
  test.each([
    [-5, "-"],
    [0, "0s"],
    [119, "119s"],
    [120, "2m"],
    [7199, "119m"],
    [7200, "2h"],
    [47 * 3600, "47h"],
    [48 * 3600, "2d"],
    [729 * 86400, "729d"],
    [800 * 86400, "2y"],
  ])("age of %i seconds is %s", (secs, want) => {
    const created = "2026-01-01T00:00:00Z";
    const now = Date.parse(created) + secs * 1000;
    expect(formatAge(secs < 0 ? "" : created, now)).toBe(want);
  });

  test("80 columns: the six columns fill the width; URL only when wide", () => {
    const rows = [toClusterRow(repo("flux-system", "podinfo", { revision: `latest@sha256:${"a".repeat(64)}` }))];
    const narrow = clusterColumns(80, rows);
    expect(narrow.map((c) => c.title)).toEqual(["NAMESPACE", "NAME", "READY", "REVISION", "AGE", "SUSPENDED"]);
    expect(narrow.reduce((n, c) => n + c.width, 0) + narrow.length - 1).toBe(78);
    const wide = clusterColumns(200, rows);
    expect(wide.map((c) => c.title)).toContain("URL");
    expect(wide.reduce((n, c) => n + c.width, 0) + wide.length - 1).toBe(198);
    expect(wide.find((c) => c.title === "REVISION")!.width).toBe(78);
  });
});

describe("requests", () => {
  test("paths and field selectors", () => {
    expect(ocirepositoriesPath()).toBe("/apis/source.toolkit.fluxcd.io/v1/ocirepositories");
    expect(ocirepositoriesPath("apps")).toBe("/apis/source.toolkit.fluxcd.io/v1/namespaces/apps/ocirepositories");
    expect(ocirepositoryPath("apps", "web")).toBe("/apis/source.toolkit.fluxcd.io/v1/namespaces/apps/ocirepositories/web");
    const p = eventsPath("apps", "web");
    expect(p.startsWith("/api/v1/namespaces/apps/events?fieldSelector=")).toBe(true);
    expect(decodeURIComponent(p.split("=").slice(1).join("="))).toBe("involvedObject.kind=OCIRepository,involvedObject.name=web");
  });

  test("patches: requestedAt is the given time in ISO form; suspend flips spec.suspend", () => {
    const at = new Date("2026-02-03T04:05:06.789Z");
    expect(reconcilePatch(at)).toEqual({ metadata: { annotations: { "reconcile.fluxcd.io/requestedAt": "2026-02-03T04:05:06.789Z" } } });
    expect(suspendPatch(true)).toEqual({ spec: { suspend: true } });
    expect(suspendPatch(false)).toEqual({ spec: { suspend: false } });
  });

  test("namespace choices: all first, then sorted and unique", () => {
    expect(namespaceChoices(["b", "a", "b", ""])).toEqual(["all", "a", "b"]);
  });
});

describe("timeline", () => {
  const conditions = [
    { type: "Ready", status: "False", reason: "OCIArtifactPullFailed", message: "manifest unknown", lastTransitionTime: "2026-01-01T00:00:10Z" },
    { type: "Stalled", status: "True", reason: "URLInvalid", message: "bad url", lastTransitionTime: "2026-01-01T00:00:05Z" },
  ];
  const events = [
    { type: "Warning", reason: "OCIArtifactPullFailed", message: "pull failed", count: 3, firstTimestamp: "2026-01-01T00:00:01Z", lastTimestamp: "2026-01-01T00:00:10Z" },
    { type: "Normal", reason: "NewArtifact", message: "stored artifact", eventTime: "2026-01-01T00:00:20.000000Z", series: { count: 2, lastObservedTime: "2026-01-01T00:00:30.000000Z" } },
    { type: "Normal", reason: "Progressing", note: "via note", metadata: { creationTimestamp: "2026-01-01T00:00:00Z" } },
  ];

  test("conditions and events interleave by time, oldest first; at equal times events come first", () => {
    const tl = buildTimeline(conditions, events);
    expect(tl.map((e) => `${e.source}:${e.reason}`)).toEqual([
      "event:Progressing",
      "condition:URLInvalid",
      "event:OCIArtifactPullFailed",
      "condition:OCIArtifactPullFailed",
      "event:NewArtifact",
    ]);
    expect(tl.map((e) => e.warning)).toEqual([false, true, true, true, false]);
    expect(tl[0]!.message).toBe("via note");
    expect(tl[2]!.count).toBe(3);
    expect(tl[4]!.count).toBe(2);
    expect(tl[4]!.time).toBe("2026-01-01T00:00:30.000000Z");
  });

  test("an entry without a time sorts first; lines show time, what, reason and repeat count", () => {
    const tl = buildTimeline([{ type: "Ready", status: "Unknown", reason: "Progressing", message: "reconciliation in progress" }], [events[0]!]);
    expect(tl[0]!.source).toBe("condition");
    expect(timelineLine(tl[0]!)).toBe(`${"-".padEnd(19)} ${"Ready=Unknown".padEnd(14)} Progressing: reconciliation in progress`);
    expect(timelineLine(tl[1]!)).toBe(`2026-01-01 00:00:10 ${"Warning".padEnd(14)} OCIArtifactPullFailed ×3: pull failed`);
  });
});
