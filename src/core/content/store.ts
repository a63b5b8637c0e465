/**
 * Small capability interfaces (oras-go `content`): every backend (memory, OCI layout, remote
 * registry) implements `Target`, and every verb is written against these, never against URLs.
 */

/** An OCI content descriptor (image-spec descriptor.md). */
export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
  artifactType?: string;
  platform?: Platform;
  urls?: string[];
}

export interface Platform {
  architecture: string;
  os: string;
  "os.version"?: string;
  "os.features"?: string[];
  variant?: string;
}

/** Blob content as a stream of chunks; works on Bun, Node and Deno alike. */
export type Content = AsyncIterable<Uint8Array>;

export interface OpOptions {
  signal?: AbortSignal;
}

/** Reads content by descriptor. The returned stream is verified against the descriptor's digest and size. */
export interface Fetcher {
  fetch(desc: Descriptor, opts?: OpOptions): Promise<Content>;
}

/** Writes content for a descriptor; implementations verify digest and size while writing. */
export interface Pusher {
  push(desc: Descriptor, content: Content | Uint8Array, opts?: OpOptions): Promise<void>;
}

export interface Exister {
  exists(desc: Descriptor, opts?: OpOptions): Promise<boolean>;
}

/** Resolves a tag or digest to the descriptor of the manifest it names. Throws NOT_FOUND. */
export interface Resolver {
  resolve(reference: string, opts?: OpOptions): Promise<Descriptor>;
}

/** Points a tag at an existing manifest. */
export interface Tagger {
  tag(desc: Descriptor, tag: string, opts?: OpOptions): Promise<void>;
}

/** Lists tags in the order the backend returns them. */
export interface TagLister {
  tags(opts?: OpOptions): Promise<string[]>;
}

export interface Deleter {
  delete(desc: Descriptor, opts?: OpOptions): Promise<void>;
}

/** Content-addressed storage plus tags: what every verb works on. */
export interface Target extends Fetcher, Pusher, Exister, Resolver, Tagger, TagLister {
  /** Human name of the target for messages, e.g. `ghcr.io/org/app` or `oci-layout:///tmp/x`. */
  readonly name: string;
}

/** Optional: a target that can push a manifest and tag it in one request (registry `PUT /manifests/<tag>`). */
export interface ReferencePusher {
  pushReference(desc: Descriptor, content: Uint8Array, tag: string, opts?: OpOptions): Promise<void>;
}

/** Optional: a target that can mount a blob from another repository of the same registry. */
export interface Mounter {
  mount(desc: Descriptor, fromRepository: string, opts?: OpOptions): Promise<boolean>;
}

export function hasPushReference(t: object): t is ReferencePusher {
  return typeof (t as Partial<ReferencePusher>).pushReference === "function";
}
export function hasMount(t: object): t is Mounter {
  return typeof (t as Partial<Mounter>).mount === "function";
}
export function hasDelete(t: object): t is Deleter {
  return typeof (t as Partial<Deleter>).delete === "function";
}

/** Turns bytes into a one-chunk Content stream. */
export async function* bytesContent(b: Uint8Array): Content {
  yield b;
}
