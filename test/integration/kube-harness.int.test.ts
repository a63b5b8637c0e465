import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { parse } from "yaml";
import { installCRDs, KUBE_VERSION, kubeFetch, kubeJson, startKube, type KubeServer } from "../harness/kube.ts";

const CRD_DIR = "/work/shared/crd";
/** Current source-controller CRD: OCIRepository v1 only. */
const CRD_V1 = `${CRD_DIR}/source.toolkit.fluxcd.io_ocirepositories.yaml`;
/** source-controller v1.7.4's CRD: v1 (storage) and v1beta2, both served. */
const CRD_V1_V1BETA2 = `${CRD_DIR}/source.toolkit.fluxcd.io_ocirepositories.v1.7.4-v1+v1beta2.yaml`;

const NS = "berth-test";
const OCIREPOS_V1 = `/apis/source.toolkit.fluxcd.io/v1/namespaces/${NS}/ocirepositories`;
const OCIREPOS_V1BETA2 = `/apis/source.toolkit.fluxcd.io/v1beta2/namespaces/${NS}/ocirepositories`;

let kube: KubeServer;
beforeAll(async () => {
  kube = await startKube({ users: [{ name: "nobody" }] });
  console.log(`kube-apiserver ${KUBE_VERSION} ready in ${kube.startupMs} ms at ${kube.url}`);
}, 90_000);
afterAll(() => kube?.stop());

describe("kube harness", () => {
  test("serves the pinned version over TLS with the harness CA, kubeconfig matches", async () => {
    const version = await kubeJson(kube, "/version");
    expect(version.gitVersion).toBe(KUBE_VERSION);
    const cfg = parse(readFileSync(kube.kubeconfigPath, "utf8"));
    const cluster = cfg.clusters[0].cluster;
    expect(cluster.server).toBe(kube.url);
    expect(Buffer.from(cluster["certificate-authority-data"], "base64").toString()).toBe(readFileSync(kube.caFile, "utf8"));
    expect(cfg.users[0].user.token).toBe(kube.token);
    expect(cfg.contexts[0].name).toBe(cfg["current-context"]);
  });

  test("a client without the CA is refused by TLS verification", async () => {
    await expect(fetch(`${kube.url}/version`)).rejects.toThrow();
  });

  test("a wrong token gets 401; no token is system:anonymous and an unbound user, both 403", async () => {
    const wrong = await kubeFetch(kube, "/api/v1/namespaces", { token: "not-a-token" });
    expect(wrong.status).toBe(401);
    expect(((await wrong.json()) as { reason: string }).reason).toBe("Unauthorized");
    const none = await kubeFetch(kube, "/api/v1/namespaces", { token: null });
    const anonymous = (await none.json()) as { message: string };
    expect(none.status).toBe(403);
    expect(anonymous.message).toContain('"system:anonymous"');
    const nobody = await kubeFetch(kube, "/api/v1/namespaces", { token: kube.tokens.nobody! });
    const body = (await nobody.json()) as { message: string };
    expect(nobody.status).toBe(403);
    expect(body.message).toContain('"nobody"');
  });

  test("OCIRepository CRD: create v1, read back, watch a status update, read through v1beta2", async () => {
    expect(await installCRDs(kube, [CRD_V1])).toEqual(["ocirepositories.source.toolkit.fluxcd.io"]);
    await kubeJson(kube, "/api/v1/namespaces", { body: { apiVersion: "v1", kind: "Namespace", metadata: { name: NS } } });

    const created = await kubeJson(kube, OCIREPOS_V1, {
      body: {
        apiVersion: "source.toolkit.fluxcd.io/v1",
        kind: "OCIRepository",
        metadata: { name: "podinfo", namespace: NS },
        spec: { url: "oci://127.0.0.1:5000/podinfo", interval: "1m", ref: { tag: "latest" } },
      },
    });
    expect(created.metadata.generation).toBe(1);
    const got = await kubeJson(kube, `${OCIREPOS_V1}/podinfo`);
    expect(got.spec).toMatchObject({ url: "oci://127.0.0.1:5000/podinfo", interval: "1m", ref: { tag: "latest" } });
    // Defaults from the CRD schema are applied by the API server.
    expect(got.spec.provider).toBe("generic");

    // A schema violation is refused by the API server, not accepted silently.
    const bad = await kubeFetch(kube, OCIREPOS_V1, {
      body: { apiVersion: "source.toolkit.fluxcd.io/v1", kind: "OCIRepository", metadata: { name: "bad" }, spec: { url: "oci://x/y" } },
    });
    expect(bad.status).toBe(422);
    expect(await bad.text()).toContain("spec.interval");

    const abort = new AbortController();
    const watch = await kubeFetch(kube, `${OCIREPOS_V1}?watch=1&resourceVersion=${got.metadata.resourceVersion}&fieldSelector=metadata.name%3Dpodinfo`, {
      signal: abort.signal,
    });
    expect(watch.status).toBe(200);
    const events = readWatch(watch.body!);

    const condition = {
      type: "Ready",
      status: "True",
      reason: "Succeeded",
      message: "stored artifact for digest 'latest@sha256:0123'",
      lastTransitionTime: "2026-01-01T00:00:00Z",
      observedGeneration: 1,
    };
    const patched = await kubeJson(kube, `${OCIREPOS_V1}/podinfo/status`, {
      method: "PATCH",
      body: { status: { observedGeneration: 1, conditions: [condition] } },
      contentType: "application/merge-patch+json",
    });
    expect(patched.status.conditions).toEqual([condition]);
    // The status subresource does not touch spec, so the generation stays.
    expect(patched.metadata.generation).toBe(1);

    const event = await nextEvent(events, (e) => e.type === "MODIFIED");
    expect(event.object.metadata.name).toBe("podinfo");
    expect(event.object.status.conditions[0]).toEqual(condition);
    abort.abort();

    // A status field sent to the main resource is ignored (status subresource enabled).
    const specUpdate = await kubeJson(kube, `${OCIREPOS_V1}/podinfo`, {
      method: "PATCH",
      body: { spec: { interval: "2m" }, status: { observedGeneration: 99 } },
      contentType: "application/merge-patch+json",
    });
    expect(specUpdate.metadata.generation).toBe(2);
    expect(specUpdate.status.observedGeneration).toBe(1);

    // The current CRD serves v1 only; source-controller v1.7.4's also serves v1beta2 (conversion: None).
    expect((await kubeFetch(kube, OCIREPOS_V1BETA2)).status).toBe(404);
    await installCRDs(kube, [CRD_V1_V1BETA2]);
    const beta = await kubeJson(kube, `${OCIREPOS_V1BETA2}/podinfo`);
    expect(beta.apiVersion).toBe("source.toolkit.fluxcd.io/v1beta2");
    expect(beta.metadata.uid).toBe(created.metadata.uid);
    expect(beta.spec.url).toBe("oci://127.0.0.1:5000/podinfo");
    expect(beta.status.conditions[0]).toEqual(condition);
  });

  test("Lease in coordination.k8s.io: create, renew with optimistic concurrency", async () => {
    const path = "/apis/coordination.k8s.io/v1/namespaces/default/leases";
    const lease = await kubeJson(kube, path, {
      body: {
        apiVersion: "coordination.k8s.io/v1",
        kind: "Lease",
        metadata: { name: "berth-controller" },
        spec: { holderIdentity: "berth-1", leaseDurationSeconds: 15, acquireTime: "2026-01-01T00:00:00.000000Z", renewTime: "2026-01-01T00:00:00.000000Z" },
      },
    });
    expect(lease.spec.holderIdentity).toBe("berth-1");
    const renewed = await kubeJson(kube, `${path}/berth-controller`, {
      method: "PUT",
      body: { ...lease, spec: { ...lease.spec, renewTime: "2026-01-01T00:00:10.000000Z" } },
    });
    expect(renewed.spec.renewTime).toBe("2026-01-01T00:00:10.000000Z");
    // A second candidate writing with the stale resourceVersion loses.
    const stale = await kubeFetch(kube, `${path}/berth-controller`, {
      method: "PUT",
      body: { ...lease, spec: { ...lease.spec, holderIdentity: "berth-2" } },
    });
    expect(stale.status).toBe(409);
    await stale.arrayBuffer();
    expect((await kubeJson(kube, `${path}/berth-controller`)).spec.holderIdentity).toBe("berth-1");
  });

  test("stop() kills both servers and is idempotent", async () => {
    const extra = await startKube();
    const url = extra.url;
    const etcd = extra.etcdUrl;
    expect((await kubeFetch(extra, "/readyz")).status).toBe(200);
    await Promise.all([extra.stop(), extra.stop()]);
    await extra.stop();
    await expect(kubeFetch(extra, "/readyz")).rejects.toThrow();
    await expect(fetch(`${etcd}/health`)).rejects.toThrow();
    expect(existsSync(extra.kubeconfigPath)).toBe(false);
    expect(url).not.toBe(kube.url);
  }, 90_000);
});

type WatchEvent = { type: string; object: Record<string, any> };

/** Splits a watch response (one JSON event per line) into events. */
async function* readWatch(body: ReadableStream<Uint8Array>): AsyncGenerator<WatchEvent> {
  const decoder = new TextDecoder();
  let buf = "";
  for await (const chunk of body) {
    buf += decoder.decode(chunk, { stream: true });
    for (let nl = buf.indexOf("\n"); nl >= 0; nl = buf.indexOf("\n")) {
      const line = buf.slice(0, nl).trim();
      buf = buf.slice(nl + 1);
      if (line) yield JSON.parse(line) as WatchEvent;
    }
  }
}

async function nextEvent(events: AsyncGenerator<WatchEvent>, match: (e: WatchEvent) => boolean, timeoutMs = 10_000): Promise<WatchEvent> {
  const timeout = new Promise<never>((_, reject) => setTimeout(() => reject(new Error("no matching watch event in time")), timeoutMs));
  const found = (async () => {
    for await (const e of events) if (match(e)) return e;
    throw new Error("watch ended without a matching event");
  })();
  return Promise.race([found, timeout]);
}
