import { CoreError, fail } from "../errors.ts";
import { digestOf, readAll, verifyStream } from "../oci/digest.ts";
import { isDigest } from "../oci/digest.ts";
import type { Content, Descriptor, Target } from "./store.ts";
import { bytesContent } from "./store.ts";

/**
 * An in-memory Target (oras `memory.New()`): small staging areas and the test double of every verb.
 * A real implementation of the storage interfaces, not a mock of a server. Not for large blobs.
 */
export class MemoryStore implements Target {
  readonly name: string;
  private readonly blobs = new Map<string, { desc: Descriptor; bytes: Uint8Array }>();
  private readonly tagMap = new Map<string, Descriptor>();

  constructor(name = "memory") {
    this.name = name;
  }

  async fetch(desc: Descriptor): Promise<Content> {
    const b = this.blobs.get(desc.digest);
    if (!b) fail("NOT_FOUND", `${this.name}: blob ${desc.digest} not found`, { digest: desc.digest });
    return bytesContent(b.bytes);
  }

  async push(desc: Descriptor, content: Content | Uint8Array): Promise<void> {
    const src = content instanceof Uint8Array ? bytesContent(content) : content;
    const bytes = await readAll(verifyStream(src, desc), Math.max(desc.size, 0));
    this.blobs.set(desc.digest, { desc: { mediaType: desc.mediaType, digest: desc.digest, size: desc.size }, bytes });
  }

  /** Stores bytes and returns their descriptor. */
  async add(mediaType: string, bytes: Uint8Array): Promise<Descriptor> {
    const desc = { mediaType, digest: digestOf(bytes), size: bytes.byteLength };
    await this.push(desc, bytes);
    return desc;
  }

  async exists(desc: Descriptor): Promise<boolean> {
    return this.blobs.has(desc.digest);
  }

  async resolve(reference: string): Promise<Descriptor> {
    const d = isDigest(reference) ? this.blobs.get(reference)?.desc : this.tagMap.get(reference);
    if (!d) throw new CoreError({ code: "NOT_FOUND", message: `${this.name}: ${reference} not found`, details: { ref: reference } });
    return d;
  }

  async tag(desc: Descriptor, tag: string): Promise<void> {
    if (!this.blobs.has(desc.digest)) fail("NOT_FOUND", `${this.name}: cannot tag ${desc.digest}: manifest not found`);
    this.tagMap.set(tag, desc);
  }

  async tags(): Promise<string[]> {
    return [...this.tagMap.keys()].sort();
  }
}
