import { requestReconcile, waitForReconcile } from "../../k8s/wait/wait.ts";
import { Logger, parseFormat, printResult, type Streams } from "../output.ts";
import { connectKube, exitCodeForWait, objectName, parseObjectArg, parseWaitTimeout, updateLine, type KubeFlags } from "./wait.ts";

export interface ReconcileFlags extends KubeFlags {
  wait?: boolean;
  timeout?: string;
  output?: string;
  quiet?: boolean;
}

/**
 * `berth reconcile ocirepository/<ns>/<name>`: sets `reconcile.fluxcd.io/requestedAt` (as
 * `flux reconcile source oci` does); with `--wait`, follows the object until the controller has handled
 * that request. Exit codes as `berth wait`.
 */
export async function run(arg: string | undefined, f: ReconcileFlags, s: Streams, env: NodeJS.ProcessEnv): Promise<number> {
  const format = parseFormat(f.output);
  const timeoutMs = parseWaitTimeout(f.timeout);
  const kube = await connectKube(f, env);
  try {
    const target = parseObjectArg(arg, f.namespace, kube.conn.namespace);
    const log = new Logger(s, f.quiet || format !== "human");
    log.action(`annotating ${objectName(target)}`);
    const requestedAt = await requestReconcile(kube, target, { signal: s.signal });
    log.success(`reconcile requested at ${requestedAt}`);
    if (!f.wait) {
      if (format !== "human") await printResult(s, format, { kind: "OCIRepository", namespace: target.namespace, name: target.name, requestedAt, status: "requested" });
      return 0;
    }
    log.action(`waiting for ${objectName(target)} to handle the request`);
    const r = await waitForReconcile(kube, target, requestedAt, { timeoutMs, signal: s.signal, onUpdate: format === "human" && !f.quiet ? (u) => log.raw(updateLine(u)) : undefined });
    if (format !== "human") {
      await printResult(s, format, { kind: "OCIRepository", namespace: target.namespace, name: target.name, requestedAt, status: r.status, revision: r.revision ?? null, reason: r.reason ?? null, message: r.message ?? null });
    } else if (r.status === "ready") {
      log.success(`fetched revision ${r.revision}`);
    } else if (r.status === "timeout") {
      log.failure(`timed out after ${f.timeout ?? "5m"} waiting for ${objectName(target)} to handle the reconcile request${r.message ? ` (${r.reason}: ${r.message})` : ""}`);
    } else {
      log.failure(`${objectName(target)}: ${[r.reason, r.message].filter(Boolean).join(": ") || r.status}`);
    }
    return exitCodeForWait(r);
  } finally {
    await kube.close();
  }
}
