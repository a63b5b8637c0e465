import { createReadStream } from "node:fs";
import { mkdir, open, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { randomBytes } from "node:crypto";
import { CoreError, fail, wrapError } from "../errors.ts";
import { Digester, isDigest, verifyStream } from "../oci/digest.ts";
import { ANNOTATION_REF_NAME, MAX_MANIFEST_BYTES, OCI_INDEX, OCI_LAYOUT_VERSION } from "../oci/media-types.ts";
import { encodeIndex, type ImageIndex } from "../oci/manifest.ts";
import type { Content, Deleter, Descriptor, Target } from "./store.ts";
import { bytesContent } from "./store.ts";

/**
 * An OCI image layout directory (image-spec image-layout.md) as a Target: `oci-layout`, `index.json`
 * and `blobs/sha256/<hex>`. Tags are `org.opencontainers.image.ref.name` annotations on index.json
 * entries, which is how skopeo (`oci:<dir>:<tag>`) and oras (`--oci-layout <dir>:<tag>`) name them.
 * Blobs are written to a temp file, verified, then renamed; a blob already present is skipped.
 */
export class LayoutStore implements Target, Deleter {
  readonly name: string;
  /** Serialises index.json read-modify-write within this process. */
  private indexLock: Promise<unknown> = Promise.resolve();

  constructor(readonly root: string) {
    this.name = `oci-layout://${root}`;
  }

  /** Opens a layout, creating the directory and its `oci-layout` marker when `create` is set. */
  static async open(root: string, opts: { create?: boolean } = {}): Promise<LayoutStore> {
    const s = new LayoutStore(root);
    try {
      const marker = JSON.parse(await readFile(join(root, "oci-layout"), "utf8"));
      if (typeof marker?.imageLayoutVersion !== "string") throw new Error("oci-layout has no imageLayoutVersion");
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "ENOENT") {
        throw wrapError(e, `${s.name}: not a valid OCI image layout`, "STORAGE_FAILED");
      }
      if (!opts.create) {
        fail("NOT_FOUND", `${s.name}: no OCI image layout at ${root}`, { hint: "push to it first, or check the path" });
      }
      try {
        await mkdir(join(root, "blobs", "sha256"), { recursive: true });
        await writeFile(join(root, "oci-layout"), JSON.stringify({ imageLayoutVersion: OCI_LAYOUT_VERSION }));
        await s.writeIndex({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [] });
      } catch (err) {
        throw wrapError(err, `${s.name}: cannot create OCI image layout`, "STORAGE_FAILED");
      }
    }
    return s;
  }

  blobPath(digest: string): string {
    if (!isDigest(digest)) fail("MANIFEST_INVALID", `${this.name}: unsupported digest ${digest}`);
    return join(this.root, "blobs", "sha256", digest.slice("sha256:".length));
  }

  async fetch(desc: Descriptor): Promise<Content> {
    const p = this.blobPath(desc.digest);
    try {
      await stat(p);
    } catch {
      fail("NOT_FOUND", `${this.name}: blob ${desc.digest} not found`, { digest: desc.digest });
    }
    return verifyStream(createReadStream(p, { highWaterMark: 1 << 20 }) as AsyncIterable<Uint8Array>, desc, `${this.name} blob ${desc.digest}`);
  }

  async exists(desc: Descriptor): Promise<boolean> {
    try {
      const s = await stat(this.blobPath(desc.digest));
      return s.size === desc.size;
    } catch {
      return false;
    }
  }

  async push(desc: Descriptor, content: Content | Uint8Array): Promise<void> {
    if (await this.exists(desc)) return;
    const final = this.blobPath(desc.digest);
    await mkdir(dirname(final), { recursive: true });
    const tmp = `${final}.${randomBytes(6).toString("hex")}.tmp`;
    const fh = await open(tmp, "wx", 0o644);
    try {
      const src = content instanceof Uint8Array ? bytesContent(content) : content;
      for await (const chunk of verifyStream(src, desc, `${this.name} blob ${desc.digest}`)) {
        await fh.write(chunk);
      }
      await fh.close();
      await rename(tmp, final);
    } catch (e) {
      await fh.close().catch(() => {});
      await rm(tmp, { force: true });
      if (e instanceof CoreError) throw e;
      throw wrapError(e, `${this.name}: writing blob ${desc.digest}`, "STORAGE_FAILED");
    }
  }

  async readIndex(): Promise<ImageIndex> {
    const p = join(this.root, "index.json");
    let raw: Buffer;
    try {
      const s = await stat(p);
      if (s.size > MAX_MANIFEST_BYTES) fail("SIZE_EXCEEDED", `${this.name}: index.json is larger than ${MAX_MANIFEST_BYTES} bytes`);
      raw = await readFile(p);
    } catch (e) {
      if (e instanceof CoreError) throw e;
      throw wrapError(e, `${this.name}: cannot read index.json`, "STORAGE_FAILED");
    }
    try {
      const ix = JSON.parse(raw.toString("utf8")) as ImageIndex;
      if (!Array.isArray(ix.manifests)) throw new Error("no manifests array");
      return ix;
    } catch (e) {
      fail("STORAGE_FAILED", `${this.name}: index.json is not a valid image index: ${(e as Error).message}`);
    }
  }

  private async writeIndex(ix: ImageIndex): Promise<void> {
    const p = join(this.root, "index.json");
    const tmp = `${p}.${randomBytes(6).toString("hex")}.tmp`;
    await writeFile(tmp, encodeIndex(ix));
    await rename(tmp, p);
  }

  private withIndex<T>(fn: (ix: ImageIndex) => T | Promise<T>): Promise<T> {
    const run = this.indexLock.then(async () => fn(await this.readIndex()));
    this.indexLock = run.catch(() => {});
    return run;
  }

  async resolve(reference: string): Promise<Descriptor> {
    const ix = await this.readIndex();
    const hit = isDigest(reference)
      ? ix.manifests.find((d) => d.digest === reference)
      : ix.manifests.find((d) => d.annotations?.[ANNOTATION_REF_NAME] === reference);
    if (hit) return { mediaType: hit.mediaType, digest: hit.digest, size: hit.size, ...(hit.artifactType ? { artifactType: hit.artifactType } : {}) };
    if (isDigest(reference)) {
      // A manifest reachable only through another one (an index child) is still addressable by digest.
      try {
        const s = await stat(this.blobPath(reference));
        const head = JSON.parse(await readFile(this.blobPath(reference), "utf8"));
        if (typeof head?.mediaType === "string") return { mediaType: head.mediaType, digest: reference, size: s.size };
      } catch {
        /* fall through to NOT_FOUND */
      }
    }
    throw new CoreError({ code: "NOT_FOUND", message: `${this.name}: ${reference} not found`, details: { ref: reference } });
  }

  async tag(desc: Descriptor, tag: string): Promise<void> {
    await this.withIndex(async (ix) => {
      const entry: Descriptor = { mediaType: desc.mediaType, digest: desc.digest, size: desc.size, annotations: { [ANNOTATION_REF_NAME]: tag } };
      if (desc.artifactType) entry.artifactType = desc.artifactType;
      // One tag names one manifest: drop the tag from any other entry, and drop untagged duplicates of this digest.
      const kept = ix.manifests.filter((d) => {
        const name = d.annotations?.[ANNOTATION_REF_NAME];
        if (name === tag) return false;
        return !(d.digest === desc.digest && name === undefined);
      });
      kept.push(entry);
      await this.writeIndex({ ...ix, manifests: kept });
    });
  }

  async tags(): Promise<string[]> {
    const ix = await this.readIndex();
    const out = new Set<string>();
    for (const d of ix.manifests) {
      const n = d.annotations?.[ANNOTATION_REF_NAME];
      if (n) out.add(n);
    }
    return [...out];
  }

  /** Removes the index entries for a manifest digest (blobs are left for a later garbage collection). */
  async delete(desc: Descriptor): Promise<void> {
    await this.withIndex(async (ix) => {
      await this.writeIndex({ ...ix, manifests: ix.manifests.filter((d) => d.digest !== desc.digest) });
    });
  }

  /** Size of a stored blob, or -1. */
  async blobSize(digest: string): Promise<number> {
    try {
      return (await stat(this.blobPath(digest))).size;
    } catch {
      return -1;
    }
  }
}

/** Hashes a file on disk (used to index foreign blobs); streams. */
export async function hashFile(path: string): Promise<{ digest: string; size: number }> {
  const d = new Digester();
  for await (const c of createReadStream(path, { highWaterMark: 1 << 20 }) as AsyncIterable<Uint8Array>) d.update(c);
  return { digest: d.digest(), size: d.size };
}
