/**
 * Teardown that runs once, whether the benchmark finishes, throws, or is interrupted (^C, SIGTERM):
 * children are killed first, then registered actions (registry stop, temp dirs) run newest first.
 */
import { killLiveChildren } from "./measure.ts";

type Action = () => void | Promise<void>;

const actions: Action[] = [];
let running: Promise<void> | undefined;

/** Registers a teardown action; actions run in reverse order of registration. */
export function onCleanup(action: Action): void {
  actions.push(action);
}

/** Kills live children and runs every action once; later calls wait for the first. Never throws. */
export function runCleanup(): Promise<void> {
  running ??= (async () => {
    killLiveChildren();
    while (actions.length) {
      const a = actions.pop()!;
      try {
        await a();
      } catch (err) {
        process.stderr.write(`bench: cleanup step failed: ${(err as Error).message}\n`);
      }
    }
  })();
  return running;
}

/** On SIGINT/SIGTERM/SIGHUP: clean up, then exit 130 (as berth does when cancelled). */
export function installSignalHandlers(): void {
  for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    process.on(sig, () => {
      process.stderr.write(`\nbench: ${sig}, cleaning up\n`);
      void runCleanup().finally(() => process.exit(130));
    });
  }
}
