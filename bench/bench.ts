/**
 * berth vs crane, oras and skopeo on one local registry: push and pull of a generated ~100 MB /
 * 10,000-file tree, listing a 200-tag repository, and process start-up. Every case runs N times
 * (interleaved, so drift hits all tools alike) and the median is reported with peak RSS and CPU time
 * taken from the kernel's rusage of each child.
 *
 *   bun run bench                       full run (3 runs per case)
 *   bun run bench --quick               10 MB / 1,000 files / 20 tags, to try it out
 *   bun run bench --files 5000 --mb 50 --runs 5 --tags 100 --only push,pull --json
 *   bun run bench --berth ./dist/berth  time a given berth executable
 *
 * Nothing is written into the repository: the tree, OCI layouts and pull outputs live in a temp dir,
 * the registry in the test harness's, and both are removed on exit, failure or ^C.
 */
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statfsSync, statSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { basename, dirname, join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { startRegistry, peerPath, type RegistryServer } from "../test/harness/index.ts";
import { installSignalHandlers, onCleanup, runCleanup } from "./lib/cleanup.ts";
import { combine, exec, rssMethod, type Exec, type Sample } from "./lib/measure.ts";
import { addTags, fluxStyleList, layerBytes } from "./lib/registry-api.ts";
import { skopeoIsolation, type SkopeoIsolation } from "./lib/skopeo-isolation.ts";
import { formatTable, summarize, type Operation, type Row } from "./lib/report.ts";
import { generateTree, type TreeSummary } from "./lib/tree.ts";

const REPO_ROOT = resolve(import.meta.dir, "..");
const OPERATIONS: readonly Operation[] = ["startup", "push", "pull", "list"];

interface Config {
  files: number;
  mb: number;
  runs: number;
  tags: number;
  seed: number;
  json: boolean;
  only: Set<Operation>;
  berth?: string;
  pullDir?: string;
}

function parseConfig(argv: string[]): Config {
  const { values } = parseArgs({
    args: argv,
    options: {
      files: { type: "string" },
      mb: { type: "string" },
      runs: { type: "string", default: "3" },
      tags: { type: "string" },
      seed: { type: "string", default: "1" },
      quick: { type: "boolean", default: false },
      json: { type: "boolean", default: false },
      only: { type: "string" },
      berth: { type: "string" },
      "pull-dir": { type: "string" },
      help: { type: "boolean", short: "h", default: false },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(
      "usage: bun bench/bench.ts [--files N=10000] [--mb N=100] [--runs N=3] [--tags N=200] [--seed N=1]\n" +
        "                          [--quick] [--only startup,push,pull,list] [--berth PATH] [--pull-dir DIR] [--json]\n",
    );
    process.exit(0);
  }
  const num = (name: string, v: string | undefined, dflt: number, min: number): number => {
    const n = v === undefined ? dflt : Number(v);
    if (!Number.isFinite(n) || n < min) throw new Error(`--${name} must be a number >= ${min}, got ${v}`);
    return n;
  };
  const q = values.quick;
  const only = new Set<Operation>();
  for (const o of (values.only ?? OPERATIONS.join(",")).split(",")) {
    if (!OPERATIONS.includes(o as Operation)) throw new Error(`--only: unknown operation ${o} (one of ${OPERATIONS.join(", ")})`);
    only.add(o as Operation);
  }
  return {
    files: Math.round(num("files", values.files, q ? 1000 : 10_000, 2)),
    mb: num("mb", values.mb, q ? 10 : 100, 0.01),
    runs: Math.round(num("runs", values.runs, 3, 1)),
    tags: Math.round(num("tags", values.tags, q ? 20 : 200, 1)),
    seed: Math.round(num("seed", values.seed, 1, 0)),
    json: values.json,
    only,
    ...(values.berth ? { berth: resolve(values.berth) } : {}),
    ...(values["pull-dir"] ? { pullDir: resolve(values["pull-dir"]) } : {}),
  };
}

const log = (msg: string) => process.stderr.write(`bench: ${msg}\n`);

/**
 * How berth is started: the given or compiled executable when it runs, else Bun on the sources.
 * The executable is copied into the work dir first, so a rebuild of dist/berth during the run
 * cannot swap binaries between runs.
 */
async function resolveBerth(flag: string | undefined, work: string): Promise<{ cmd: string[]; label: string }> {
  const candidate = flag ?? join(REPO_ROOT, "dist", "berth");
  if (existsSync(candidate)) {
    const copy = join(work, "berth");
    copyFileSync(candidate, copy);
    chmodSync(copy, 0o755);
    const v = await exec([copy, "--version"], { check: false, rss: false });
    if (v.code === 0) {
      const st = statSync(candidate);
      return { cmd: [copy], label: `${candidate} (compiled, ${v.stdout.trim()}, built ${st.mtime.toISOString()})` };
    }
    if (flag) throw new Error(`--berth ${flag} --version exited ${v.code}: ${v.stderr.trim()}`);
    log(`${candidate} does not run (${v.stderr.trim().split("\n")[0]}); using bun src/main.ts`);
  } else if (flag) {
    throw new Error(`--berth ${flag}: no such file`);
  }
  return { cmd: [process.execPath, join(REPO_ROOT, "src", "main.ts")], label: `bun src/main.ts (not compiled; Bun ${Bun.version})` };
}

function toolPath(name: "crane" | "oras" | "skopeo"): string | Error {
  if (name === "skopeo") return Bun.which("skopeo") ?? new Error("skopeo not on PATH (scripts/setup installs it)");
  try {
    return peerPath(name);
  } catch (err) {
    return err as Error;
  }
}

/** Counts regular files under a directory (to check that a pull really extracted the tree). */
function countFiles(dir: string): number {
  let n = 0;
  for (const e of readdirSync(dir, { withFileTypes: true, recursive: true })) if (e.isFile()) n++;
  return n;
}

/** A benchmark case: one row, a function doing one timed run, and an optional check of the first run. */
interface Case {
  row: Row;
  /** Runs once, timed; `r` counts from 1. */
  run: (r: number) => Promise<Sample>;
  /** Runs after the first successful run, untimed; throws when the result is wrong. */
  verify?: () => Promise<void>;
}

function missing(row: Omit<Row, "samples">, err: Error): Case {
  return { row: { ...row, samples: [], error: err.message }, run: async () => Promise.reject(err) };
}

const single = (e: Exec): Sample => ({ seconds: e.seconds, maxRssBytes: e.maxRssBytes, cpuSeconds: e.cpuSeconds });

let failures = 0;

/** Runs every case `runs` times, interleaving tools within each run and rotating their order. */
async function measure(op: Operation, cases: Case[], runs: number): Promise<Row[]> {
  for (let r = 1; r <= runs; r++) {
    const order = cases.map((_, i) => cases[(i + r - 1) % cases.length]!);
    for (const c of order) {
      if (c.row.error) continue;
      try {
        const s = await c.run(r);
        c.row.samples.push(s);
        log(`[${op} ${r}/${runs}] ${c.row.tool}: ${s.seconds.toFixed(3)}s`);
        if (c.row.samples.length === 1 && c.verify) await c.verify();
      } catch (err) {
        c.row.error = (err as Error).message;
        failures++;
        log(`[${op} ${r}/${runs}] ${c.row.tool} FAILED: ${c.row.error}`);
      }
    }
  }
  return cases.map((c) => c.row);
}

interface Env {
  cfg: Config;
  reg: RegistryServer;
  work: string;
  /** Where pulls extract (a tmpfs by default; see pullRoot). */
  pullRoot: string;
  tree: string;
  treeInfo: TreeSummary;
  berth: string[];
  crane: string | Error;
  oras: string | Error;
  skopeo: string | Error;
  skopeoIso: SkopeoIsolation;
}

/** Runs skopeo inside its per-run cache isolation (see skopeo-isolation.ts). */
async function execSkopeo(env: Env, cmd: readonly string[]): Promise<Exec> {
  const w = env.skopeoIso.wrap(cmd);
  return exec(w.argv, w.env ? { env: w.env } : {});
}

function freshDir(env: Env, name: string): string {
  return mkdtempSync(join(env.work, `${name}-`));
}

/**
 * Where pulls extract. Default: a dir in /dev/shm when it has room. On this project's ext4 VMs, creating
 * 10,000 files cost anywhere from 0.7 s to 6.7 s of kernel time for the same `tar xzf`, depending on
 * how many inodes other processes had just freed (ext4's recently_deleted() scan in inode
 * allocation), which swamped the differences between the tools; tmpfs times the tools themselves.
 */
function pullRoot(cfg: Config, work: string, treeBytes: number): { dir: string; label: string } {
  if (cfg.pullDir) {
    mkdirSync(cfg.pullDir, { recursive: true });
    const dir = mkdtempSync(join(cfg.pullDir, "berth-bench-pull-"));
    return { dir, label: `${dir} (--pull-dir)` };
  }
  try {
    const st = statfsSync("/dev/shm");
    if (st.bavail * st.bsize > 4 * treeBytes) {
      const dir = mkdtempSync("/dev/shm/berth-bench-pull-");
      return { dir, label: `${dir} (tmpfs; --pull-dir to extract to disk)` };
    }
  } catch {
    // no /dev/shm
  }
  return { dir: join(work, "pulls"), label: `${join(work, "pulls")} (no roomy /dev/shm)` };
}

async function startupCases(env: Env): Promise<Case[]> {
  const cases: Case[] = [
    {
      row: { op: "startup", tool: "berth", method: "--version", likeForLike: true, baseline: true, samples: [] },
      run: async () => single(await exec([...env.berth, "--version"])),
    },
  ];
  for (const [tool, args] of [["crane", ["version"]], ["oras", ["version"]], ["skopeo", ["--version"]]] as const) {
    const p = env[tool];
    const row = { op: "startup" as const, tool, method: args.join(" "), likeForLike: true };
    cases.push(p instanceof Error ? missing(row, p) : { row: { ...row, samples: [] }, run: async () => single(await exec([p, ...args])) });
  }
  return cases;
}

/** Push cases. Each run pushes to a new repository, so no tool can skip an upload by an existence check. */
async function pushCases(env: Env): Promise<Case[]> {
  const { reg, tree } = env;
  const ref = (tool: string, r: number) => `${reg.host}/push/${tool}-${r}:bench`;
  const berthPush = (tool: string, extra: string[]): Case => ({
    row: {
      op: "push",
      tool,
      method: `push artifact${extra.length ? " " + extra.join(" ") : ""}`,
      likeForLike: true,
      baseline: extra.length === 0,
      samples: [],
      ...(extra.length ? { note: "same work as berth with the faster, non-flux-identical zlib deflate (other digests)" } : {}),
    },
    run: async (r) =>
      single(await exec([...env.berth, "push", "artifact", `oci://${ref(tool.replace(/\W+/g, "-"), r)}`, "-f", tree, "--source=bench", "--revision=bench@sha1:0", ...extra])),
  });
  const cases: Case[] = [berthPush("berth", []), berthPush("berth zlib", ["--gzip", "zlib"])];

  const oras = env.oras;
  const orasRow = {
    op: "push" as const,
    tool: "oras",
    method: "oras push --plain-http <dir>",
    likeForLike: true,
    note: "oras tars and gzips the directory itself (Go compress/gzip, default level); layer differs in bytes",
  };
  cases.push(
    oras instanceof Error
      ? missing(orasRow, oras)
      : {
          row: { ...orasRow, samples: [] },
          // oras wants a relative path; the layer is titled with the directory's name.
          run: async (r) => single(await exec([oras, "push", "--plain-http", ref("oras", r), basename(tree)], { cwd: dirname(tree) })),
        },
  );

  const crane = env.crane;
  const craneRow = {
    op: "push" as const,
    tool: "crane",
    method: "tar czf + crane append -f <tgz>",
    likeForLike: true,
    note: "GNU tar + gzip -6 (separate processes) then crane append --oci-empty-base; time is the sum of both steps",
  };
  cases.push(
    crane instanceof Error
      ? missing(craneRow, crane)
      : {
          row: { ...craneRow, samples: [] },
          run: async (r) => {
            const tgz = join(env.work, `crane-${r}.tgz`);
            try {
              const tar = await exec(["tar", "czf", tgz, "-C", tree, "."]);
              const app = await exec([crane, "append", "--insecure", "--oci-empty-base", "-f", tgz, "-t", ref("crane", r)]);
              return combine([["tar czf", tar], ["crane append", app]]);
            } finally {
              rmSync(tgz, { force: true });
            }
          },
        },
  );

  const skopeo = env.skopeo;
  const skopeoRow = {
    op: "push" as const,
    tool: "skopeo",
    method: "skopeo copy oci:<layout> docker://",
    likeForLike: false,
    note: "transfer only: copies a prebuilt OCI layout holding berth's tgz (no tar, no gzip); blob-info cache emptied per run",
  };
  if (skopeo instanceof Error) {
    cases.push(missing(skopeoRow, skopeo));
  } else {
    const layout = join(env.work, "layout");
    // Untimed preparation: the same artifact berth pushes, stored as an OCI image layout.
    await exec([...env.berth, "push", "artifact", `oci-layout://${layout}:bench`, "-f", tree, "--source=bench", "--revision=bench@sha1:0"]);
    cases.push({
      row: { ...skopeoRow, samples: [] },
      run: async (r) =>
        single(await execSkopeo(env, [skopeo, "--insecure-policy", "copy", "--retry-times=0", "--dest-tls-verify=false", `oci:${layout}:bench`, `docker://${ref("skopeo", r)}`])),
    });
  }
  for (const c of cases) {
    const repo = `push/${c.row.tool.replace(/\W+/g, "-")}-1`;
    c.verify = async () => {
      c.row.layerBytes = await layerBytes(reg.url, repo, "bench");
    };
  }
  return cases;
}

/** Pull cases; each run extracts into a new empty directory, removed (untimed) afterwards. */
async function pullCases(env: Env, pushed: Row[]): Promise<Case[]> {
  const { reg } = env;
  const pushedOk = (tool: string) => pushed.find((r) => r.tool === tool && r.samples.length > 0);
  const berthRef = `${reg.host}/push/berth-1:bench`;
  const orasRef = `${reg.host}/push/oras-1:bench`;
  const want = env.treeInfo.files;
  const noBerthArtifact = new Error("berth's push failed, so there is no artifact to pull");

  const withOut = async (r: number, tool: string, fn: (out: string) => Promise<Sample>, check?: (out: string) => void) => {
    const out = mkdtempSync(join(env.pullRoot, `pull-${tool}-${r}-`));
    try {
      const s = await fn(out);
      if (r === 1 && check) check(out);
      return s;
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  };
  const expectFiles = (tool: string) => (out: string) => {
    const n = countFiles(out);
    if (n !== want) throw new Error(`${tool} pull extracted ${n} files, expected ${want}`);
  };

  const cases: Case[] = [];
  const berthRow = { op: "pull" as const, tool: "berth", method: "pull artifact -o <empty dir> --max-size -1", likeForLike: true, baseline: true };
  cases.push(
    !pushedOk("berth")
      ? missing(berthRow, noBerthArtifact)
      : {
          row: { ...berthRow, note: "--max-size -1 lifts berth's default 100 MiB extraction cap (flux has none)", samples: [] },
          run: (r) => withOut(r, "berth", async (out) => single(await exec([...env.berth, "pull", "artifact", `oci://${berthRef}`, "-o", out, "--max-size", "-1"])), expectFiles("berth")),
        },
  );

  const oras = env.oras;
  const orasRow = {
    op: "pull" as const,
    tool: "oras",
    method: "oras pull --plain-http -o <empty dir>",
    likeForLike: true,
    note: "pulls oras's own push (oras skips layers without a title, such as flux's); same tree, its own tgz",
  };
  cases.push(
    oras instanceof Error
      ? missing(orasRow, oras)
      : !pushedOk("oras")
        ? missing(orasRow, new Error("oras push failed, so there is no oras artifact to pull"))
        : {
            row: { ...orasRow, samples: [] },
            run: (r) => withOut(r, "oras", async (out) => single(await exec([oras, "pull", "--plain-http", orasRef, "-o", out])), expectFiles("oras")),
          },
  );

  const crane = env.crane;
  const craneRow = {
    op: "pull" as const,
    tool: "crane",
    method: "crane export <ref> - | tar xf -",
    likeForLike: true,
    note: "pulls berth's artifact; crane fetches and gunzips the single layer, GNU tar extracts; RSS is the larger of the two",
  };
  cases.push(
    crane instanceof Error
      ? missing(craneRow, crane)
      : !pushedOk("berth")
        ? missing(craneRow, noBerthArtifact)
        : {
            row: { ...craneRow, samples: [] },
            run: (r) =>
              withOut(
                r,
                "crane",
                async (out) => single(await exec(["bash", "-o", "pipefail", "-c", '"$0" export --insecure "$1" - | tar xf - -C "$2"', crane, berthRef, out])),
                expectFiles("crane"),
              ),
          },
  );

  const skopeo = env.skopeo;
  const skopeoRow = {
    op: "pull" as const,
    tool: "skopeo",
    method: "skopeo copy docker:// oci:<dir>",
    likeForLike: false,
    note: "transfer only: stores the layer in an OCI layout, nothing is decompressed or extracted",
  };
  cases.push(
    skopeo instanceof Error
      ? missing(skopeoRow, skopeo)
      : !pushedOk("berth")
        ? missing(skopeoRow, noBerthArtifact)
        : {
            row: { ...skopeoRow, samples: [] },
            run: (r) =>
              withOut(r, "skopeo", async (out) =>
                single(await execSkopeo(env, [skopeo, "--insecure-policy", "copy", "--retry-times=0", "--src-tls-verify=false", `docker://${berthRef}`, `oci:${out}:bench`])),
              ),
          },
  );
  return cases;
}

/** List cases over one repository holding `cfg.tags` tags of one small artifact. */
async function listCases(env: Env): Promise<Case[]> {
  const { reg, cfg } = env;
  const repo = "list/app";
  const tags = Array.from({ length: cfg.tags }, (_, i) => `v1.${Math.floor(i / 10)}.${i % 10}`);
  const small = freshDir(env, "list-src");
  writeFileSync(join(small, "deployment.yaml"), "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: app\n");
  writeFileSync(join(small, "service.yaml"), "apiVersion: v1\nkind: Service\nmetadata:\n  name: app\n");
  await exec([...env.berth, "push", "artifact", `oci://${reg.host}/${repo}:${tags[0]}`, "-f", small, "--source=https://example.com/app.git", "--revision=main@sha1:0123456789abcdef0123456789abcdef01234567"]);
  await addTags(reg.url, repo, tags[0]!, tags.slice(1));
  log(`list: ${repo} holds ${tags.length} tags`);

  const expectLines = (tool: string, min: number) => (e: Exec) => {
    const n = e.stdout.split("\n").filter((l) => l.trim()).length;
    if (n < min) throw new Error(`${tool} printed ${n} lines, expected at least ${min}`);
  };
  const cases: Case[] = [];
  const checked = (tool: string, cmd: () => string[], check: (e: Exec) => void): Case["run"] => {
    return async (r) => {
      const e = await exec(cmd());
      if (r === 1) check(e);
      return single(e);
    };
  };
  cases.push({
    row: { op: "list", tool: "berth", method: "list artifacts (tags + every manifest)", likeForLike: true, baseline: true, samples: [] },
    run: checked("berth", () => [...env.berth, "list", "artifacts", `oci://${reg.host}/${repo}`], expectLines("berth", tags.length + 1)),
  });

  const crane = env.crane;
  const tagsOnly = "tags only: no manifest is fetched, so no source/revision/digest columns";
  const craneLs = { op: "list" as const, tool: "crane", method: "crane ls", likeForLike: false, note: tagsOnly };
  const fluxCrane = {
    op: "list" as const,
    tool: "flux-equiv crane",
    method: `crane ls + crane manifest x${tags.length}`,
    likeForLike: false,
    note: "flux list's requests, sequentially, one crane process per manifest (flux runs one process and also HEADs each tag)",
  };
  if (crane instanceof Error) {
    cases.push(missing(craneLs, crane), missing(fluxCrane, crane));
  } else {
    cases.push({ row: { ...craneLs, samples: [] }, run: checked("crane", () => [crane, "ls", "--insecure", `${reg.host}/${repo}`], expectLines("crane", tags.length)) });
    cases.push({
      row: { ...fluxCrane, samples: [] },
      run: async () => {
        const ls = await exec([crane, "ls", "--insecure", `${reg.host}/${repo}`]);
        const steps: [string, Exec][] = [["crane ls", ls]];
        for (const t of ls.stdout.split("\n").filter(Boolean)) steps.push(["crane manifest", await exec([crane, "manifest", "--insecure", `${reg.host}/${repo}:${t}`])]);
        if (steps.length !== tags.length + 1) throw new Error(`crane ls gave ${steps.length - 1} tags, expected ${tags.length}`);
        return combine(steps);
      },
    });
  }
  cases.push({
    row: {
      op: "list",
      tool: "flux-equiv fetch",
      method: `in-bench fetch: tags + (GET+HEAD) x${tags.length}`,
      likeForLike: false,
      note: "flux list's exact requests (GET manifest, HEAD digest per tag, sequential) from inside this process: no start-up, no table; a floor for flux",
      samples: [],
    },
    run: async () => {
      const { sample, tags: n } = await fluxStyleList(reg.url, repo);
      if (n !== tags.length) throw new Error(`listed ${n} tags, expected ${tags.length}`);
      return sample;
    },
  });

  const oras = env.oras;
  const orasRow = { op: "list" as const, tool: "oras", method: "oras repo tags", likeForLike: false, note: tagsOnly };
  cases.push(
    oras instanceof Error
      ? missing(orasRow, oras)
      : { row: { ...orasRow, samples: [] }, run: checked("oras", () => [oras, "repo", "tags", "--plain-http", `${reg.host}/${repo}`], expectLines("oras", tags.length)) },
  );
  const skopeo = env.skopeo;
  const skopeoRow = { op: "list" as const, tool: "skopeo", method: "skopeo list-tags", likeForLike: false, note: tagsOnly };
  cases.push(
    skopeo instanceof Error
      ? missing(skopeoRow, skopeo)
      : {
          row: { ...skopeoRow, samples: [] },
          run: checked("skopeo", () => [skopeo, "list-tags", "--tls-verify=false", `docker://${reg.host}/${repo}`], expectLines("skopeo", tags.length)),
        },
  );
  return cases;
}

async function versionOf(cmd: string | Error, args: string[]): Promise<string> {
  if (cmd instanceof Error) return "missing";
  const e = await exec([cmd, ...args], { check: false });
  return (e.stdout.trim().split("\n")[0] ?? "").replace(/^version:\s*/i, "").trim() || `exit ${e.code}`;
}

async function main(): Promise<void> {
  const cfg = parseConfig(process.argv.slice(2));
  installSignalHandlers();

  const work = mkdtempSync(join(tmpdir(), "berth-bench-"));
  onCleanup(() => rmSync(work, { recursive: true, force: true }));

  const berth = await resolveBerth(cfg.berth, work);
  log(`berth: ${berth.label}`);
  const tree = join(work, "tree");
  mkdirSync(tree);
  const t0 = performance.now();
  const treeInfo = generateTree(tree, { files: cfg.files, bytes: Math.round(cfg.mb * 1e6), seed: cfg.seed });
  log(
    `tree: ${treeInfo.files} files in ${treeInfo.dirs} dirs, ${(treeInfo.bytes / 1e6).toFixed(1)} MB ` +
      `(${(treeInfo.randomBytes / 1e6).toFixed(1)} MB incompressible in ${treeInfo.randomFiles} files), ${((performance.now() - t0) / 1000).toFixed(1)}s`,
  );

  const reg = await startRegistry();
  onCleanup(() => reg.stop());
  log(`registry: ${reg.url} (CNCF Distribution, filesystem storage, plain HTTP)`);

  const pulls = pullRoot(cfg, work, treeInfo.bytes);
  mkdirSync(pulls.dir, { recursive: true });
  onCleanup(() => rmSync(pulls.dir, { recursive: true, force: true }));
  if (cfg.only.has("pull")) log(`pull outputs: ${pulls.label}`);
  const skopeoIso = await skopeoIsolation(work);
  log(`skopeo: ${skopeoIso.how}`);
  const env: Env = { cfg, reg, work, tree, treeInfo, berth: berth.cmd, crane: toolPath("crane"), oras: toolPath("oras"), skopeo: toolPath("skopeo"), skopeoIso, pullRoot: pulls.dir };
  for (const t of ["crane", "oras", "skopeo"] as const) if (env[t] instanceof Error) log(`${t} missing: ${(env[t] as Error).message}`);

  const loadBefore = loadavg()[0]!;
  const rows: Row[] = [];
  if (cfg.only.has("startup")) rows.push(...(await measure("startup", await startupCases(env), cfg.runs)));
  let pushed: Row[] = [];
  if (cfg.only.has("push") || cfg.only.has("pull")) {
    // Pull needs the artifacts; with --only pull they are pushed once, untimed.
    pushed = await measure("push", await pushCases(env), cfg.only.has("push") ? cfg.runs : 1);
    if (cfg.only.has("push")) rows.push(...pushed);
  }
  if (cfg.only.has("pull")) rows.push(...(await measure("pull", await pullCases(env, pushed), cfg.runs)));
  if (cfg.only.has("list")) rows.push(...(await measure("list", await listCases(env), cfg.runs)));

  const summaries = summarize(rows);
  const meta = {
    date: new Date().toISOString(),
    machine: {
      cpus: cpus().length,
      model: cpus()[0]?.model ?? "?",
      platform: `${process.platform}-${process.arch}`,
      // Other work on the machine skews wall-clock times; CPU seconds are steadier.
      loadavg1mBefore: loadBefore,
      loadavg1mAfter: loadavg()[0]!,
    },
    berth: berth.label,
    versions: {
      crane: await versionOf(env.crane, ["version"]),
      oras: await versionOf(env.oras, ["version"]),
      skopeo: await versionOf(env.skopeo, ["--version"]),
      registry: "docker-registry (Debian, CNCF Distribution 2.8)",
    },
    tree: { files: treeInfo.files, dirs: treeInfo.dirs, bytes: treeInfo.bytes, randomBytes: treeInfo.randomBytes, seed: cfg.seed },
    runs: cfg.runs,
    tags: cfg.tags,
    method: {
      timing: "wall clock from spawn to exit of each command; median of the runs",
      rss: rssMethod(),
      cpu: "user+system CPU of the command and its reaped children (Bun Subprocess.resourceUsage())",
      isolation: "every push goes to a new repository (push/<tool>-<run>), so no upload is skipped; the registry is not cleaned",
      skopeo: skopeoIso.how,
      pullOutputs: pulls.label,
    },
  };
  const table =
    `berth: ${meta.berth}\ntree: ${treeInfo.files} files, ${(treeInfo.bytes / 1e6).toFixed(1)} MB (${(treeInfo.randomBytes / 1e6).toFixed(1)} MB incompressible); ` +
    `${cfg.runs} runs per case, median; list repo: ${cfg.tags} tags; ${meta.machine.cpus} CPUs (${meta.machine.model}), ` +
    `load ${loadBefore.toFixed(1)} before / ${meta.machine.loadavg1mAfter.toFixed(1)} after\n` +
    `peer versions: crane ${meta.versions.crane}, oras ${meta.versions.oras}, ${meta.versions.skopeo}\n` +
    `peak RSS: ${meta.method.rss}\n` +
    (cfg.only.has("pull") ? `pull outputs: ${pulls.label}\n` : "") +
    "\n" +
    formatTable(summaries);
  if (cfg.json) {
    process.stderr.write(`${table}\n`);
    process.stdout.write(`${JSON.stringify({ meta, rows: summaries }, null, 2)}\n`);
  } else {
    process.stdout.write(`${table}\n`);
  }
  // A missing peer is reported in its row; only a failed run makes the benchmark fail.
  if (failures > 0) process.exitCode = 1;
}

try {
  await main();
} catch (err) {
  process.stderr.write(`bench: ${(err as Error).message}\n`);
  process.exitCode = 1;
} finally {
  await runCleanup();
}
