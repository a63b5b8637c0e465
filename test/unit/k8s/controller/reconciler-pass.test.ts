import { afterEach, describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CoreError, type Descriptor, type RegistryClient } from "../../../../src/core/index.ts";
import { OCIRepositoryReconciler } from "../../../../src/k8s/controller/reconciler.ts";
import { ArtifactStore } from "../../../../src/k8s/storage/artifact-store.ts";
import type { KubeClient } from "../../../../src/k8s/client/kube.ts";

type Obj = Record<string, any>;
const KEY = "apps/podinfo";
const PATH = "/apis/source.toolkit.fluxcd.io/v1/namespaces/apps/ocirepositories/podinfo";
const LAYER_TYPE = "application/vnd.cncf.flux.content.v1.tar+gzip";

const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});
async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), "berth-reconciler-pass-"));
  dirs.push(d);
  return d;
}

/** An API server stand-in holding one OCIRepository: GET, merge patches of the object and its status. */
function fakeKube(spec: Obj, status: Obj = {}) {
  let rv = 1;
  const obj: Obj = {
    apiVersion: "source.toolkit.fluxcd.io/v1",
    kind: "OCIRepository",
    metadata: { name: "podinfo", namespace: "apps", uid: "u-1", generation: 1, resourceVersion: "1", finalizers: ["finalizers.fluxcd.io"] },
    spec,
    status,
  };
  const kube = {
    get: async (path: string) => {
      if (path.startsWith("/api/v1/namespaces/apps/serviceaccounts/")) return { metadata: { name: path.split("/").pop(), namespace: "apps" } };
      if (path !== PATH) throw new CoreError({ code: "NOT_FOUND", message: `no ${path}`, details: { status: 404 } });
      return structuredClone(obj);
    },
    mergePatch: async (path: string, body: Obj) => {
      if (path === `${PATH}/status`) {
        for (const [k, v] of Object.entries(body.status ?? {})) {
          if (v === null) delete obj.status[k];
          else obj.status[k] = v;
        }
      } else if (path === PATH) {
        Object.assign(obj.metadata, body.metadata ?? {});
      }
      obj.metadata.resourceVersion = String(++rv);
      return structuredClone(obj);
    },
    create: async (_path: string, body: unknown) => body,
  } as unknown as KubeClient;
  const condition = (type: string) => (obj.status.conditions ?? []).find((c: Obj) => c.type === type);
  return { kube, obj, condition };
}

/** A registry client whose one repository answers from the given functions. */
function fakeRegistry(repo: Obj): RegistryClient {
  return {
    repository: () => repo as never,
    ping: async () => undefined,
    close: async () => undefined,
    stats: () => ({ requests: 0, tokens: 0, byKind: {} }),
  };
}

const sha = (b: Uint8Array | string) => `sha256:${createHash("sha256").update(b).digest("hex")}`;

/** A repository holding one single-layer artifact under tag `latest`; `fetchLayer` can be replaced. */
function oneLayerRepo(layer: Uint8Array, fetchLayer?: () => Promise<AsyncIterable<Uint8Array>>) {
  const layerDesc: Descriptor = { mediaType: LAYER_TYPE, digest: sha(layer), size: layer.byteLength };
  const manifest = new TextEncoder().encode(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      config: { mediaType: "application/vnd.cncf.flux.config.v1+json", digest: sha("{}"), size: 2 },
      layers: [layerDesc],
    }),
  );
  const manifestDesc: Descriptor = { mediaType: "application/vnd.oci.image.manifest.v1+json", digest: sha(manifest), size: manifest.byteLength };
  return {
    manifestDesc,
    repo: {
      resolve: async () => manifestDesc,
      fetchManifest: async () => ({ descriptor: manifestDesc, bytes: manifest }),
      fetch: async (d: Descriptor) => {
        if (d.digest !== layerDesc.digest) throw new Error(`unexpected fetch of ${d.digest}`);
        if (fetchLayer) return fetchLayer();
        return (async function* () {
          yield layer;
        })();
      },
    },
  };
}

const copySpec = (extra: Obj = {}) => ({
  url: "oci://registry.example/apps/podinfo",
  interval: "10m",
  timeout: "1s",
  layerSelector: { mediaType: LAYER_TYPE, operation: "copy" },
  ...extra,
});

function reconciler(kube: KubeClient, store: ArtifactStore, repo: Obj | undefined, extra: Obj = {}) {
  const events: { type: string; reason: string; message: string }[] = [];
  const logs: string[] = [];
  const r = new OCIRepositoryReconciler({
    kube,
    store,
    events: { record: async (_o, type, reason, message) => void events.push({ type, reason, message }) },
    log: (m) => logs.push(m),
    ...(repo ? { createRegistryClient: () => fakeRegistry(repo) } : {}),
    ...extra,
  });
  return { r, events, logs };
}

describe("OCIRepositoryReconciler pass", () => {
  test("a stalling registry stand-in (manifest HEAD never answered) fails the look-up with a timed-out message after spec.timeout", async () => {
    const heads: string[] = [];
    const server = Bun.serve({
      port: 0,
      hostname: "127.0.0.1",
      fetch: (req) => {
        const u = new URL(req.url);
        if (u.pathname === "/v2/") return new Response("{}", { headers: { "content-type": "application/json" } });
        if (req.method === "HEAD" && u.pathname.includes("/manifests/")) {
          heads.push(u.pathname);
          return new Promise<Response>(() => {});
        }
        return new Response("not found", { status: 404 });
      },
    });
    try {
      const { kube, condition } = fakeKube(copySpec({ url: `oci://127.0.0.1:${server.port}/apps/podinfo`, insecure: true }));
      const store = new ArtifactStore({ root: await tempDir() });
      const { r } = reconciler(kube, store, undefined);
      const t0 = Date.now();
      const err = await r.reconcile(KEY).then(() => undefined, (e: unknown) => e as Error);
      const took = Date.now() - t0;
      await r.close();
      expect(err).toBeInstanceOf(Error);
      expect(heads.length).toBeGreaterThan(0);
      expect(took).toBeGreaterThanOrEqual(900);
      expect(took).toBeLessThan(15_000);
      const ff = condition("FetchFailed");
      expect(ff.reason).toBe("OCIArtifactPullFailed");
      expect(ff.message).toBe("failed to determine artifact digest: timed out after 1s (spec.timeout)");
    } finally {
      server.stop(true);
    }
  }, 30_000);

  test("the pull is not bound by spec.timeout: a layer slower than it still gets stored", async () => {
    const layer = new TextEncoder().encode("slow layer bytes");
    const { repo } = oneLayerRepo(layer, async () =>
      (async function* () {
        await Bun.sleep(1500);
        yield layer;
      })(),
    );
    const { kube, obj, condition } = fakeKube(copySpec());
    const store = new ArtifactStore({ root: await tempDir() });
    const { r } = reconciler(kube, store, repo);
    await r.reconcile(KEY);
    expect(condition("Ready")?.status).toBe("True");
    expect(obj.status.artifact.digest).toBe(sha(layer));
  }, 30_000);

  test("credentials in an error text are redacted in the condition, the event and the log", async () => {
    const repo = {
      resolve: async () => {
        throw new Error("GET https://alice:s3cret@registry.example/v2/apps/podinfo/manifests/latest: connection refused");
      },
    };
    const { kube, condition } = fakeKube(copySpec());
    const store = new ArtifactStore({ root: await tempDir() });
    const { r, events, logs } = reconciler(kube, store, repo);
    await expect(r.reconcile(KEY)).rejects.toThrow();
    const ff = condition("FetchFailed");
    expect(ff.message).toBe("failed to determine artifact digest: GET https://***@registry.example/v2/apps/podinfo/manifests/latest: connection refused");
    expect(condition("Ready").message).not.toContain("s3cret");
    expect(events.some((e) => e.reason === "OCIArtifactPullFailed")).toBe(true);
    expect(JSON.stringify(events)).not.toContain("s3cret");
    expect(logs.length).toBeGreaterThan(0);
    expect(logs.join("\n")).not.toContain("s3cret");
  });

  test("ObjectLevelWorkloadIdentity: off stalls FeatureGateDisabled, on reaches berth's not-supported credential error", async () => {
    const spec = copySpec({ provider: "aws", serviceAccountName: "tenant", url: "oci://012345678901.dkr.ecr.us-east-1.amazonaws.com/apps/podinfo" });
    const off = fakeKube(spec);
    const store = new ArtifactStore({ root: await tempDir() });
    await reconciler(off.kube, store, { resolve: async () => { throw new Error("not reached"); } }).r.reconcile(KEY);
    expect(off.condition("Stalled")).toMatchObject({ status: "True", reason: "FeatureGateDisabled" });
    expect(off.condition("FetchFailed")).toBeUndefined();

    const on = fakeKube(spec);
    const { r } = reconciler(on.kube, store, { resolve: async () => { throw new Error("not reached"); } }, { objectLevelWorkloadIdentity: true });
    await expect(r.reconcile(KEY)).rejects.toThrow();
    expect(on.condition("Stalled")).toBeUndefined();
    expect(on.condition("FetchFailed")).toMatchObject({ reason: "AuthenticationFailed", message: "failed to get credential from aws: object-level workload identity (spec.serviceAccountName) is not supported by berth yet" });
  });

  test("a failing blob download reads 'failed to extract the first layer from artifact'", async () => {
    const { repo } = oneLayerRepo(new TextEncoder().encode("x"), async () => {
      throw new Error("GET blob: 503 Service Unavailable");
    });
    const { kube, condition } = fakeKube(copySpec());
    const store = new ArtifactStore({ root: await tempDir() });
    const { r } = reconciler(kube, store, repo);
    await expect(r.reconcile(KEY)).rejects.toThrow();
    expect(condition("FetchFailed")).toMatchObject({
      status: "True",
      reason: "OCIArtifactLayerOperationFailed",
      message: "failed to extract the first layer from artifact: GET blob: 503 Service Unavailable",
    });
  });

  test("an artifact directory that cannot be created is StorageOperationFailed DirectoryCreationFailed", async () => {
    const { repo } = oneLayerRepo(new TextEncoder().encode("layer"));
    const { kube, condition } = fakeKube(copySpec());
    const root = await tempDir();
    // A file where the namespace directory should go: mkdir -p fails with ENOTDIR.
    await mkdir(join(root, "ocirepository"), { recursive: true });
    await writeFile(join(root, "ocirepository", "apps"), "not a directory");
    const store = new ArtifactStore({ root });
    const { r } = reconciler(kube, store, repo);
    await expect(r.reconcile(KEY)).rejects.toThrow();
    const so = condition("StorageOperationFailed");
    expect(so.reason).toBe("DirectoryCreationFailed");
    expect(so.message).toStartWith("failed to create artifact directory: ");
    expect(so.message).toContain("ENOTDIR");
  });

  test("a stored file that cannot be read (not just altered) is reported and removed, then rebuilt", async () => {
    const layer = new TextEncoder().encode("layer v1");
    const { repo } = oneLayerRepo(layer);
    const { kube, obj } = fakeKube(copySpec());
    const store = new ArtifactStore({ root: await tempDir() });
    const { r, events } = reconciler(kube, store, repo);
    await r.reconcile(KEY);
    const realStore = store.store.bind(store);
    let stores = 0;
    store.store = (...args) => (stores++, realStore(...args));
    const realVerify = store.verify.bind(store);
    let calls = 0;
    store.verify = async (a) => {
      calls++;
      if (calls === 1) throw new CoreError({ code: "STORAGE_FAILED", message: "reading file: EIO: i/o error, read", cause: Object.assign(new Error("EIO"), { code: "EIO" }) });
      return realVerify(a);
    };
    await r.reconcile(KEY);
    expect(calls).toBe(1);
    const warn = events.filter((e) => e.reason === "ArtifactVerificationFailed");
    expect(warn).toEqual([{ type: "Warning", reason: "ArtifactVerificationFailed", message: "failed to verify integrity of artifact: reading file: EIO: i/o error, read" }]);
    // Treated as gone: rebuilt and stored again in the same pass, with the same digest.
    expect(stores).toBe(1);
    expect(await store.exists(obj.status.artifact)).toBe(true);
    expect(obj.status.artifact.digest).toBe(sha(layer));
  });
});
