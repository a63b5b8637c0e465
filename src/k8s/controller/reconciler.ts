/**
 * One reconcile pass of an OCIRepository (spec: reconcile order, status, artifact, conditions): read
 * the object, handle deletion and the finalizer, resolve the ref, pull and store a new artifact when
 * the revision changed, and write the whole status with one merge patch at the end.
 */
import { createReadStream } from "node:fs";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  CoreError,
  createRegistryClient,
  isCoreError,
  parseArtifactURL,
  pullArtifact,
  resolveRef,
  type RegistryClient,
} from "../../core/index.ts";
import {
  effectiveLayerSelector,
  effectiveRef,
  OCIREPOSITORY_KIND,
  parseOCIRepository,
  RECONCILE_REQUEST_ANNOTATION,
  SOURCE_FINALIZER,
  type Condition,
  type OCIRepository,
  type OCIRepositoryStatus,
} from "../api/ocirepository.ts";
import { markProgressing, markStalled, markTrue, removeCondition, setCondition, summarizeReady, type SetOptions } from "../api/conditions.ts";
import { ARTIFACT_IN_STORAGE, ARTIFACT_OUTDATED, FETCH_FAILED, READY, RECONCILING, Reasons, reasonFor, STALLED, STORAGE_OPERATION_FAILED } from "../api/reasons.ts";
import { artifactFileName, type ArtifactStore } from "../storage/artifact-store.ts";
import type { KubeClient } from "../client/kube.ts";
import { kubeStatusOf } from "../client/kube.ts";
import type { WorkResult } from "./queue.ts";
import { registryAccessFor, type RegistryAccess } from "./credentials.ts";

type Obj = Record<string, any>;

/** Options of `OCIRepositoryReconciler`. */
export interface ReconcilerOptions {
  kube: KubeClient;
  store: ArtifactStore;
  /** API path prefix of the served version. Default `/apis/source.toolkit.fluxcd.io/v1`. */
  apiPrefix?: string;
  /** Clock for condition times. Default `() => new Date()`. */
  now?: () => Date;
  /** Logging sink (one line per event). Default: none. */
  log?: (msg: string) => void;
}

/** Go `time.ParseDuration` for the units Kubernetes durations use (h, m, s, ms). */
export function parseGoDuration(s: string): number {
  const re = /(\d+(?:\.\d+)?)(ms|h|m|s)/g;
  let total = 0;
  let consumed = 0;
  for (const m of s.matchAll(re)) {
    if (m.index !== consumed) break;
    consumed += m[0].length;
    total += Number(m[1]) * { h: 3_600_000, m: 60_000, s: 1000, ms: 1 }[m[2] as "h" | "m" | "s" | "ms"];
  }
  if (consumed !== s.length || s.length === 0) throw new CoreError({ code: "USAGE", message: `invalid duration ${JSON.stringify(s)}` });
  return total;
}

/**
 * The merge patch that turns status `old` into `next`: a merge patch only adds and replaces, so
 * fields that went away (an old artifact's extra annotations, a cleared `observedIgnore`) are nulled.
 */
export function statusPatch(old: OCIRepositoryStatus, next: OCIRepositoryStatus): Record<string, unknown> {
  const out: Record<string, unknown> = { ...next };
  for (const k of Object.keys(old)) if ((next as Obj)[k] === undefined) out[k] = null;
  const oldMeta = old.artifact?.metadata;
  if (next.artifact && oldMeta) {
    const meta: Record<string, string | null> = { ...(next.artifact.metadata ?? {}) };
    for (const k of Object.keys(oldMeta)) if (!(k in meta)) meta[k] = null;
    out.artifact = { ...next.artifact, metadata: meta };
  }
  return out;
}

/** Splits a queue key `<namespace>/<name>`. */
export function splitKey(key: string): { namespace: string; name: string } {
  const i = key.indexOf("/");
  return { namespace: key.slice(0, i), name: key.slice(i + 1) };
}

/** Reconciles OCIRepository objects by key; `reconcile` is the work queue's worker. */
export class OCIRepositoryReconciler {
  private readonly opts: ReconcilerOptions;
  private readonly prefix: string;
  private readonly now: () => Date;
  /** Registry clients by `RegistryAccess.key`: objects with the same access share connections and tokens. */
  private readonly registries = new Map<string, RegistryClient>();

  constructor(opts: ReconcilerOptions) {
    this.opts = opts;
    this.prefix = opts.apiPrefix ?? "/apis/source.toolkit.fluxcd.io/v1";
    this.now = opts.now ?? (() => new Date());
  }

  /** The object's API path. */
  objectPath(namespace: string, name: string): string {
    return `${this.prefix}/namespaces/${encodeURIComponent(namespace)}/ocirepositories/${encodeURIComponent(name)}`;
  }

  private registry(access: RegistryAccess): RegistryClient {
    let c = this.registries.get(access.key);
    if (!c) {
      c = createRegistryClient({ ...access.options, retry: { maxAttempts: 3, maxTotalMs: 20_000 } });
      this.registries.set(access.key, c);
    }
    return c;
  }

  /** Closes the registry clients. */
  async close(): Promise<void> {
    await Promise.all([...this.registries.values()].map((c) => c.close()));
    this.registries.clear();
  }

  /** One pass for `namespace/name`. Throws to be retried with backoff. */
  async reconcile(key: string): Promise<WorkResult> {
    const { namespace, name } = splitKey(key);
    const path = this.objectPath(namespace, name);
    let raw: Obj;
    try {
      raw = await this.opts.kube.get(path);
    } catch (e) {
      if (kubeStatusOf(e) === 404) return {};
      throw e;
    }
    const md = (raw.metadata ?? {}) as Obj;
    const finalizers: string[] = md.finalizers ?? [];
    if (md.deletionTimestamp) {
      if (!finalizers.includes(SOURCE_FINALIZER)) return {};
      await this.opts.store.removeAll(OCIREPOSITORY_KIND, namespace, name);
      await this.opts.kube.mergePatch(path, {
        metadata: { finalizers: finalizers.filter((f) => f !== SOURCE_FINALIZER), resourceVersion: md.resourceVersion },
      });
      this.opts.log?.(`${key}: deleted artifacts and removed finalizer`);
      return {};
    }
    if (!finalizers.includes(SOURCE_FINALIZER)) {
      // resourceVersion makes this a compare-and-swap: a concurrent writer's list is not overwritten.
      raw = await this.opts.kube.mergePatch(path, { metadata: { finalizers: [...finalizers, SOURCE_FINALIZER], resourceVersion: md.resourceVersion } });
    }
    if (raw.spec?.suspend === true) {
      this.opts.log?.(`${key}: suspended, skipping`);
      return {};
    }
    const generation = Number(raw.metadata?.generation ?? 0);
    const set: SetOptions = { generation, now: this.now() };
    const old = (raw.status ?? {}) as OCIRepositoryStatus;
    let conditions: Condition[] = old.conditions ?? [];
    const status: OCIRepositoryStatus = { ...old };
    const requestedAt = raw.metadata?.annotations?.[RECONCILE_REQUEST_ANNOTATION];
    if (typeof requestedAt === "string") status.lastHandledReconcileAt = requestedAt;

    let obj: OCIRepository | undefined;
    let result: WorkResult = {};
    let failure: unknown;
    try {
      obj = parseOCIRepository(raw);
      const interval = parseGoDuration(obj.spec.interval);
      result = { requeueAfterMs: interval };
      conditions = markProgressing(
        conditions,
        old.observedGeneration === generation ? "reconciliation in progress" : `processing object: new generation ${old.observedGeneration ?? -1} -> ${generation}`,
        set,
      );
      const artifact = await this.fetchAndStore(obj, status, interval);
      const msg = `stored artifact for digest '${artifact.revision}'`;
      for (const t of [FETCH_FAILED, STORAGE_OPERATION_FAILED, ARTIFACT_OUTDATED, RECONCILING, STALLED]) conditions = removeCondition(conditions, t);
      conditions = markTrue(conditions, ARTIFACT_IN_STORAGE, Reasons.Succeeded, msg, set);
      status.observedGeneration = generation;
    } catch (e) {
      failure = e;
      const err = isCoreError(e) ? e : new CoreError({ code: "INTERNAL", message: e instanceof Error ? e.message : String(e), cause: e });
      const m = reasonFor(err.code);
      if (m.kind === "waiting" && m.condition === null) throw err;
      if (m.condition && m.condition !== STALLED && m.condition !== READY) {
        conditions = setCondition(conditions, { type: m.condition, status: m.status, reason: m.reason, message: err.message }, set);
      }
      if (m.kind === "stalling") {
        conditions = markStalled(conditions, m.reason, err.message, set);
        status.observedGeneration = generation;
        result = {};
      } else {
        // Upstream keeps Reconciling's progress message and only switches the reason to the retrying one.
        const progress = conditions.find((c) => c.type === RECONCILING)?.message ?? "reconciliation in progress";
        conditions = markTrue(conditions, RECONCILING, Reasons.ProgressingWithRetry, progress, set);
      }
      if (m.condition === READY) conditions = setCondition(conditions, { type: READY, status: "False", reason: m.reason, message: err.message }, set);
    }
    conditions = summarizeReady(conditions, set);
    status.conditions = conditions;
    await this.opts.kube.mergePatch(`${path}/status`, { status: statusPatch(old, status) });
    if (failure !== undefined) {
      const m = reasonFor(isCoreError(failure) ? failure.code : "INTERNAL");
      this.opts.log?.(`${key}: ${m.reason}: ${failure instanceof Error ? failure.message : String(failure)}`);
      if (m.kind === "stalling") return {};
      throw failure;
    }
    this.opts.log?.(`${key}: ready, ${status.artifact?.revision}`);
    return result;
  }

  /** Resolves the ref; pulls and stores only when the revision is new or the stored file is gone. */
  private async fetchAndStore(obj: OCIRepository, status: OCIRepositoryStatus, timeoutMs: number) {
    const { namespace, name } = obj.metadata;
    const ref = parseArtifactURL(obj.spec.url);
    if (ref.kind !== "registry") throw new CoreError({ code: "REF_INVALID", message: `URL must be in format 'oci://<domain>/<org>/<repo>'` });
    if (ref.tag !== undefined || ref.digest !== undefined) {
      throw new CoreError({ code: "REF_INVALID", message: `URL must not contain a tag or digest; remove '${ref.digest ? `@${ref.digest}` : `:${ref.tag}`}' and use spec.ref` });
    }
    const signal = AbortSignal.timeout(obj.spec.timeout ? parseGoDuration(obj.spec.timeout) : Math.max(timeoutMs, 60_000));
    const access = await registryAccessFor(this.opts.kube, obj, { signal });
    const repo = this.registry(access).repository({ registry: ref.registry, repository: ref.repository });
    let resolved;
    try {
      resolved = await resolveRef(repo, effectiveRef(obj.spec), { signal });
    } catch (e) {
      if (!isCoreError(e)) throw e;
      throw new CoreError({ code: e.code, message: `failed to determine artifact digest: ${e.message}`, details: e.details, cause: e });
    }
    const store = this.opts.store;
    const current = status.artifact;
    // The stored file is re-hashed each pass, as upstream does: a missing or altered file is rebuilt.
    const intact = current ? await store.verify({ ...current, size: current.size }).then(() => true, () => false) : false;
    if (current && intact && current.revision === resolved.revision) {
      // The advertised address may have changed since the artifact was stored (upstream rewrites it too).
      status.artifact = { ...current, url: store.url(current) };
      status.url = await store.symlinkLatest(current);
      return status.artifact;
    }
    const layer = effectiveLayerSelector(obj.spec);
    const tmp = await mkdtemp(join(tmpdir(), "berth-ocirepo-"));
    try {
      const out = join(tmp, "src");
      await mkdir(out);
      const pulled = await pullArtifact(repo, resolved.descriptor.digest, out, {
        signal,
        layerMediaType: layer.mediaType,
        layerOperation: layer.operation === "copy" ? "copy" : "extract",
      });
      let artifact = store.newArtifact(OCIREPOSITORY_KIND, namespace, name, artifactFileName(resolved.revision), resolved.revision);
      if (pulled.file) {
        artifact = await store.store(artifact, createReadStream(pulled.file) as AsyncIterable<Uint8Array>, signal);
      } else {
        artifact = await store.archiveDir(out, artifact, { ignore: obj.spec.ignore, signal });
      }
      const annotations = pulled.manifest.annotations;
      if (annotations && Object.keys(annotations).length > 0) artifact = { ...artifact, metadata: { ...annotations } };
      status.url = await store.symlinkLatest(artifact);
      await store.garbageCollect(artifact).catch(() => undefined);
      status.artifact = artifact;
      status.observedIgnore = obj.spec.ignore;
      if (obj.spec.layerSelector) status.observedLayerSelector = obj.spec.layerSelector;
      return artifact;
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  }
}
