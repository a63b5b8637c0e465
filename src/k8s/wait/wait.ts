/**
 * Waiting for OCIRepositories: until one reports a wanted revision (`berth wait --for-revision`,
 * `berth promote --wait`) or has handled a reconcile request (`berth reconcile --wait`), and finding
 * the OCIRepositories that track a repository tag. One object is followed with list + watch on a
 * `metadata.name` field selector, so the wait reacts to the status patch that settles it.
 */
import { CoreError, fail, parseArtifactURL, pause, repositoryName, resolveTag } from "../../core/index.ts";
import { KubeClient, kubeStatusOf } from "../client/kube.ts";
import { effectiveRef, parseOCIRepository, OCIREPOSITORY_GVR, RECONCILE_REQUEST_ANNOTATION, type OCIRepositoryRefSpec } from "../api/ocirepository.ts";
import { READY, SOURCE_VERIFIED, STALLED } from "../api/reasons.ts";

type Obj = Record<string, any>;

/** How a wait ended. */
export type WaitStatus = "ready" | "failed" | "timeout" | "not-found";

/** The outcome of a wait: the last revision and Ready reason/message seen, for the report. */
export interface WaitResult {
  status: WaitStatus;
  /** `status.artifact.revision` when the wait ended. */
  revision?: string;
  /** Ready's reason (or the failing condition's, for `failed`). */
  reason?: string;
  message?: string;
}

/** What the object looks like now; delivered whenever it changes, for progress lines. */
export interface WaitUpdate {
  revision?: string;
  /** Ready's status; undefined before the controller first wrote it. */
  ready?: "True" | "False" | "Unknown";
  reason?: string;
  message?: string;
  generation?: number;
  observedGeneration?: number;
  /** `spec.suspend`: the controller will not act until it is resumed. */
  suspended: boolean;
}

/** The object to follow. */
export interface WaitTarget {
  namespace: string;
  name: string;
}

/** Options of the wait functions. */
export interface WaitOptions {
  /** Give up (status `timeout`) after this long, in ms. Required; must be positive. */
  timeoutMs: number;
  /** Aborting it ends the wait with a CANCELLED error (^C), not a `timeout`. */
  signal?: AbortSignal;
  /** Called with each distinct state of the object. Default: none. */
  onUpdate?: (s: WaitUpdate) => void;
  /**
   * `waitForRevision`: a SourceVerified=False that turned False at or after this time counts as the
   * wanted digest's failure. Default: when the wait starts; a promotion passes the moment the tag moved.
   */
  since?: Date;
}

/** `sha256:<64 hex>`. */
const DIGEST = /^sha256:[a-f0-9]{64}$/;

/**
 * Whether an artifact revision is the wanted one. A bare digest `sha256:…` matches a revision
 * `<tag>@sha256:…` or `sha256:…` (and the pre-Flux-2.0 `<tag>/<hex>` form); anything else must be
 * equal to the revision.
 */
export function revisionMatches(revision: string | undefined, want: string): boolean {
  if (!revision) return false;
  // "" is "any revision": waiting for Ready, as `kubectl wait --for=condition=Ready` does.
  if (revision === want || want === "") return true;
  if (!DIGEST.test(want)) return false;
  return revision.endsWith(`@${want}`) || revision.endsWith(`/${want.slice("sha256:".length)}`);
}

/** The digest a `--for-revision` value names: itself, or the part after `@`; undefined for other revisions. */
export function digestOfRevision(want: string): string | undefined {
  const d = want.slice(want.lastIndexOf("@") + 1);
  return DIGEST.test(d) ? d : undefined;
}

const condition = (o: Obj, type: string): Obj | undefined => (o.status?.conditions ?? []).find((c: Obj) => c?.type === type);

/** The progress view of an object. */
export function toWaitUpdate(o: Obj): WaitUpdate {
  const ready = condition(o, READY);
  return {
    revision: o.status?.artifact?.revision,
    ready: ready?.status,
    reason: ready?.reason,
    message: ready?.message,
    generation: o.metadata?.generation,
    observedGeneration: o.status?.observedGeneration,
    suspended: o.spec?.suspend === true,
  };
}

/** The settled part of a predicate's answer: undefined = keep waiting. */
type Verdict = Omit<WaitResult, "status"> & { status: "ready" | "failed" };

/**
 * Decides whether `o` has settled for `--for-revision want`:
 * ready when the artifact revision matches and Ready=True for the current generation; failed when the
 * current generation is Stalled, or when SourceVerified=False names the wanted digest or turned False
 * after `since` (a failed verify keeps the old artifact, so waiting longer cannot help); undefined otherwise.
 */
export function evaluateRevision(o: Obj, want: string, since: Date): Verdict | undefined {
  const u = toWaitUpdate(o);
  const current = u.generation === undefined || u.observedGeneration === u.generation;
  if (current && u.ready === "True" && revisionMatches(u.revision, want)) {
    return { status: "ready", revision: u.revision, reason: u.reason, message: u.message };
  }
  const terminal = terminalFailure(o, current);
  if (terminal) return { ...terminal, revision: u.revision };
  const sv = condition(o, SOURCE_VERIFIED);
  if (sv?.status === "False") {
    const digest = digestOfRevision(want);
    const named = digest !== undefined && String(sv.message ?? "").includes(digest.slice("sha256:".length));
    const fresh = typeof sv.lastTransitionTime === "string" && Date.parse(sv.lastTransitionTime) >= Math.floor(since.getTime() / 1000) * 1000;
    if (named || fresh) return { status: "failed", revision: u.revision, reason: sv.reason, message: sv.message };
  }
  return undefined;
}

function terminalFailure(o: Obj, current: boolean): Omit<Verdict, "revision"> | undefined {
  const stalled = condition(o, STALLED);
  if (current && stalled?.status === "True") return { status: "failed", reason: stalled.reason, message: stalled.message };
  return undefined;
}

/**
 * Decides whether `o` has handled the reconcile request `requestedAt` (as `flux reconcile` waits):
 * ready when `status.lastHandledReconcileAt` equals it and Ready=True for the current generation;
 * failed when it was handled and Ready=False, or the current generation is Stalled.
 */
export function evaluateReconcile(o: Obj, requestedAt: string): Verdict | undefined {
  const u = toWaitUpdate(o);
  const current = u.generation === undefined || u.observedGeneration === u.generation;
  const handled = o.status?.lastHandledReconcileAt === requestedAt;
  if (handled && current && u.ready === "True") return { status: "ready", revision: u.revision, reason: u.reason, message: u.message };
  if (handled && current && u.ready === "False") return { status: "failed", revision: u.revision, reason: u.reason, message: u.message };
  const terminal = terminalFailure(o, current);
  return terminal ? { ...terminal, revision: u.revision } : undefined;
}

/** `/apis/source.toolkit.fluxcd.io/v1[/namespaces/<ns>]/ocirepositories`. */
export function ocirepositoriesPath(namespace?: string): string {
  const g = OCIREPOSITORY_GVR;
  return `/apis/${g.group}/${g.version}${namespace ? `/namespaces/${encodeURIComponent(namespace)}` : ""}/${g.resource}`;
}

/**
 * Follows one OCIRepository until it reports revision `want` (see {@link evaluateRevision}), fails,
 * disappears (`not-found`, also when it does not exist at the start) or `timeoutMs` passes.
 * API errors other than a dropped watch are thrown as CoreErrors (AUTH_FAILED for RBAC denials).
 */
export function waitForRevision(kube: KubeClient, target: WaitTarget, want: string, opts: WaitOptions): Promise<WaitResult> {
  const since = opts.since ?? new Date();
  return waitFor(kube, target, (o) => evaluateRevision(o, want, since), opts);
}

/**
 * Sets `reconcile.fluxcd.io/requestedAt` on an OCIRepository (what `flux reconcile source oci` does);
 * resolves to the value written, for {@link waitForReconcile}. NOT_FOUND when the object is missing.
 */
export async function requestReconcile(kube: KubeClient, target: WaitTarget, opts: { now?: Date; signal?: AbortSignal } = {}): Promise<string> {
  const requestedAt = (opts.now ?? new Date()).toISOString();
  await kube.mergePatch(`${ocirepositoriesPath(target.namespace)}/${encodeURIComponent(target.name)}`, { metadata: { annotations: { [RECONCILE_REQUEST_ANNOTATION]: requestedAt } } }, opts.signal);
  return requestedAt;
}

/** Follows one OCIRepository until it has handled the reconcile request `requestedAt` (see {@link evaluateReconcile}). */
export function waitForReconcile(kube: KubeClient, target: WaitTarget, requestedAt: string, opts: WaitOptions): Promise<WaitResult> {
  return waitFor(kube, target, (o) => evaluateReconcile(o, requestedAt), opts);
}

async function waitFor(kube: KubeClient, target: WaitTarget, decide: (o: Obj) => Verdict | undefined, opts: WaitOptions): Promise<WaitResult> {
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(), Math.max(0, opts.timeoutMs));
  const onAbort = () => ac.abort();
  opts.signal?.addEventListener("abort", onAbort, { once: true });
  const base = `${ocirepositoriesPath(target.namespace)}?fieldSelector=${encodeURIComponent(`metadata.name=${target.name}`)}`;
  let last: Obj | undefined;
  let lastKey = "";
  const see = (o: Obj): Verdict | undefined => {
    last = o;
    const u = toWaitUpdate(o);
    const key = JSON.stringify(u);
    if (key !== lastKey) {
      lastKey = key;
      opts.onUpdate?.(u);
    }
    return decide(o);
  };
  const timedOut = (): WaitResult => {
    const u = last ? toWaitUpdate(last) : undefined;
    return { status: "timeout", revision: u?.revision, reason: u?.reason, message: u?.message };
  };
  try {
    let rv: string | undefined;
    let failures = 0;
    for (;;) {
      if (opts.signal?.aborted) throw new CoreError({ code: "CANCELLED", message: `wait for ocirepository/${target.namespace}/${target.name}: cancelled` });
      if (ac.signal.aborted) return timedOut();
      try {
        if (rv === undefined) {
          const list = await listOrMissing(kube, base, ac.signal);
          if (list === undefined) return { status: "not-found", message: `the OCIRepository API (${OCIREPOSITORY_GVR.group}/${OCIREPOSITORY_GVR.version}) is not served by this cluster` };
          const o = list.items[0];
          if (!o) return { status: "not-found", message: `ocirepository/${target.namespace}/${target.name} not found` };
          const v = see(o);
          if (v) return v;
          rv = list.metadata.resourceVersion;
        }
        for await (const ev of kube.watch(base, rv!, ac.signal, 60)) {
          const o = ev.object as Obj;
          if (typeof o.metadata?.resourceVersion === "string") rv = o.metadata.resourceVersion;
          if (ev.type === "DELETED") return { status: "not-found", revision: toWaitUpdate(o).revision, message: `ocirepository/${target.namespace}/${target.name} was deleted` };
          if (ev.type === "ADDED" || ev.type === "MODIFIED") {
            const v = see(o);
            if (v) return v;
          }
          failures = 0;
        }
      } catch (e) {
        if (ac.signal.aborted) continue;
        if (kubeStatusOf(e) === 410) {
          rv = undefined;
          continue;
        }
        // A dropped connection or an overloaded API server is retried until the deadline; a refusal is final.
        if (!(e instanceof CoreError) || e.code !== "REGISTRY_UNAVAILABLE") throw e;
        rv = undefined;
        await pause(Math.min(5000, 250 * 2 ** failures++), ac.signal);
      }
    }
  } finally {
    clearTimeout(timer);
    opts.signal?.removeEventListener("abort", onAbort);
  }
}

/** Lists a collection; undefined when the collection itself is unknown (CRD not installed). */
async function listOrMissing(kube: KubeClient, path: string, signal: AbortSignal): Promise<{ metadata: { resourceVersion: string }; items: Obj[] } | undefined> {
  try {
    return await kube.get(path, signal);
  } catch (e) {
    if (kubeStatusOf(e) === 404) return undefined;
    throw e;
  }
}

/** An OCIRepository that follows a repository tag. */
export interface TrackingOCIRepository {
  namespace: string;
  name: string;
  /** Its effective `spec.ref` (a `tag`, or a `semver` range the tag satisfies). */
  ref: OCIRepositoryRefSpec;
}

/** `oci://registry/repository`, normalised (Docker Hub names, no tag or trailing slash); undefined if unparsable. */
function normaliseRepoURL(url: string): string | undefined {
  try {
    const r = parseArtifactURL(url.replace(/\/+$/, ""));
    return r.kind === "registry" ? `oci://${repositoryName(r)}` : undefined;
  } catch {
    return undefined;
  }
}

/**
 * OCIRepositories (in `namespace`, default all namespaces) whose `spec.url` is the repository of `url`
 * and whose effective ref is `tag`, or a semver range (with its `semverFilter`) that `tag` satisfies.
 * A semver tracker only moves to `tag` when it is the highest match, so waiting on one may time out.
 * Objects pinned to a digest never track a tag and are left out; invalid objects are skipped.
 */
export async function findTrackingOCIRepositories(
  kube: KubeClient,
  url: string,
  tag: string,
  opts: { namespace?: string; signal?: AbortSignal } = {},
): Promise<TrackingOCIRepository[]> {
  const want = normaliseRepoURL(url);
  if (want === undefined) fail("REF_INVALID", `${url} is not an oci://<registry>/<repository> URL`, { ref: url });
  const list = await listOrMissing(kube, ocirepositoriesPath(opts.namespace), opts.signal ?? new AbortController().signal);
  const out: TrackingOCIRepository[] = [];
  for (const raw of list?.items ?? []) {
    let o;
    try {
      o = parseOCIRepository(raw);
    } catch {
      continue;
    }
    if (normaliseRepoURL(o.spec.url) !== want) continue;
    const ref = effectiveRef(o.spec);
    if (ref.tag !== undefined ? ref.tag === tag : ref.semver !== undefined && semverAccepts(tag, ref.semver, ref.semverFilter)) {
      out.push({ namespace: o.metadata.namespace, name: o.metadata.name, ref });
    }
  }
  return out.sort((a, b) => a.namespace.localeCompare(b.namespace) || a.name.localeCompare(b.name));
}

function semverAccepts(tag: string, range: string, filter: string | undefined): boolean {
  try {
    resolveTag([tag], range, { filter });
    return true;
  } catch {
    return false;
  }
}
