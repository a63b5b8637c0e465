import { fail } from "../../core/errors.ts";
import { KubeClient, loadKubeConnection } from "../../k8s/client/kube.ts";
import { digestOfRevision, waitForRevision, type WaitResult, type WaitTarget, type WaitUpdate } from "../../k8s/wait/wait.ts";
import { EXIT_CODES, EXIT_RECONCILE_FAILED, EXIT_TIMEOUT } from "../exit-codes.ts";
import { Logger, parseFormat, printResult, type Streams } from "../output.ts";
import { parseGoDuration } from "../../core/duration.ts";

/** Flags every command that talks to the cluster accepts. */
export interface KubeFlags {
  kubeconfig?: string;
  context?: string;
  namespace?: string;
}

export interface WaitFlags extends KubeFlags {
  forRevision?: string;
  timeout?: string;
  output?: string;
  quiet?: boolean;
}

const KINDS = new Set(["ocirepository", "ocirepositories", "ocirepo"]);

/**
 * Parses `ocirepository/<ns>/<name>` or `ocirepository/<name>`; the namespace then comes from `-n`,
 * else the kubeconfig context, else `default`. A namespace in both places must agree.
 */
export function parseObjectArg(arg: string | undefined, namespaceFlag: string | undefined, contextNamespace: string | undefined): WaitTarget {
  if (!arg) fail("USAGE", "an object is required: ocirepository/<namespace>/<name>");
  const parts = arg.split("/");
  const kind = parts[0]!.toLowerCase().replace(/\.source\.toolkit\.fluxcd\.io$/, "");
  if (!KINDS.has(kind) || parts.length < 2 || parts.length > 3 || parts.some((p) => p === "")) {
    fail("USAGE", `invalid object "${arg}": use ocirepository/<namespace>/<name> or ocirepository/<name> with -n`);
  }
  const name = parts.at(-1)!;
  const inArg = parts.length === 3 ? parts[1] : undefined;
  if (inArg && namespaceFlag && inArg !== namespaceFlag) fail("USAGE", `namespace ${inArg} in "${arg}" contradicts -n ${namespaceFlag}`);
  return { namespace: inArg ?? namespaceFlag ?? contextNamespace ?? "default", name };
}

/** The kube client for `--kubeconfig`/`--context` (else $KUBECONFIG, ~/.kube/config, in-cluster). */
export async function connectKube(f: KubeFlags, env: NodeJS.ProcessEnv): Promise<KubeClient> {
  return new KubeClient(await loadKubeConnection({ path: f.kubeconfig, env, context: f.context }));
}

/** Parses `--timeout` for a wait: a positive Go duration. */
export function parseWaitTimeout(v: string | undefined): number {
  const ms = parseGoDuration(v ?? "5m");
  if (ms <= 0) fail("USAGE", `--timeout must be positive, got ${v}`);
  return ms;
}

/** Exit code of a wait outcome: 0 ready, 4 not found, 9 timeout, 7 verification failed, 10 other failures. */
export function exitCodeForWait(r: WaitResult): number {
  switch (r.status) {
    case "ready":
      return 0;
    case "not-found":
      return EXIT_CODES.NOT_FOUND;
    case "timeout":
      return EXIT_TIMEOUT;
    case "failed":
      return r.reason === "VerificationError" ? EXIT_CODES.VERIFY_FAILED : EXIT_RECONCILE_FAILED;
    default:
      return r.status satisfies never;
  }
}

/** Which outcome is worse, for commands that wait on several objects: failed > timeout > not-found > ready. */
export function worseWait(a: WaitResult, b: WaitResult): WaitResult {
  const rank = { ready: 0, "not-found": 1, timeout: 2, failed: 3 } as const;
  return rank[b.status] > rank[a.status] ? b : a;
}

export const objectName = (t: WaitTarget) => `ocirepository/${t.namespace}/${t.name}`;

/** A progress line for each change of the object, indented under the ► line. */
export function updateLine(u: WaitUpdate): string {
  const ready = u.ready ? `Ready=${u.ready}${u.reason ? ` ${u.reason}` : ""}${u.message ? `: ${u.message}` : ""}` : "not reconciled yet";
  return `  ${u.suspended ? "suspended; " : ""}${ready}${u.revision ? ` (revision ${u.revision})` : ""}`;
}

/** The final ✔/✗ line of a wait. */
export function reportWait(log: Logger, t: WaitTarget, r: WaitResult, want: string, timeout: string): void {
  const name = objectName(t);
  const why = [r.reason, r.message].filter(Boolean).join(": ");
  switch (r.status) {
    case "ready":
      log.success(`${name} reports revision ${r.revision}`);
      return;
    case "not-found":
      log.failure(r.message ?? `${name} not found`);
      return;
    case "timeout":
      log.failure(`timed out after ${timeout} waiting for ${name} to ${want ? `report ${want}` : "be Ready"}; it reports ${r.revision ?? "no artifact"}${why ? ` (${why})` : ""}`);
      return;
    case "failed":
      log.failure(`${name} failed${why ? `: ${why}` : ""}`);
      return;
    default:
      r.status satisfies never;
  }
}

/** The `-o json|yaml` shape of one wait. */
export function waitJSON(t: WaitTarget, r: WaitResult, want: string) {
  return { kind: "OCIRepository", namespace: t.namespace, name: t.name, want, status: r.status, revision: r.revision ?? null, reason: r.reason ?? null, message: r.message ?? null };
}

/**
 * `berth wait ocirepository/<ns>/<name> [--for-revision <digest|revision>]`: follows the object until
 * it serves that revision, or any revision without the flag (Ready=True for its current generation). Exit 0 ready, 4 not found,
 * 9 timeout, 7 signature verification failed, 10 stalled.
 */
export async function run(arg: string | undefined, f: WaitFlags, s: Streams, env: NodeJS.ProcessEnv): Promise<number> {
  const format = parseFormat(f.output);
  // Without --for-revision: any revision, once Ready=True for the current generation.
  const want = f.forRevision ?? "";
  if (f.forRevision === "") fail("USAGE", "--for-revision needs a value: a digest (sha256:…) or a full revision (<tag>@sha256:…)");
  if (want.startsWith("sha256:") && digestOfRevision(want) !== want) fail("USAGE", `--for-revision ${want} is not a sha256 digest (sha256: and 64 lower-case hex digits)`);
  const timeoutMs = parseWaitTimeout(f.timeout);
  const kube = await connectKube(f, env);
  try {
    const target = parseObjectArg(arg, f.namespace, kube.conn.namespace);
    const log = new Logger(s, f.quiet || format !== "human");
    log.action(want ? `waiting for ${objectName(target)} to report revision ${want}` : `waiting for ${objectName(target)} to be Ready`);
    const r = await waitForRevision(kube, target, want, { timeoutMs, signal: s.signal, onUpdate: format === "human" && !f.quiet ? (u) => log.raw(updateLine(u)) : undefined });
    if (format === "human") reportWait(log, target, r, want, f.timeout ?? "5m");
    else await printResult(s, format, waitJSON(target, r, want));
    return exitCodeForWait(r);
  } finally {
    await kube.close();
  }
}
