import { describe, expect, test } from "bun:test";
import { CoreError } from "../../../../src/core/index.ts";
import { KubeEventRecorder, redactSecrets } from "../../../../src/k8s/controller/events.ts";
import type { KubeClient } from "../../../../src/k8s/client/kube.ts";

type Call = { method: string; path: string; body: any };

function fakeKube(opts: { patch404?: boolean } = {}) {
  const calls: Call[] = [];
  const kube = {
    create: async (path: string, body: unknown) => (calls.push({ method: "POST", path, body }), body),
    mergePatch: async (path: string, body: unknown) => {
      calls.push({ method: "PATCH", path, body });
      if (opts.patch404) throw new CoreError({ code: "NOT_FOUND", message: "gone", details: { status: 404 } });
      return body;
    },
  } as unknown as KubeClient;
  return { kube, calls };
}

const obj = { apiVersion: "source.toolkit.fluxcd.io/v1", kind: "OCIRepository", name: "podinfo", namespace: "apps", uid: "u-1", resourceVersion: "7" };

describe("KubeEventRecorder", () => {
  test("creates a core/v1 Event like client-go; Trace is Normal; annotations kept", async () => {
    const { kube, calls } = fakeKube();
    const t = new Date("2026-07-01T10:00:00.123Z");
    const r = new KubeEventRecorder({ kube, host: "h", now: () => t });
    await r.record(obj, "Normal", "NewArtifact", "stored artifact with revision 'v1@sha256:a' from 'oci://x/y'", { "source.toolkit.fluxcd.io/revision": "v1@sha256:a" });
    await r.record(obj, "Trace", "ArtifactUpToDate", "artifact up-to-date with remote revision: 'v1@sha256:a'");
    expect(calls.map((c) => `${c.method} ${c.path}`)).toEqual(["POST /api/v1/namespaces/apps/events", "POST /api/v1/namespaces/apps/events"]);
    const ev = calls[0]!.body;
    expect(ev.metadata.name).toMatch(/^podinfo\.[0-9a-f]+$/);
    expect(ev.metadata.name).not.toBe(calls[1]!.body.metadata.name);
    expect(ev).toMatchObject({
      apiVersion: "v1",
      kind: "Event",
      metadata: { namespace: "apps", annotations: { "source.toolkit.fluxcd.io/revision": "v1@sha256:a" } },
      involvedObject: { apiVersion: "source.toolkit.fluxcd.io/v1", kind: "OCIRepository", name: "podinfo", namespace: "apps", uid: "u-1", resourceVersion: "7" },
      type: "Normal",
      reason: "NewArtifact",
      source: { component: "source-controller", host: "h" },
      firstTimestamp: "2026-07-01T10:00:00Z",
      lastTimestamp: "2026-07-01T10:00:00Z",
      count: 1,
    });
    expect(calls[1]!.body.type).toBe("Normal");
    expect(calls[1]!.body.metadata.annotations).toBeUndefined();
  });

  test("an identical event is folded into the first one (count, lastTimestamp); a different message is new", async () => {
    const { kube, calls } = fakeKube();
    let t = new Date("2026-07-01T10:00:00Z");
    const r = new KubeEventRecorder({ kube, now: () => t });
    await r.record(obj, "Warning", "OCIArtifactPullFailed", "failed to determine artifact digest: x");
    t = new Date("2026-07-01T10:00:05Z");
    await r.record(obj, "Warning", "OCIArtifactPullFailed", "failed to determine artifact digest: x");
    await r.record(obj, "Warning", "OCIArtifactPullFailed", "failed to determine artifact digest: x");
    await r.record(obj, "Warning", "OCIArtifactPullFailed", "failed to determine artifact digest: y");
    const name = calls[0]!.body.metadata.name;
    expect(calls.map((c) => c.method)).toEqual(["POST", "PATCH", "PATCH", "POST"]);
    expect(calls[1]).toEqual({ method: "PATCH", path: `/api/v1/namespaces/apps/events/${name}`, body: { count: 2, lastTimestamp: "2026-07-01T10:00:05Z" } });
    expect(calls[2]!.body.count).toBe(3);
  });

  test("a folded event that expired is created again", async () => {
    const { kube, calls } = fakeKube({ patch404: true });
    const r = new KubeEventRecorder({ kube });
    await r.record(obj, "Warning", "R", "m");
    await r.record(obj, "Warning", "R", "m");
    expect(calls.map((c) => c.method)).toEqual(["POST", "PATCH", "POST"]);
    expect(calls[2]!.body.count).toBe(1);
  });

  test("per-object token bucket: burst, then one per refill period", async () => {
    const { kube, calls } = fakeKube();
    let ms = 0;
    const r = new KubeEventRecorder({ kube, burst: 3, refillMs: 1000, now: () => new Date(ms) });
    for (let i = 0; i < 5; i++) await r.record(obj, "Normal", "R", `m${i}`);
    expect(calls.length).toBe(3);
    await r.record({ ...obj, name: "other" }, "Normal", "R", "m");
    expect(calls.length).toBe(4);
    ms = 1000;
    await r.record(obj, "Normal", "R", "late1");
    await r.record(obj, "Normal", "R", "late2");
    expect(calls.map((c) => c.body.message).slice(4)).toEqual(["late1"]);
  });

  test("write failures are swallowed and logged", async () => {
    const logs: string[] = [];
    const kube = { create: async () => Promise.reject(new Error("forbidden")) } as unknown as KubeClient;
    const r = new KubeEventRecorder({ kube, log: (m) => logs.push(m) });
    await r.record(obj, "Warning", "R", "m");
    expect(logs[0]).toContain("forbidden");
  });
});

test("redactSecrets removes credentials that may sit in an error text", () => {
  expect(redactSecrets("GET https://user:s3cr3t@ghcr.io/v2/: 401")).toBe("GET https://***@ghcr.io/v2/: 401");
  expect(redactSecrets("Authorization: Basic dXNlcjpwYXNz failed")).toBe("Authorization: Basic *** failed");
  expect(redactSecrets("got bearer eyJhbGciOiJFUzI1NiJ9.abc.def")).toBe("got bearer ***");
  expect(redactSecrets("password=hunter2&user=x")).toBe("password=***&user=x");
  expect(redactSecrets(`failed to determine artifact digest: manifest unknown`)).toBe("failed to determine artifact digest: manifest unknown");
});
