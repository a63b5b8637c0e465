import { createHash } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";

/** What {@link writeOciImageLayout} wrote: the layout dir and the digests and bytes of its one image. */
export interface WrittenOciImage {
  /** Layout directory; `oci:<dir>:<tag>` names the image for skopeo. */
  dir: string;
  tag: string;
  manifestDigest: string;
  /** Manifest bytes exactly as stored (what a registry must serve back). */
  manifest: Uint8Array;
  configDigest: string;
  layerDigest: string;
}

/** Options for {@link writeOciImageLayout}. */
export interface OciImageOptions {
  /** Tag recorded as `org.opencontainers.image.ref.name`. Default "v1". */
  tag?: string;
  /** Files of the single layer, path → content. Default `{ "hello.txt": "hello from berth tests\n" }`. */
  files?: Record<string, string>;
}

const sha256 = (b: Uint8Array) => `sha256:${createHash("sha256").update(b).digest("hex")}`;

/** A ustar archive of regular files with fixed owner/mode/mtime, so equal input gives equal bytes. */
export function tarFiles(files: Record<string, string>): Uint8Array {
  const blocks: Uint8Array[] = [];
  const enc = new TextEncoder();
  for (const [name, content] of Object.entries(files)) {
    const data = enc.encode(content);
    const h = new Uint8Array(512);
    const put = (off: number, len: number, s: string) => h.set(enc.encode(s).subarray(0, len), off);
    const octal = (n: number, len: number) => n.toString(8).padStart(len - 1, "0") + "\0";
    put(0, 100, name);
    put(100, 8, octal(0o644, 8));
    put(108, 8, octal(0, 8));
    put(116, 8, octal(0, 8));
    put(124, 12, octal(data.length, 12));
    put(136, 12, octal(0, 12));
    put(148, 8, "        ");
    put(156, 1, "0");
    put(257, 6, "ustar\0");
    put(263, 2, "00");
    let sum = 0;
    for (const b of h) sum += b;
    put(148, 8, sum.toString(8).padStart(6, "0") + "\0 ");
    blocks.push(h, data, new Uint8Array((512 - (data.length % 512)) % 512));
  }
  blocks.push(new Uint8Array(1024));
  return Buffer.concat(blocks);
}

/**
 * Writes an OCI image layout holding one linux/amd64 image with a single gzip layer, built locally
 * so tests need no network: `skopeo copy oci:<dir>:<tag> docker://...` pushes it.
 */
export function writeOciImageLayout(dir: string, opts: OciImageOptions = {}): WrittenOciImage {
  const tag = opts.tag ?? "v1";
  const files = opts.files ?? { "hello.txt": "hello from berth tests\n" };
  const blobsDir = join(dir, "blobs", "sha256");
  mkdirSync(blobsDir, { recursive: true });
  const putBlob = (bytes: Uint8Array) => {
    const digest = sha256(bytes);
    writeFileSync(join(blobsDir, digest.slice("sha256:".length)), bytes);
    return { digest, size: bytes.length };
  };
  const tar = tarFiles(files);
  const layer = putBlob(gzipSync(tar, { level: 9 }));
  const config = putBlob(
    Buffer.from(
      JSON.stringify({
        architecture: "amd64",
        os: "linux",
        config: {},
        rootfs: { type: "layers", diff_ids: [sha256(tar)] },
      }),
    ),
  );
  const manifestBytes = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      config: { mediaType: "application/vnd.oci.image.config.v1+json", ...config },
      layers: [{ mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", ...layer }],
    }),
  );
  const manifest = putBlob(manifestBytes);
  writeFileSync(join(dir, "oci-layout"), JSON.stringify({ imageLayoutVersion: "1.0.0" }));
  writeFileSync(
    join(dir, "index.json"),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [
        {
          mediaType: "application/vnd.oci.image.manifest.v1+json",
          ...manifest,
          annotations: { "org.opencontainers.image.ref.name": tag },
        },
      ],
    }),
  );
  return {
    dir,
    tag,
    manifestDigest: manifest.digest,
    manifest: manifestBytes,
    configDigest: config.digest,
    layerDigest: layer.digest,
  };
}
