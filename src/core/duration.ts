/** Durations as flux and Kubernetes write them. */
import { fail } from "./errors.ts";

const UNIT_MS = { h: 3_600_000, m: 60_000, s: 1000, ms: 1 } as const;

/**
 * Go's `time.ParseDuration` for the units flux flags and Kubernetes fields use (`h`, `m`, `s`, `ms`,
 * combined as in `1h30m` or `1.5s`), in milliseconds; `0` alone is zero. Anything else is USAGE.
 */
export function parseGoDuration(s: string): number {
  if (s === "0") return 0;
  let total = 0;
  let consumed = 0;
  for (const m of s.matchAll(/(\d+(?:\.\d+)?)(ms|h|m|s)/g)) {
    if (m.index !== consumed) break;
    consumed += m[0].length;
    total += Number(m[1]) * UNIT_MS[m[2] as keyof typeof UNIT_MS];
  }
  if (consumed !== s.length || consumed === 0) fail("USAGE", `invalid duration "${s}"`, { hint: "use a value like 30s, 5m or 1h" });
  return total;
}
