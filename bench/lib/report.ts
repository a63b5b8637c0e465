/** Benchmark results: per-row summaries, the printed table and the JSON document. */
import { median, type Sample } from "./measure.ts";

/** The operations the benchmark times. */
export type Operation = "startup" | "push" | "pull" | "list";

/** One benchmarked tool doing one operation, with all of its runs. */
export interface Row {
  op: Operation;
  /** Short name shown in the table, e.g. "berth", "crane (flux-equiv)". */
  tool: string;
  /** What exactly was run, e.g. "tar czf + crane append". */
  method: string;
  /** False when the row does different work from berth's row (transfer only, tags only, …). */
  likeForLike: boolean;
  /** Why the row is or is not comparable; printed under the table. */
  note?: string;
  /** The row other rows of the same operation are divided by. */
  baseline?: boolean;
  samples: Sample[];
  /** Set when the tool is missing or a run failed; the row then has no timing. */
  error?: string;
  /** Compressed size of the pushed layer (push rows). */
  layerBytes?: number;
}

/** A row reduced to the numbers that are printed. */
export interface RowSummary {
  op: Operation;
  tool: string;
  method: string;
  likeForLike: boolean;
  note?: string;
  runs: number;
  medianSeconds: number | null;
  minSeconds: number | null;
  maxSeconds: number | null;
  /** Peer median / berth median for the same operation: above 1 means berth is faster. */
  ratioToBerth: number | null;
  /** Largest peak RSS over the runs, in bytes. */
  peakRssBytes: number | null;
  medianCpuSeconds: number | null;
  /** Median seconds per step for multi-command rows. */
  parts?: Record<string, number>;
  layerBytes?: number;
  error?: string;
}

/** Medians, ratios to the operation's baseline row, and peaks. */
export function summarize(rows: readonly Row[]): RowSummary[] {
  const base = new Map<Operation, number>();
  for (const r of rows) {
    if (r.baseline && r.samples.length && !r.error) base.set(r.op, median(r.samples.map((s) => s.seconds)));
  }
  return rows.map((r) => {
    const ok = r.samples.length > 0 && !r.error;
    const secs = r.samples.map((s) => s.seconds);
    const med = ok ? median(secs) : null;
    const b = base.get(r.op);
    const rss = r.samples.map((s) => s.maxRssBytes).filter((x): x is number => x !== null);
    const cpu = r.samples.map((s) => s.cpuSeconds).filter((x): x is number => x !== null);
    let parts: Record<string, number> | undefined;
    if (ok && r.samples[0]!.parts && Object.keys(r.samples[0]!.parts).length > 1) {
      parts = {};
      for (const k of Object.keys(r.samples[0]!.parts)) parts[k] = median(r.samples.map((s) => s.parts?.[k] ?? 0));
    }
    return {
      op: r.op,
      tool: r.tool,
      method: r.method,
      likeForLike: r.likeForLike,
      ...(r.note ? { note: r.note } : {}),
      runs: r.samples.length,
      medianSeconds: med,
      minSeconds: ok ? Math.min(...secs) : null,
      maxSeconds: ok ? Math.max(...secs) : null,
      ratioToBerth: med !== null && b !== undefined && b > 0 ? med / b : null,
      peakRssBytes: ok && rss.length ? Math.max(...rss) : null,
      medianCpuSeconds: ok && cpu.length ? median(cpu) : null,
      ...(parts ? { parts } : {}),
      ...(r.layerBytes !== undefined ? { layerBytes: r.layerBytes } : {}),
      ...(r.error ? { error: r.error } : {}),
    };
  });
}

const f2 = (x: number | null, d = 2) => (x === null ? "-" : x.toFixed(d));
const mib = (x: number | null | undefined) => (x === null || x === undefined ? "-" : (x / 1048576).toFixed(0));

/** The human table: one line per row, notes (marked *) underneath, errors in place of numbers. */
export function formatTable(summaries: readonly RowSummary[]): string {
  const head = ["op", "tool", "method", "median s", "min-max s", "peer/berth", "peak RSS MiB", "CPU s", "layer MiB"];
  const lines: (string[] | { op: string; tool: string; text: string })[] = [head];
  const notes: string[] = [];
  for (const s of summaries) {
    const mark = s.likeForLike ? "" : "*";
    if (s.error) {
      // Errors are long; they get a free-form line that does not stretch the columns.
      lines.push({ op: s.op, tool: s.tool + mark, text: `NOT RUN: ${s.error.split("\n")[0]!.slice(0, 160)}` });
      continue;
    }
    lines.push([
      s.op,
      s.tool + mark,
      s.method,
      f2(s.medianSeconds, 3),
      `${f2(s.minSeconds)}-${f2(s.maxSeconds)}`,
      s.ratioToBerth === null ? "" : `${s.ratioToBerth.toFixed(2)}x`,
      mib(s.peakRssBytes),
      f2(s.medianCpuSeconds),
      s.layerBytes === undefined ? "" : (s.layerBytes / 1048576).toFixed(1),
    ]);
  }
  for (const s of summaries) {
    if (s.note) notes.push(`${s.likeForLike ? " " : "*"} ${s.op}/${s.tool}: ${s.note}`);
    if (s.parts) {
      const p = Object.entries(s.parts).map(([k, v]) => `${k} ${v.toFixed(3)}s`).join(", ");
      notes.push(`  ${s.op}/${s.tool} steps (median): ${p}`);
    }
  }
  const cells = lines.map((l) => (Array.isArray(l) ? l : [l.op, l.tool]));
  const widths = head.map((_, i) => Math.max(...cells.map((l) => (l[i] ?? "").length)));
  const numeric = new Set([3, 4, 5, 6, 7, 8]);
  const out = lines.map((l) =>
    !Array.isArray(l)
      ? `${l.op.padEnd(widths[0]!)}  ${l.tool.padEnd(widths[1]!)}  ${l.text}`
      : l
          .map((c, i) => (numeric.has(i) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
          .join("  ")
          .trimEnd(),
  );
  out.splice(1, 0, widths.map((w) => "-".repeat(w)).join("  "));
  return [...out, "", "* not like-for-like with the berth row (see notes)", ...notes].join("\n");
}
