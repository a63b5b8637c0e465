/**
 * A child's exit code even when the runtime never reports it. Bun (seen on 1.4.5, Linux) sometimes
 * misses a child's exit: the child stays a zombie and `exited` (or node:child_process's 'exit') never
 * settles, so whoever waits for it waits forever. A zombie's exit status is still readable from
 * /proc/<pid>/stat (field 52, in waitpid form, Linux >= 3.5), so while the runtime's own report is
 * late this polls for it. On systems without /proc it simply waits for the runtime.
 */
import { readFileSync } from "node:fs";

/** Options of {@link childExit}. */
export interface ChildExitOptions {
  /** Time the runtime gets to report the exit before /proc is polled, in ms. Default 500. */
  graceMs?: number;
  /** Poll period, in ms. Default 250. */
  pollMs?: number;
  /** Called once when the exit was read from /proc because the runtime did not report it. */
  onRecovered?: (pid: number, code: number) => void;
  /** Own process id, to check the zombie is our child (a pid is not reused before it is reaped). Default `process.pid`. */
  parentPid?: number;
  /** Root of the proc file system. Default "/proc". */
  procRoot?: string;
}

/** Documented defaults of {@link ChildExitOptions}. */
export const DEFAULT_CHILD_EXIT_OPTIONS = { graceMs: 500, pollMs: 250, procRoot: "/proc" } as const;

/**
 * The exit status of a zombie child `pid` of `parentPid`, as a shell reports it (the exit code, or
 * 128 + the signal number), or undefined while it runs, when it is not our child or /proc is missing.
 */
export function zombieExitCode(pid: number, parentPid: number = process.pid, procRoot: string = DEFAULT_CHILD_EXIT_OPTIONS.procRoot): number | undefined {
  let stat: string;
  try {
    stat = readFileSync(`${procRoot}/${pid}/stat`, "utf8");
  } catch {
    return undefined;
  }
  // The command name (field 2) is in parentheses and may hold spaces or ')', so split after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).trim().split(/\s+/);
  // fields[0] is field 3 (state), fields[1] field 4 (ppid), fields[49] field 52 (exit_code).
  if (fields[0] !== "Z" || Number(fields[1]) !== parentPid || fields.length < 50) return undefined;
  const status = Number(fields[49]);
  if (!Number.isInteger(status)) return undefined;
  const signal = status & 0x7f;
  return signal === 0 ? (status >> 8) & 0xff : 128 + signal;
}

/**
 * Resolves to the exit code `exited` reports, or, when it is still pending after the grace time and
 * the child is a zombie, to the code read from /proc. `pid` undefined (the child never started)
 * waits for `exited` alone.
 */
export function childExit(pid: number | undefined, exited: Promise<number>, opts: ChildExitOptions = {}): Promise<number> {
  if (pid === undefined || pid <= 0) return exited;
  const graceMs = opts.graceMs ?? DEFAULT_CHILD_EXIT_OPTIONS.graceMs;
  const pollMs = opts.pollMs ?? DEFAULT_CHILD_EXIT_OPTIONS.pollMs;
  const parentPid = opts.parentPid ?? process.pid;
  const procRoot = opts.procRoot ?? DEFAULT_CHILD_EXIT_OPTIONS.procRoot;
  return new Promise<number>((resolve, reject) => {
    let done = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const finish = () => {
      done = true;
      if (timer !== undefined) clearTimeout(timer);
    };
    exited.then(
      (code) => {
        if (done) return;
        finish();
        resolve(code);
      },
      (err: unknown) => {
        if (done) return;
        finish();
        reject(err);
      },
    );
    const poll = () => {
      if (done) return;
      const code = zombieExitCode(pid, parentPid, procRoot);
      if (code === undefined) {
        timer = setTimeout(poll, pollMs);
        return;
      }
      finish();
      opts.onRecovered?.(pid, code);
      resolve(code);
    };
    timer = setTimeout(poll, graceMs);
  });
}
