/**
 * Builds berth as one self-contained executable with `bun build --compile`.
 *   bun scripts/compile.ts            → dist/berth for this machine, then smoke-runs it
 *   bun scripts/compile.ts --all      → also dist/berth-linux-x64, -linux-arm64, -darwin-arm64
 * Traps handled here (../shared/design.md §2.7): hermetic binaries (no .env / bunfig autoload),
 * Bun's built-in undici ignoring custom CAs (imports of "undici" are pinned to the npm package),
 * bytecode needs ESM, and Ink's optional react-devtools-core (stubbed once the TUI lands).
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { BunPlugin } from "bun";

const root = resolve(import.meta.dir, "..");
const all = process.argv.includes("--all");
const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { version: string };
const versionFile = readFileSync(join(root, "src/cli/version.ts"), "utf8");
if (!versionFile.includes(`"${pkg.version}"`)) {
  console.error(`src/cli/version.ts does not hold package.json's version ${pkg.version}`);
  process.exit(1);
}

/** Resolve bare "undici" to the npm package so its TLS options (custom CAs, client certs) are honoured. */
const undiciFromNpm: BunPlugin = {
  name: "undici-from-npm",
  setup(build) {
    build.onResolve({ filter: /^undici$/ }, () => ({ path: join(root, "node_modules/undici/index.js") }));
  },
};

/** Ink imports the optional react-devtools-core; it is never used at run time, so it is stubbed. */
const devtoolsStub: BunPlugin = {
  name: "react-devtools-stub",
  setup(build) {
    build.onResolve({ filter: /^react-devtools-core$/ }, () => ({ path: "react-devtools-core", namespace: "stub" }));
    build.onLoad({ filter: /.*/, namespace: "stub" }, () => ({ contents: "export default { initialize() {}, connectToDevTools() {} };", loader: "js" }));
  },
};

const targets: { target: string; out: string }[] = [{ target: hostTarget(), out: "dist/berth" }];
if (all) {
  for (const t of ["linux-x64", "linux-arm64", "darwin-arm64"]) targets.push({ target: `bun-${t}`, out: `dist/berth-${t}` });
}

mkdirSync(join(root, "dist"), { recursive: true });
for (const { target, out } of targets) {
  const t0 = performance.now();
  const res = await Bun.build({
    // The compression worker is a separate entrypoint: Bun only embeds worker scripts listed here
    // (src/core/archive/workers.ts addresses it by its path under src/).
    entrypoints: [join(root, "src/main.ts"), join(root, "src/core/archive/archive-worker.ts")],
    compile: { target: target as never, outfile: join(root, out), autoloadDotenv: false, autoloadBunfig: false },
    minify: true,
    bytecode: true,
    format: "esm",
    sourcemap: "none",
    plugins: [undiciFromNpm, devtoolsStub],
  });
  if (!res.success) {
    for (const l of res.logs) console.error(l);
    process.exit(1);
  }
  console.log(`built ${out} (${target}) in ${((performance.now() - t0) / 1000).toFixed(1)}s`);
}

// The same program as one ESM file for Node >= 22 (`node dist/berth.mjs`): the portability check.
const nodeBundle = await Bun.build({
  entrypoints: [join(root, "src/main.ts")],
  target: "node",
  format: "esm",
  minify: true,
  naming: "berth.mjs",
  outdir: join(root, "dist"),
  plugins: [devtoolsStub],
});
if (!nodeBundle.success) {
  for (const l of nodeBundle.logs) console.error(l);
  process.exit(1);
}
console.log("built dist/berth.mjs (node)");

// Smoke-run the host binary from an empty directory with an empty environment: bundling and
// run-time resolution failures only show up here.
const bin = join(root, "dist/berth");
const empty = mkdtempSync(join(tmpdir(), "berth-smoke-"));
for (const args of [["--version"], ["push", "artifact", "--help"], ["list", "artifacts", "--help"], ["ui", "--help"]]) {
  const r = spawnSync(bin, args, { cwd: empty, env: {}, encoding: "utf8" });
  if (r.status !== 0) {
    console.error(`smoke run failed: berth ${args.join(" ")} exited ${r.status}\n${r.stdout}\n${r.stderr}`);
    process.exit(1);
  }
}
const v = spawnSync(bin, ["--version"], { cwd: empty, env: {}, encoding: "utf8" }).stdout.trim();
if (v !== pkg.version) {
  console.error(`smoke run: --version printed "${v}", want ${pkg.version}`);
  process.exit(1);
}
console.log(`smoke run ok: ${bin} --version → ${v}`);
if (!existsSync(bin)) process.exit(1);

function hostTarget(): string {
  const os = process.platform === "darwin" ? "darwin" : "linux";
  const arch = process.arch === "arm64" ? "arm64" : "x64";
  return `bun-${os}-${arch}`;
}
