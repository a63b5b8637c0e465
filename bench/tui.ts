/**
 * `bun run bench:tui`: how fast the compiled `berth ui` paints. Each run starts the binary on a fresh
 * 80x24 pseudo-terminal and times, from the spawn, the first frame (the breadcrumb line) and the first
 * tag row with its digest (the data), then quits with ^C. Two targets: an OCI layout on disk and a
 * repository on a local registry (Debian's docker-registry, started by the test harness).
 *
 *   bun run bench:tui                         15 runs per target
 *   bun run bench:tui --runs 30 --berth ./dist/berth --json
 *   bun run bench:tui --compare /tmp/berth-old   another build, run for run alternating with --berth
 *
 * Runs go round-robin over the targets, so load from other processes spreads over all of them.
 *
 * Peers: k9s (the TUI berth's screens are modelled on) is timed on the same pty when it is on PATH,
 * to its first frame; it is not installed here in general, and then only berth's numbers print.
 * Temp dirs and the registry are removed on exit, failure or ^C.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { startRegistry } from "../test/harness/registry.ts";
import { installSignalHandlers, onCleanup, runCleanup } from "./lib/cleanup.ts";
import { median } from "./lib/measure.ts";
import { childExit } from "../src/core/child-exit.ts";

const REPO_ROOT = resolve(import.meta.dir, "..");
const EXAMPLE = join(REPO_ROOT, "examples/podinfo");
/** A frame older than this is a hung UI, not a slow one. */
const RUN_TIMEOUT_MS = 20_000;

interface Timing {
  /** ms from spawn to the first frame of the UI. */
  firstPaint: number;
  /** ms from spawn to the first tag row with a digest; undefined when the run has no tags to wait for. */
  data?: number;
}

/** Strips terminal escapes so screen text can be matched. */
function plain(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07]*\x07|\x1b[()][0-9A-Za-z]|\x1b[=>78]/g, "");
}

/**
 * Spawns `cmd` on a pty and resolves with the time to the first output matching `painted` and,
 * optionally, `loaded`; then sends ^C (and kills it if that does not end it).
 */
async function timeOnPty(cmd: string[], env: Record<string, string>, painted: RegExp, loaded?: RegExp): Promise<Timing> {
  let out = "";
  let firstPaint: number | undefined;
  let data: number | undefined;
  let done!: () => void;
  const finished = new Promise<void>((r) => (done = r));
  const t0 = performance.now();
  const proc = Bun.spawn(cmd, {
    env,
    terminal: {
      cols: 80,
      rows: 24,
      data: (_t, chunk) => {
        const now = performance.now();
        out += new TextDecoder().decode(chunk);
        const text = plain(out);
        if (firstPaint === undefined && painted.test(text)) firstPaint = now - t0;
        if (loaded && data === undefined && loaded.test(text)) data = now - t0;
        if (firstPaint !== undefined && (!loaded || data !== undefined)) done();
      },
    },
  });
  const timer = setTimeout(done, RUN_TIMEOUT_MS);
  await finished;
  clearTimeout(timer);
  proc.terminal?.write("\x03");
  const killer = setTimeout(() => proc.kill("SIGKILL"), 3000);
  await childExit(proc.pid, proc.exited);
  clearTimeout(killer);
  proc.terminal?.close();
  if (firstPaint === undefined) throw new Error(`${cmd.join(" ")}: no first frame within ${RUN_TIMEOUT_MS} ms; output:\n${plain(out).slice(0, 2000)}`);
  if (loaded && data === undefined) throw new Error(`${cmd.join(" ")}: no data within ${RUN_TIMEOUT_MS} ms; screen:\n${plain(out).slice(-2000)}`);
  return { firstPaint, ...(data !== undefined ? { data } : {}) };
}

/** `which`, without spawning a shell. */
function onPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? "").split(":")) {
    const p = join(dir, name);
    if (dir && existsSync(p)) return p;
  }
  return undefined;
}

async function pushExample(berth: string, url: string, home: string): Promise<void> {
  const p = Bun.spawn([berth, "push", "artifact", url, "-f", EXAMPLE, "--source=https://github.com/example/podinfo", `--revision=main@sha1:${"1".repeat(40)}`, "-q"], {
    env: { ...process.env, HOME: home, NO_COLOR: "1" },
    stdout: "ignore",
    stderr: "pipe",
  });
  if ((await childExit(p.pid, p.exited)) !== 0) throw new Error(`push ${url} failed: ${await new Response(p.stderr).text()}`);
}

const fmt = (xs: number[]) => `${median(xs).toFixed(0)} ms (min ${Math.min(...xs).toFixed(0)}, max ${Math.max(...xs).toFixed(0)})`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: process.argv.slice(2),
    options: {
      runs: { type: "string", default: "15" },
      berth: { type: "string", default: join(REPO_ROOT, "dist", "berth") },
      compare: { type: "string" },
      json: { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(readFileSync(import.meta.path, "utf8").split("*/")[0]!.replace(/^\/\*\*\n/, "").replace(/^ \* ?/gm, "") + "\n");
    return;
  }
  const runs = Number(values.runs);
  if (!Number.isInteger(runs) || runs < 1) throw new Error(`--runs must be a positive whole number, got ${values.runs}`);
  const berth = resolve(values.berth!);
  if (!existsSync(berth)) throw new Error(`${berth} is missing: run bun run compile first`);

  installSignalHandlers();
  const work = mkdtempSync(join(tmpdir(), "berth-bench-tui-"));
  onCleanup(() => rmSync(work, { recursive: true, force: true }));
  const home = join(work, "home");
  const reg = await startRegistry();
  onCleanup(() => reg.stop());
  const layout = `oci-layout://${join(work, "layout")}`;
  const remote = `oci://${reg.host}/bench/podinfo`;
  await pushExample(berth, `${layout}:1.0.0`, home);
  await pushExample(berth, `${remote}:1.0.0`, home);

  const env = { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: home, TERM: "xterm-256color", NO_COLOR: "1" };
  const painted = /berth ›/;
  const loaded = /1\.0\.0\s+sha256:[0-9a-f]{12}/;
  const results: Record<string, { firstPaint: number[]; data: number[] }> = {};
  const builds: [string, string][] = [["berth", berth]];
  if (values.compare) {
    const other = resolve(values.compare);
    if (!existsSync(other)) throw new Error(`--compare ${other} is missing`);
    builds.push(["compare", other]);
  }
  const targets: [string, string[]][] = builds.flatMap(([label, bin]): [string, string[]][] => [
    [`${label === "berth" ? "" : "(compare) "}berth ui oci-layout://…`, [bin, "ui", layout]],
    [`${label === "berth" ? "" : "(compare) "}berth ui oci://…`, [bin, "ui", remote]],
  ]);
  const k9s = onPath("k9s");
  // One warm-up run each: the first exec of a 120 MB binary measures the page cache, not berth.
  for (const [name, cmd] of targets) {
    await timeOnPty(cmd, env, painted, loaded);
    results[name] = { firstPaint: [], data: [] };
  }
  for (let i = 0; i < runs; i++) {
    for (const [name, cmd] of targets) {
      const t = await timeOnPty(cmd, env, painted, loaded);
      results[name]!.firstPaint.push(t.firstPaint);
      results[name]!.data.push(t.data!);
    }
  }
  if (k9s) {
    const r = (results["k9s (peer)"] = { firstPaint: [] as number[], data: [] as number[] });
    for (let i = 0; i < runs; i++) r.firstPaint.push((await timeOnPty([k9s, "--headless=false"], { ...env, KUBECONFIG: "/dev/null" }, /\S/)).firstPaint);
  }

  if (values.json) {
    process.stdout.write(JSON.stringify(Object.fromEntries(Object.entries(results).map(([k, v]) => [k, { firstPaintMs: median(v.firstPaint), dataMs: v.data.length ? median(v.data) : null, runs }])), null, 2) + "\n");
  } else {
    process.stdout.write(`first paint of the compiled TUI on an 80x24 pty, median of ${runs} runs (${berth}${values.compare ? `; compare: ${resolve(values.compare)}` : ""})\n`);
    for (const [name, v] of Object.entries(results)) {
      process.stdout.write(`  ${name.padEnd(36)} first frame ${fmt(v.firstPaint)}${v.data.length ? `   first tag row ${fmt(v.data)}` : ""}\n`);
    }
    if (!k9s) process.stdout.write("  peers: k9s is not on PATH here; no same-run comparison\n");
  }
}

try {
  await main();
} finally {
  await runCleanup();
}
