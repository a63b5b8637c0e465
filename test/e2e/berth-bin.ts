import { existsSync } from "node:fs";
import { join } from "node:path";
import { run, type RunResult } from "../harness/index.ts";

/** The compiled executable under test: $BERTH_BIN, or dist/berth built by scripts/compile. */
export const BERTH_BIN = process.env.BERTH_BIN ?? join(import.meta.dir, "../../dist/berth");

export function requireBinary(): void {
  if (!existsSync(BERTH_BIN)) {
    throw new Error(`${BERTH_BIN} is missing: run scripts/compile first (scripts/test does)`);
  }
}

/** Runs the compiled berth with a clean HOME (no docker config leaks in from the machine). */
export function berth(args: string[], opts: { cwd?: string; env?: Record<string, string | undefined>; stdin?: string; home?: string } = {}): Promise<RunResult> {
  return run([BERTH_BIN, ...args], {
    cwd: opts.cwd,
    stdin: opts.stdin,
    timeoutMs: 120_000,
    env: { HOME: opts.home ?? "/nonexistent-berth-home", DOCKER_CONFIG: undefined, REGISTRY_AUTH_FILE: undefined, XDG_RUNTIME_DIR: undefined, NO_COLOR: "1", ...opts.env },
  });
}
