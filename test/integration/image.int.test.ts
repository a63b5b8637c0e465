import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { LayoutStore } from "../../src/core/index.ts";
import { buildImage, IMAGE_BINARY, IMAGE_UID, sharedLibraries } from "../../scripts/image.ts";
import { dockerRef, run, skopeoCopy, skopeoInspectRaw, startRegistry, type RegistryServer, type RunResult } from "../harness/index.ts";
import { BERTH_BIN, requireBinary } from "../e2e/berth-bin.ts";

const SCRIPT = join(import.meta.dir, "../../scripts/image");
const PATH_ENV = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

type Obj = Record<string, any>;
let work: string;
let reg: RegistryServer;
let tlsReg: RegistryServer;
let layoutDir: string;
let digest: string;
let manifestBytes: Buffer;
let manifest: Obj;
let config: Obj;
let rootfs: string;
let scriptRun: RunResult;

const blob = (d: string) => readFileSync(join(layoutDir, "blobs", "sha256", d.slice("sha256:".length)));

beforeAll(async () => {
  requireBinary();
  work = mkdtempSync(join(tmpdir(), "berth-image-test-"));
  [reg, tlsReg] = await Promise.all([startRegistry(), startRegistry({ tls: "tls" })]);
  layoutDir = join(work, "layout");
  // The script itself (bash wrapper + bun), building from the binary under test and pushing.
  scriptRun = await run(["bash", SCRIPT, "--binary", BERTH_BIN, "--layout", layoutDir, "--tag", "test", "--push", `oci://${reg.host}/berth/controller:test`, "--insecure-registry"], {
    timeoutMs: 300_000,
    env: { SOURCE_DATE_EPOCH: undefined },
  });
  if (scriptRun.code !== 0) throw new Error(`scripts/image failed (${scriptRun.code}):\n${scriptRun.stderr}`);
  digest = scriptRun.stdout.trim();
  const index = JSON.parse(readFileSync(join(layoutDir, "index.json"), "utf8")) as Obj;
  expect(index.manifests.find((m: Obj) => m.annotations?.["org.opencontainers.image.ref.name"] === "test")?.digest).toBe(digest);
  manifestBytes = blob(digest);
  manifest = JSON.parse(manifestBytes.toString("utf8"));
  config = JSON.parse(blob(manifest.config.digest).toString("utf8"));
  rootfs = join(work, "rootfs");
  mkdirSync(rootfs);
  for (const l of manifest.layers as Obj[]) {
    const x = await run(["tar", "-xzf", join(layoutDir, "blobs", "sha256", l.digest.slice(7)), "-C", rootfs]);
    if (x.code !== 0) throw new Error(`tar -x failed: ${x.stderr}`);
  }
}, 400_000);

afterAll(async () => {
  await Promise.all([reg?.stop(), tlsReg?.stop()]);
  if (work) rmSync(work, { recursive: true, force: true });
});

describe("scripts/image", () => {
  test("manifest and config: one gzip layer whose diffID is the tar's sha256; non-root user, berth --controller entrypoint, SSL_CERT_FILE", () => {
    expect(manifest.mediaType).toBe("application/vnd.oci.image.manifest.v1+json");
    expect(manifest.config.mediaType).toBe("application/vnd.oci.image.config.v1+json");
    expect(manifest.layers).toHaveLength(1);
    expect(manifest.layers[0].mediaType).toBe("application/vnd.oci.image.layer.v1.tar+gzip");
    const tar = gunzipSync(blob(manifest.layers[0].digest));
    expect(config.rootfs).toEqual({ type: "layers", diff_ids: [`sha256:${createHash("sha256").update(tar).digest("hex")}`] });
    expect([config.os, config.architecture]).toEqual(["linux", process.arch === "x64" ? "amd64" : process.arch]);
    expect(config.config.User).toBe(String(IMAGE_UID));
    expect(config.config.Entrypoint).toEqual([IMAGE_BINARY, "--controller"]);
    expect(config.config.Env).toContain("SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt");
    expect(config.created).toBe("1970-01-01T00:00:00Z");
  });

  test("the root filesystem holds the binary, CA bundle, loader and every library ldd lists, users, /tmp and /data", () => {
    const bin = statSync(join(rootfs, IMAGE_BINARY));
    expect(bin.size).toBe(statSync(BERTH_BIN).size);
    expect(bin.mode & 0o111).toBe(0o111);
    expect(readFileSync(join(rootfs, "usr/local/bin/berth")).equals(readFileSync(BERTH_BIN))).toBe(true);
    expect(readFileSync(join(rootfs, "etc/ssl/certs/ca-certificates.crt"), "utf8")).toContain("-----BEGIN CERTIFICATE-----");
    const libs = sharedLibraries(BERTH_BIN);
    expect(libs.some(([p]) => /ld-linux/.test(p))).toBe(true);
    for (const [p, host] of libs) expect(`${p} ${statSync(join(rootfs, p)).size}`).toBe(`${p} ${statSync(host).size}`);
    expect(readFileSync(join(rootfs, "etc/passwd"), "utf8")).toContain(`:${IMAGE_UID}:${IMAGE_UID}:`);
    expect(readFileSync(join(rootfs, "etc/group"), "utf8")).toContain(`:${IMAGE_UID}:`);
    expect(statSync(join(rootfs, "tmp")).mode & 0o7777).toBe(0o1777);
    const data = statSync(join(rootfs, "data"));
    expect(data.isDirectory()).toBe(true);
    // tar restores owners only when run as root.
    if (process.getuid?.() === 0) expect([data.uid, data.gid]).toEqual([IMAGE_UID, IMAGE_UID]);
  });

  test("reproducible: building again (in-process, into another layout) gives the same manifest digest", async () => {
    const other = await LayoutStore.open(join(work, "layout2"), { create: true });
    const img = await buildImage(other, "again", { binary: BERTH_BIN, mtime: 0 });
    expect(img.manifest.digest).toBe(digest);
    const shifted = await buildImage(other, "shifted", { binary: BERTH_BIN, mtime: 1_700_000_000 });
    expect(shifted.manifest.digest).not.toBe(digest);
  }, 300_000);

  test("the binary runs from the extracted root filesystem (chroot in a user namespace, else through the extracted loader)", async () => {
    mkdirSync(join(rootfs, "proc"), { recursive: true });
    // A container runtime mounts /proc; Bun's standalone executables read /proc/self/exe.
    const chroot = await run(["unshare", "-r", "-m", "-p", "-f", `--mount-proc=${join(rootfs, "proc")}`, "chroot", rootfs, IMAGE_BINARY, "--version"], { env: { PATH: PATH_ENV } });
    if (chroot.code === 0) {
      expect(chroot.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
      const help = await run(["unshare", "-r", "-m", "-p", "-f", `--mount-proc=${join(rootfs, "proc")}`, "chroot", rootfs, ...config.config.Entrypoint, "--help"], { env: { PATH: PATH_ENV } });
      expect(help.code).toBe(0);
      expect(help.stdout).toContain("--storage-path");
      return;
    }
    console.warn(`chroot in a user namespace failed (${chroot.stderr.trim()}); running through the extracted loader`);
    const loader = sharedLibraries(BERTH_BIN).find(([p]) => /ld-linux/.test(p))![0];
    const libDirs = [...new Set(sharedLibraries(BERTH_BIN).map(([p]) => join(rootfs, p, "..")))].join(":");
    const viaLoader = await run([join(rootfs, loader), "--library-path", libDirs, join(rootfs, IMAGE_BINARY), "--version"]);
    expect(viaLoader.stderr).toBe("");
    expect(viaLoader.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
  });

  test("inside the root filesystem, with the image's env, the binary trusts the image's CA bundle: it pushes to a TLS registry", async () => {
    const probe = await run(["unshare", "-r", "true"], { env: { PATH: PATH_ENV } });
    if (probe.code !== 0) {
      console.warn("no user namespaces here: the in-image TLS check needs chroot and is not run");
      return;
    }
    mkdirSync(join(rootfs, "proc"), { recursive: true });
    // `env -i` first: nothing from the test's environment reaches the binary but what is listed.
    const inImage = (env: string[]) =>
      run([
        "env", "-i", `PATH=${PATH_ENV}`, ...env,
        "unshare", "-r", "-m", "-p", "-f", `--mount-proc=${join(rootfs, "proc")}`, "chroot", rootfs,
        IMAGE_BINARY, "push", "artifact", `oci://${tlsReg.host}/probe/passwd:v1`, "-f", "/etc/passwd", "--source=image-test", "--revision=v1", "--timeout=30s",
      ]);
    // Without SSL_CERT_FILE the harness CA is unknown: the handshake fails (exit 3).
    const untrusted = await inImage([]);
    expect(untrusted.stderr).toContain("not trusted");
    // The image's bundle plus the harness CA (as an operator would add a private CA), through the image's env.
    appendFileSync(join(rootfs, "etc/ssl/certs/ca-certificates.crt"), "\n" + readFileSync(tlsReg.caFile!, "utf8"));
    const imageEnv = (config.config.Env as string[]).filter((e) => !e.startsWith("PATH="));
    const trusted = await inImage(imageEnv);
    expect(trusted.stderr).toContain("✔");
    expect(trusted.code).toBe(0);
  }, 120_000);

  test("pushed to a registry, skopeo reads the same manifest and copies every blob (digests verified)", async () => {
    expect(scriptRun.stderr).toContain(`✔ pushed ${reg.host}/berth/controller:test@${digest}`);
    const raw = await skopeoInspectRaw(dockerRef(reg, "berth/controller:test"), { registry: reg });
    expect(raw.stderr).toBe("");
    expect(Buffer.from(raw.stdout).equals(manifestBytes)).toBe(true);
    const cfg = await run(["skopeo", "inspect", "--config", "--tls-verify=false", "--no-creds", dockerRef(reg, "berth/controller:test")]);
    expect(cfg.code).toBe(0);
    expect(JSON.parse(cfg.stdout).config.Entrypoint).toEqual([IMAGE_BINARY, "--controller"]);
    const copied = await skopeoCopy({ ref: dockerRef(reg, "berth/controller:test"), endpoint: { registry: reg } }, `oci:${join(work, "skopeo-copy")}:x`, { timeoutMs: 180_000 });
    expect(copied.stderr).toBe("");
    expect(copied.code).toBe(0);
  }, 200_000);
});
