import { copyFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { RegistryServer } from "./registry.ts";
import { run, type RunResult } from "./run.ts";

/** How one side of a skopeo call talks to a harness registry. */
export interface SkopeoEndpoint {
  registry: RegistryServer;
  /**
   * Credentials as `user:password`; null sends none. Default: the registry's own credentials (none
   * when it has no auth).
   */
  creds?: string | null;
  /** Present the harness client certificate (only matters for TLS registries). Default true. */
  clientCert?: boolean;
}

/** Options shared by the skopeo wrappers. */
export interface SkopeoOptions {
  /** Extra arguments placed right before the image references. Default none. */
  extraArgs?: string[];
  /** Kill skopeo after this many ms. Default 60_000. */
  timeoutMs?: number;
}

/** `docker://127.0.0.1:PORT/<repoAndTag>` for a harness registry. */
export function dockerRef(registry: RegistryServer, repoAndTag: string): string {
  return `docker://${registry.host}/${repoAndTag}`;
}

/**
 * skopeo flags for one endpoint. `prefix` is "src"/"dest" for copy and "" for inspect.
 * A cert dir without the client pair is made in a temp dir that the returned cleanup removes.
 */
function endpointFlags(prefix: "src" | "dest" | "", ep: SkopeoEndpoint): { flags: string[]; cleanup: () => void } {
  const p = prefix === "" ? "--" : `--${prefix}-`;
  const flags: string[] = [];
  let cleanup = () => {};
  const reg = ep.registry;
  if (reg.scheme === "http") {
    flags.push(`${p}tls-verify=false`);
  } else if (ep.clientCert === false) {
    const dir = mkdtempSync(join(tmpdir(), "berth-skopeo-certs-"));
    copyFileSync(reg.caFile!, join(dir, "ca.crt"));
    flags.push(`${p}cert-dir=${dir}`);
    cleanup = () => rmSync(dir, { recursive: true, force: true });
  } else {
    // Verification stays on: the harness CA is trusted through the cert dir.
    flags.push(`${p}cert-dir=${reg.certDir!}`);
  }
  const creds = ep.creds === undefined ? (reg.username ? `${reg.username}:${reg.password}` : null) : ep.creds;
  if (creds !== null) flags.push(`${p}creds=${creds}`);
  else flags.push(`${p}no-creds`);
  return { flags, cleanup };
}

/** Runs skopeo with `--insecure-policy` (no signature policy applies to test images). */
async function skopeo(args: string[], opts: SkopeoOptions): Promise<RunResult> {
  return run(["skopeo", "--insecure-policy", ...args], { timeoutMs: opts.timeoutMs });
}

/**
 * `skopeo copy SRC DEST`. Each side is either a plain transport reference (`oci:/dir:tag`,
 * `dir:/path`) or a harness registry endpoint plus a `docker://` reference built with {@link dockerRef}.
 */
export async function skopeoCopy(
  src: string | { ref: string; endpoint: SkopeoEndpoint },
  dest: string | { ref: string; endpoint: SkopeoEndpoint },
  opts: SkopeoOptions = {},
): Promise<RunResult> {
  const s = typeof src === "string" ? { flags: [], cleanup: () => {} } : endpointFlags("src", src.endpoint);
  const d = typeof dest === "string" ? { flags: [], cleanup: () => {} } : endpointFlags("dest", dest.endpoint);
  try {
    return await skopeo(
      [
        "copy", "--retry-times=0", ...s.flags, ...d.flags, ...(opts.extraArgs ?? []),
        typeof src === "string" ? src : src.ref,
        typeof dest === "string" ? dest : dest.ref,
      ],
      opts,
    );
  } finally {
    s.cleanup();
    d.cleanup();
  }
}

/** `skopeo inspect --raw <ref>`: stdout is the manifest (or index) bytes exactly as the registry served them. */
export async function skopeoInspectRaw(ref: string, endpoint: SkopeoEndpoint, opts: SkopeoOptions = {}): Promise<RunResult> {
  const e = endpointFlags("", endpoint);
  try {
    return await skopeo(["inspect", "--raw", "--retry-times=0", ...e.flags, ...(opts.extraArgs ?? []), ref], opts);
  } finally {
    e.cleanup();
  }
}
