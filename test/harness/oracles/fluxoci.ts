import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { run, runOk, type RunResult } from "../run.ts";

const SRC = join(import.meta.dir, "fluxoci");
/** Hashed in this order; scripts/setup's flux OCI block hashes the same files the same way. */
const SOURCES = ["go.mod", "go.sum", "main.go"] as const;

/** Versions the oracle links (go.mod pins them to what flux2 v2.9.4 requires). */
export const FLUXOCI_VERSIONS = {
  fluxcdPkgOci: "v0.68.1",
  fluxcdPkgTar: "v1.2.0",
  fluxcdPkgSourceignore: "v0.18.0",
  goContainerregistry: "v0.21.6",
} as const;

/** The go command: the one on PATH, else /usr/local/go/bin/go (where scripts/setup also looks). */
export function goBinary(): string {
  const onPath = (process.env.PATH ?? "").split(":").some((d) => d && existsSync(join(d, "go")));
  return onPath || !existsSync("/usr/local/go/bin/go") ? "go" : "/usr/local/go/bin/go";
}

function cacheBinDir(): string {
  return join(process.env.BERTH_CACHE ?? join(homedir(), ".cache", "berth"), "bin");
}

/** sha256 (hex) of go.mod, go.sum and main.go concatenated: the key of the cached binary. */
export function fluxociSourceHash(): string {
  const h = createHash("sha256");
  for (const f of SOURCES) h.update(readFileSync(join(SRC, f)));
  return h.digest("hex");
}

/**
 * Path of the Flux OCI library oracle (`test/harness/oracles/fluxoci`), built with `go build` into
 * `${BERTH_CACHE:-~/.cache/berth}/bin/fluxoci` unless the binary there was built from the same
 * go.mod/go.sum/main.go (recorded in `fluxoci.sha256` beside it). scripts/setup builds it ahead of
 * time; building here covers a changed source. The first build downloads modules from the Go proxy
 * (about a minute); go.sum is committed and the build is `-mod=readonly`, so it is reproducible.
 * Fails loudly when go or the proxy is unavailable: interop tests must not silently skip.
 */
export function fluxociPath(): string {
  const dir = cacheBinDir();
  const bin = join(dir, "fluxoci");
  const stamp = `${bin}.sha256`;
  const want = fluxociSourceHash();
  if (existsSync(bin) && existsSync(stamp) && readFileSync(stamp, "utf8").trim() === want) return bin;
  mkdirSync(dir, { recursive: true });
  // Build beside the target and rename, so test files running in parallel never see half a binary.
  const tmp = `${bin}.${process.pid}.tmp`;
  execFileSync(goBinary(), ["build", "-trimpath", "-o", tmp, "."], {
    cwd: SRC,
    env: { ...process.env, GOWORK: "off", GOFLAGS: "-mod=readonly -buildvcs=false", CGO_ENABLED: "0" },
    stdio: ["ignore", "inherit", "inherit"],
    timeout: 600_000,
  });
  renameSync(tmp, bin);
  writeFileSync(stamp, `${want}\n`);
  return bin;
}

/** Runs the oracle with `args` (see main.go for the subcommands); never throws on a non-zero exit. */
export function fluxoci(args: string[], env: Record<string, string | undefined> = {}): Promise<RunResult> {
  // A clean HOME keeps the machine's docker config out of the default keychain; TZ=UTC matches
  // what a flux 2.9.x binary writes for --reproducible on a UTC machine.
  return run([fluxociPath(), ...args], { timeoutMs: 120_000, env: { HOME: "/nonexistent-fluxoci-home", DOCKER_CONFIG: undefined, TZ: "UTC", ...env } });
}

/** `fluxoci build`: what `flux build artifact -p <dir> -o <out>` writes. */
export async function fluxBuild(dir: string, out: string): Promise<void> {
  await runOk([fluxociPath(), "build", dir, out]);
}

/** Options for {@link fluxPush}. */
export interface FluxPushOptions {
  source: string;
  revision: string;
  /** `--reproducible` (created = 1970-01-01T00:00:00Z). Default false. */
  reproducible?: boolean;
  /** `--insecure-registry`. Default true (the harness registries are plain HTTP on 127.0.0.1). */
  insecure?: boolean;
}

/** `fluxoci push`: what `flux push artifact` does; returns the manifest digest (`sha256:…`). */
export async function fluxPush(dir: string, ref: string, opts: FluxPushOptions): Promise<string> {
  const args = ["push", dir, ref, "--source", opts.source, "--revision", opts.revision];
  if (opts.reproducible) args.push("--reproducible");
  if (opts.insecure ?? true) args.push("--insecure");
  return (await checked(args)).stdout.trim();
}

/** `fluxoci pull`: what `flux pull artifact -o <dir>` does; returns the manifest digest. */
export async function fluxPull(ref: string, dir: string, insecure = true): Promise<string> {
  return (await checked(["pull", ref, dir, ...(insecure ? ["--insecure"] : [])])).stdout.trim();
}

/** `fluxoci diff`: the library's layer-digest comparison (spec §6). */
export async function fluxDiff(ref: string, dir: string, insecure = true): Promise<"equal" | "different"> {
  const out = (await checked(["diff", ref, dir, ...(insecure ? ["--insecure"] : [])])).stdout.trim();
  if (out !== "equal" && out !== "different") throw new Error(`fluxoci diff printed ${JSON.stringify(out)}`);
  return out;
}

async function checked(args: string[]): Promise<RunResult> {
  const res = await fluxoci(args);
  if (res.code !== 0) throw new Error(`fluxoci ${args.join(" ")} exited ${res.code}: ${res.stderr.trim()}`);
  return res;
}
