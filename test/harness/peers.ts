import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";

/** Peer tools that scripts/setup builds with `go install`. */
export type PeerTool = "crane" | "oras";

/** `${BERTH_CACHE:-$HOME/.cache/berth}/bin`, where scripts/setup puts the peer tools. */
export function peerBinDir(): string {
  return join(process.env.BERTH_CACHE ?? join(homedir(), ".cache", "berth"), "bin");
}

/** Absolute path of a peer tool; throws naming the path and the fix when it has not been built. */
export function peerPath(tool: PeerTool): string {
  const path = join(peerBinDir(), tool);
  if (!existsSync(path)) throw new Error(`${tool} not found at ${path}: run scripts/setup to build it`);
  return path;
}

/** Path of `crane` (github.com/google/go-containerregistry/cmd/crane). */
export function cranePath(): string {
  return peerPath("crane");
}

/** Path of `oras` (oras.land/oras/cmd/oras). */
export function orasPath(): string {
  return peerPath("oras");
}

/**
 * Path of the Flux consumer oracle (test/harness/oracles/flux-consumer: fluxcd/pkg/http/fetch's
 * archive fetcher and kstatus, as Flux 2.9's kustomize-controller links them), built into
 * {@link peerBinDir} by scripts/setup. Throws naming the fix when the binary is missing or was built
 * from other sources than the checked-out go.mod/go.sum/main.go (sha256 recorded beside it), so a
 * test never runs a stale oracle.
 */
export function fluxConsumerPath(): string {
  const src = join(import.meta.dir, "oracles", "flux-consumer");
  const bin = join(peerBinDir(), "flux-consumer");
  const hash = createHash("sha256");
  for (const f of ["go.mod", "go.sum", "main.go"]) hash.update(readFileSync(join(src, f)));
  const want = hash.digest("hex");
  const stamp = `${bin}.sha256`;
  const have = existsSync(stamp) ? readFileSync(stamp, "utf8").trim() : "";
  if (!existsSync(bin) || have !== want) {
    throw new Error(`flux-consumer at ${bin} is ${existsSync(bin) ? "stale" : "missing"}: run scripts/setup to build it`);
  }
  return bin;
}
