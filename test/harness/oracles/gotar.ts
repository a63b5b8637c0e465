import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, statSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";

const SRC = join(import.meta.dir, "gotar");

/**
 * Builds the Go tar oracle (`test/harness/oracles/gotar`, stdlib only) once into
 * `${BERTH_CACHE:-~/.cache/berth}/bin/gotar` and returns its path. Rebuilt when main.go is newer.
 * Fails loudly when `go` is missing: the oracle tests must not silently skip.
 */
export function gotarPath(): string {
  const cache = process.env.BERTH_CACHE ?? join(homedir(), ".cache", "berth");
  const bin = join(cache, "bin", "gotar");
  const srcTime = statSync(join(SRC, "main.go")).mtimeMs;
  if (existsSync(bin) && statSync(bin).mtimeMs >= srcTime) return bin;
  mkdirSync(join(cache, "bin"), { recursive: true });
  execFileSync("go", ["build", "-o", bin, "."], {
    cwd: SRC,
    env: { ...process.env, GOFLAGS: "-mod=mod", GOPROXY: "off", CGO_ENABLED: "0" },
    stdio: ["ignore", "inherit", "inherit"],
  });
  return bin;
}

/** Runs the oracle on `dir` and returns the tar bytes Go writes for it. */
export function goTar(dir: string): Uint8Array {
  return new Uint8Array(execFileSync(gotarPath(), [dir], { maxBuffer: 1 << 30 }));
}

/** Asks Go's `path/filepath.Match` about each pair: true, false, or undefined for a malformed pattern. */
export function goFilepathMatch(pairs: readonly [pattern: string, name: string][]): (boolean | undefined)[] {
  const input = pairs.map(([p, n]) => `${p}\t${n}`).join("\n") + "\n";
  const out = execFileSync(gotarPath(), ["match"], { input, maxBuffer: 1 << 26 }).toString().trim().split("\n");
  return out.map((s) => (s === "error" ? undefined : s === "true"));
}
