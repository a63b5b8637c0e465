import { createReadStream } from "node:fs";
import { CoreError } from "../errors.ts";
import { verifyStream } from "../oci/digest.ts";
import type { Content, Descriptor, Fetcher, Resolver } from "./store.ts";
import { bytesContent } from "./store.ts";

/**
 * A read-only source of freshly built content for `copy`: small blobs (config, manifest) held as
 * bytes, large ones (the layer) as files on disk streamed on demand, so a push never holds the
 * layer in memory.
 */
export class StagingStore implements Fetcher, Resolver {
  private readonly items = new Map<string, { desc: Descriptor; bytes?: Uint8Array; file?: string }>();

  addBytes(desc: Descriptor, bytes: Uint8Array): void {
    this.items.set(desc.digest, { desc, bytes });
  }

  addFile(desc: Descriptor, file: string): void {
    this.items.set(desc.digest, { desc, file });
  }

  async fetch(desc: Descriptor): Promise<Content> {
    const it = this.items.get(desc.digest);
    if (!it) throw new CoreError({ code: "NOT_FOUND", message: `staged blob ${desc.digest} not found` });
    if (it.bytes) return bytesContent(it.bytes);
    // Re-verified on read: the file sits in a temp dir between build and upload.
    return verifyStream(createReadStream(it.file!, { highWaterMark: 1 << 20 }) as AsyncIterable<Uint8Array>, it.desc);
  }

  async resolve(reference: string): Promise<Descriptor> {
    const it = this.items.get(reference);
    if (!it) throw new CoreError({ code: "NOT_FOUND", message: `staged manifest ${reference} not found` });
    return it.desc;
  }
}
