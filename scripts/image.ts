/**
 * Assembles berth's controller image without Docker, with berth's own core: one reproducible layer
 * holding the compiled binary, the CA bundle, the shared libraries `ldd` lists (loader included),
 * /etc/passwd and /etc/group with the non-root user 65532, and /tmp and /data; an OCI config that runs
 * `berth --controller` as that user. Writes an OCI image layout, and optionally pushes it.
 *
 *   bun scripts/image.ts [--binary dist/berth] [--layout dist/image] [--tag <version>]
 *                        [--push oci://host/repo:tag] [--insecure-registry] [--mtime <unix seconds>]
 *
 * Same inputs, same digest: entries are sorted, owners and mtimes fixed (default 0, or
 * $SOURCE_DATE_EPOCH), gzip is the Go-identical deflate, and `created` follows the mtime.
 */
import { spawnSync } from "node:child_process";
import { createReadStream, existsSync, readFileSync, realpathSync, statSync } from "node:fs";
import { mkdtemp, open, rm } from "node:fs/promises";
import { homedir, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import {
  LayoutStore,
  OCI_CONFIG,
  OCI_LAYER_TAR_GZIP,
  OCI_MANIFEST,
  Digester,
  copy,
  createDockerConfigProvider,
  createRegistryClient,
  digestOf,
  encodeManifest,
  goJSON,
  parseArtifactURL,
  type Descriptor,
  type ImageManifest,
} from "../src/core/index.ts";
// The tar writer and gzip are internal to the core (no verb needs them outside it); the image layer
// needs uid/gid on two entries, which the flux-shaped `tarStream` fixes to 0, hence the raw headers.
import { rawHeaderBlock, splitUstarPath, tarPadding, TAR_TRAILER, TYPE_DIR, TYPE_FILE } from "../src/core/archive/tar-writer.ts";
import { gzipStream } from "../src/core/archive/gzip.ts";

const root = resolve(import.meta.dir, "..");
const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { version: string };

/** The unprivileged user the controller runs as (distroless's `nonroot`). */
export const IMAGE_UID = 65532;
/** Where the binary lives in the image; the Deployment from `berth install` runs this path. */
export const IMAGE_BINARY = "/usr/local/bin/berth";
const CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt";

/** One entry of the image's root filesystem. */
export interface RootfsEntry {
  /** Path in the image, without a leading slash. */
  path: string;
  type: "dir" | "file";
  mode: number;
  uid?: number;
  gid?: number;
  /** Host file whose bytes become this file's content. */
  source?: string;
  /** Literal content, for generated files. */
  text?: string;
}

/**
 * Shared libraries `ldd` reports for `binary`, as [path the loader will look up, host file holding
 * it]. The vDSO (no file) is skipped; the dynamic loader is listed at the absolute path the ELF names.
 */
export function sharedLibraries(binary: string): [string, string][] {
  const res = spawnSync("ldd", [binary], { encoding: "utf8" });
  if (res.status !== 0) {
    if (/not a dynamic executable/.test(res.stderr + res.stdout)) return [];
    throw new Error(`ldd ${binary} failed: ${res.stderr || res.stdout}`);
  }
  const out: [string, string][] = [];
  for (const line of res.stdout.split("\n")) {
    const arrow = line.match(/^\s*\S+\s+=>\s+(\/\S+)\s+\(/);
    const bare = line.match(/^\s*(\/\S+)\s+\(/);
    const p = arrow?.[1] ?? bare?.[1];
    if (!p) {
      if (/not found/.test(line)) throw new Error(`ldd ${binary}: ${line.trim()}`);
      continue;
    }
    out.push([p, realpathSync(p)]);
  }
  return out;
}

/** Every entry of the root filesystem, parents first, sorted by path. */
export function rootfsEntries(binary: string): RootfsEntry[] {
  const files: RootfsEntry[] = [
    { path: IMAGE_BINARY.slice(1), type: "file", mode: 0o755, source: binary },
    { path: CA_BUNDLE.slice(1), type: "file", mode: 0o644, source: CA_BUNDLE },
    { path: "etc/passwd", type: "file", mode: 0o644, text: `root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:${IMAGE_UID}:${IMAGE_UID}:nonroot:/home/nonroot:/sbin/nologin\n` },
    { path: "etc/group", type: "file", mode: 0o644, text: `root:x:0:\nnonroot:x:${IMAGE_UID}:\n` },
    ...sharedLibraries(binary).map(([p, src]): RootfsEntry => ({ path: p.slice(1), type: "file", mode: 0o755, source: src })),
  ];
  const dirs = new Map<string, RootfsEntry>([
    ["tmp", { path: "tmp", type: "dir", mode: 0o1777 }],
    // Artifacts go here; in a pod an emptyDir is mounted over it, but `docker run` works too.
    ["data", { path: "data", type: "dir", mode: 0o755, uid: IMAGE_UID, gid: IMAGE_UID }],
    ["home/nonroot", { path: "home/nonroot", type: "dir", mode: 0o755, uid: IMAGE_UID, gid: IMAGE_UID }],
  ]);
  for (const e of [...files, ...dirs.values()]) {
    const parts = e.path.split("/");
    for (let i = 1; i < parts.length; i++) {
      const d = parts.slice(0, i).join("/");
      if (!dirs.has(d)) dirs.set(d, { path: d, type: "dir", mode: 0o755 });
    }
  }
  const seen = new Set<string>();
  for (const f of files) {
    if (seen.has(f.path)) throw new Error(`${f.path} listed twice`);
    seen.add(f.path);
  }
  return [...dirs.values(), ...files].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

async function* fileChunks(path: string): AsyncGenerator<Uint8Array> {
  for await (const c of createReadStream(path, { highWaterMark: 1 << 20 })) yield c as Uint8Array;
}

/** The layer's tar stream: USTAR headers with the entries' owners and modes, `mtime` on every entry. */
export async function* layerTar(entries: readonly RootfsEntry[], mtime: number): AsyncGenerator<Uint8Array> {
  const enc = new TextEncoder();
  for (const e of entries) {
    const name = e.type === "dir" ? `${e.path}/` : e.path;
    const body = e.text !== undefined ? enc.encode(e.text) : undefined;
    const size = e.type === "dir" ? 0 : (body?.length ?? statSync(e.source!).size);
    let prefix = "";
    let short = name;
    if (enc.encode(name).length > 100) {
      const split = splitUstarPath(name);
      if (!split) throw new Error(`${name}: path too long for a USTAR header`);
      [prefix, short] = split;
    }
    yield rawHeaderBlock({
      name: short, prefix, mode: e.mode, uid: e.uid ?? 0, gid: e.gid ?? 0, size, mtime,
      typeflag: e.type === "dir" ? TYPE_DIR : TYPE_FILE, uname: "", gname: "", devmajor: 0, devminor: 0, magic: "ustar",
    });
    if (e.type === "dir") continue;
    let n = 0;
    for await (const chunk of body ? [body] : fileChunks(e.source!)) {
      n += chunk.length;
      yield chunk;
    }
    if (n !== size) throw new Error(`${e.source}: read ${n} bytes, expected ${size}; did it change while the image was built?`);
    const pad = tarPadding(size);
    if (pad) yield TAR_TRAILER.subarray(0, pad);
  }
  yield TAR_TRAILER;
}

/** What {@link buildImage} produced. */
export interface BuiltImage {
  manifest: Descriptor;
  config: Descriptor;
  layer: Descriptor & { diffId: string; tarSize: number };
  entries: RootfsEntry[];
}

/** Options of {@link buildImage}. */
export interface BuildImageOptions {
  /** The linux executable to ship. Default dist/berth. */
  binary?: string;
  /** Entry mtime and config `created`, in Unix seconds. Default $SOURCE_DATE_EPOCH, else 0. */
  mtime?: number;
  /** Version put in the image's labels and annotations. Default package.json's. */
  version?: string;
}

/** `uname -m`-style machine name → OCI architecture. */
function ociArch(): string {
  const a = process.arch;
  if (a === "x64") return "amd64";
  if (a === "arm64") return "arm64";
  throw new Error(`unsupported architecture ${a}`);
}

/**
 * Builds the image into `layout` (an OCI image layout, created when missing) and tags it `tag`.
 * The layer is written to a temp file while its digest and diffID are computed, then moved into the
 * layout by the layout store, which verifies it again.
 */
export async function buildImage(layout: LayoutStore, tag: string, opts: BuildImageOptions = {}): Promise<BuiltImage> {
  const binary = resolve(opts.binary ?? join(root, "dist/berth"));
  const version = opts.version ?? pkg.version;
  const mtime = opts.mtime ?? 0;
  const entries = rootfsEntries(binary);
  const work = await mkdtemp(join(tmpdir(), "berth-image-"));
  try {
    const layerFile = join(work, "layer.tar.gz");
    const diff = new Digester();
    let tarSize = 0;
    async function* counted(): AsyncGenerator<Uint8Array> {
      for await (const c of layerTar(entries, mtime)) {
        diff.update(c);
        tarSize += c.length;
        yield c;
      }
    }
    const gz = new Digester();
    let gzSize = 0;
    const fh = await open(layerFile, "w");
    try {
      for await (const c of gzipStream(counted(), { impl: "go" })) {
        gz.update(c);
        gzSize += c.length;
        await fh.write(c);
      }
    } finally {
      await fh.close();
    }
    const layer = { mediaType: OCI_LAYER_TAR_GZIP, digest: gz.digest(), size: gzSize };
    const diffId = diff.digest();
    const created = new Date(mtime * 1000).toISOString().replace(/\.000Z$/, "Z");
    const labels = { "org.opencontainers.image.source": "https://github.com/berth/berth", "org.opencontainers.image.version": version };
    const configBytes = new TextEncoder().encode(
      goJSON({
        architecture: ociArch(),
        os: "linux",
        created,
        config: {
          User: String(IMAGE_UID),
          Env: ["PATH=/usr/local/bin:/usr/bin:/bin", `SSL_CERT_FILE=${CA_BUNDLE}`, "HOME=/home/nonroot"],
          Entrypoint: [IMAGE_BINARY, "--controller"],
          WorkingDir: "/",
          Labels: labels,
        },
        rootfs: { type: "layers", diff_ids: [diffId] },
        history: [{ created, created_by: "berth scripts/image" }],
      }),
    );
    const config = { mediaType: OCI_CONFIG, digest: digestOf(configBytes), size: configBytes.length };
    const m: ImageManifest = { schemaVersion: 2, mediaType: OCI_MANIFEST, config, layers: [layer], annotations: { ...labels, "org.opencontainers.image.created": created } };
    const manifestBytes = encodeManifest(m);
    const manifest = { mediaType: OCI_MANIFEST, digest: digestOf(manifestBytes), size: manifestBytes.length };
    await layout.push(layer, fileChunks(layerFile));
    await layout.push(config, configBytes);
    await layout.push(manifest, manifestBytes);
    await layout.tag(manifest, tag);
    return { manifest, config, layer: { ...layer, diffId, tarSize }, entries };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      binary: { type: "string", default: join(root, "dist/berth") },
      layout: { type: "string", default: join(root, "dist/image") },
      tag: { type: "string", default: pkg.version },
      push: { type: "string" },
      "insecure-registry": { type: "boolean", default: false },
      mtime: { type: "string" },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) {
    console.log("usage: scripts/image [--binary dist/berth] [--layout dist/image] [--tag <version>] [--push oci://host/repo:tag] [--insecure-registry] [--mtime <unix seconds>]");
    return 0;
  }
  if (!existsSync(values.binary)) {
    console.error(`✗ ${values.binary} is missing: run scripts/compile first`);
    return 1;
  }
  const mtimeText = values.mtime ?? process.env.SOURCE_DATE_EPOCH ?? "0";
  const mtime = Number(mtimeText);
  if (!Number.isSafeInteger(mtime) || mtime < 0) {
    console.error(`✗ invalid mtime ${JSON.stringify(mtimeText)}: give whole seconds since the epoch`);
    return 1;
  }
  const layout = await LayoutStore.open(resolve(values.layout), { create: true });
  const t0 = performance.now();
  const img = await buildImage(layout, values.tag, { binary: values.binary, mtime });
  console.error(`✔ image ${img.manifest.digest} written to ${layout.root}:${values.tag} in ${((performance.now() - t0) / 1000).toFixed(1)}s`);
  console.error(`  layer ${img.layer.digest} (${(img.layer.size / 1e6).toFixed(1)} MB, ${img.entries.length} entries)`);
  if (values.push) {
    const ref = parseArtifactURL(values.push);
    if (ref.kind !== "registry" || ref.digest) {
      console.error("✗ --push wants oci://<registry>/<repo>[:tag]");
      return 1;
    }
    const client = createRegistryClient({
      insecure: values["insecure-registry"],
      credentials: createDockerConfigProvider({ env: { ...process.env }, homeDir: process.env.HOME ?? homedir() }),
    });
    try {
      const dst = client.repository({ registry: ref.registry, repository: ref.repository });
      const tag = ref.tag ?? values.tag;
      const res = await copy(layout, img.manifest.digest, dst, tag);
      console.error(`✔ pushed ${ref.registry}/${ref.repository}:${tag}@${img.manifest.digest} (${res.copied} uploaded, ${res.skipped} already there)`);
    } finally {
      await client.close();
    }
  }
  console.log(img.manifest.digest);
  return 0;
}

if (import.meta.main) {
  process.exitCode = await main().catch((e: unknown) => {
    console.error(`✗ ${e instanceof Error ? e.message : String(e)}`);
    return 1;
  });
}
