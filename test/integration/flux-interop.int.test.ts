/**
 * berth against Flux's own OCI library (the fluxoci oracle: fluxcd/pkg/oci v0.68.1 with
 * go-containerregistry v0.21.6, as flux 2.9 links them) on a real registry: same tgz bytes, same
 * manifest digest for reproducible pushes, artifacts pulled across tools extract the same files,
 * and the library's diff accepts berth's layer.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { registryFetchInit, run, runOk, startRegistry, type RegistryServer, type RunResult } from "../harness/index.ts";
import { FLUXOCI_VERSIONS, fluxBuild, fluxDiff, fluxociPath, fluxPull, fluxPush, goBinary } from "../harness/oracles/fluxoci.ts";

const REPO = join(import.meta.dir, "../..");
const BUN = join(REPO, "node_modules/.bin/bun");
const T = 120_000;
const SOURCE = "https://github.com/berth-test/interop";
const REVISION = "main@sha1:0123456789abcdef0123456789abcdef01234567";

/** berth's CLI: $BERTH_BIN when set (e.g. the compiled dist/berth), else the current sources under Bun. */
function berth(args: string[]): Promise<RunResult> {
  const cmd = process.env.BERTH_BIN ? [process.env.BERTH_BIN] : [BUN, join(REPO, "src/main.ts")];
  return run([...cmd, ...args], {
    timeoutMs: T,
    env: { HOME: "/nonexistent-berth-home", DOCKER_CONFIG: undefined, REGISTRY_AUTH_FILE: undefined, NO_COLOR: "1", TZ: "UTC", SOURCE_DATE_EPOCH: undefined },
  });
}

async function berthOk(args: string[]): Promise<RunResult> {
  const res = await berth(args);
  if (res.code !== 0) throw new Error(`berth ${args.join(" ")} exited ${res.code}: ${res.stderr.trim()}`);
  return res;
}

let work = "";
let reg: RegistryServer;
/** name → path of the input (a directory, or one file for `single-file`). */
const trees = new Map<string, string>();

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), "berth-flux-interop-"));
  // Building first surfaces a missing go or proxy as this hook's error, not as a test timeout.
  fluxociPath();
  await runOk(["bash", "/work/shared/vectors/flux/make-trees.sh", join(work, "vec")]);
  // Copies (modes kept): flux writes its temp archive into the source's parent directory, which
  // must not be the repo or the read-only shared data.
  mkdirSync(join(work, "src"));
  await runOk(["cp", "-a", join(REPO, "examples/podinfo"), join(work, "src/podinfo-example")]);
  await runOk(["cp", "-a", "/work/shared/data/podinfo/6.14.1/kustomize", join(work, "src/podinfo-6.14.1")]);
  for (const name of ["sample", "single", "long"]) trees.set(name, join(work, "vec", name));
  trees.set("podinfo-example", join(work, "src/podinfo-example"));
  trees.set("podinfo-6.14.1", join(work, "src/podinfo-6.14.1"));
  trees.set("single-file", join(work, "vec/sample/deployment.yaml"));
  reg = await startRegistry();
}, 600_000);

afterAll(async () => {
  await reg?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

const NAMES = ["sample", "single", "long", "podinfo-example", "podinfo-6.14.1", "single-file"] as const;
const tree = (name: string): string => trees.get(name)!;
const ref = (side: "flux" | "berth", name: string, tag = "v1"): string => `${reg.host}/${side}/${name}:${tag}`;

function sha256(b: Uint8Array): string {
  return createHash("sha256").update(b).digest("hex");
}

/** Index of the first differing byte, or -1. */
function firstDifference(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return a.length === b.length ? -1 : n;
}

function hexAround(b: Uint8Array, at: number): string {
  return Buffer.from(b.subarray(Math.max(0, at - 8), at + 24)).toString("hex");
}

/** Every entry under `dir`: `d <mode>` for directories, `f <mode> <sha256>` for files. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (rel: string): void => {
    for (const name of readdirSync(join(dir, rel)).sort()) {
      const r = rel ? `${rel}/${name}` : name;
      const st = lstatSync(join(dir, r));
      const mode = (st.mode & 0o7777).toString(8);
      if (st.isDirectory()) {
        out[r] = `d ${mode}`;
        walk(r);
      } else if (st.isFile()) out[r] = `f ${mode} ${sha256(readFileSync(join(dir, r)))}`;
      else out[r] = "other";
    }
  };
  walk("");
  return out;
}

/** Files only, by content: what "extracts the same files" means regardless of directory modes. */
function fileContents(snap: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(snap).filter(([, v]) => v.startsWith("f ")).map(([k, v]) => [k, v.split(" ")[2]!]));
}

function freshDir(label: string): string {
  return mkdtempSync(join(work, `${label}-`));
}

async function registryBlob(repoRef: string, digest: string): Promise<Uint8Array> {
  const repo = repoRef.slice(reg.host.length + 1).replace(/:[^:/]+$/, "");
  const res = await fetch(`${reg.url}/v2/${repo}/blobs/${digest}`, registryFetchInit(reg));
  if (!res.ok) throw new Error(`GET blob ${digest}: ${res.status}`);
  return new Uint8Array(await res.arrayBuffer());
}

async function registryManifest(repoRef: string, digest: string): Promise<{ raw: Uint8Array; json: { config: { digest: string }; layers: { digest: string; size: number }[] } }> {
  const repo = repoRef.slice(reg.host.length + 1).replace(/:[^:/]+$/, "");
  const res = await fetch(`${reg.url}/v2/${repo}/manifests/${digest}`, {
    ...registryFetchInit(reg),
    headers: { accept: "application/vnd.oci.image.manifest.v1+json" },
  });
  if (!res.ok) throw new Error(`GET manifest ${digest}: ${res.status}`);
  const raw = new Uint8Array(await res.arrayBuffer());
  return { raw, json: JSON.parse(new TextDecoder().decode(raw)) };
}

async function berthPushDigest(name: string, target: string): Promise<string> {
  const res = await berthOk(["push", "artifact", `oci://${target}`, "-f", tree(name), "--source", SOURCE, "--revision", REVISION, "--reproducible", "--insecure-registry", "-o", "json"]);
  return (JSON.parse(res.stdout) as { digest: string }).digest;
}

describe("build: flux library vs berth", () => {
  for (const name of NAMES) {
    test(`${name}: byte-identical tgz (and tar)`, async () => {
      const fluxOut = join(work, `${name}.flux.tgz`);
      const berthOut = join(work, `${name}.berth.tgz`);
      await fluxBuild(tree(name), fluxOut);
      await berthOk(["build", "artifact", "-p", tree(name), "-o", berthOut]);
      const f = new Uint8Array(readFileSync(fluxOut));
      const b = new Uint8Array(readFileSync(berthOut));
      // The tar is compared first so a failure says whether the layout or the deflate differs.
      const ft = new Uint8Array(gunzipSync(f));
      const bt = new Uint8Array(gunzipSync(b));
      const tarAt = firstDifference(ft, bt);
      expect(tarAt === -1 ? "same tar" : `tar differs at ${tarAt}: flux ${hexAround(ft, tarAt)} berth ${hexAround(bt, tarAt)}`).toBe("same tar");
      const at = firstDifference(f, b);
      expect(at === -1 ? "same tgz" : `tgz differs at ${at} (flux ${f.length} B, berth ${b.length} B): flux ${hexAround(f, at)} berth ${hexAround(b, at)}`).toBe("same tgz");
      expect(ft.length).toBeGreaterThan(1024);
    }, T);
  }
});

describe("push --reproducible: flux library vs berth on a registry", () => {
  const digests = new Map<string, { flux: string; berth: string }>();

  for (const name of NAMES) {
    test(`${name}: same manifest digest`, async () => {
      const flux = await fluxPush(tree(name), ref("flux", name), { source: SOURCE, revision: REVISION, reproducible: true });
      const berthDigest = await berthPushDigest(name, ref("berth", name));
      digests.set(name, { flux, berth: berthDigest });
      expect(flux).toMatch(/^sha256:[0-9a-f]{64}$/);
      if (berthDigest !== flux) {
        // Say which blob differs, with the bytes, before failing on the digest.
        const fm = await registryManifest(ref("flux", name), flux);
        const bm = await registryManifest(ref("berth", name), berthDigest);
        const fc = await registryBlob(ref("flux", name), fm.json.config.digest);
        const bc = await registryBlob(ref("berth", name), bm.json.config.digest);
        expect({ manifest: new TextDecoder().decode(bm.raw), config: new TextDecoder().decode(bc) }).toEqual({
          manifest: new TextDecoder().decode(fm.raw),
          config: new TextDecoder().decode(fc),
        });
      }
      expect(berthDigest).toBe(flux);
    }, T);
  }

  test("flux 2.9's config blob is the constant 115-byte document of spec §3.3", async () => {
    const name = "sample";
    const d = digests.get(name)?.flux ?? (await fluxPush(tree(name), ref("flux", name), { source: SOURCE, revision: REVISION, reproducible: true }));
    const m = await registryManifest(ref("flux", name), d);
    const config = await registryBlob(ref("flux", name), m.json.config.digest);
    expect(new TextDecoder().decode(config)).toBe('{"architecture":"","created":"0001-01-01T00:00:00Z","os":"","rootfs":{"type":"layers","diff_ids":null},"config":{}}');
    expect(m.json.config.digest).toBe("sha256:5b943e2b943f6c81dbbd4e2eca5121f4fcc39139e3d1219d6d89bd925b77d9fe");
    // Not reproducible pushes too: `created` never reaches the config under ggcr v0.21.6.
    const now = await fluxPush(tree(name), ref("flux", name, "now"), { source: SOURCE, revision: REVISION });
    expect(now).not.toBe(d);
    expect((await registryManifest(ref("flux", name, "now"), now)).json.config.digest).toBe(m.json.config.digest);
  }, T);

  for (const name of ["sample", "single"]) {
    test(`${name}: the flux library reproduces the golden vector's 2.9 manifest`, async () => {
      // vectors.txt: "== <tree>" … "-- ggcr>=0.21.6 …" then "manifest(N)=sha256:…" and the manifest JSON.
      const vectors = readFileSync("/work/shared/vectors/flux/vectors.txt", "utf8");
      const section = vectors.split(/^== /m).find((s) => s.startsWith(`${name}\n`))!;
      const era = section.split(/^\s*-- /m).find((s) => s.startsWith("ggcr>=0.21.6"))!;
      const [, wantDigest, wantJson] = /manifest\(\d+\)=(sha256:[0-9a-f]{64})\s*\n\s*(\{.*\})/.exec(era)!;
      const target = ref("flux", name, "vector");
      const got = await fluxPush(tree(name), target, { source: "https://github.com/org/repo", revision: "main@sha1:0123456789abcdef0123456789abcdef01234567", reproducible: true });
      expect(new TextDecoder().decode((await registryManifest(target, got)).raw)).toBe(wantJson!);
      expect(got).toBe(wantDigest!);
    }, T);
  }

  test("the oracle links the library versions flux 2.9.4 does", async () => {
    const info = (await runOk([goBinary(), "version", "-m", fluxociPath()])).stdout;
    const dep = (mod: string): string | undefined => new RegExp(`\\bdep\\s+${mod.replaceAll(".", "\\.")}\\s+(\\S+)`).exec(info)?.[1];
    expect(dep("github.com/fluxcd/pkg/oci")).toBe(FLUXOCI_VERSIONS.fluxcdPkgOci);
    expect(dep("github.com/fluxcd/pkg/tar")).toBe(FLUXOCI_VERSIONS.fluxcdPkgTar);
    expect(dep("github.com/fluxcd/pkg/sourceignore")).toBe(FLUXOCI_VERSIONS.fluxcdPkgSourceignore);
    expect(dep("github.com/google/go-containerregistry")).toBe(FLUXOCI_VERSIONS.goContainerregistry);
  }, T);
});

describe("pull across tools", () => {
  for (const name of NAMES) {
    test(`${name}: flux push → berth pull, berth push → flux pull`, async () => {
      const fluxRef = ref("flux", name, "pull");
      const berthRef = ref("berth", name, "pull");
      const fluxDigest = await fluxPush(tree(name), fluxRef, { source: SOURCE, revision: REVISION, reproducible: true });
      const berthDigest = await berthPushDigest(name, berthRef);

      const fluxByFlux = freshDir("ff");
      expect(await fluxPull(fluxRef, fluxByFlux)).toBe(fluxDigest);
      const fluxByBerth = freshDir("fb");
      await berthOk(["pull", "artifact", `oci://${fluxRef}`, "-o", fluxByBerth, "--insecure-registry"]);
      const berthByFlux = freshDir("bf");
      expect(await fluxPull(berthRef, berthByFlux)).toBe(berthDigest);

      const reference = snapshot(fluxByFlux);
      const files = fileContents(reference);
      expect(Object.keys(files).length).toBeGreaterThan(0);
      expect(fileContents(snapshot(fluxByBerth))).toEqual(files);
      expect(fileContents(snapshot(berthByFlux))).toEqual(files);
      // Entries, with modes: what flux's own Untar makes of either artifact.
      expect(snapshot(berthByFlux)).toEqual(reference);
    }, T);
  }

  test("berth pull gives files flux's modes and the source's contents", async () => {
    const fluxRef = ref("flux", "sample", "pull");
    await fluxPush(tree("sample"), fluxRef, { source: SOURCE, revision: REVISION, reproducible: true });
    const out = freshDir("modes");
    await berthOk(["pull", "artifact", `oci://${fluxRef}`, "-o", out, "--insecure-registry"]);
    const snap = snapshot(out);
    const src = snapshot(tree("sample"));
    for (const f of [".env", "deployment.yaml", "run.sh", "sub/b.yaml"]) expect(snap[f]).toBe(src[f]!);
    expect(snap["logo.png"]).toBeUndefined();
    expect(snap[".git"]).toBeUndefined();
    expect(snap["link.yaml"]).toBeUndefined();
  }, T);
});

describe("diff: the flux library on berth-pushed artifacts", () => {
  for (const name of NAMES) {
    test(`${name}: equal for the same tree`, async () => {
      const target = ref("berth", name, "diff");
      await berthPushDigest(name, target);
      expect(await fluxDiff(target, tree(name))).toBe("equal");
    }, T);
  }

  test("different after one byte changes, and berth diff agrees on a flux push", async () => {
    const copy = join(work, "diff-copy");
    await runOk(["cp", "-a", tree("sample"), copy]);
    const target = ref("berth", "diff-copy", "v1");
    await berthOk(["push", "artifact", `oci://${target}`, "-f", copy, "--source", SOURCE, "--revision", REVISION, "--reproducible", "--insecure-registry"]);
    expect(await fluxDiff(target, copy)).toBe("equal");
    writeFileSync(join(copy, "sub/b.yaml"), "kind: Namespacf\n");
    expect(await fluxDiff(target, copy)).toBe("different");

    const fluxRef = ref("flux", "diff-copy", "v1");
    await fluxPush(copy, fluxRef, { source: SOURCE, revision: REVISION, reproducible: true });
    expect((await berth(["diff", "artifact", `oci://${fluxRef}`, "--path", copy, "--insecure-registry"])).code).toBe(0);
    expect((await berth(["diff", "artifact", `oci://${target}`, "--path", copy, "--insecure-registry"])).code).toBe(1);
  }, T);
});
