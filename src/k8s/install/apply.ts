/**
 * Applies install manifests the way `kubectl apply --server-side --force-conflicts` does: one
 * `PATCH application/apply-patch+yaml` per object under berth's field manager, so re-running
 * `berth install` is idempotent and an upgrade takes over the fields berth owns.
 */
import { fail } from "../../core/index.ts";
import { kubeStatusOf, type KubeClient } from "../client/kube.ts";
import { describeObject, objectPath, type KubeObject } from "./manifests.ts";

/** Options of {@link applyObjects}. */
export interface ApplyOptions {
  /** Server-side apply field manager. Default "berth". */
  fieldManager?: string;
  /** Take over fields another manager owns (`force=true`). Default true. */
  force?: boolean;
  /** Validate and default on the server without persisting (`dryRun=All`). Default false. */
  dryRun?: boolean;
  /** Called after each object is applied, with the object the server returned. Default none. */
  onApplied?: (obj: KubeObject, live: KubeObject) => void;
  signal?: AbortSignal;
}

/** Defaults of {@link ApplyOptions}. */
export const DEFAULT_APPLY_OPTIONS = { fieldManager: "berth", force: true, dryRun: false } as const;

/**
 * Applies `objects` in order and resolves to what the server returned for each. Unknown or
 * duplicated fields are rejected (`fieldValidation=Strict`), so a typo in a manifest fails the
 * install instead of being dropped silently. Stops at the first failure, naming the object.
 */
export async function applyObjects(client: KubeClient, objects: readonly KubeObject[], options: ApplyOptions = {}): Promise<KubeObject[]> {
  const q = new URLSearchParams({
    fieldManager: options.fieldManager ?? DEFAULT_APPLY_OPTIONS.fieldManager,
    fieldValidation: "Strict",
  });
  if (options.force ?? DEFAULT_APPLY_OPTIONS.force) q.set("force", "true");
  if (options.dryRun ?? DEFAULT_APPLY_OPTIONS.dryRun) q.set("dryRun", "All");
  const out: KubeObject[] = [];
  for (const obj of objects) {
    let live: KubeObject;
    try {
      live = await client.json<KubeObject>("PATCH", `${objectPath(obj)}?${q}`, {
        body: obj,
        contentType: "application/apply-patch+yaml",
        signal: options.signal,
      });
    } catch (e) {
      const err = e as Error;
      err.message = `apply ${describeObject(obj)}: ${err.message}`;
      throw err;
    }
    out.push(live);
    options.onApplied?.(obj, live);
  }
  return out;
}

/** Options of {@link waitForCRD}. */
export interface WaitOptions {
  /** Give up after this many ms. Default 60_000. */
  timeoutMs?: number;
  /** Delay between polls in ms. Default 250. */
  intervalMs?: number;
  signal?: AbortSignal;
}

/** Defaults of {@link WaitOptions}. */
export const DEFAULT_WAIT_OPTIONS = { timeoutMs: 60_000, intervalMs: 250 } as const;

interface CRDStatus {
  spec: { group: string; names: { plural: string }; versions: { name: string; served: boolean }[] };
  status?: { conditions?: { type: string; status: string; reason?: string; message?: string }[] };
}

/** Statuses a list answers with while a new resource's storage or discovery is still being set up. */
const NOT_YET_SERVED = new Set([404, 429, 503]);

/**
 * Polls the CustomResourceDefinition `name` until its `Established` condition is True and a list of
 * each served version answers (right after Established the API server may still say 429 "storage is
 * (re)initializing", so a `kubectl apply` of an OCIRepository straight after install could fail).
 * Throws REGISTRY_UNAVAILABLE with the last state seen on timeout, CANCELLED on abort.
 */
export async function waitForCRD(client: KubeClient, name: string, options: WaitOptions = {}): Promise<void> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_WAIT_OPTIONS.timeoutMs;
  const intervalMs = options.intervalMs ?? DEFAULT_WAIT_OPTIONS.intervalMs;
  const deadline = Date.now() + timeoutMs;
  const path = `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${encodeURIComponent(name)}`;
  for (;;) {
    const crd = await client.get<CRDStatus>(path, options.signal);
    const conds = crd.status?.conditions ?? [];
    let why: string | undefined = conds.map((c) => `${c.type}=${c.status}${c.message ? ` (${c.message})` : ""}`).join(", ") || "no conditions yet";
    if (conds.some((c) => c.type === "Established" && c.status === "True")) {
      why = await notServed(client, crd, options.signal);
      if (why === undefined) return;
    }
    if (Date.now() >= deadline) {
      fail("REGISTRY_UNAVAILABLE", `CustomResourceDefinition ${name} not established after ${timeoutMs / 1000}s: ${why}`, {
        hint: "check the API server's health, or look at the CRD with kubectl describe crd",
      });
    }
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(resolve, intervalMs);
      options.signal?.addEventListener(
        "abort",
        () => {
          clearTimeout(t);
          reject(options.signal!.reason);
        },
        { once: true },
      );
    }).catch((e: unknown) => fail("CANCELLED", `waiting for CustomResourceDefinition ${name}: cancelled`, undefined, e));
  }
}

/** Why some served version of `crd` does not list yet, or undefined when all do. */
async function notServed(client: KubeClient, crd: CRDStatus, signal: AbortSignal | undefined): Promise<string | undefined> {
  for (const v of crd.spec.versions.filter((x) => x.served)) {
    const path = `/apis/${crd.spec.group}/${v.name}/${crd.spec.names.plural}?limit=1`;
    try {
      await client.get(path, signal);
    } catch (e) {
      const status = kubeStatusOf(e);
      if (status !== undefined && NOT_YET_SERVED.has(status)) return `${v.name} not served yet (HTTP ${status})`;
      throw e;
    }
  }
  return undefined;
}
