import type { ProgressEvent, ProgressSink } from "../core/progress.ts";

/** Where the CLI writes: human lines to stderr (as flux does), results to stdout. */
export interface Streams {
  out: NodeJS.WritableStream & { isTTY?: boolean };
  err: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  /** Aborted when the user interrupts (^C): operations stop and clean up their temp files. */
  signal?: AbortSignal;
}

export type OutputFormat = "human" | "json" | "yaml";

/** flux's logger: one glyph, a space, the message, on stderr. */
export class Logger {
  constructor(
    private readonly s: Streams,
    private readonly quiet = false,
  ) {}
  action(msg: string): void {
    if (!this.quiet) this.s.err.write(`► ${msg}\n`);
  }
  success(msg: string): void {
    if (!this.quiet) this.s.err.write(`✔ ${msg}\n`);
  }
  warning(msg: string): void {
    this.s.err.write(`⚠️ ${msg}\n`);
  }
  failure(msg: string): void {
    this.s.err.write(`✗ ${msg}\n`);
  }
  /** A plain line on stderr (diffs, explanations). */
  raw(text: string): void {
    this.s.err.write(text.endsWith("\n") ? text : text + "\n");
  }
}

/** Parses `-o`; unknown values are a usage error (flux silently ignores them; berth says so). */
export function parseFormat(v: string | undefined): OutputFormat {
  if (v === undefined || v === "" || v === "human" || v === "table") return "human";
  if (v === "json" || v === "yaml") return v;
  throw Object.assign(new Error(`unknown output format "${v}": use json or yaml`), { usage: true });
}

/** Prints a result object on stdout as 2-space JSON or YAML. */
export async function printResult(s: Streams, format: "json" | "yaml", value: unknown): Promise<void> {
  if (format === "json") {
    s.out.write(JSON.stringify(value, null, 2) + "\n");
    return;
  }
  // yaml is loaded only when asked for, to keep it off the start-up path.
  const { stringify } = await import("yaml");
  s.out.write(stringify(value));
}

/**
 * flux's `list artifacts` table (tablewriter 0.0.5 without borders): cells padded to the column width,
 * separated by a tab; the header ends with a space, data rows with a tab.
 */
export function formatTable(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const pad = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join("\t");
  let out = pad(header.map((h) => h.toUpperCase())) + " \n";
  for (const r of rows) out += pad(r) + "\t\n";
  return out;
}

/**
 * Renders progress: a redrawn bar per transfer on a TTY, a line per finished transfer otherwise.
 * Throttled so a fast stream does not flood the terminal.
 */
export function createProgressRenderer(s: Streams, opts: { quiet?: boolean } = {}): ProgressSink & { finish(): void } {
  const tty = Boolean(s.err.isTTY);
  const items = new Map<string, { label: string; total?: number; done: number; t0: number }>();
  let last = 0;
  let drawn = 0;
  const clear = () => {
    if (drawn > 0) s.err.write(`\x1b[${drawn}F\x1b[0J`);
    drawn = 0;
  };
  const draw = (force = false) => {
    const now = Date.now();
    if (!force && now - last < 100) return;
    last = now;
    clear();
    const width = Math.max(10, Math.min(40, (s.err.columns ?? 80) - 50));
    for (const it of items.values()) {
      let bar: string;
      if (it.total) {
        const fill = Math.round(Math.min(1, it.done / it.total) * width);
        bar = "█".repeat(fill) + "░".repeat(width - fill);
      } else {
        // Size unknown (a build in progress): a spinner instead of a bar that never fills.
        bar = SPINNER[Math.floor(now / 100) % SPINNER.length]!.padEnd(width);
      }
      s.err.write(`  ${it.label.padEnd(20)} ${bar} ${human(it.done)}${it.total ? "/" + human(it.total) : ""}\n`);
      drawn++;
    }
  };
  const sink = (e: ProgressEvent) => {
    if (opts.quiet) return;
    switch (e.kind) {
      case "start":
        items.set(e.id, { label: e.label, total: e.total, done: 0, t0: Date.now() });
        if (tty) draw();
        break;
      case "advance": {
        const it = items.get(e.id);
        if (it) it.done += e.bytes;
        if (tty) draw();
        break;
      }
      case "done": {
        const it = items.get(e.id);
        items.delete(e.id);
        if (tty) clear();
        if (it && !e.skipped && it.done >= 1 << 20) {
          const secs = (Date.now() - it.t0) / 1000;
          s.err.write(`  ${it.label}: ${human(it.done)} in ${secs.toFixed(1)}s\n`);
        }
        if (tty) draw(true);
        break;
      }
      case "message":
        if (tty) clear();
        s.err.write(`  ${e.text}\n`);
        if (tty) draw(true);
        break;
      default:
        e satisfies never;
    }
  };
  return Object.assign(sink, { finish: () => tty && clear() });
}

const SPINNER = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];

export function human(n: number): string {
  if (n < 1024) return `${n} B`;
  const u = ["KiB", "MiB", "GiB", "TiB"];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < u.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(v < 10 ? 1 : 0)} ${u[i]}`;
}
