/**
 * The reconciler pass by pass against a real kube-apiserver and registry, driven by hand (no informer,
 * no queue) so every status patch, event and registry request of a pass can be asserted: the worked
 * timelines of ../shared/spec/ocirepository.md §3.13 and the rules of §2.3, §3.5, §3.11, §5.5.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createRegistryClient, fetchImageManifest, pushArtifact, type RegistryClient, type RegistryClientOptions } from "../../src/core/index.ts";
import { KubeClient } from "../../src/k8s/client/kube.ts";
import { OCIRepositoryReconciler } from "../../src/k8s/controller/reconciler.ts";
import { ArtifactStore } from "../../src/k8s/storage/artifact-store.ts";
import { ArtifactFileServer } from "../../src/k8s/storage/file-server.ts";
import { kubeFetch, kubeJson, type KubeServer } from "../harness/kube.ts";
import { startRegistry, type RegistryServer } from "../harness/registry.ts";
import { startFluxTestEnv, type FluxTestEnv } from "../harness/flux-env.ts";
import { exitOf } from "../harness/process.ts";

const NS = "berth-rec";
const COLLECTION = `/apis/source.toolkit.fluxcd.io/v1/namespaces/${NS}/ocirepositories`;
const FLUX_LAYER = "application/vnd.cncf.flux.content.v1.tar+gzip";
const ORIGIN = { source: "https://example.com/repo.git", revision: `main@sha1:${"a".repeat(40)}` };

type Obj = Record<string, any>;

/** A KubeClient that remembers every status it wrote, per object path. */
class RecordingKube extends KubeClient {
  readonly statuses = new Map<string, Obj[]>();
  gets = 0;
  override async get<T = Obj>(path: string, signal?: AbortSignal): Promise<T> {
    this.gets++;
    return super.get<T>(path, signal);
  }
  override async mergePatch<T = Obj>(path: string, patch: unknown, signal?: AbortSignal): Promise<T> {
    const res = await super.mergePatch<T>(path, patch, signal);
    if (path.endsWith("/status")) {
      const p = path.slice(0, -"/status".length);
      this.statuses.set(p, [...(this.statuses.get(p) ?? []), structuredClone((res as Obj).status)]);
    }
    return res;
  }
  /** Status writes of one object since the last call. */
  take(name: string): Obj[] {
    const p = `${COLLECTION}/${name}`;
    const out = this.statuses.get(p) ?? [];
    this.statuses.set(p, []);
    return out;
  }
}

let env: FluxTestEnv;
let kube: KubeServer;
let reg: RegistryServer;
let regClient: RegistryClient;
let client: RecordingKube;
let store: ArtifactStore;
let server: ArtifactFileServer;
let reconciler: OCIRepositoryReconciler;
const clients: RegistryClient[] = [];
let work: string;
const logs: string[] = [];

beforeAll(async () => {
  env = await startFluxTestEnv({ namespaces: [NS], prefix: "berth-rec-test-" });
  ({ kube, reg, regClient, work } = env);
  client = new RecordingKube(env.conn);
  const root = join(work, "storage");
  mkdirSync(root);
  server = new ArtifactFileServer({ root });
  await server.listen(0, "127.0.0.1");
  store = new ArtifactStore({ root, advertisedAddress: server.advertisedAddress });
  reconciler = new OCIRepositoryReconciler({
    kube: client,
    store,
    log: (m) => logs.push(m),
    createRegistryClient: (o: RegistryClientOptions) => {
      const c = createRegistryClient(o);
      clients.push(c);
      return c;
    },
  });
}, 120_000);

afterAll(async () => {
  await reconciler?.close();
  await server?.close(1000);
  await client?.close();
  await env?.stop();
});

async function push(repo: string, tag: string, files: Record<string, string>, r: RegistryServer = reg): Promise<string> {
  const dir = mkdtempSync(join(work, "src-"));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  const c = r === reg ? regClient : createRegistryClient({ insecure: true });
  const res = await pushArtifact(dir, c.repository({ registry: r.host, repository: repo }), tag, { metadata: ORIGIN });
  if (c !== regClient) await c.close();
  return res.descriptor.digest;
}

async function create(name: string, spec: Obj): Promise<Obj> {
  return kubeJson(kube, COLLECTION, {
    body: { apiVersion: "source.toolkit.fluxcd.io/v1", kind: "OCIRepository", metadata: { name, namespace: NS }, spec: { interval: "10m", insecure: true, ...spec } },
  });
}

const getObj = (name: string) => kubeJson(kube, `${COLLECTION}/${name}`);
const patchObj = (name: string, body: Obj) => kubeJson(kube, `${COLLECTION}/${name}`, { method: "PATCH", contentType: "application/merge-patch+json", body });
const requestReconcile = (name: string) => patchObj(name, { metadata: { annotations: { "reconcile.fluxcd.io/requestedAt": new Date().toISOString() + Math.random() } } });
// Bounded: a pass that hangs fails its test with a message instead of running into the test timeout
// (after which bun kills the servers this file shares, failing every test after it).
const reconcile = (name: string) => reconciler.reconcile(`${NS}/${name}`, AbortSignal.timeout(30_000));

/** Conditions without their times, in list order. */
const conds = (status: Obj | undefined) =>
  (status?.conditions ?? []).map((c: Obj) => ({ type: c.type, status: c.status, reason: c.reason, message: c.message, observedGeneration: c.observedGeneration }));
const cond = (status: Obj | undefined, type: string) => (status?.conditions ?? []).find((c: Obj) => c.type === type);

/** Runs the first pass: it adds the finalizer and goes on in the same pass. */
async function firstPasses(name: string) {
  return reconcile(name);
}

async function events(name: string): Promise<Obj[]> {
  const list = await kubeJson(kube, `/api/v1/namespaces/${NS}/events?fieldSelector=${encodeURIComponent(`involvedObject.name=${name}`)}`);
  return (list.items as Obj[]).sort((a, b) => String(a.metadata.creationTimestamp).localeCompare(String(b.metadata.creationTimestamp)));
}

const stats = () => {
  const out: Record<string, number> = {};
  for (const c of clients) for (const [k, v] of Object.entries(c.stats().byKind)) out[k] = (out[k] ?? 0) + v;
  return out;
};
const delta = (before: Record<string, number>, after: Record<string, number>) =>
  Object.fromEntries(Object.entries(after).filter(([k, v]) => v !== (before[k] ?? 0)).map(([k, v]) => [k, v - (before[k] ?? 0)]));

const sha256 = (b: Uint8Array) => `sha256:${createHash("sha256").update(b).digest("hex")}`;

/** What kustomize-controller does with status.artifact: download, check the digest, untar. */
async function consume(artifact: Obj): Promise<Record<string, string>> {
  const res = await fetch(artifact.url, { signal: AbortSignal.timeout(20_000) });
  expect(res.status).toBe(200);
  const bytes = new Uint8Array(await res.arrayBuffer());
  expect(sha256(bytes)).toBe(artifact.digest);
  expect(bytes.length).toBe(artifact.size);
  const dir = mkdtempSync(join(work, "untar-"));
  writeFileSync(join(dir, "a.tgz"), bytes);
  mkdirSync(join(dir, "x"));
  const p = Bun.spawn(["tar", "-xzf", join(dir, "a.tgz"), "-C", join(dir, "x")]);
  expect(await exitOf(p)).toBe(0);
  const out: Record<string, string> = {};
  for (const f of new Bun.Glob("**/*").scanSync({ cwd: join(dir, "x"), onlyFiles: true })) out[f] = readFileSync(join(dir, "x", f), "utf8");
  return out;
}

describe("OCIRepository reconcile passes (spec §3.13)", () => {
  test("A/B/C: new object → progressive patches → Ready; steady state is quiet; moved tag → NewRevision → new artifact", async () => {
    const v1 = { "deploy.yaml": "kind: ConfigMap\n", "README.md": "v1\n" };
    const d1 = await push("apps/podinfo", "latest", v1);
    await create("podinfo", { url: `oci://${reg.host}/apps/podinfo` });
    const ref = `${reg.host}/apps/podinfo:latest`;
    const rev1 = `latest@${d1}`;

    // Pass 1: the finalizer, then timeline A in the same pass (upstream requeues in between; the
    // statuses written are the same).
    expect(await reconcile("podinfo")).toEqual({ requeueAfterMs: 600_000 });
    expect((await getObj("podinfo")).metadata.finalizers).toEqual(["finalizers.fluxcd.io"]);
    const writes = client.take("podinfo");
    const progress = (m: string) => [
      { type: "Reconciling", status: "True", reason: "Progressing", message: m, observedGeneration: 1 },
      { type: "Ready", status: "Unknown", reason: "Progressing", message: m, observedGeneration: 1 },
    ];
    const stored = `stored artifact for digest '${rev1}'`;
    expect(writes.map(conds)).toEqual([
      progress("processing object: new generation -1 -> 1"),
      progress("building artifact"),
      progress(`building artifact: new revision '${rev1}' for '${ref}'`),
      [
        { type: "Ready", status: "True", reason: "Succeeded", message: stored, observedGeneration: 1 },
        { type: "ArtifactInStorage", status: "True", reason: "Succeeded", message: stored, observedGeneration: 1 },
      ],
    ]);
    expect(writes.slice(0, 3).map((s) => s.observedGeneration ?? -1)).toEqual([-1, -1, -1]);
    const st = writes[3]!;
    expect(st.observedGeneration).toBe(1);
    expect(st.artifact).toMatchObject({ revision: rev1, path: `ocirepository/${NS}/podinfo/${d1}.tar.gz`, metadata: { "org.opencontainers.image.source": ORIGIN.source, "org.opencontainers.image.revision": ORIGIN.revision } });
    expect(st.artifact.url).toBe(`http://${server.advertisedAddress}/ocirepository/${NS}/podinfo/${d1}.tar.gz`);
    expect(st.url).toBe(`http://${server.advertisedAddress}/ocirepository/${NS}/podinfo/latest.tar.gz`);
    expect(st.observedIgnore).toBeUndefined();
    expect(st.observedLayerSelector).toBeUndefined();
    expect(await consume(st.artifact)).toEqual(v1);
    const ev1 = await events("podinfo");
    expect(ev1.map((e) => [e.type, e.reason, e.message])).toEqual([
      ["Normal", "NewArtifact", `stored artifact with revision '${rev1}' from 'oci://${reg.host}/apps/podinfo', origin source '${ORIGIN.source}', origin revision '${ORIGIN.revision}'`],
    ]);
    expect(ev1[0]!.metadata.annotations).toEqual({ "source.toolkit.fluxcd.io/revision": rev1, "source.toolkit.fluxcd.io/digest": st.artifact.digest });
    expect(ev1[0]!.source.component).toBe("source-controller");

    // Timeline B: nothing changed, nothing written, nothing pulled; ArtifactUpToDate (a Normal event).
    const before = stats();
    expect(await reconcile("podinfo")).toEqual({ requeueAfterMs: 600_000 });
    expect(client.take("podinfo")).toEqual([]);
    const quiet = delta(before, stats());
    expect(quiet["GET blob"]).toBeUndefined();
    expect(quiet["GET manifest"]).toBeUndefined();
    expect((await events("podinfo")).map((e) => [e.type, e.reason, e.message, e.count])).toContainEqual(["Normal", "ArtifactUpToDate", `artifact up-to-date with remote revision: '${rev1}'`, 1]);

    // Timeline C: the tag moves; a reconcile request forces a fresh look-up.
    const v2 = { "deploy.yaml": "kind: Secret\n" };
    const d2 = await push("apps/podinfo", "latest", v2);
    const rev2 = `latest@${d2}`;
    const requested = await requestReconcile("podinfo");
    const at = requested.metadata.annotations["reconcile.fluxcd.io/requestedAt"];
    await reconcile("podinfo");
    const w2 = client.take("podinfo");
    const newRev = `new revision '${rev2}' for '${ref}'`;
    expect(w2.map(conds)).toEqual([
      [
        { type: "Reconciling", status: "True", reason: "Progressing", message: "reconciliation in progress", observedGeneration: 1 },
        { type: "Ready", status: "True", reason: "Succeeded", message: stored, observedGeneration: 1 },
        { type: "ArtifactInStorage", status: "True", reason: "Succeeded", message: stored, observedGeneration: 1 },
      ],
      [
        { type: "Reconciling", status: "True", reason: "Progressing", message: `building artifact: ${newRev}`, observedGeneration: 1 },
        { type: "Ready", status: "Unknown", reason: "Progressing", message: `building artifact: ${newRev}`, observedGeneration: 1 },
        { type: "ArtifactInStorage", status: "True", reason: "Succeeded", message: stored, observedGeneration: 1 },
        { type: "ArtifactOutdated", status: "True", reason: "NewRevision", message: newRev, observedGeneration: 1 },
      ],
      [
        { type: "Ready", status: "True", reason: "Succeeded", message: `stored artifact for digest '${rev2}'`, observedGeneration: 1 },
        { type: "ArtifactInStorage", status: "True", reason: "Succeeded", message: `stored artifact for digest '${rev2}'`, observedGeneration: 1 },
      ],
    ]);
    const final = w2[2]!;
    expect(final.lastHandledReconcileAt).toBe(at);
    expect(final.artifact.revision).toBe(rev2);
    expect(await consume(final.artifact)).toEqual(v2);
    // The previous file stays for consumers mid-download until GC's TTL.
    expect(existsSync(join(store.root, st.artifact.path))).toBe(true);
    expect((await events("podinfo")).filter((e) => e.reason === "NewArtifact").map((e) => e.message)).toContainEqual(
      `stored artifact with revision '${rev2}' from 'oci://${reg.host}/apps/podinfo', origin source '${ORIGIN.source}', origin revision '${ORIGIN.revision}'`,
    );

    // Delete: files removed, finalizer released, object gone.
    const dir = join(store.root, "ocirepository", NS, "podinfo");
    await kubeJson(kube, `${COLLECTION}/podinfo`, { method: "DELETE" });
    expect(await reconcile("podinfo")).toEqual({});
    expect(existsSync(dir)).toBe(false);
    expect(await reconcile("podinfo")).toEqual({});
    const res = await kubeFetch(kube, `${COLLECTION}/podinfo`);
    expect(res.status).toBe(404);
    expect((await fetch(final.artifact.url)).status).toBe(404);
  }, 120_000);

  test("E: an invalid URL stalls: FetchFailed+Stalled URLInvalid, Ready=False, observedGeneration set, no retry", async () => {
    await create("badurl", { url: `oci://${reg.host}/Apps/x`, ref: { tag: "v1" } });
    expect(await firstPasses("badurl")).toEqual({});
    const o = await getObj("badurl");
    const msg = `URL validation failed for 'oci://${reg.host}/Apps/x': repository can only contain the characters \`abcdefghijklmnopqrstuvwxyz0123456789_-./\`: Apps/x`;
    expect(conds(o.status)).toEqual([
      { type: "Stalled", status: "True", reason: "URLInvalid", message: msg, observedGeneration: 1 },
      { type: "Ready", status: "False", reason: "URLInvalid", message: msg, observedGeneration: 1 },
      { type: "FetchFailed", status: "True", reason: "URLInvalid", message: msg, observedGeneration: 1 },
    ]);
    expect(o.status.observedGeneration).toBe(1);
    expect((await events("badurl")).map((e) => [e.type, e.reason, e.message])).toEqual([["Warning", "URLInvalid", msg]]);
  }, 60_000);

  test("semver picks the highest match; semverFilter narrows; no match is ReadOperationFailed", async () => {
    const digests: Record<string, string> = {};
    for (const t of ["1.0.0", "1.2.0", "1.10.1-rc.1", "2.0.0-rc.1", "v0.9.0", "latest"]) digests[t] = await push("apps/semver", t, { "v.txt": `${t}\n` });
    await create("sem", { url: `oci://${reg.host}/apps/semver`, ref: { semver: ">=1.0.0" } });
    await firstPasses("sem");
    expect((await getObj("sem")).status.artifact.revision).toBe(`1.2.0@${digests["1.2.0"]}`);

    await create("semfilter", { url: `oci://${reg.host}/apps/semver`, ref: { semver: ">=1.0.0-0", semverFilter: ".*-rc.*" } });
    await firstPasses("semfilter");
    const f = await getObj("semfilter");
    expect(f.status.artifact.revision).toBe(`2.0.0-rc.1@${digests["2.0.0-rc.1"]}`);
    expect(await consume(f.status.artifact)).toEqual({ "v.txt": "2.0.0-rc.1\n" });

    // Tag beats nothing, semver beats tag.
    await create("semtag", { url: `oci://${reg.host}/apps/semver`, ref: { tag: "latest", semver: "~1.0" } });
    await firstPasses("semtag");
    expect((await getObj("semtag")).status.artifact.revision).toBe(`1.0.0@${digests["1.0.0"]}`);

    await create("semnone", { url: `oci://${reg.host}/apps/semver`, ref: { semver: "<0.1.0" } });
    await expect(firstPasses("semnone")).rejects.toThrow("no match found for semver: <0.1.0");
    const n = await getObj("semnone");
    const msg = `failed to determine the artifact tag for 'oci://${reg.host}/apps/semver': no match found for semver: <0.1.0`;
    expect(conds(n.status)).toEqual([
      { type: "Reconciling", status: "True", reason: "ProgressingWithRetry", message: "building artifact", observedGeneration: 1 },
      { type: "Ready", status: "False", reason: "ReadOperationFailed", message: msg, observedGeneration: 1 },
      { type: "FetchFailed", status: "True", reason: "ReadOperationFailed", message: msg, observedGeneration: 1 },
    ]);
    expect(n.status.observedGeneration).toBe(-1);
  }, 90_000);

  test("digest refs: revision is the digest; a malformed digest is OCIArtifactPullFailed", async () => {
    const d = await push("apps/bydigest", "v1", { "a.yaml": "a: 1\n" });
    await push("apps/bydigest", "v1", { "a.yaml": "a: 2\n" });
    await create("dig", { url: `oci://${reg.host}/apps/bydigest`, ref: { digest: d, tag: "v1", semver: "*" } });
    await firstPasses("dig");
    const o = await getObj("dig");
    expect(o.status.artifact.revision).toBe(d);
    expect(o.status.artifact.path).toBe(`ocirepository/${NS}/dig/${d}.tar.gz`);
    expect(await consume(o.status.artifact)).toEqual({ "a.yaml": "a: 1\n" });

    await create("digbad", { url: `oci://${reg.host}/apps/bydigest`, ref: { digest: "sha256:xyz" } });
    await expect(firstPasses("digbad")).rejects.toThrow();
    const b = await getObj("digbad");
    expect(cond(b.status, "FetchFailed")).toMatchObject({ reason: "OCIArtifactPullFailed", message: "failed to determine artifact digest: found non-hex character in hash: x" });
    expect(cond(b.status, "Ready")).toMatchObject({ status: "False", reason: "OCIArtifactPullFailed" });
  }, 60_000);

  test("layerSelector copy stores the raw layer; a missing media type is a layer operation failure; ignore/layerSelector changes rebuild", async () => {
    const d = await push("apps/copy", "v1", { "a.yaml": "a: 1\n", "notes.md": "x\n" });
    await create("copy", { url: `oci://${reg.host}/apps/copy`, ref: { tag: "v1" }, layerSelector: { mediaType: FLUX_LAYER, operation: "copy" } });
    await firstPasses("copy");
    const o = await getObj("copy");
    const m = await fetchImageManifest(regClient.repository({ registry: reg.host, repository: "apps/copy" }), d);
    const layer = m.manifest.layers[0]!;
    expect(o.status.artifact.digest).toBe(layer.digest);
    expect(o.status.artifact.size).toBe(layer.size);
    expect(o.status.artifact.path).toBe(`ocirepository/${NS}/copy/${d}.tar.gz`);
    expect(o.status.observedLayerSelector).toEqual({ mediaType: FLUX_LAYER, operation: "copy" });
    expect(await consume(o.status.artifact)).toEqual({ "a.yaml": "a: 1\n", "notes.md": "x\n" });

    // Same revision, new content config: rebuilt without a new revision.
    client.take("copy");
    await patchObj("copy", { spec: { layerSelector: null, ignore: "*.md" } });
    await reconcile("copy");
    const r = await getObj("copy");
    expect(r.status.artifact.revision).toBe(`v1@${d}`);
    expect(r.status.artifact.digest).not.toBe(layer.digest);
    expect(r.status.observedIgnore).toBe("*.md");
    expect(r.status.observedLayerSelector).toBeUndefined();
    expect(r.status.observedGeneration).toBe(2);
    expect(await consume(r.status.artifact)).toEqual({ "a.yaml": "a: 1\n" });
    // No new revision, so no ArtifactOutdated on the way.
    expect(client.take("copy").flatMap((s) => conds(s).map((c: Obj) => c.type))).not.toContain("ArtifactOutdated");
    // Two NewArtifact events with one text: folded into one Event with count 2.
    expect((await events("copy")).filter((e) => e.reason === "NewArtifact").map((e) => e.count)).toEqual([2]);

    await create("nolayer", { url: `oci://${reg.host}/apps/copy`, ref: { tag: "v1" }, layerSelector: { mediaType: "application/x-none" } });
    await expect(firstPasses("nolayer")).rejects.toThrow();
    const n = await getObj("nolayer");
    expect(cond(n.status, "FetchFailed")).toMatchObject({ reason: "OCIArtifactLayerOperationFailed", message: "failed to find layer with media type 'application/x-none' in artifact" });
    expect(n.status.artifact).toBeUndefined();
  }, 60_000);

  test("with finalizerRequeueMs (upstream's way) the first pass only adds the finalizer", async () => {
    await push("apps/fin", "v1", { "a.yaml": "a: 1\n" });
    await create("fin", { url: `oci://${reg.host}/apps/fin`, ref: { tag: "v1" } });
    const upstreamLike = new OCIRepositoryReconciler({ kube: client, store, finalizerRequeueMs: 750 });
    try {
      expect(await upstreamLike.reconcile(`${NS}/fin`)).toEqual({ requeueAfterMs: 750 });
      expect(client.take("fin")).toEqual([]);
      const o = await getObj("fin");
      expect(o.metadata.finalizers).toEqual(["finalizers.fluxcd.io"]);
      expect(o.status?.conditions).toBeUndefined();
      expect(await upstreamLike.reconcile(`${NS}/fin`)).toEqual({ requeueAfterMs: 600_000 });
      expect(client.take("fin").map((st) => cond(st, "Ready")?.status)).toEqual(["Unknown", "Unknown", "Unknown", "True"]);
    } finally {
      await upstreamLike.close();
    }
  }, 60_000);

  test("a pass starts from the informer's copy (no GET) only when it is not older than the reconciler's last write", async () => {
    await push("apps/cached", "v1", { "a.yaml": "a: 1\n" });
    await create("cached", { url: `oci://${reg.host}/apps/cached`, ref: { tag: "v1" } });
    const fresh = await getObj("cached");
    let held: Obj | undefined = fresh;
    const rc = new OCIRepositoryReconciler({ kube: client, store, takeCached: () => held });
    try {
      const g0 = client.gets;
      expect(await rc.reconcile(`${NS}/cached`)).toEqual({ requeueAfterMs: 600_000 });
      expect(client.gets - g0).toBe(0);
      expect(client.take("cached")).toHaveLength(4);
      // The same copy again is older than the pass's own writes: it is ignored and the object read.
      const g1 = client.gets;
      expect(await rc.reconcile(`${NS}/cached`)).toEqual({ requeueAfterMs: 600_000 });
      expect(client.gets - g1).toBe(1);
      expect(client.take("cached")).toEqual([]);
      held = undefined;
      const g2 = client.gets;
      await rc.reconcile(`${NS}/cached`);
      expect(client.gets - g2).toBe(1);
      expect(cond((await getObj("cached")).status, "Ready")?.status).toBe("True");
    } finally {
      await rc.close();
    }
  }, 60_000);

  test("five objects on one repo+tag share one HEAD manifest", async () => {
    await push("apps/shared", "stable", { "a.yaml": "a: 1\n" });
    const names = ["sh1", "sh2", "sh3", "sh4", "sh5"];
    for (const n of names) await create(n, { url: `oci://${reg.host}/apps/shared`, ref: { tag: "stable" } });
    const before = stats();
    await Promise.all(names.map((n) => reconcile(n)));
    for (const n of names) expect(cond((await getObj(n)).status, "Ready")?.status).toBe("True");
    const d = delta(before, stats());
    expect(d["HEAD manifest"]).toBe(1);
    // One pull and archive serves all five: the others copy the stored file (same bytes, own path).
    expect(d["GET manifest"]).toBe(1);
    expect(d["GET blob"]).toBe(1);
    const arts = (await Promise.all(names.map(getObj))).map((o) => o.status.artifact);
    expect(new Set(arts.map((a: Obj) => a.digest)).size).toBe(1);
    expect(new Set(arts.map((a: Obj) => a.path)).size).toBe(5);
    for (const a of arts) expect(await consume(a)).toEqual({ "a.yaml": "a: 1\n" });
    expect(arts.every((a: Obj) => a.metadata?.["org.opencontainers.image.source"] === ORIGIN.source)).toBe(true);
    // A shared file that went away is not copied: the next object pulls for itself.
    for (const a of arts) rmSync(join(store.root, a.path));
    await create("sh6", { url: `oci://${reg.host}/apps/shared`, ref: { tag: "stable" } });
    const b6 = stats();
    await reconcile("sh6");
    expect(delta(b6, stats())["GET blob"]).toBe(1);
    expect((await getObj("sh6")).status.artifact.digest).toBe(arts[0].digest);
    // An altered shared file is not copied either: the next object pulls, and stores the true bytes.
    const a6 = (await getObj("sh6")).status.artifact;
    writeFileSync(join(store.root, a6.path), "altered");
    await create("sh7", { url: `oci://${reg.host}/apps/shared`, ref: { tag: "stable" } });
    const b7 = stats();
    await reconcile("sh7");
    expect(delta(b7, stats())["GET blob"]).toBe(1);
    const a7 = (await getObj("sh7")).status.artifact;
    expect(a7.digest).toBe(arts[0].digest);
    expect(await consume(a7)).toEqual({ "a.yaml": "a: 1\n" });
    // Later passes inside the window reuse it.
    const again = stats();
    for (const n of names) await reconcile(n);
    expect(delta(again, stats())["HEAD manifest"]).toBeUndefined();
  }, 60_000);

  test("verification: failure keeps the stored artifact served and blocks the pull; removing verify clears SourceVerified", async () => {
    const d = await push("apps/signed", "v1", { "a.yaml": "a: 1\n" });
    await create("ver", { url: `oci://${reg.host}/apps/signed`, ref: { tag: "v1" } });
    await firstPasses("ver");
    const ok = await getObj("ver");
    const art = ok.status.artifact;

    await patchObj("ver", { spec: { verify: { provider: "cosign" } } });
    const before = stats();
    await expect(reconcile("ver")).rejects.toThrow("failed to verify the signature using provider 'cosign");
    const o = await getObj("ver");
    const sv = cond(o.status, "SourceVerified");
    expect(sv).toMatchObject({ status: "False", reason: "VerificationError", observedGeneration: 2 });
    expect(sv.message).toStartWith("failed to verify the signature using provider 'cosign");
    expect(cond(o.status, "Ready")).toMatchObject({ status: "False", reason: "VerificationError", message: sv.message });
    expect(cond(o.status, "Reconciling")).toMatchObject({ status: "True", reason: "ProgressingWithRetry", message: "processing object: new generation 1 -> 2" });
    expect(cond(o.status, "ArtifactInStorage")).toMatchObject({ status: "True", message: `stored artifact for digest 'v1@${d}'` });
    expect(o.status.artifact).toEqual(art);
    expect(o.status.observedGeneration).toBe(1);
    expect(delta(before, stats())["GET blob"]).toBeUndefined();
    expect(await consume(art)).toEqual({ "a.yaml": "a: 1\n" });
    expect((await events("ver")).map((e) => [e.type, e.reason])).toContainEqual(["Warning", "VerificationError"]);

    // A retry verifies again (the False condition is dropped first) and fails the same way.
    await expect(reconcile("ver")).rejects.toThrow("failed to verify the signature");

    // A new object with verify set never pulls.
    await create("ver-new", { url: `oci://${reg.host}/apps/signed`, ref: { tag: "v1" }, verify: { provider: "cosign" } });
    await expect(firstPasses("ver-new")).rejects.toThrow();
    const nv = await getObj("ver-new");
    expect(nv.status.artifact).toBeUndefined();
    expect(cond(nv.status, "SourceVerified")?.status).toBe("False");
    expect(cond(nv.status, "Ready")).toMatchObject({ status: "False", reason: "VerificationError" });

    await patchObj("ver", { spec: { verify: null } });
    expect(await reconcile("ver")).toEqual({ requeueAfterMs: 600_000 });
    const back = await getObj("ver");
    expect(cond(back.status, "SourceVerified")).toBeUndefined();
    expect(cond(back.status, "Ready")).toMatchObject({ status: "True", reason: "Succeeded" });
    expect(back.status.observedGeneration).toBe(3);
    expect(back.status.artifact).toEqual(art);
  }, 60_000);

  test("storage: a vanished file is rebuilt, a tampered one raises ArtifactVerificationFailed; recovery emits Succeeded", async () => {
    const d = await push("apps/store", "v1", { "a.yaml": "a: 1\n" });
    const rev = `v1@${d}`;
    await create("st", { url: `oci://${reg.host}/apps/store`, ref: { tag: "v1" } });
    await firstPasses("st");
    const art = (await getObj("st")).status.artifact;
    const file = join(store.root, art.path);
    client.take("st");

    rmSync(file);
    expect(await reconcile("st")).toEqual({ requeueAfterMs: 600_000 });
    const w = client.take("st");
    const progress = (m: string) => [
      { type: "Reconciling", status: "True", reason: "Progressing", message: m, observedGeneration: 1 },
      { type: "Ready", status: "Unknown", reason: "Progressing", message: m, observedGeneration: 1 },
    ];
    expect(w.map(conds)).toEqual([
      progress("building artifact: disappeared from storage"),
      progress(`building artifact: new revision '${rev}' for '${reg.host}/apps/store:v1'`),
      [
        { type: "Ready", status: "True", reason: "Succeeded", message: `stored artifact for digest '${rev}'`, observedGeneration: 1 },
        { type: "ArtifactInStorage", status: "True", reason: "Succeeded", message: `stored artifact for digest '${rev}'`, observedGeneration: 1 },
      ],
    ]);
    expect(w[0]!.artifact).toBeUndefined();
    expect(w[2]!.artifact.digest).toBe(art.digest);
    expect(await consume(w[2]!.artifact)).toEqual({ "a.yaml": "a: 1\n" });

    writeFileSync(file, "tampered");
    await reconcile("st");
    expect((await events("st")).filter((e) => e.type === "Warning").map((e) => [e.reason, e.message])).toEqual([
      ["ArtifactVerificationFailed", `failed to verify integrity of artifact: computed digest doesn't match '${art.digest}'`],
    ]);
    expect(await consume((await getObj("st")).status.artifact)).toEqual({ "a.yaml": "a: 1\n" });

    // A failing spec, then the good one again: same digest, FetchFailed cleared ⇒ Succeeded, not NewArtifact.
    await patchObj("st", { spec: { ref: { tag: "nope" } } });
    await expect(reconcile("st")).rejects.toThrow("failed to determine artifact digest");
    await patchObj("st", { spec: { ref: { tag: "v1" } } });
    await reconcile("st");
    const ok = await getObj("st");
    expect(cond(ok.status, "FetchFailed")).toBeUndefined();
    expect(cond(ok.status, "Ready")?.status).toBe("True");
    const ev = await events("st");
    const succeeded = ev.filter((e) => e.reason === "Succeeded");
    expect(succeeded.map((e) => [e.type, e.message])).toEqual([["Normal", `stored artifact with revision '${rev}' from 'oci://${reg.host}/apps/store', origin source '${ORIGIN.source}', origin revision '${ORIGIN.revision}'`]]);
    expect(succeeded[0]!.metadata.annotations["source.toolkit.fluxcd.io/digest"]).toBe(art.digest);
    expect(ev.filter((e) => e.reason === "NewArtifact").map((e) => e.count)).toEqual([1]);
  }, 60_000);

  test("D: registry down with an artifact: FetchFailed, old artifact kept and served; F: suspend", async () => {
    const r2 = await startRegistry();
    try {
      const d = await push("apps/down", "v1", { "a.yaml": "a: 1\n" }, r2);
      await create("down", { url: `oci://${r2.host}/apps/down`, ref: { tag: "v1" } });
      await firstPasses("down");
      const ok = await getObj("down");
      await r2.stop();
      await requestReconcile("down");
      await expect(reconcile("down")).rejects.toThrow("failed to determine artifact digest: ");
      const o = await getObj("down");
      const ff = cond(o.status, "FetchFailed");
      expect(ff).toMatchObject({ status: "True", reason: "OCIArtifactPullFailed" });
      expect(ff.message).toStartWith("failed to determine artifact digest: ");
      expect(conds(o.status)).toEqual([
        { type: "Reconciling", status: "True", reason: "ProgressingWithRetry", message: "reconciliation in progress", observedGeneration: 1 },
        { type: "Ready", status: "False", reason: "OCIArtifactPullFailed", message: ff.message, observedGeneration: 1 },
        { type: "ArtifactInStorage", status: "True", reason: "Succeeded", message: `stored artifact for digest 'v1@${d}'`, observedGeneration: 1 },
        { type: "FetchFailed", status: "True", reason: "OCIArtifactPullFailed", message: ff.message, observedGeneration: 1 },
      ]);
      expect(o.status.artifact).toEqual(ok.status.artifact);
      expect(o.status.observedGeneration).toBe(1);
      expect(await consume(o.status.artifact)).toEqual({ "a.yaml": "a: 1\n" });
      expect((await events("down")).filter((e) => e.type === "Warning").map((e) => e.reason)).toEqual(["OCIArtifactPullFailed"]);

      // F: suspended — no registry call, observedGeneration follows, conditions re-summarised, no requeue.
      await patchObj("down", { spec: { suspend: true } });
      const before = stats();
      expect(await reconcile("down")).toEqual({});
      expect(delta(before, stats())).toEqual({});
      const s = await getObj("down");
      expect(s.status.observedGeneration).toBe(2);
      expect(s.status.artifact).toEqual(ok.status.artifact);
      expect(cond(s.status, "Ready")).toMatchObject({ status: "False", reason: "OCIArtifactPullFailed" });
    } finally {
      await r2.stop();
    }
  }, 90_000);
});
