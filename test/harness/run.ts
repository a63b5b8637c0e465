import { exitOf } from "./process.ts";

/** Result of a finished child process: exit code (or -1 when killed by a signal/timeout) and its captured output. */
export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
  /** True when the process was killed because it ran past `timeoutMs`. */
  timedOut: boolean;
}

/** Options for {@link run}. */
export interface RunOptions {
  /** Kill the process (SIGKILL) after this many milliseconds. Default 60_000. */
  timeoutMs?: number;
  /** Working directory. Default: the current one. */
  cwd?: string;
  /** Extra environment variables, merged over `process.env`. Default none. */
  env?: Record<string, string | undefined>;
  /** Bytes written to the child's stdin, which is then closed. Default: no stdin. */
  stdin?: string | Uint8Array;
}

/** Defaults applied by {@link run}. */
export const DEFAULT_RUN_OPTIONS = { timeoutMs: 60_000 } as const;

/**
 * Runs `cmd[0]` with arguments `cmd.slice(1)` (no shell), capturing stdout and stderr as text.
 * Never throws for a non-zero exit; it throws only when the program cannot be started at all,
 * with a message naming the missing program so a test fails with a readable reason.
 */
export async function run(cmd: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_RUN_OPTIONS.timeoutMs;
  let proc: ReturnType<typeof Bun.spawn>;
  try {
    proc = Bun.spawn([...cmd], {
      cwd: opts.cwd,
      env: { ...process.env, ...opts.env },
      stdin: opts.stdin === undefined ? "ignore" : "pipe",
      stdout: "pipe",
      stderr: "pipe",
    });
  } catch (err) {
    throw new Error(`cannot start ${cmd[0]}: ${(err as Error).message} (run scripts/setup to install test tools)`);
  }
  if (opts.stdin !== undefined && proc.stdin && typeof proc.stdin !== "number") {
    proc.stdin.write(opts.stdin);
    await proc.stdin.end();
  }
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    proc.kill("SIGKILL");
  }, timeoutMs);
  try {
    const [stdout, stderr, code] = await Promise.all([
      new Response(proc.stdout as ReadableStream<Uint8Array>).text(),
      new Response(proc.stderr as ReadableStream<Uint8Array>).text(),
      exitOf(proc),
    ]);
    return { code: timedOut ? -1 : code, stdout, stderr, timedOut };
  } finally {
    clearTimeout(timer);
  }
}

/** Like {@link run}, but throws (with the command, exit code and stderr in the message) unless it exits 0. */
export async function runOk(cmd: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const res = await run(cmd, opts);
  if (res.code !== 0) {
    const why = res.timedOut ? "timed out" : `exited ${res.code}`;
    throw new Error(`${cmd.join(" ")} ${why}: ${res.stderr.trim() || res.stdout.trim()}`);
  }
  return res;
}
