import { createInterface } from "node:readline/promises";
import { fail, isCoreError } from "../../core/errors.ts";
import { planPromote, promoteArtifact, type PromotePlan, type PromoteResult } from "../../core/artifact/promote.ts";
import { renderTreeDiff, summaryLine } from "../../core/diff/index.ts";
import { displayRef, formatRef, repositoryName, type ArtifactRef } from "../../core/oci/ref.ts";
import type { KeyObject } from "node:crypto";
import { loadPublicKey } from "../../core/sign/keys.ts";
import type { KubeClient } from "../../k8s/client/kube.ts";
import { findTrackingOCIRepositories, requestReconcile, waitForRevision, type WaitResult } from "../../k8s/wait/wait.ts";
import { parseGoDuration } from "../../core/duration.ts";
import { createServices, parseURLArg, type RegistryFlags } from "../services.ts";
import { Logger, parseFormat, printResult, type OutputFormat, type Streams } from "../output.ts";
import { readKeyFile } from "../signing.ts";
import { connectKube, exitCodeForWait, objectName, reportWait, updateLine, waitJSON, worseWait, type KubeFlags } from "./wait.ts";

export interface PromoteFlags extends RegistryFlags, KubeFlags {
  to?: string;
  verifyKey?: string[];
  yes?: boolean;
  wait?: boolean;
  reconcile?: boolean;
  color?: boolean;
  output?: string;
  quiet?: boolean;
}

function sameRepository(a: ArtifactRef, b: ArtifactRef): boolean {
  if (a.kind === "registry" && b.kind === "registry") return a.registry === b.registry && a.repository === b.repository;
  return a.kind === "layout" && b.kind === "layout" && a.path === b.path;
}

/** The destination: a second URL naming a tag, or `--to <tag>` in the source's repository. */
function destinationOf(from: ArtifactRef, toArg: string | undefined, toTag: string | undefined): ArtifactRef & { tag: string } {
  if (toArg && toTag) fail("USAGE", "give either a target URL or --to <tag>, not both");
  if (!toArg && !toTag) fail("USAGE", "a target is required: a second URL (oci://repo:tag) or --to <tag>");
  const to = toArg ? parseURLArg(toArg, "target URL is required") : parseURLArg(formatRef(from, { tag: toTag }), "target tag is required");
  if (to.digest || !to.tag) fail("USAGE", `the target ${toArg ?? toTag} must name a tag (a digest cannot be moved)`);
  return to as ArtifactRef & { tag: string };
}

async function confirm(s: Streams, question: string): Promise<boolean> {
  const rl = createInterface({ input: process.stdin, output: s.err });
  try {
    const answer = await rl.question(question, { signal: s.signal });
    return /^y(es)?$/i.test(answer.trim());
  } finally {
    rl.close();
  }
}

function describeChanges(plan: PromotePlan, log: Logger, s: Streams, color: boolean): void {
  if (!plan.target.descriptor) {
    log.raw(`  ${plan.target.label} is a new tag`);
    return;
  }
  if (plan.upToDate) return;
  log.raw(`  ${plan.target.label} now points at ${plan.target.descriptor.digest}`);
  if (plan.diffError) log.warning(`cannot compare the contents: ${plan.diffError}`);
  else if (plan.diff?.equal) log.raw("  the content layers are identical; only the manifests (annotations) differ");
  else if (plan.diff?.changes?.equal) log.raw("  the files are identical; the archives differ only in file modes, entry layout or compression");
  else if (plan.diff?.changes) s.err.write(renderTreeDiff(plan.diff.changes, { color, patch: false }));
}

function signaturesLine(r: PromoteResult): string | undefined {
  const parts = [...r.legacyTags.map((t) => `${t.tag} ${t.outcome}`), ...(r.referrers.length ? [`${r.referrers.length} referrer${r.referrers.length === 1 ? "" : "s"} (bundles, attestations)`] : [])];
  return parts.length ? `signatures: ${parts.join(", ")}` : undefined;
}

/**
 * `berth promote oci://repo:from oci://repo2:to` or `berth promote oci://repo:from --to <tag>`: shows
 * what the target tag will change, asks (or takes `--yes`), copies by digest with signatures, and with
 * `--wait` follows every OCIRepository tracking the target tag until it serves the new digest.
 * Exit 0 done; wait failures exit as `berth wait` does (the worst outcome wins).
 */
export async function run(fromArg: string | undefined, toArg: string | undefined, f: PromoteFlags, s: Streams, env: NodeJS.ProcessEnv): Promise<number> {
  const start = Date.now();
  const format = parseFormat(f.output);
  const from = parseURLArg(fromArg, "source artifact URL is required");
  const to = destinationOf(from, toArg, f.to);
  if (f.wait && to.kind !== "registry") fail("USAGE", "--wait needs a registry target: OCIRepositories do not read oci-layout directories");
  const timeoutMs = parseGoDuration(f.timeout ?? "5m");
  const keys = (f.verifyKey ?? []).map((k) => loadPublicKey(readKeyFile(k)));
  const same = sameRepository(from, to);
  const log = new Logger(s, f.quiet || format !== "human");
  // Connect first: a missing kubeconfig should fail before anything is written.
  const kube = f.wait ? await connectKube(f, env) : undefined;
  try {
    return await promoteAndWait(from, to, f, s, env, { start, timeoutMs, keys, same, log, format, kube });
  } finally {
    await kube?.close();
  }
}

async function promoteAndWait(
  from: ArtifactRef,
  to: ArtifactRef & { tag: string },
  f: PromoteFlags,
  s: Streams,
  env: NodeJS.ProcessEnv,
  c: { start: number; timeoutMs: number; keys: KeyObject[]; same: boolean; log: Logger; format: OutputFormat; kube?: KubeClient },
): Promise<number> {
  const { start, timeoutMs, keys, same, log, format, kube } = c;
  const services = createServices(f, env, undefined, s.signal);
  let plan: PromotePlan;
  let result: PromoteResult | undefined;
  let movedAt = new Date();
  try {
    const src = await services.open(from);
    const dst = same ? src : await services.open(to);
    log.action(`resolving ${displayRef(from)}`);
    plan = await planPromote(
      { target: src, reference: from.digest ?? from.tag ?? "latest", label: displayRef(from) },
      { target: dst, reference: to.tag, label: displayRef(to) },
      { signal: services.signal, ...(keys.length ? { verify: { keys } } : {}) },
    );
    const digest = plan.source.descriptor.digest;
    log.success(`${displayRef(from)} is ${digest}`);
    if (plan.verified) log.success(`signature verified (${plan.verified.verified.map((v) => `${v.format} from ${v.source}`).join(", ")})`);
    if (format === "human" && !f.quiet) describeChanges(plan, log, s, f.color ?? (Boolean(s.err.isTTY) && !env.NO_COLOR));
    if (plan.upToDate) {
      log.success(`${displayRef(to)} already points at ${digest}`);
    } else if (!f.yes) {
      if (!process.stdin.isTTY || !s.err.isTTY) {
        fail("USAGE", `not promoting: ${displayRef(to)} would change and there is no terminal to confirm on`, { hint: "re-run with --yes to promote without asking" });
      }
      if (!(await confirm(s, `promote ${digest} to ${displayRef(to)}? [y/N] `))) fail("CANCELLED", "promotion declined; nothing was changed");
    }
    movedAt = new Date();
    if (!plan.upToDate || !same) {
      log.action(`promoting ${displayRef(from, { digest })} to ${displayRef(to)}`);
      result = await promoteArtifact(plan, src, dst, {
        signal: services.signal,
        sameRepository: same,
        mountFrom: from.kind === "registry" && to.kind === "registry" && from.registry === to.registry && !same ? from.repository : undefined,
      });
      const sigs = signaturesLine(result);
      if (sigs) log.success(sigs);
      if (!plan.upToDate) log.success(`${displayRef(to)} now points at ${digest}`);
    }
  } finally {
    await services.close();
  }

  const waits: { target: { namespace: string; name: string }; result: WaitResult }[] = [];
  if (kube && to.kind === "registry") {
    const digest = plan.source.descriptor.digest;
    const url = `oci://${repositoryName(to)}`;
    const trackers = await findTrackingOCIRepositories(kube, url, to.tag, { namespace: f.namespace, signal: s.signal }).catch((e) => {
      if (isCoreError(e, "AUTH_FAILED") && !f.namespace) e.details.hint = "the tag was promoted; to wait, list OCIRepositories in one namespace you may read with -n <namespace>";
      throw e;
    });
    if (trackers.length === 0) log.warning(`no OCIRepository${f.namespace ? ` in namespace ${f.namespace}` : ""} tracks ${url}:${to.tag}; nothing to wait for`);
    for (const t of trackers) {
      if (f.reconcile === false) continue;
      // Without a request the controller moves only at its next interval.
      await requestReconcile(kube, t, { signal: s.signal }).catch((e) => log.warning(`cannot request a reconcile of ${objectName(t)}: ${(e as Error).message}`));
    }
    if (trackers.length) log.action(`waiting for ${trackers.map(objectName).join(", ")} to report ${digest}`);
    const remaining = Math.max(1, timeoutMs - (Date.now() - start));
    const results = await Promise.all(
      trackers.map((t) =>
        waitForRevision(kube, t, digest, {
          timeoutMs: remaining,
          signal: s.signal,
          since: movedAt,
          onUpdate: format === "human" && !f.quiet ? (u) => log.raw(`${updateLine(u)} [${objectName(t)}]`) : undefined,
        }),
      ),
    );
    trackers.forEach((t, i) => {
      waits.push({ target: t, result: results[i]! });
      if (format === "human") reportWait(log, t, results[i]!, digest, f.timeout ?? "5m");
    });
  }

  if (format !== "human") {
    await printResult(s, format, {
      source: { url: formatRef(from), digest: plan.source.descriptor.digest },
      target: { url: formatRef(to), tag: to.tag, previousDigest: plan.target.descriptor?.digest ?? null },
      upToDate: plan.upToDate,
      changes: plan.diff?.changes ? summaryLine(plan.diff.changes.summary) : null,
      verified: plan.verified ? plan.verified.verified.length : null,
      signatures: result ? { legacyTags: result.legacyTags, referrers: result.referrers } : null,
      waits: waits.map((w) => waitJSON(w.target, w.result, plan.source.descriptor.digest)),
    });
  }
  if (waits.length === 0) return 0;
  return exitCodeForWait(waits.map((w) => w.result).reduce(worseWait));
}
