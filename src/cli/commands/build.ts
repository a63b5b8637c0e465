import { mkdtemp, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fail } from "../../core/errors.ts";
import { buildArtifactArchive, type BuildOptions } from "../../core/artifact/build.ts";
import { Logger, parseFormat, printResult, type Streams } from "../output.ts";

export interface BuildFlags {
  ignorePaths?: string[];
  addIgnorePaths?: string[];
  resolveSymlinks?: boolean;
  sourceignore?: boolean;
  normalizeModes?: boolean;
  gzip?: string;
  gzipWorkers?: string;
}

export interface InputPath {
  path: string;
  /** The file name stdin content was stored under, if it came from stdin. */
  stdinName?: string;
  cleanup(): Promise<void>;
}

/**
 * Resolves `--path`: `-` reads stdin into a temp dir as `stdin.yaml` (a fixed name, so stdin builds
 * are reproducible; flux uses a random name), anything else must exist.
 */
export async function resolveInputPath(p: string, _env: NodeJS.ProcessEnv, stdin: AsyncIterable<Uint8Array> = process.stdin): Promise<InputPath> {
  if (p === "-") {
    const dir = await mkdtemp(join(tmpdir(), "berth-stdin-"));
    const chunks: Buffer[] = [];
    for await (const c of stdin) chunks.push(Buffer.from(c));
    const text = Buffer.concat(chunks).toString("utf8").replace(/[\r\n]+$/, "");
    const file = join(dir, "stdin.yaml");
    await writeFile(file, text, { mode: 0o644 });
    return { path: file, stdinName: "stdin.yaml", cleanup: () => rm(dir, { recursive: true, force: true }) };
  }
  try {
    await stat(p);
  } catch (e) {
    fail("USAGE", `invalid path '${p}', must point to an existing directory or file: ${(e as Error).message}`);
  }
  return { path: p, cleanup: async () => {} };
}

export function buildOptionsFrom(f: BuildFlags, input?: InputPath, outFile?: string): BuildOptions {
  const gz = f.gzip ?? "go";
  if (gz !== "go" && gz !== "zlib") fail("USAGE", `--gzip must be go or zlib, got "${gz}"`);
  return {
    ignorePaths: f.ignorePaths?.flatMap(splitCSV),
    addIgnorePaths: f.addIgnorePaths?.flatMap(splitCSV),
    resolveSymlinks: f.resolveSymlinks,
    sourceIgnore: f.sourceignore ?? true,
    normalizeModes: f.normalizeModes,
    gzip: gz,
    gzipWorkers: f.gzipWorkers === undefined ? undefined : parseWorkers(f.gzipWorkers),
    exclude: outFile ? [resolve(outFile)] : undefined,
  };
}

function parseWorkers(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 64) fail("USAGE", `--gzip-workers must be a whole number from 0 to 64, got "${v}"`);
  return n;
}

/** pflag StringSlice semantics: each value is split as CSV; `--ignore-paths=` gives an empty list. */
export function splitCSV(v: string): string[] {
  if (v === "") return [];
  return v.split(",").map((x) => x.trim()).filter((x) => x !== "");
}

export interface BuildCmdFlags extends BuildFlags {
  path?: string;
  output?: string;
  outputFormat?: string;
  quiet?: boolean;
}

/** `berth build artifact`: writes the tgz push would upload. */
export async function run(f: BuildCmdFlags, s: Streams, env: NodeJS.ProcessEnv): Promise<number> {
  const format = parseFormat(f.outputFormat);
  if (!f.path) fail("USAGE", `invalid path ""`, { hint: "point --path (-p) at a directory or file, or - for stdin" });
  const out = f.output || "artifact.tgz";
  const log = new Logger(s, f.quiet || format !== "human");
  const input = await resolveInputPath(f.path, env);
  try {
    log.action(`building artifact from ${f.path === "-" ? "stdin" : input.path}`);
    const res = await buildArtifactArchive(input.path, out, { ...buildOptionsFrom(f, input, out), signal: s.signal });
    for (const sk of res.skipped ?? []) log.warning(`skipped ${sk.path} (${sk.kind})`);
    if (format === "human") log.success(`artifact created at ${out}`);
    else await printResult(s, format, { path: out, digest: res.digest, size: res.size, diffID: res.diffId, files: res.files.length });
    return 0;
  } finally {
    await input.cleanup();
  }
}
