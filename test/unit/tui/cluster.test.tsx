import { afterEach, beforeEach, expect, test } from "bun:test";
import { cleanup, render } from "ink-testing-library";
import App from "../../../src/tui/app.tsx";
import type { ClusterClient, KubeAccess, WatchHandlers } from "../../../src/tui/cluster-client.ts";
import type { TrackingOCIRepository, WaitOptions, WaitResult, WaitTarget } from "../../../src/k8s/index.ts";
import Timeline from "../../../src/tui/components/Timeline.tsx";
import { buildTimeline } from "../../../src/tui/models/cluster.ts";
import { createTable, tableReducer } from "../../../src/tui/models/table-model.ts";
import { MONO_THEME } from "../../../src/tui/render/theme.ts";
import type { TuiServices } from "../../../src/tui/services.ts";
import { driveApp, sampleRepo } from "./fixtures.ts";

type Obj = Record<string, any>;

/** A cluster client that records watches and patches; tests drive the watches by hand. */
class FakeCluster implements ClusterClient {
  readonly context = "kind-test";
  readonly watches = new Map<string, WatchHandlers>();
  readonly patches: { path: string; patch: Obj }[] = [];
  stopped: string[] = [];
  namespaces = ["apps", "flux-system"];
  watch(path: string, h: WatchHandlers) {
    this.watches.set(path, h);
    return async () => {
      this.stopped.push(path);
    };
  }
  /** What a GET of every namespace's OCIRepositories returns (the Repositories screen lists their URLs). */
  ocirepositories: Obj[] = [];
  async get(path: string): Promise<Obj> {
    if (path === "/api/v1/namespaces") return { items: this.namespaces.map((name) => ({ metadata: { name } })) };
    if (path === ALL) return { items: this.ocirepositories };
    throw new Error(`unexpected GET ${path}`);
  }
  async mergePatch(path: string, patch: Obj): Promise<Obj> {
    this.patches.push({ path, patch });
    return {};
  }
  tracking: TrackingOCIRepository[] = [];
  waits: { target: WaitTarget; want: string; opts: WaitOptions }[] = [];
  async findTracking(url: string, tag: string) {
    this.found.push(`${url}:${tag}`);
    return this.tracking;
  }
  found: string[] = [];
  waitForRevision(target: WaitTarget, want: string, opts: WaitOptions): Promise<WaitResult> {
    this.waits.push({ target, want, opts });
    return new Promise((resolve) => (this.finish[`${target.namespace}/${target.name}`] = resolve));
  }
  finish: Record<string, (r: WaitResult) => void> = {};
  async close() {}
  /** Delivers a list of `objs` on the watch of `path`, as the informer does. */
  list(path: string, objs: Obj[]) {
    const h = this.watches.get(path)!;
    h.onListStart?.();
    for (const o of objs) h.onEvent("ADDED", o);
    h.onListed?.();
  }
}

function ocirepo(ns: string, name: string, ready: string, revision: string, o: { suspend?: boolean } = {}): Obj {
  return {
    metadata: { namespace: ns, name, creationTimestamp: new Date(Date.now() - 210_000).toISOString() },
    spec: { url: `oci://ghcr.io/org/${name}`, suspend: o.suspend ?? false },
    status: { artifact: { revision }, conditions: [{ type: "Ready", status: ready, reason: ready === "True" ? "Succeeded" : "OCIArtifactPullFailed", message: "m", lastTransitionTime: "2026-01-01T00:00:10Z" }] },
  };
}

const ALL = "/apis/source.toolkit.fluxcd.io/v1/ocirepositories";
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let services: TuiServices;
let fake: FakeCluster;
let connects: (string | undefined)[];

beforeEach(async () => {
  ({ services } = await sampleRepo());
  fake = new FakeCluster();
  connects = [];
  const kube: KubeAccess = {
    contexts: async () => ({ names: ["kind-test", "prod"], current: "kind-test" }),
    connect: async (ctx) => {
      connects.push(ctx);
      return fake;
    },
  };
  services = { ...services, kube };
});
afterEach(() => cleanup());

function start(size = { columns: 80, rows: 24 }, svc: TuiServices = services) {
  const r = render(<App services={svc} initial={[{ kind: "repos" }]} color={false} size={size} />);
  return { ...r, ...driveApp(r, 500) };
}

test("c opens the cluster list: live rows, updates from the watch, reconnecting hint, 80x24", async () => {
  const ui = start();
  await ui.until((f) => f.includes("REPOSITORY") || f.includes("repositories"), "repos");
  await ui.press("c");
  let f = await ui.until((f) => f.includes("connecting") && fake.watches.has(ALL), "watch started");
  expect(f.split("\n")[0]).toContain("berth › repositories › ocirepositories");
  fake.list(ALL, [ocirepo("flux-system", "podinfo", "True", "6.5.0@sha256:aaaa"), ocirepo("apps", "web", "False", "")]);
  f = await ui.until((f) => f.includes("● live"), "listed");
  expect(f).toContain("ctx kind-test · ns all · 2 OCIRepositories");
  expect(f).toMatch(/NAMESPACE\s+NAME\s+READY\s+REVISION\s+AGE\s+SUSPENDED/);
  expect(f).not.toContain("URL");
  const rows = f.split("\n").filter((l) => /^[▸ ] (apps|flux-system) /.test(l));
  expect(rows.map((l) => l.slice(2).split(/\s+/).slice(0, 4))).toEqual([
    ["apps", "web", "False", "-"],
    ["flux-system", "podinfo", "True", "6.5.0@sha256:aaaa"],
  ]);
  expect(rows[0]).toMatch(/ 3m\s+false$/);
  for (const l of f.split("\n")) expect([...l].length).toBeLessThanOrEqual(80);
  expect(f.split("\n").length).toBeLessThanOrEqual(24);
  expect(f.split("\n").at(-1)).toMatch(/^<enter> open\s+<n> ns\s+<r> reconcile\s+<s\/S> suspend.*<\?> help\s+<q\/esc> back/);

  const h = fake.watches.get(ALL)!;
  h.onEvent("MODIFIED", ocirepo("apps", "web", "True", "1.0.0@sha256:bbbb"));
  f = await ui.until((f) => f.includes("1.0.0@sha256:bbbb"), "live update");
  expect(f).toMatch(/apps\s+web\s+True\s+1\.0\.0@sha256:bbbb/);
  h.onError!(new Error("connection reset"));
  f = await ui.until((f) => f.includes("reconnecting"), "reconnecting hint");
  expect(f).toContain("⚠ reconnecting (connection reset)");
  fake.list(ALL, [ocirepo("apps", "web", "True", "1.0.0@sha256:bbbb")]);
  f = await ui.until((f) => f.includes("● live"), "live again");
  expect(f).not.toContain("podinfo");
});

test("r patches requestedAt; s asks first and only y suspends; S resumes; enter opens the timeline", async () => {
  const ui = start();
  await ui.press("c");
  await ui.until(() => fake.watches.has(ALL), "watch");
  fake.list(ALL, [ocirepo("apps", "web", "True", "1.0.0@sha256:bbbb")]);
  await ui.until((f) => f.includes("● live"), "listed");
  const before = Date.now();
  await ui.press("r");
  await ui.until((f) => f.includes("reconcile requested for apps/web"), "flash");
  expect(fake.patches).toHaveLength(1);
  expect(fake.patches[0]!.path).toBe("/apis/source.toolkit.fluxcd.io/v1/namespaces/apps/ocirepositories/web");
  const at = Date.parse(fake.patches[0]!.patch.metadata.annotations["reconcile.fluxcd.io/requestedAt"]);
  expect(at).toBeGreaterThanOrEqual(before - 1000);
  expect(at).toBeLessThanOrEqual(Date.now());

  await ui.press("s");
  await ui.until((f) => f.includes("Suspend apps/web? y/n"), "question");
  await ui.press("n");
  await ui.until((f) => f.includes("cancelled"), "cancelled");
  expect(fake.patches).toHaveLength(1);
  await ui.press("s", "y");
  await ui.until((f) => f.includes("► suspended apps/web"), "suspended");
  expect(fake.patches[1]).toEqual({ path: "/apis/source.toolkit.fluxcd.io/v1/namespaces/apps/ocirepositories/web", patch: { spec: { suspend: true } } });
  fake.watches.get(ALL)!.onEvent("MODIFIED", ocirepo("apps", "web", "True", "1.0.0@sha256:bbbb", { suspend: true }));
  await ui.until((f) => /web\s+True.*true\s*$/m.test(f), "suspended row");
  await ui.press("S", "y");
  await ui.until((f) => f.includes("► resumed apps/web"), "resumed");
  expect(fake.patches[2]!.patch).toEqual({ spec: { suspend: false } });

  await ui.press("\r");
  const objPath = "/apis/source.toolkit.fluxcd.io/v1/namespaces/apps/ocirepositories?fieldSelector=metadata.name%3Dweb";
  const evPath = "/api/v1/namespaces/apps/events?fieldSelector=involvedObject.kind%3DOCIRepository%2CinvolvedObject.name%3Dweb";
  await ui.until(() => fake.watches.has(objPath) && fake.watches.has(evPath), "object and event watches");
  fake.list(objPath, [ocirepo("apps", "web", "False", "1.0.0@sha256:bbbb")]);
  fake.list(evPath, [
    { metadata: { uid: "e1" }, type: "Normal", reason: "NewArtifact", message: "stored artifact", lastTimestamp: "2026-01-01T00:00:05Z" },
    { metadata: { uid: "e2" }, type: "Warning", reason: "OCIArtifactPullFailed", message: "pull failed", count: 4, lastTimestamp: "2026-01-01T00:00:20Z" },
  ]);
  const f = await ui.until((f) => f.includes("NewArtifact") && f.includes("Ready=False"), "timeline");
  expect(f).toContain("apps/web  Ready=False  suspended=false");
  const lines = f.split("\n").filter((l) => /^[▸ ] 2026-/.test(l)).map((l) => l.slice(2).replace(/\s+/g, " "));
  expect(lines).toEqual([
    "2026-01-01 00:00:05 Normal NewArtifact: stored artifact",
    "2026-01-01 00:00:10 Ready=False OCIArtifactPullFailed: m",
    "2026-01-01 00:00:20 Warning OCIArtifactPullFailed ×4: pull failed",
  ]);
  // A new Event arrives live at the bottom.
  fake.watches.get(evPath)!.onEvent("ADDED", { metadata: { uid: "e3" }, type: "Normal", reason: "Succeeded", message: "ok again", lastTimestamp: "2026-01-01T00:00:30Z" });
  await ui.until((f) => /▸ 2026-01-01 00:00:30 Normal\s+Succeeded: ok again/.test(f), "new event selected at the bottom");
  await ui.press("r");
  await ui.until(() => fake.patches.length === 4, "reconcile from the object page");
  await ui.press("q");
  await ui.until((f) => f.includes("● live"), "back on the list");
  expect(fake.stopped).toContain(objPath);
  expect(fake.stopped).toContain(evPath);
});

test("n picks a namespace (or all); / filters; ? lists the new keys", async () => {
  const ui = start({ columns: 120, rows: 24 });
  await ui.press("c");
  await ui.until(() => fake.watches.has(ALL), "watch");
  fake.list(ALL, [ocirepo("apps", "web", "True", "a"), ocirepo("flux-system", "podinfo", "True", "b")]);
  let f = await ui.until((f) => f.includes("● live"), "listed");
  expect(f).toMatch(/SUSPENDED URL/);
  expect(f).toContain("oci://ghcr.io/org/podinfo");
  await ui.press("n");
  f = await ui.until((f) => f.includes("Pick the namespace"), "picker");
  expect(f).toMatch(/▸ all/);
  await ui.press("j", "\r");
  const ns = "/apis/source.toolkit.fluxcd.io/v1/namespaces/apps/ocirepositories";
  await ui.until(() => fake.watches.has(ns), "namespaced watch");
  expect(fake.stopped).toContain(ALL);
  fake.list(ns, [ocirepo("apps", "web", "True", "a")]);
  f = await ui.until((f) => f.includes("ns apps · 1 OCIRepository"), "namespace apps");
  expect(f).not.toContain("podinfo");
  await ui.press("/", "z", "z");
  await ui.until((f) => f.includes("no OCIRepository matches the filter"), "filtered out");
  await ui.press("\x1b");
  await ui.press("x");
  f = await ui.until((f) => f.includes("Pick the context"), "context picker");
  await ui.press("j", "\r");
  await ui.until(() => connects.includes("prod"), "connect to prod");
  await ui.press("?");
  f = await ui.until((f) => f.includes("Keys of ocirepositories"), "help");
  for (const hint of ["reconcile now", "suspend (s) or resume (S)", "pick the namespace", "pick the kubeconfig context", "OCIRepositories in the cluster"]) expect(f).toContain(hint);
});

test("without Kubernetes access the screen says how to configure it", async () => {
  const { kube: _, ...noKube } = services;
  const ui = start(undefined, noKube);
  await ui.press(":");
  for (const ch of "ocirepositories") await ui.press(ch);
  await ui.press("\r");
  const f = await ui.until((f) => f.includes("No Kubernetes access configured"), "hint");
  expect(f).toContain("berth ui --kubeconfig <file> [--context <name>]");
});

test("Timeline component: oldest first, warnings marked, selection shown", () => {
  const entries = buildTimeline(
    [{ type: "Ready", status: "True", reason: "Succeeded", message: "stored artifact for digest", lastTransitionTime: "2026-03-01T10:00:02Z" }],
    [{ type: "Warning", reason: "OCIArtifactPullFailed", message: "failed to pull", lastTimestamp: "2026-03-01T10:00:01Z" }],
  );
  const state = tableReducer(tableReducer(createTable(5), { kind: "rows", keys: ["a", "b"] }), { kind: "bottom" });
  const { lastFrame } = render(<Timeline entries={entries} state={state} width={80} theme={MONO_THEME} />);
  const lines = lastFrame()!.split("\n");
  expect(lines[0]).toMatch(/^ {2}TIME\s+WHAT\s+REASON: MESSAGE/);
  expect(lines[1]).toMatch(/^ {2}2026-03-01 10:00:01 Warning\s+OCIArtifactPullFailed: failed to pull/);
  expect(lines[2]).toMatch(/^▸ 2026-03-01 10:00:02 Ready=True\s+Succeeded: stored artifact for digest/);
  const empty = render(<Timeline entries={[]} state={createTable(5)} width={40} theme={MONO_THEME} />);
  expect(empty.lastFrame()).toContain("no conditions or Events yet");
});

test("after a promote: the OCIRepositories tracking the target are followed until they report the new digest", async () => {
  const { services: svc, digests } = await sampleRepo();
  fake.tracking = [
    { namespace: "apps", name: "web", ref: { tag: "prod" } },
    { namespace: "prod", name: "web", ref: { semver: ">=1.0.0" } },
  ];
  const r = render(<App services={{ ...svc, kube: services.kube! }} initial={[{ kind: "repos" }, { kind: "tags", repo: "oci://mem/app" }, { kind: "promote", repo: "oci://mem/app", source: "v1.1.0" }]} color={false} size={{ columns: 100, rows: 24 }} />);
  const until = async (pred: (f: string) => boolean, what: string) => {
    for (let i = 0; i < 500; i++) {
      if (pred(r.lastFrame() ?? "")) return r.lastFrame() ?? "";
      await sleep(10);
    }
    throw new Error(`timed out waiting for ${what}; last frame:\n${r.lastFrame()}`);
  };
  await until((f) => f.includes("TARGET TAG") && f.includes("prod"), "pick");
  expect(connects).toEqual([]);
  for (const k of ["n", ..."prod", "\r"]) {
    r.stdin.write(k);
    await sleep(20);
  }
  await until((f) => f.includes("Promote v1.1.0 to prod?"), "review");
  r.stdin.write("y");
  let f = await until((f) => f.includes("✔ promoted") && fake.waits.length === 2, "done and following");
  expect(fake.found).toEqual(["oci://mem/app:prod"]);
  expect(fake.waits.map((w) => [`${w.target.namespace}/${w.target.name}`, w.want])).toEqual([
    ["apps/web", digests.v2!],
    ["prod/web", digests.v2!],
  ]);
  fake.waits[0]!.opts.onUpdate!({ revision: `prod@${digests.v1}`, ready: "True", suspended: false });
  const short = (d: string) => d.slice(0, 19);
  f = await until((f) => f.includes(`apps/web (tag prod)  prod@${short(digests.v1!)}  waiting (Ready=True)`), "old revision shown");
  expect(f).toContain("cluster: 0/2 OCIRepositories tracking prod have the new digest");
  expect(f).toContain("prod/web (semver >=1.0.0)  -  waiting (Ready=-)");
  fake.finish["apps/web"]!({ status: "ready", revision: `prod@${digests.v2}` });
  fake.finish["prod/web"]!({ status: "timeout", revision: `v1.1.0@${digests.v1}`, message: "not moved" });
  f = await until((f) => f.includes("1/2 OCIRepositories"), "one ready");
  expect(f).toContain(`✔ apps/web (tag prod)  prod@${short(digests.v2!)}  has the new revision`);
  expect(f).toContain(`⌛ prod/web (semver >=1.0.0)  v1.1.0@${short(digests.v1!)}  timeout: not moved`);
  r.unmount();
  expect(fake.waits.every((w) => w.opts.signal?.aborted)).toBe(true);
});

test("a failed connection says so; x still picks another context, which connects", async () => {
  const kube: KubeAccess = {
    contexts: async () => ({ names: ["broken", "prod"], current: "broken" }),
    connect: async (ctx) => {
      connects.push(ctx);
      if (ctx !== "prod") throw new Error("kubeconfig has no context \"broken\"");
      return fake;
    },
  };
  const ui = start(undefined, { ...services, kube });
  // The Repositories screen tries the current context first (for its cluster rows) and shrugs off the failure.
  await ui.until(() => connects.length === 1, "the Repositories screen's attempt");
  await ui.press("c");
  let f = await ui.until((f) => f.includes("✗ cannot connect"), "error");
  expect(f).toContain('kubeconfig has no context "broken"');
  await ui.press("x");
  f = await ui.until((f) => f.includes("Pick the context"), "picker");
  await ui.press("j", "\r");
  await ui.until(() => fake.watches.has(ALL), "watch on prod");
  fake.list(ALL, [ocirepo("apps", "web", "True", "a")]);
  f = await ui.until((f) => f.includes("● live"), "live");
  expect(f).toContain("ctx kind-test");
  expect(connects).toEqual([undefined, undefined, "prod"]);
});

test("the Repositories screen lists the URLs the cluster's OCIRepositories follow, once each, marked cluster", async () => {
  fake.ocirepositories = [ocirepo("apps", "web", "True", "a"), ocirepo("prod", "web", "True", "b"), ocirepo("apps", "api", "True", "c")];
  const ui = start({ columns: 100, rows: 24 });
  const f = await ui.until((f) => f.includes("oci://ghcr.io/org/web"), "cluster rows");
  const rows = f.split("\n").filter((l) => l.includes("oci://") && !l.includes("press :")).map((l) => l.replace(/^[▸ ] /, "").replace(/\s+/g, " ").trim());
  expect(rows).toEqual(["oci://ghcr.io/org/api cluster", "oci://ghcr.io/org/web cluster", "oci://ghcr.io/ docker config"]);
  expect(connects).toEqual([undefined]);
});
