import { mkdirSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { childExit } from "../../src/core/child-exit.ts";

/**
 * A shell that runs `"$@"` (after the pid-file argument) as its child and kills it when its own stdin
 * closes (SIGTERM, then SIGKILL 5 s later: a kube-apiserver whose etcd is gone does not stop on
 * SIGTERM, and an orphan would later attach to another test's etcd on a reused port): the test process
 * holds the other end of that pipe, so servers die with it even when `bun test` exits without running
 * any hook. The child's pid goes to the pid file, so `stop()` can
 * SIGKILL it when SIGTERM is not enough. Run as `sh -c WATCHDOG watchdog <pidfile> <cmd...>`; the exit
 * code is the child's.
 */
export const WATCHDOG = `
pidfile=$1
shift
"$@" </dev/null &
child=$!
echo "$child" >"$pidfile"
exec 3<&0
( cat <&3 >/dev/null; kill -TERM "$child" 2>/dev/null; sleep 5; kill -KILL "$child" 2>/dev/null ) &
watcher=$!
wait "$child"
code=$?
kill "$watcher" 2>/dev/null
exit "$code"
`;

const roots = new Map<string, string>();

/**
 * A per-process temp directory `$TMPDIR/<prefix><pid>`, removed at exit. Since `bun test` runs no exit
 * hook, a run that forgot stop() leaves its root behind; the next run removes roots of dead processes.
 */
export function processRoot(prefix: string): string {
  const known = roots.get(prefix);
  if (known) return known;
  for (const name of readdirSync(tmpdir())) {
    const pid = Number(name.slice(prefix.length));
    if (!name.startsWith(prefix) || !Number.isInteger(pid) || pid === process.pid) continue;
    if (!processAlive(pid)) rmSync(join(tmpdir(), name), { recursive: true, force: true });
  }
  const dir = join(tmpdir(), `${prefix}${process.pid}`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir);
  process.on("exit", () => rmSync(dir, { recursive: true, force: true }));
  roots.set(prefix, dir);
  return dir;
}

/** Whether a process with this pid exists (EPERM means it does, owned by someone else). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * SIGKILLs a server started under WATCHDOG: the child whose pid the watchdog wrote to `pidFile`, then
 * the watchdog itself; resolves when the watchdog has exited.
 */
export async function killWatched(proc: { pid: number; kill(signal?: number | NodeJS.Signals): void; exited: Promise<number> }, pidFile: string): Promise<void> {
  try {
    const pid = Number(readFileSync(pidFile, "utf8").trim());
    if (pid > 0) process.kill(pid, "SIGKILL");
  } catch {
    // no pid file yet, or already gone
  }
  proc.kill("SIGKILL");
  await exitOf(proc);
}

/**
 * A spawned process's exit code. Use it instead of `proc.exited`: Bun sometimes never reports a
 * child's exit (it stays a zombie), and then this reads the code from /proc (core `childExit`).
 */
export function exitOf(proc: { pid: number; exited: Promise<number> }): Promise<number> {
  return childExit(proc.pid, proc.exited, {
    onRecovered: (pid, code) => process.stderr.write(`note: bun did not report the exit of child ${pid}; read exit code ${code} from /proc\n`),
  });
}
