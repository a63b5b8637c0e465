/**
 * Timing of child processes: wall-clock seconds, CPU time and peak RSS.
 *
 * Peak RSS cannot be read from Bun's own `Subprocess.resourceUsage()`: Linux keeps a process's RSS
 * high-water mark across execve, and Bun's child starts as a copy of the benchmark process, so every
 * child would report at least the benchmark's own RSS (a `true` spawned after allocating 300 MB
 * reports 333 MB). GNU time forks the command from its own ~1 MB image and reports wait4's ru_maxrss,
 * so the command is wrapped in `/usr/bin/time -f %M` when it exists; otherwise `VmHWM` in
 * `/proc/<pid>/status` (which exec does reset) is polled, which can miss growth in the last poll interval.
 */
import { existsSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { childExit } from "../../src/core/child-exit.ts";

/** GNU time, used to read the peak RSS of a command; see the module comment. */
export const GNU_TIME = "/usr/bin/time";

/** How peak RSS is measured on this machine, for the report. */
export function rssMethod(): string {
  return existsSync(GNU_TIME)
    ? "GNU time %M (wait4 ru_maxrss of the command, forked from time's small image; for pipelines the largest process)"
    : "polling VmHWM in /proc/<pid>/status every 5 ms (no /usr/bin/time; may miss the last few ms; top process only)";
}

/** Result of one finished command. */
export interface Exec {
  code: number;
  seconds: number;
  /** Peak RSS in bytes (the largest single process of the command, not a sum); see the module comment. */
  maxRssBytes: number | null;
  /** User + system CPU seconds of the child and its reaped descendants. */
  cpuSeconds: number | null;
  stdout: string;
  stderr: string;
}

/** Options for {@link exec}. */
export interface ExecOptions {
  cwd?: string;
  /** Extra environment merged over `process.env`. Default none. */
  env?: Record<string, string>;
  /** SIGKILL after this many ms. Default 900_000. */
  timeoutMs?: number;
  /** Throw unless the exit code is 0. Default true. */
  check?: boolean;
  /** Measure peak RSS (adds GNU time as a wrapper, about 1 ms). Default true. */
  rss?: boolean;
}

let seq = 0;

function vmHwmBytes(pid: number): number | null {
  try {
    const m = readFileSync(`/proc/${pid}/status`, "utf8").match(/^VmHWM:\s+(\d+) kB/m);
    return m ? Number(m[1]) * 1024 : null;
  } catch {
    return null;
  }
}

const live = new Set<{ kill(signal?: number | NodeJS.Signals): void }>();
const liveTimeFiles = new Set<string>();

/** Kills every child started by {@link exec} that is still running (for ^C and failures), and drops their GNU time files. */
export function killLiveChildren(): void {
  for (const p of live) {
    try {
      p.kill("SIGKILL");
    } catch {
      // already gone
    }
  }
  live.clear();
  for (const f of liveTimeFiles) rmSync(f, { force: true });
  liveTimeFiles.clear();
}

/**
 * Runs `cmd` (no shell) with stdin closed and both outputs captured, and times it from spawn to
 * exit. Throws with the command and the tail of its output on a non-zero exit unless `check` is false.
 */
export async function exec(cmd: readonly string[], opts: ExecOptions = {}): Promise<Exec> {
  const wantRss = opts.rss ?? true;
  const timeFile = wantRss && existsSync(GNU_TIME) ? join(tmpdir(), `berth-bench-rss-${process.pid}-${++seq}`) : undefined;
  const argv = timeFile ? [GNU_TIME, "-f", "%M", "-o", timeFile, ...cmd] : [...cmd];
  if (timeFile) liveTimeFiles.add(timeFile);
  const start = performance.now();
  const proc = Bun.spawn(argv, {
    cwd: opts.cwd,
    env: { ...process.env, ...opts.env },
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  live.add(proc);
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    proc.kill("SIGKILL");
  }, opts.timeoutMs ?? 900_000);
  let polled: number | null = null;
  const poll =
    wantRss && !timeFile
      ? setInterval(() => {
          const v = vmHwmBytes(proc.pid);
          if (v !== null) polled = Math.max(polled ?? 0, v);
        }, 5)
      : undefined;
  try {
    const [stdout, stderr, code] = await Promise.all([
      new Response(proc.stdout).text(),
      new Response(proc.stderr).text(),
      childExit(proc.pid, proc.exited),
    ]);
    const seconds = (performance.now() - start) / 1000;
    const ru = proc.resourceUsage();
    let maxRssBytes: number | null = polled;
    if (timeFile) {
      // On a non-zero exit GNU time writes a status line first; the number is the last line.
      const kb = Number((existsSync(timeFile) ? readFileSync(timeFile, "utf8") : "").trim().split("\n").pop());
      maxRssBytes = Number.isFinite(kb) && kb > 0 ? kb * 1024 : null;
    }
    const res: Exec = {
      code,
      seconds,
      maxRssBytes,
      cpuSeconds: ru ? Number(ru.cpuTime.total) / 1e6 : null,
      stdout,
      stderr,
    };
    if ((opts.check ?? true) && (code !== 0 || timedOut)) {
      const tail = (stderr.trim() || stdout.trim()).split("\n").slice(-5).join("\n");
      throw new Error(`${cmd.join(" ")} ${timedOut ? "timed out" : `exited ${code}`}: ${tail}`);
    }
    return res;
  } finally {
    clearTimeout(timer);
    if (poll) clearInterval(poll);
    if (timeFile) {
      rmSync(timeFile, { force: true });
      liveTimeFiles.delete(timeFile);
    }
    live.delete(proc);
  }
}

/** One measured run of a benchmark case (possibly several commands, summed). */
export interface Sample {
  seconds: number;
  maxRssBytes: number | null;
  cpuSeconds: number | null;
  /** Seconds per step when a case runs several commands (e.g. tar, then crane). */
  parts?: Record<string, number>;
}

/** Adds up sequential commands into one sample: times and CPU add, peak RSS is the largest. */
export function combine(steps: readonly (readonly [string, Exec])[]): Sample {
  const parts: Record<string, number> = {};
  let seconds = 0;
  let cpu: number | null = 0;
  let rss: number | null = null;
  for (const [name, e] of steps) {
    parts[name] = (parts[name] ?? 0) + e.seconds;
    seconds += e.seconds;
    cpu = cpu === null || e.cpuSeconds === null ? null : cpu + e.cpuSeconds;
    if (e.maxRssBytes !== null) rss = Math.max(rss ?? 0, e.maxRssBytes);
  }
  return { seconds, maxRssBytes: rss, cpuSeconds: cpu, parts };
}

/** Median (mean of the middle two for an even count); NaN for an empty list. */
export function median(xs: readonly number[]): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}
