import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, renameSync, statSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";

const SRC = join(import.meta.dir, "gogzip");

/**
 * Builds the Go gzip oracle (`test/harness/oracles/gogzip`, stdlib only) once into
 * `${BERTH_CACHE:-~/.cache/berth}/bin/gogzip` and returns its path. Rebuilt when its sources
 * are newer than the binary. Fails loudly when `go` is missing: oracle tests must not skip.
 */
export function gogzipPath(): string {
  const cache = process.env.BERTH_CACHE ?? join(homedir(), ".cache", "berth");
  const bin = join(cache, "bin", "gogzip");
  const srcTime = Math.max(statSync(join(SRC, "main.go")).mtimeMs, statSync(join(SRC, "go.mod")).mtimeMs);
  if (existsSync(bin) && statSync(bin).mtimeMs >= srcTime) return bin;
  mkdirSync(join(cache, "bin"), { recursive: true });
  // Build beside the target and rename, so test files running in parallel never see half a binary.
  const tmp = `${bin}.${process.pid}.tmp`;
  execFileSync("go", ["build", "-o", tmp, "."], {
    cwd: SRC,
    env: { ...process.env, GOFLAGS: "-mod=mod", GOPROXY: "off", CGO_ENABLED: "0" },
    stdio: ["ignore", "inherit", "inherit"],
  });
  renameSync(tmp, bin);
  return bin;
}

/** Options for {@link goGzip}. */
export interface GoGzipOptions {
  /** Hand the input to Go's `Write` in pieces of this many bytes. Default: one `Write` of everything. */
  chunk?: number;
}

/** Gzips `data` with Go's `gzip.NewWriter` (level 6) and returns the bytes Go writes. */
export function goGzip(data: Uint8Array, opts: GoGzipOptions = {}): Uint8Array {
  const args = opts.chunk === undefined ? [] : ["-chunk", String(opts.chunk)];
  return new Uint8Array(execFileSync(gogzipPath(), args, { input: data, maxBuffer: 1 << 30 }));
}
