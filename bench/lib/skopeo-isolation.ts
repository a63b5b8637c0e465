/**
 * Runs skopeo without its blob-info cache. containers/image remembers where it has seen each blob
 * (root: /var/lib/containers/cache/blob-info-cache-v1.boltdb) and on a later push to the same registry
 * asks for a cross-repository mount instead of uploading, so every run after the first would time a
 * mount. Each run therefore gets an empty cache: as root, a private mount namespace with a tmpfs over
 * the cache directory (the real file is not touched); otherwise a fresh XDG_DATA_HOME.
 */
import { mkdirSync, mkdtempSync } from "node:fs";
import { join } from "node:path";
import { exec } from "./measure.ts";

/** A skopeo command line plus the environment it needs. */
export interface WrappedCommand {
  argv: string[];
  env?: Record<string, string>;
}

/** How skopeo runs are isolated, for the report, and the wrapper that does it. */
export interface SkopeoIsolation {
  how: string;
  /** False when no isolation was possible (cache hits may turn later pushes into mounts). */
  isolated: boolean;
  wrap(cmd: readonly string[]): WrappedCommand;
}

const ROOT_CACHE = "/var/lib/containers/cache";

/** Picks the isolation that works here; `work` is a scratch directory it may create dirs in. */
export async function skopeoIsolation(work: string): Promise<SkopeoIsolation> {
  if (process.getuid?.() !== 0) {
    return {
      how: "fresh XDG_DATA_HOME per run (empty blob-info cache)",
      isolated: true,
      wrap: (cmd) => ({ argv: [...cmd], env: { XDG_DATA_HOME: mkdtempSync(join(work, "skopeo-data-")) } }),
    };
  }
  const probe = join(work, "unshare-probe");
  mkdirSync(probe, { recursive: true });
  const ok = await exec(["unshare", "-m", "sh", "-c", 'mount -t tmpfs berth-bench "$0"', probe], { check: false, rss: false }).catch(() => null);
  if (ok?.code === 0) {
    const script = `mkdir -p ${ROOT_CACHE} && mount -t tmpfs -o size=64m berth-bench ${ROOT_CACHE} && exec "$@"`;
    return {
      how: `unshare -m + tmpfs over ${ROOT_CACHE} per run (empty blob-info cache; adds a few ms)`,
      isolated: true,
      wrap: (cmd) => ({ argv: ["unshare", "-m", "sh", "-c", script, "sh", ...cmd] }),
    };
  }
  return {
    how: `NOT isolated (unshare -m failed): runs after the first may mount blobs instead of uploading`,
    isolated: false,
    wrap: (cmd) => ({ argv: [...cmd] }),
  };
}
