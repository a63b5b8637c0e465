import { existsSync } from "node:fs";
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
