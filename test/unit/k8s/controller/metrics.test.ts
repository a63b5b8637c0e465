import { describe, expect, test } from "bun:test";
import { ControllerMetrics, exponentialBucketsRange, parseListenAddr, RECONCILE_DURATION_BUCKETS, serveProbes } from "../../../../src/k8s/controller/metrics.ts";

/** The sample lines of `text` as name{labels} → value. */
function samples(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (!line || line.startsWith("#")) continue;
    const i = line.lastIndexOf(" ");
    out.set(line.slice(0, i), Number(line.slice(i + 1)));
  }
  return out;
}

describe("ControllerMetrics", () => {
  test("reconcile duration buckets: 10 of them, 10ms to 1800s, a constant ratio", () => {
    expect(RECONCILE_DURATION_BUCKETS.length).toBe(10);
    expect(RECONCILE_DURATION_BUCKETS[0]).toBe(0.01);
    expect(RECONCILE_DURATION_BUCKETS[9]).toBe(1800);
    const r = RECONCILE_DURATION_BUCKETS[1]! / RECONCILE_DURATION_BUCKETS[0]!;
    expect(r).toBeCloseTo((1800 / 0.01) ** (1 / 9), 9);
    expect(RECONCILE_DURATION_BUCKETS[5]! / RECONCILE_DURATION_BUCKETS[4]!).toBeCloseTo(r, 9);
    expect(exponentialBucketsRange(1, 8, 4)).toEqual([1, 2, 4, 8]);
  });

  test("per-object histogram, results by controller-runtime label, errors, depth; deleted objects lose their series", () => {
    const m = new ControllerMetrics();
    let depth = 3;
    m.depth = () => depth;
    m.started();
    m.reconciled("apps", "podinfo", 0.02, "requeue_after");
    m.started();
    m.reconciled("apps", "podinfo", 5, "error");
    m.reconciled("flux-system", 'we"ird', 0.001, "success");
    let s = samples(m.render());
    const l = 'kind="OCIRepository",name="podinfo",namespace="apps"';
    expect(s.get(`gotk_reconcile_duration_seconds_count{${l}}`)).toBe(2);
    expect(s.get(`gotk_reconcile_duration_seconds_sum{${l}}`)).toBeCloseTo(5.02, 9);
    expect(s.get(`gotk_reconcile_duration_seconds_bucket{${l},le="0.01"}`)).toBe(0);
    const second = RECONCILE_DURATION_BUCKETS[1]!;
    expect(second).toBeGreaterThan(0.02);
    expect(s.get(`gotk_reconcile_duration_seconds_bucket{${l},le="${second}"}`)).toBe(1);
    expect(s.get(`gotk_reconcile_duration_seconds_bucket{${l},le="+Inf"}`)).toBe(2);
    expect(s.get('gotk_reconcile_duration_seconds_bucket{kind="OCIRepository",name="we\\"ird",namespace="flux-system",le="0.01"}')).toBe(1);
    expect(s.get('controller_runtime_reconcile_total{controller="ocirepository",result="requeue_after"}')).toBe(1);
    expect(s.get('controller_runtime_reconcile_total{controller="ocirepository",result="error"}')).toBe(1);
    expect(s.get('controller_runtime_reconcile_total{controller="ocirepository",result="success"}')).toBe(1);
    expect(s.get('controller_runtime_reconcile_errors_total{controller="ocirepository"}')).toBe(1);
    expect(s.get('controller_runtime_reconcile_time_seconds_count{controller="ocirepository"}')).toBe(3);
    expect(s.get('workqueue_depth{name="ocirepository"}')).toBe(3);
    expect(s.get('controller_runtime_active_workers{controller="ocirepository"}')).toBe(0);
    depth = 0;
    m.forget("apps", "podinfo");
    s = samples(m.render());
    expect([...s.keys()].some((k) => k.includes('name="podinfo"'))).toBe(false);
    expect(s.get('workqueue_depth{name="ocirepository"}')).toBe(0);
    expect(m.objects).toEqual(['flux-system/we"ird']);
    // Counters are per controller, not per object: deleting an object keeps them.
    expect(s.get('controller_runtime_reconcile_total{controller="ocirepository",result="error"}')).toBe(1);
  });

  test("the leader gauge appears only with a lease name", () => {
    const m = new ControllerMetrics();
    expect(m.render()).not.toContain("leader_election_master_status");
    m.leaseName = "berth-controller-leader-election";
    m.leader = () => false;
    expect(samples(m.render()).get('leader_election_master_status{name="berth-controller-leader-election"}')).toBe(0);
  });
});

describe("probe server", () => {
  test("listen addresses: ':8080' binds all interfaces; bad ports are refused", () => {
    expect(parseListenAddr(":8080")).toEqual({ host: undefined, port: 8080 });
    expect(parseListenAddr("127.0.0.1:0")).toEqual({ host: "127.0.0.1", port: 0 });
    expect(parseListenAddr("[::1]:9440")).toEqual({ host: "::1", port: 9440 });
    expect(() => parseListenAddr(":http")).toThrow();
  });

  test("serves the routes it was given, 404 for others", async () => {
    let ready = false;
    const s = await serveProbes("127.0.0.1:0", { "/readyz": () => (ready ? { status: 200, body: "ok" } : { status: 500, body: "not synced" }) });
    try {
      expect((await fetch(`http://${s.address}/readyz`)).status).toBe(500);
      ready = true;
      const r = await fetch(`http://${s.address}/readyz?verbose`);
      expect(r.status).toBe(200);
      expect(await r.text()).toBe("ok");
      expect((await fetch(`http://${s.address}/nope`)).status).toBe(404);
    } finally {
      await s.close();
    }
  });
});
