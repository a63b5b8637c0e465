/**
 * One reconcile pass of an OCIRepository, step for step as source-controller runs it
 * (../shared/spec/ocirepository.md §3): finalizer, preamble with progressive status patches, the
 * storage, source and artifact steps, events, and the deferred summary that computes Ready, the
 * observed generation and the retry. Registry look-ups that several objects share are coalesced
 * (lookups.ts), which upstream does not do.
 */
import { createReadStream, createWriteStream } from "node:fs";
import { mkdir, mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { pipeline } from "node:stream/promises";
import { Readable } from "node:stream";
import {
  CoreError,
  parseGoDuration,
  verifyStream,
  createRegistryClient,
  extractTarGz,
  fetchImageManifest,
  isCoreError,
  resolveTag,
  type Descriptor,
  type FetchedManifest,
  type RegistryClient,
  type RegistryClientOptions,
  type RegistryRepository,
} from "../../core/index.ts";
import {
  effectiveRef,
  OCIREPOSITORY_KIND,
  OCIREPOSITORY_URL_PREFIX,
  parseOCIRepository,
  RECONCILE_REQUEST_ANNOTATION,
  SOURCE_FINALIZER,
  SOURCE_GROUP,
  type Condition,
  type OCILayerSelector,
  type OCIRepository,
  type OCIRepositoryRefSpec,
  type OCIRepositoryStatus,
  type SourceArtifact,
} from "../api/ocirepository.ts";
import { findCondition, isFalse, isTrue, markProgressing, markStalled, markTrue, markFalse, removeCondition, summarizeReady, type SetOptions } from "../api/conditions.ts";
import {
  ARTIFACT_IN_STORAGE,
  ARTIFACT_OUTDATED,
  FETCH_FAILED,
  READY,
  RECONCILING,
  Reasons,
  SOURCE_VERIFIED,
  STALLED,
  STORAGE_OPERATION_FAILED,
} from "../api/reasons.ts";
import { artifactFileName, LATEST_LINK, type ArtifactStore } from "../storage/artifact-store.ts";
import type { KubeClient } from "../client/kube.ts";
import { kubeStatusOf } from "../client/kube.ts";
import type { WorkResult } from "./queue.ts";
import { registryAccessFor, type RegistryAccess } from "./credentials.ts";
import { verifyProviderLabel, verifySource } from "./verify.ts";
import { KubeEventRecorder, redactSecrets, type EventRecorder, type EventType, type InvolvedObject } from "./events.ts";
import { SharedBuilds, SharedLookups, type SharedBuild } from "./lookups.ts";

type Obj = Record<string, any>;

/** What a registry look-up found: shared by every object with the same access, repository and ref. */
export interface Resolution {
  /** The tag chosen (tag and semver refs). */
  tag?: string;
  /** Manifest (or index) digest. */
  digest: string;
  /** `<tag>@<digest>` or `<digest>`. */
  revision: string;
}

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
  /** Where Kubernetes Events go. Default: a `KubeEventRecorder` over `kube`. */
  events?: EventRecorder;
  /** Makes the registry client of one registry access. Default: core's client with 3 attempts within 20 s. */
  createRegistryClient?: (options: RegistryClientOptions) => RegistryClient;
  /** Shared tag/digest look-ups. Default: a new `SharedLookups` (reuse ≤ the shortest interval, ≤ 1 h). */
  lookups?: SharedLookups<Resolution>;
  /** Artifacts built once per (access, repository, digest, layer selector, ignore). Default: a new `SharedBuilds`. */
  builds?: SharedBuilds;
  /**
   * Set: a pass that adds the finalizer ends there and asks to run again after this many ms, as
   * upstream does (its rate-limited requeue, 750 ms). Default unset: the pass goes on at once, which
   * writes the same statuses with one request and one wait less.
   */
  finalizerRequeueMs?: number;
  /** The `ObjectLevelWorkloadIdentity` feature gate (`spec.serviceAccountName` with a cloud provider). Default false. */
  objectLevelWorkloadIdentity?: boolean;
  /** Environment for cloud provider credentials (`AWS_*`, `AZURE_*`, token files). Default `{}`. */
  env?: Record<string, string | undefined>;
  /**
   * Parent of each pass's scratch directory. The controller gives it a directory of its own, so it
   * can remove what a killed process left there at start-up. Default `os.tmpdir()`.
   */
  scratchDir?: string;
  /** A registry client unused this long is closed (its key changes when a secret or cloud token rotates). Default 30 min. */
  clientIdleMs?: number;
  /**
   * The object as the informer last delivered it, if it holds one for `key` (taken: a second call
   * returns undefined). A pass starts from it instead of a GET when it is at least as new as this
   * reconciler's last write of the object. Default: always GET.
   */
  takeCached?: (key: string) => Obj | undefined;
}

/** `a` is the same or a later resourceVersion than `b` (etcd's are integers; anything else: unknown, false). */
export function resourceVersionAtLeast(a: unknown, b: string): boolean {
  if (typeof a !== "string" || !/^\d{1,30}$/.test(a) || !/^\d{1,30}$/.test(b)) return false;
  return a.length !== b.length ? a.length > b.length : a >= b;
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

const DOCKER_HUB = "index.docker.io";
/** How upstream words the object-level workload identity stall (spec §2.3); credentials.ts throws it. */
const FEATURE_GATE_MESSAGE = "to use spec.serviceAccountName for provider authentication";
const REPOSITORY_CHARS = "abcdefghijklmnopqrstuvwxyz0123456789_-./";

/**
 * Validates `spec.url` with go-containerregistry's repository rules as source-controller applies them
 * (spec §3.5.4) and returns the canonical registry and repository (`index.docker.io`, `library/`
 * prepended for one-component Docker Hub names). Throws an Error whose message is the reason only;
 * the caller prefixes `URL validation failed for '<url>': `.
 */
export function validateRepositoryURL(url: string): { registry: string; repository: string } {
  if (!url.startsWith(OCIREPOSITORY_URL_PREFIX)) throw new Error("URL must be in format 'oci://<domain>/<org>/<repo>'");
  const name = url.slice(OCIREPOSITORY_URL_PREFIX.length);
  if (name.length === 0) throw new Error("a repository name must be specified");
  let registry = "";
  let repository = name;
  const slash = name.indexOf("/");
  if (slash >= 0) {
    const first = name.slice(0, slash);
    if (/[.:]/.test(first) || first === "localhost") {
      registry = first;
      repository = name.slice(slash + 1);
    }
  }
  const runes = [...repository].length;
  if (runes < 1 || runes > 255) throw new Error(`repository must be between 1 and 255 characters in length: ${repository}`);
  for (const ch of repository) {
    if (!REPOSITORY_CHARS.includes(ch)) throw new Error(`repository can only contain the characters \`${REPOSITORY_CHARS}\`: ${repository}`);
  }
  if (registry !== "" && !/^(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*|\[[0-9A-Fa-f:.]+\])(?::\d*)?$/.test(registry)) {
    throw new Error(`registries must be valid RFC 3986 URI authorities: ${registry}`);
  }
  const canonicalRegistry = registry === "" || registry === "docker.io" ? DOCKER_HUB : registry;
  const imageName = name.startsWith(canonicalRegistry) ? name.slice(canonicalRegistry.length) : name;
  const parts = imageName.split(":");
  if (parts.length > 1) throw new Error(`URL must not contain a tag; remove ':${parts[1]}'`);
  if (canonicalRegistry === DOCKER_HUB && !repository.includes("/")) repository = `library/${repository}`;
  return { registry: canonicalRegistry, repository };
}

/** go-containerregistry's `v1.NewHash` checks: `sha256:` and 64 lower-case hex digits. Throws with its messages. */
export function checkDigest(s: string): void {
  const parts = s.split(":");
  if (parts.length !== 2) throw new Error(`cannot parse hash: ${JSON.stringify(s)}`);
  const bad = parts[1]!.replace(/^[0-9a-f]*/, "");
  if (bad.length > 0) throw new Error(`found non-hex character in hash: ${bad[0]}`);
  if (parts[0] !== "sha256") throw new Error(`unsupported hash: ${JSON.stringify(parts[0])}`);
  if (parts[1]!.length !== 64) throw new Error(`wrong number of hex digits for sha256: ${parts[1]}`);
}

/** `<registry>/<repository>:<tag>` or `…@<digest>`: the `<ref>` of condition messages (no `oci://`). */
export function canonicalRef(repo: { registry: string; repository: string }, ref: { tag?: string; digest?: string }): string {
  const base = `${repo.registry}/${repo.repository}`;
  return ref.digest !== undefined ? `${base}@${ref.digest}` : `${base}:${ref.tag}`;
}

function sameLayerSelector(a: OCILayerSelector | undefined, b: OCILayerSelector | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return (a.mediaType ?? "") === (b.mediaType ?? "") && (a.operation ?? "") === (b.operation ?? "");
}

/**
 * Whether what the artifact was built from differs from what the spec asks for now (spec §3.5.8):
 * `spec.ignore` vs `status.observedIgnore` (absent and `""` differ) or the layer selector vs the
 * observed one (absent and present differ; `operation` absent and `extract` differ).
 */
export function contentConfigChanged(spec: { ignore?: string; layerSelector?: OCILayerSelector }, status: OCIRepositoryStatus): boolean {
  return spec.ignore !== status.observedIgnore || !sameLayerSelector(spec.layerSelector, status.observedLayerSelector);
}

/**
 * Whether §3.5.7 asks for a signature check: `spec.verify` is set and the revision is new to
 * storage, the spec changed since SourceVerified was written, or SourceVerified is absent/False.
 */
export function verificationDue(obj: Pick<OCIRepository, "spec" | "status" | "metadata">, revision: string): boolean {
  if (!obj.spec.verify) return false;
  const sv = findCondition(obj.status.conditions, SOURCE_VERIFIED);
  return obj.status.artifact?.revision !== revision || sv === undefined || sv.observedGeneration !== obj.metadata.generation || sv.status === "False";
}

/** A failure with the condition reason it reports; `stalling` ones are not retried. */
class ReconcileError extends Error {
  constructor(
    readonly kind: "stalling" | "generic",
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}

/** A look-up failure and the step it happened in (each object words the message with its own URL). */
class LookupFailure extends Error {
  constructor(
    readonly stage: "tag" | "digest",
    message: string,
  ) {
    super(message);
  }
}

/** An error's text with credentials masked: it ends up in conditions, events and logs others can read. */
const errText = (e: unknown): string => redactSecrets(e instanceof Error ? e.message : String(e));

/** Conditions with credentials masked in their messages. */
function redactConditions(c: Condition[]): Condition[] {
  return c.map((x) => {
    const message = redactSecrets(x.message);
    return message === x.message ? x : { ...x, message };
  });
}

/**
 * A signal that aborts with `parent` or after `ms`, and whether the timer fired: each phase of the
 * source step gets its own `spec.timeout`, so a slow phase is not blamed on the next one.
 */
function phaseSignal(parent: AbortSignal | undefined, ms: number): { signal: AbortSignal; timedOut: () => boolean } {
  const timer = AbortSignal.timeout(ms);
  return { signal: parent ? AbortSignal.any([parent, timer]) : timer, timedOut: () => timer.aborted && !parent?.aborted };
}

/** The working state of one pass. */
interface Pass {
  key: string;
  path: string;
  obj: OCIRepository;
  involved: InvolvedObject;
  set: SetOptions;
  /** The status being built. */
  status: OCIRepositoryStatus;
  /** The status as last written. */
  written: OCIRepositoryStatus;
  annotation?: string;
  signal?: AbortSignal;
  /** Ends this pass's claim on a shared build (others waiting for it go on). */
  endBuild?: () => void;
}

/** What the source step hands to the artifact step. */
interface SourceResult {
  revision: string;
  /** Manifest annotations (when pulled). */
  metadata?: Record<string, string>;
  /** `copy`: the layer blob in the temp dir; or a copy of an identical build another object stored. */
  copyFile?: string;
  /** `SharedBuilds` key the stored file is recorded under. */
  buildKey?: string;
}

const clone = <T>(v: T): T => structuredClone(v);

/** Reconciles OCIRepository objects by key; `reconcile` is the work queue's worker. */
export class OCIRepositoryReconciler {
  private readonly opts: ReconcilerOptions;
  private readonly prefix: string;
  private readonly now: () => Date;
  private readonly events: EventRecorder;
  private readonly lookups: SharedLookups<Resolution>;
  private readonly builds: SharedBuilds;
  /** Registry clients by `RegistryAccess.key`: objects with the same access share connections and tokens. */
  private readonly registries = new Map<string, RegistryClient>();
  private readonly lastUsed = new Map<string, number>();
  /** resourceVersion of this reconciler's last write per object key: older cached copies are not used. */
  private readonly writtenRV = new Map<string, string>();
  /** `opts.log` with credentials masked. */
  private readonly log: (msg: string) => void;

  constructor(opts: ReconcilerOptions) {
    this.opts = opts;
    this.log = (msg) => opts.log?.(redactSecrets(msg));
    this.prefix = opts.apiPrefix ?? `/apis/${SOURCE_GROUP}/v1`;
    this.now = opts.now ?? (() => new Date());
    this.events = opts.events ?? new KubeEventRecorder({ kube: opts.kube, log: this.log, now: this.now });
    this.lookups = opts.lookups ?? new SharedLookups<Resolution>();
    this.builds = opts.builds ?? new SharedBuilds();
  }

  /** The object's API path. */
  objectPath(namespace: string, name: string): string {
    return `${this.prefix}/namespaces/${encodeURIComponent(namespace)}/ocirepositories/${encodeURIComponent(name)}`;
  }

  private registry(access: RegistryAccess): RegistryClient {
    const now = Date.now();
    this.lastUsed.set(access.key, now);
    this.evictIdleClients(now);
    let c = this.registries.get(access.key);
    if (!c) {
      const options = { ...access.options, retry: { maxAttempts: 3, maxTotalMs: 20_000, ...access.options.retry } };
      c = (this.opts.createRegistryClient ?? createRegistryClient)(options);
      this.registries.set(access.key, c);
    }
    return c;
  }

  /**
   * Closes clients not used for `clientIdleMs`: a rotated secret or cloud token gives a new key, and
   * the old client would otherwise keep its connections and cached credentials for good. A client
   * still in use by a running pass was touched at its start, so it is never this old.
   */
  private evictIdleClients(now: number): void {
    const idle = this.opts.clientIdleMs ?? 30 * 60_000;
    for (const [key, at] of this.lastUsed) {
      if (now - at < idle) continue;
      const c = this.registries.get(key);
      this.registries.delete(key);
      this.lastUsed.delete(key);
      void c?.close().catch(() => undefined);
    }
  }

  /** Request counters summed over every registry client (tests and metrics). */
  registryStats(): { requests: number; tokens: number; byKind: Record<string, number> } {
    const out = { requests: 0, tokens: 0, byKind: {} as Record<string, number> };
    for (const c of this.registries.values()) {
      const s = c.stats();
      out.requests += s.requests;
      out.tokens += s.tokens;
      for (const [k, v] of Object.entries(s.byKind)) out.byKind[k] = (out.byKind[k] ?? 0) + v;
    }
    return out;
  }

  /** Drops what this reconciler remembers of `key` (the object was deleted). */
  forget(key: string): void {
    this.writtenRV.delete(key);
  }

  /** Closes the registry clients. */
  async close(): Promise<void> {
    await Promise.all([...this.registries.values()].map((c) => c.close()));
    this.registries.clear();
  }

  private async event(pass: { involved: InvolvedObject }, type: EventType, reason: string, message: string, annotations?: Record<string, string>): Promise<void> {
    await this.events.record(pass.involved, type, reason, message, annotations);
  }

  /** One pass for `namespace/name`. Throws to be retried with backoff. */
  async reconcile(key: string, signal?: AbortSignal): Promise<WorkResult> {
    const { namespace, name } = splitKey(key);
    const path = this.objectPath(namespace, name);
    let raw: Obj | undefined = this.opts.takeCached?.(key);
    const written = this.writtenRV.get(key);
    if (raw && written !== undefined && !resourceVersionAtLeast(raw.metadata?.resourceVersion, written)) raw = undefined;
    try {
      raw ??= await this.opts.kube.get<Obj>(path, signal);
    } catch (e) {
      if (kubeStatusOf(e) === 404) {
        this.writtenRV.delete(key);
        return {};
      }
      throw e;
    }
    let md = (raw.metadata ?? {}) as Obj;
    const finalizers: string[] = md.finalizers ?? [];
    if (!md.deletionTimestamp && !finalizers.includes(SOURCE_FINALIZER)) {
      // resourceVersion makes this a compare-and-swap: a concurrent writer's list is not overwritten.
      raw = await this.opts.kube.mergePatch<Obj>(path, { metadata: { finalizers: [...finalizers, SOURCE_FINALIZER], resourceVersion: md.resourceVersion } }, signal);
      this.noteWrite(key, raw);
      const after = this.opts.finalizerRequeueMs;
      if (after !== undefined) return { requeueAfterMs: after };
      // The patch answered with the whole object: the pass goes on with it, as upstream's next pass
      // would after its requeue, minus one GET and the wait.
      md = (raw.metadata ?? {}) as Obj;
    }
    const involved: InvolvedObject = {
      apiVersion: String(raw.apiVersion ?? `${SOURCE_GROUP}/v1`),
      kind: OCIREPOSITORY_KIND,
      name,
      namespace,
      uid: md.uid,
      resourceVersion: md.resourceVersion,
    };
    if (md.deletionTimestamp) return this.reconcileDelete(path, md, involved);

    const generation = Number(md.generation ?? 0);
    const set: SetOptions = { generation, now: this.now() };
    const annotation = md.annotations?.[RECONCILE_REQUEST_ANNOTATION] as string | undefined;
    let obj: OCIRepository;
    try {
      obj = parseOCIRepository(raw);
    } catch (e) {
      return this.stallUnparsable(raw, path, involved, set, annotation, e);
    }
    const pass: Pass = { key, path, obj, involved, set, status: clone(obj.status), written: clone(obj.status), annotation, signal };
    const oldArtifact = obj.status.artifact;
    const oldConditions = obj.status.conditions ?? [];

    if (obj.spec.suspend === true) {
      this.log(`${key}: reconciliation is suspended for this object`);
      return this.finish(pass, "empty", undefined, 0);
    }

    let interval = 0;
    let outcome: "success" | "empty" = "empty";
    let failure: ReconcileError | undefined;
    try {
      interval = parseGoDuration(obj.spec.interval);
      await this.preamble(pass);
      let tmp: string;
      try {
        tmp = await mkdtemp(join(this.opts.scratchDir ?? tmpdir(), `ocirepository-${namespace}-${name}-`));
      } catch (e) {
        this.setConditions(pass, (c) => markTrue(c, STORAGE_OPERATION_FAILED, Reasons.DirectoryCreationFailed, `failed to create temporary working directory: ${errText(e)}`, set));
        throw new ReconcileError("generic", Reasons.DirectoryCreationFailed, `failed to create temporary working directory: ${errText(e)}`);
      }
      this.setConditions(pass, (c) => removeCondition(c, STORAGE_OPERATION_FAILED));
      try {
        await this.reconcileStorage(pass);
        const src = await this.reconcileSource(pass, tmp, interval);
        await this.reconcileArtifact(pass, src, tmp);
        outcome = "success";
      } finally {
        pass.endBuild?.();
        await rm(tmp, { recursive: true, force: true }).catch(() => {});
      }
    } catch (e) {
      // Shutdown: leave the status as it is; the next leader or start picks the object up.
      if (signal?.aborted) throw e;
      failure = e instanceof ReconcileError ? e : new ReconcileError("generic", Reasons.Failed, errText(e));
    }
    if (!failure) await this.notify(pass, oldArtifact, oldConditions);
    return this.finish(pass, outcome, failure, interval);
  }

  private noteWrite(key: string, after: Obj | undefined): void {
    const rv = after?.metadata?.resourceVersion;
    if (typeof rv === "string") this.writtenRV.set(key, rv);
  }

  private setConditions(pass: Pass, f: (c: Condition[]) => Condition[]): void {
    pass.status.conditions = redactConditions(f(pass.status.conditions ?? []));
  }

  /** Writes what changed since the last write. Intermediate writes fail the pass as upstream's do. */
  private async patch(pass: Pass): Promise<void> {
    // Like upstream's patch helper: nothing changed, nothing sent.
    if (JSON.stringify(pass.written) === JSON.stringify(pass.status)) return;
    const body = statusPatch(pass.written, pass.status);
    this.noteWrite(pass.key, await this.opts.kube.mergePatch<Obj>(`${pass.path}/status`, { status: body }));
    pass.written = clone(pass.status);
  }

  private async progressPatch(pass: Pass): Promise<void> {
    try {
      await this.patch(pass);
    } catch (e) {
      throw new ReconcileError("generic", Reasons.PatchOperationFailed, `failed to patch status: ${errText(e)}`);
    }
  }

  /** §3.3: Reconciling/Ready progress, written at once for a new generation or a reconcile request. */
  private async preamble(pass: Pass): Promise<void> {
    const st = pass.status;
    const gen = pass.set.generation;
    this.setConditions(pass, (c) => markProgressing(c, "reconciliation in progress", pass.set));
    const observed = st.observedGeneration ?? -1;
    if (observed !== gen) {
      this.setConditions(pass, (c) => markProgressing(c, `processing object: new generation ${observed} -> ${gen}`, pass.set));
      await this.progressPatch(pass);
    } else if ((pass.annotation ?? "") !== (st.lastHandledReconcileAt ?? "")) {
      await this.progressPatch(pass);
    }
  }

  /** §3.4: garbage collection, integrity of the stored file, URL host refresh. */
  private async reconcileStorage(pass: Pass): Promise<void> {
    const store = this.opts.store;
    const st = pass.status;
    const current = st.artifact;
    if (current) {
      const gc = await store.garbageCollect(current).catch(() => undefined);
      if (gc && gc.deleted.length > 0) await this.event(pass, "Trace", Reasons.GarbageCollectionSucceeded, `garbage collected ${gc.deleted.length} artifacts`);
    }
    let disappeared = false;
    if (current) {
      if (!(await store.exists(current))) {
        disappeared = true;
      } else if (!current.digest) {
        throw new ReconcileError("generic", Reasons.Failed, "artifact has no digest");
      } else {
        try {
          await store.verify({ ...current, size: undefined });
        } catch (e) {
          disappeared = true;
          // Gone between the two checks: nothing to remove. Any other failure (altered, unreadable)
          // makes the file untrustworthy, so it is reported and rebuilt like a mismatch.
          const gone = isCoreError(e) && (e.code === "NOT_FOUND" || (e.cause as NodeJS.ErrnoException | undefined)?.code === "ENOENT");
          if (!gone) {
            const why = isCoreError(e) && e.code === "DIGEST_MISMATCH" ? `computed digest doesn't match '${current.digest}'` : errText(e);
            await this.event(pass, "Warning", Reasons.ArtifactVerificationFailed, `failed to verify integrity of artifact: ${why}`);
            try {
              await rm(store.localPath(current), { force: true });
            } catch (re) {
              throw new ReconcileError("generic", Reasons.Failed, `failed to remove artifact after digest mismatch: ${errText(re)}`);
            }
          }
        }
      }
      if (disappeared) {
        st.artifact = undefined;
        st.url = undefined;
      }
    }
    if (!st.artifact) {
      const msg = disappeared ? "building artifact: disappeared from storage" : "building artifact";
      this.setConditions(pass, (c) => removeCondition(markProgressing(c, msg, { ...pass.set, drift: true }), ARTIFACT_IN_STORAGE));
      await this.progressPatch(pass);
      return;
    }
    // The advertised address may have changed since the artifact was stored (upstream rewrites it too).
    st.artifact = { ...st.artifact, url: store.url(st.artifact) };
    if (st.url) st.url = latestURL(store, st.artifact);
  }

  private fetchFailed(pass: Pass, reason: string, message: string, kind: "generic" | "stalling" = "generic"): never {
    const text = redactSecrets(message);
    this.setConditions(pass, (c) => markTrue(c, FETCH_FAILED, reason, text, pass.set));
    throw new ReconcileError(kind, reason, text);
  }

  /** Tag/semver/digest → revision, shared between objects asking the same registry the same question. */
  private async resolve(pass: Pass, access: RegistryAccess, repoName: { registry: string; repository: string }, repo: RegistryRepository, interval: number, signal: AbortSignal): Promise<Resolution> {
    const spec = pass.obj.spec;
    const ref: OCIRepositoryRefSpec = effectiveRef(spec);
    if (ref.digest !== undefined) {
      try {
        checkDigest(ref.digest);
      } catch (e) {
        throw new LookupFailure("digest", errText(e));
      }
      return { digest: ref.digest, revision: ref.digest };
    }
    const helmMediaType = ref.semver !== undefined ? spec.layerSelector?.mediaType : undefined;
    const key = JSON.stringify([access.key, repoName.registry, repoName.repository, ref, helmMediaType ?? null]);
    const fresh = (pass.annotation ?? "") !== (pass.status.lastHandledReconcileAt ?? "");
    // An answer up to one interval old: every object on this (repository, ref) then costs the
    // registry one request per interval in all, however their jittered requeues spread out. An
    // object still sees a moved tag within two intervals, and a reconcile request asks afresh.
    const { value } = await this.lookups.get(key, { ttlMs: interval, fresh }, async () => {
      let tag: string;
      if (ref.semver !== undefined) {
        try {
          const tags = await repo.tags({ signal });
          tag = resolveTag(tags, ref.semver, { filter: ref.semverFilter, layerMediaType: helmMediaType }).tag;
        } catch (e) {
          if (isCoreError(e) && e.code === "NO_MATCHING_VERSION") throw new LookupFailure("tag", `no match found for semver: ${ref.semver}`);
          throw new LookupFailure("tag", errText(e));
        }
      } else {
        tag = ref.tag ?? "latest";
      }
      let desc: Descriptor;
      try {
        desc = await repo.resolve(tag, { signal });
      } catch (e) {
        throw new LookupFailure("digest", errText(e));
      }
      return { tag, digest: desc.digest, revision: `${tag}@${desc.digest}` };
    });
    return value;
  }

  /** Upstream's Trace event when `secretRef` cannot be read (credentials.ts words the condition). */
  private async traceMissingSecret(pass: Pass): Promise<void> {
    const ref = pass.obj.spec.secretRef;
    if (!ref) return;
    const path = `/api/v1/namespaces/${encodeURIComponent(pass.obj.metadata.namespace)}/secrets/${encodeURIComponent(ref.name)}`;
    const found = await this.opts.kube.get(path, pass.signal).then(() => true, () => false);
    if (!found) await this.event(pass, "Trace", Reasons.AuthenticationFailed, `auth secret '${ref.name}' not found`);
  }

  /** §3.5: credentials, URL, revision, verification, skip check, pull. */
  private async reconcileSource(pass: Pass, tmp: string, interval: number): Promise<SourceResult> {
    const { obj, set } = pass;
    const st = pass.status;
    const url = obj.spec.url;
    if (isFalse(st.conditions, SOURCE_VERIFIED)) this.setConditions(pass, (c) => removeCondition(c, SOURCE_VERIFIED));
    const timeoutSpec = obj.spec.timeout ?? "60s";
    const timeoutMs = parseGoDuration(timeoutSpec);
    const timedOutText = (e: unknown, phase: { timedOut: () => boolean }) =>
      phase.timedOut() ? `timed out after ${timeoutSpec} (spec.timeout)` : errText(e);
    // Credentials and look-ups share one budget, verification gets its own; the pull has none, as
    // upstream's (only shutdown aborts it): a large layer on a slow link is not a failure.
    const lookup = phaseSignal(pass.signal, timeoutMs);
    const signal = lookup.signal;

    let access: RegistryAccess;
    try {
      access = await registryAccessFor(this.opts.kube, obj, { signal, env: this.opts.env, log: this.log, objectLevelWorkloadIdentity: this.opts.objectLevelWorkloadIdentity });
    } catch (e) {
      if (pass.signal?.aborted) throw e;
      const msg = lookup.timedOut() ? `failed to get credential: ${timedOutText(e, lookup)}` : errText(e);
      if (msg.startsWith(FEATURE_GATE_MESSAGE)) throw new ReconcileError("stalling", Reasons.FeatureGateDisabled, msg);
      await this.traceMissingSecret(pass);
      this.fetchFailed(pass, Reasons.AuthenticationFailed, msg);
    }
    let repoName: { registry: string; repository: string };
    try {
      repoName = validateRepositoryURL(url);
    } catch (e) {
      this.fetchFailed(pass, Reasons.URLInvalid, `URL validation failed for '${url}': ${errText(e)}`, "stalling");
    }
    const repo = this.registry(access).repository(repoName);

    let resolved: Resolution;
    try {
      resolved = await this.resolve(pass, access, repoName, repo, interval, signal);
    } catch (e) {
      if (pass.signal?.aborted) throw e;
      if (e instanceof LookupFailure && e.stage === "tag") {
        this.fetchFailed(pass, Reasons.ReadOperationFailed, `failed to determine the artifact tag for '${url}': ${timedOutText(e, lookup)}`);
      }
      this.fetchFailed(pass, Reasons.OCIArtifactPullFailed, `failed to determine artifact digest: ${timedOutText(e, lookup)}`);
    }
    const { revision, digest } = resolved;
    const ref = canonicalRef(repoName, resolved.tag !== undefined ? { tag: resolved.tag } : { digest });

    try {
      if (!obj.spec.verify) {
        this.setConditions(pass, (c) => removeCondition(c, SOURCE_VERIFIED));
      } else if (verificationDue({ ...obj, status: st }, revision)) {
        let outcome;
        const verifying = phaseSignal(pass.signal, timeoutMs);
        try {
          outcome = await verifySource({ kube: this.opts.kube, obj, repo, registryOptions: access.options, digest, revision, signal: verifying.signal });
        } catch (e) {
          if (pass.signal?.aborted) throw e;
          const msg = verifying.timedOut() ? `failed to verify the signature using provider '${verifyProviderLabel(obj)}': ${timedOutText(e, verifying)}` : errText(e);
          this.setConditions(pass, (c) => markFalse(c, SOURCE_VERIFIED, Reasons.VerificationError, msg, set));
          throw new ReconcileError("generic", Reasons.VerificationError, msg);
        }
        if (outcome === "verified") {
          this.setConditions(pass, (c) => markTrue(c, SOURCE_VERIFIED, Reasons.Succeeded, `verified signature of revision ${revision}`, set));
        }
      }

      if (st.artifact?.revision === revision && !contentConfigChanged(obj.spec, st)) {
        this.setConditions(pass, (c) => removeCondition(c, FETCH_FAILED));
        return { revision };
      }
      const spec = obj.spec;
      const buildKey = JSON.stringify([access.key, repoName.registry, repoName.repository, digest, spec.layerSelector?.mediaType ?? null, spec.layerSelector?.operation ?? "extract", spec.ignore ?? null]);
      return await this.pull(pass, repo, digest, revision, tmp, pass.signal ?? new AbortController().signal, buildKey);
    } finally {
      // Deferred like upstream: a new revision is announced even when verification or the pull failed.
      if (st.artifact?.revision !== revision) {
        const message = `new revision '${revision}' for '${ref}'`;
        if (st.artifact) this.setConditions(pass, (c) => markTrue(c, ARTIFACT_OUTDATED, Reasons.NewRevision, message, set));
        this.setConditions(pass, (c) => markProgressing(c, `building artifact: ${message}`, { ...set, drift: true }));
        await this.patch(pass).catch((e) => this.log(`${pass.key}: failed to patch: ${errText(e)}`));
      }
    }
  }

  /** §3.5.9: manifest, layer selection, extract or copy into `tmp`. */
  private async pull(pass: Pass, repo: RegistryRepository, digest: string, revision: string, tmp: string, signal: AbortSignal, buildKey: string): Promise<SourceResult> {
    const spec = pass.obj.spec;
    const shared = await this.builds.acquire(buildKey);
    if ("build" in shared) {
      const reused = await this.reuseBuild(buildKey, shared.build, tmp);
      if (reused) {
        this.setConditions(pass, (c) => removeCondition(c, FETCH_FAILED));
        return { revision, metadata: reused.metadata, copyFile: reused.file, buildKey };
      }
      pass.endBuild = this.builds.claim(buildKey);
    } else {
      pass.endBuild = shared.end;
    }
    let fetched: FetchedManifest;
    try {
      fetched = await fetchImageManifest(repo, digest, { signal });
    } catch (e) {
      if (pass.signal?.aborted) throw e;
      if (isCoreError(e) && e.code === "MANIFEST_INVALID") this.fetchFailed(pass, Reasons.OCIArtifactLayerOperationFailed, `failed to parse artifact manifest: ${e.message}`);
      this.fetchFailed(pass, Reasons.OCIArtifactPullFailed, `failed to pull artifact from '${spec.url}': ${errText(e)}`);
    }
    const manifest = fetched.manifest;
    const layers = manifest.layers ?? [];
    if (layers.length === 0) this.fetchFailed(pass, Reasons.OCIArtifactLayerOperationFailed, "no layers found in artifact");
    const mediaType = spec.layerSelector?.mediaType;
    let layer: Descriptor | undefined = layers[0];
    if (mediaType) {
      layer = layers.find((l) => l.mediaType === mediaType);
      if (!layer) this.fetchFailed(pass, Reasons.OCIArtifactLayerOperationFailed, `failed to find layer with media type '${mediaType}' in artifact`);
    }
    const operation = spec.layerSelector?.operation ?? "extract";
    const metadata = manifest.annotations && Object.keys(manifest.annotations).length > 0 ? { ...manifest.annotations } : undefined;
    const openBlob = async (): Promise<AsyncIterable<Uint8Array>> => {
      try {
        return await repo.fetch(layer!, { signal });
      } catch (e) {
        if (pass.signal?.aborted) throw e;
        return this.fetchFailed(pass, Reasons.OCIArtifactLayerOperationFailed, `failed to extract the first layer from artifact: ${errText(e)}`);
      }
    };
    let result: SourceResult;
    switch (operation) {
      case "extract": {
        const blob = await openBlob();
        try {
          // Upstream extracts without a size limit; the entry cap only bounds inode use.
          await extractTarGz(blob, tmp, { maxSize: -1, skipSymlinks: true, signal });
        } catch (e) {
          if (pass.signal?.aborted) throw e;
          this.fetchFailed(pass, Reasons.OCIArtifactLayerOperationFailed, `failed to extract layer contents from artifact: ${errText(e)}`);
        }
        result = { revision, metadata, buildKey };
        break;
      }
      case "copy": {
        const file = join(tmp, `${digest}.tgz`);
        let out;
        try {
          out = createWriteStream(file, { flags: "wx", mode: 0o600 });
          await new Promise<void>((resolve, reject) => {
            out!.once("open", () => resolve());
            out!.once("error", reject);
          });
        } catch (e) {
          this.fetchFailed(pass, Reasons.OCIArtifactLayerOperationFailed, `failed to create file to copy layer to: ${errText(e)}`);
        }
        let blob: AsyncIterable<Uint8Array>;
        try {
          blob = await openBlob();
        } catch (e) {
          out.destroy();
          throw e;
        }
        try {
          await pipeline(Readable.from(blob), out);
        } catch (e) {
          out.destroy();
          if (pass.signal?.aborted) throw e;
          this.fetchFailed(pass, Reasons.OCIArtifactLayerOperationFailed, `failed to copy layer from artifact: ${errText(e)}`);
        }
        result = { revision, metadata, copyFile: file, buildKey };
        break;
      }
      default:
        this.fetchFailed(pass, Reasons.OCIArtifactLayerOperationFailed, `unsupported layer operation: ${String(operation)}`);
    }
    this.setConditions(pass, (c) => removeCondition(c, FETCH_FAILED));
    return result;
  }

  /**
   * A copy in `tmp` of the file another object stored for the same build inputs, checked against the
   * digest it was stored with; undefined when there is none or it is gone or altered (then pull).
   */
  private async reuseBuild(key: string, b: SharedBuild, tmp: string): Promise<{ file: string; metadata?: Record<string, string> } | undefined> {
    const file = join(tmp, "shared-build.tar.gz");
    try {
      // Checked while copied (size unknown: -1), so a file altered since it was stored is never used.
      await pipeline(Readable.from(verifyStream(createReadStream(b.file), { digest: b.digest, size: -1 })), createWriteStream(file));
      return { file, metadata: b.metadata ? { ...b.metadata } : undefined };
    } catch {
      this.builds.forget(key, b.file);
      await rm(file, { force: true }).catch(() => undefined);
      return undefined;
    }
  }

  /** §3.6: store the tarball (or copied blob), record it, point `latest.tar.gz` at it. */
  private async reconcileArtifact(pass: Pass, src: SourceResult, tmp: string): Promise<void> {
    const { obj, set } = pass;
    const st = pass.status;
    const store = this.opts.store;
    const upToDate = () => st.artifact?.revision === src.revision && !contentConfigChanged(obj.spec, st);
    try {
      if (upToDate()) {
        await this.event(pass, "Trace", Reasons.ArtifactUpToDate, `artifact up-to-date with remote revision: '${src.revision}'`);
        return;
      }
      const storageFailed = (reason: string, message: string): never => {
        this.setConditions(pass, (c) => markTrue(c, STORAGE_OPERATION_FAILED, reason, message, set));
        throw new ReconcileError("generic", reason, message);
      };
      const dirStat = await stat(tmp).catch((e: unknown) => storageFailed(Reasons.StatOperationFailed, `failed to stat source path: ${errText(e)}`));
      if (!dirStat.isDirectory()) storageFailed(Reasons.InvalidPath, `source path '${tmp}' is not a directory`);
      let artifact = store.newArtifact(OCIREPOSITORY_KIND, obj.metadata.namespace, obj.metadata.name, artifactFileName(src.revision), src.revision);
      try {
        await mkdir(dirname(store.localPath(artifact)), { recursive: true, mode: 0o700 });
      } catch (e) {
        storageFailed(Reasons.DirectoryCreationFailed, `failed to create artifact directory: ${errText(e)}`);
      }
      if (src.copyFile) {
        try {
          artifact = await store.store(artifact, createReadStream(src.copyFile) as AsyncIterable<Uint8Array>, pass.signal);
        } catch (e) {
          storageFailed(Reasons.ArchiveOperationFailed, `unable to copy artifact to storage: ${errText(e)}`);
        }
      } else {
        try {
          artifact = await store.archiveDir(tmp, artifact, { ignore: obj.spec.ignore, signal: pass.signal });
        } catch (e) {
          storageFailed(Reasons.ArchiveOperationFailed, `unable to archive artifact to storage: ${errText(e)}`);
        }
      }
      const stored: SourceArtifact = src.metadata ? { ...artifact, metadata: src.metadata } : { ...artifact };
      st.artifact = stored;
      if (src.buildKey) this.builds.remember(src.buildKey, { file: store.localPath(stored), digest: stored.digest, metadata: src.metadata ? { ...src.metadata } : undefined });
      st.observedIgnore = obj.spec.ignore;
      st.observedLayerSelector = obj.spec.layerSelector ? { ...obj.spec.layerSelector } : undefined;
      try {
        st.url = await store.symlinkLatest(stored);
      } catch (e) {
        await this.event(pass, "Trace", Reasons.SymlinkUpdateFailed, `failed to update status URL symlink: ${errText(e)}`);
      }
      this.setConditions(pass, (c) => removeCondition(c, STORAGE_OPERATION_FAILED));
    } finally {
      if (upToDate()) {
        this.setConditions(pass, (c) => markTrue(removeCondition(c, ARTIFACT_OUTDATED), ARTIFACT_IN_STORAGE, Reasons.Succeeded, `stored artifact for digest '${src.revision}'`, set));
      }
    }
  }

  /** §3.11: NewArtifact for a new file digest; Succeeded when a failure cleared. */
  private async notify(pass: Pass, oldArtifact: SourceArtifact | undefined, oldConditions: readonly Condition[]): Promise<void> {
    const a = pass.status.artifact;
    if (!a) return;
    const annotations = { [`${SOURCE_GROUP}/revision`]: a.revision, [`${SOURCE_GROUP}/digest`]: a.digest };
    let message = `stored artifact with revision '${a.revision}' from '${pass.obj.spec.url}'`;
    const source = a.metadata?.["org.opencontainers.image.source"];
    const revision = a.metadata?.["org.opencontainers.image.revision"];
    if (source && revision) message += `, origin source '${source}', origin revision '${revision}'`;
    if (oldArtifact?.digest !== a.digest) {
      await this.event(pass, "Normal", Reasons.NewArtifact, message, annotations);
      this.log(`${pass.key}: ${message}`);
      return;
    }
    const failTypes = [FETCH_FAILED, STORAGE_OPERATION_FAILED];
    const before = failTypes.some((t) => findCondition(oldConditions, t) !== undefined);
    const now = failTypes.some((t) => findCondition(pass.status.conditions, t) !== undefined);
    if (before && !now) await this.event(pass, "Normal", Reasons.Succeeded, message, annotations);
  }

  /** §3.8: events, lastHandledReconcileAt, result-dependent conditions, Ready, observedGeneration, final patch. */
  private async finish(pass: Pass, outcome: "success" | "empty", failure: ReconcileError | undefined, interval: number): Promise<WorkResult> {
    const st = pass.status;
    const set = pass.set;
    if (failure) {
      await this.event(pass, "Warning", failure.reason, failure.message);
      this.log(`${pass.key}: ${failure.reason}: ${failure.message}`);
    }
    if (pass.annotation !== undefined) st.lastHandledReconcileAt = pass.annotation;
    let c = st.conditions ?? [];
    if (!failure && outcome === "success") c = removeCondition(c, RECONCILING);
    const reconciling = findCondition(c, RECONCILING);
    if (reconciling) c = markTrue(c, RECONCILING, Reasons.ProgressingWithRetry, reconciling.message, set);
    let thrown: Error | undefined;
    let result: WorkResult = {};
    if (failure?.kind === "stalling") {
      c = markStalled(c, failure.reason, failure.message, set);
      st.observedGeneration = set.generation;
    } else if (failure) {
      c = removeCondition(c, STALLED);
      thrown = failure;
    } else {
      c = removeCondition(c, STALLED);
      if (c.length > 0) st.observedGeneration = set.generation;
      if (outcome === "success" && interval > 0) result = { requeueAfterMs: interval };
    }
    c = summarizeReady(c, set);
    if (!failure && outcome === "success") {
      const ready = findCondition(c, READY);
      if (ready?.status !== "True" && !isTrue(c, STALLED)) thrown = new Error(ready?.message ?? "Ready condition is missing");
    }
    st.conditions = redactConditions(c);
    try {
      await this.patch(pass);
    } catch (e) {
      if (kubeStatusOf(e) !== 404) throw e;
    }
    if (thrown) throw thrown;
    if (!failure && outcome === "success") this.log(`${pass.key}: ready, ${st.artifact?.revision}`);
    return result;
  }

  /** An object the API server should have rejected: stalled until the spec is fixed. */
  private async stallUnparsable(raw: Obj, path: string, involved: InvolvedObject, set: SetOptions, annotation: string | undefined, e: unknown): Promise<WorkResult> {
    const status = clone((raw.status ?? {}) as OCIRepositoryStatus);
    const written = clone(status);
    const obj = { metadata: { ...raw.metadata, name: involved.name, namespace: involved.namespace }, spec: raw.spec ?? {}, status } as OCIRepository;
    const pass: Pass = { key: `${involved.namespace}/${involved.name}`, path, obj, involved, set, status, written, annotation };
    let failure: ReconcileError;
    if (isCoreError(e) && e.code === "REF_INVALID") {
      const msg = `URL validation failed for '${String(raw.spec?.url)}': URL must be in format 'oci://<domain>/<org>/<repo>'`;
      this.setConditions(pass, (c) => markTrue(c, FETCH_FAILED, Reasons.URLInvalid, msg, set));
      failure = new ReconcileError("stalling", Reasons.URLInvalid, msg);
    } else {
      failure = new ReconcileError("stalling", Reasons.ReconciliationFailed, errText(e));
    }
    return this.finish(pass, "empty", failure, 0);
  }

  /** §3.9 deletion: remove the object's files, then release the finalizer. */
  private async reconcileDelete(path: string, md: Obj, involved: InvolvedObject): Promise<WorkResult> {
    const finalizers: string[] = md.finalizers ?? [];
    if (!finalizers.includes(SOURCE_FINALIZER)) return {};
    const pass = { involved };
    let removed: boolean;
    try {
      removed = await this.opts.store.removeAll(OCIREPOSITORY_KIND, involved.namespace, involved.name);
    } catch (e) {
      const msg = `garbage collection for deleted resource failed: ${errText(e).replace(/^garbage collection for deleted resource failed: /, "")}`;
      await this.event(pass, "Warning", Reasons.GarbageCollectionFailed, msg);
      throw new Error(msg);
    }
    if (removed) await this.event(pass, "Trace", Reasons.GarbageCollectionSucceeded, "garbage collected artifacts for deleted resource");
    let resourceVersion = md.resourceVersion;
    try {
      const after = await this.opts.kube.mergePatch<Obj>(`${path}/status`, { status: { artifact: null } });
      resourceVersion = after.metadata?.resourceVersion ?? resourceVersion;
    } catch (e) {
      if (kubeStatusOf(e) === 404) return {};
    }
    try {
      await this.opts.kube.mergePatch(path, { metadata: { finalizers: finalizers.filter((f) => f !== SOURCE_FINALIZER), resourceVersion } });
    } catch (e) {
      if (kubeStatusOf(e) !== 404) throw e;
    }
    this.writtenRV.delete(`${involved.namespace}/${involved.name}`);
    this.log(`${involved.namespace}/${involved.name}: deleted artifacts and removed finalizer`);
    return {};
  }
}

/** `status.url`: the object's `latest.tar.gz` under the advertised address (always `http://`, as upstream). */
function latestURL(store: ArtifactStore, artifact: { path: string }): string {
  const rel = artifact.path.slice(0, artifact.path.lastIndexOf("/") + 1) + LATEST_LINK;
  return `http://${store.advertisedAddress.replace(/^https?:\/\//, "").replace(/\/+$/, "")}/${rel}`;
}
