import type { Descriptor, Fetcher, OpOptions, Resolver } from "../content/store.ts";
import { fail } from "../errors.ts";
import { readAll } from "../oci/digest.ts";
import { parseManifest, selectFromIndex, type ImageIndex, type ImageManifest } from "../oci/manifest.ts";
import { MAX_MANIFEST_BYTES } from "../oci/media-types.ts";

/** A target that can GET a manifest by tag in one request (the registry repository does). */
interface ManifestGetter {
  fetchManifest(reference: string, opts?: OpOptions): Promise<{ descriptor: Descriptor; bytes: Uint8Array }>;
}

export interface FetchedManifest {
  /** Descriptor of what the reference names (may be an index). */
  descriptor: Descriptor;
  bytes: Uint8Array;
  /** The image manifest: the reference's own, or the index child picked for linux/amd64. */
  manifest: ImageManifest;
  /** Descriptor of `manifest` (equals `descriptor` unless the reference named an index). */
  manifestDescriptor: Descriptor;
  index?: ImageIndex;
}

/** Reads the manifest a reference names, resolving an index to its linux/amd64 (or first) child. */
export async function fetchImageManifest(target: Fetcher & Resolver, reference: string, opts: OpOptions = {}): Promise<FetchedManifest> {
  const { descriptor, bytes } = await getManifest(target, reference, opts);
  const parsed = parseManifest(bytes, descriptor.mediaType);
  if (parsed.kind === "manifest") {
    return { descriptor, bytes, manifest: parsed.manifest, manifestDescriptor: descriptor };
  }
  const child = selectFromIndex(parsed.index);
  const sub = await getManifest(target, child.digest, opts);
  const p2 = parseManifest(sub.bytes, child.mediaType);
  if (p2.kind !== "manifest") fail("MANIFEST_INVALID", `index ${descriptor.digest} points at another index; nested indexes are not supported`);
  return { descriptor, bytes, manifest: p2.manifest, manifestDescriptor: sub.descriptor, index: parsed.index };
}

async function getManifest(target: Fetcher & Resolver, reference: string, opts: OpOptions) {
  const g = target as Partial<ManifestGetter>;
  if (typeof g.fetchManifest === "function") return g.fetchManifest(reference, opts);
  const descriptor = await target.resolve(reference, opts);
  const bytes = await readAll(await target.fetch(descriptor, opts), MAX_MANIFEST_BYTES, `manifest ${descriptor.digest}`);
  return { descriptor, bytes };
}

/**
 * Picks the layer to use (OCIRepository `layerSelector` semantics): the first layer, or the first
 * whose media type equals `mediaType`. NOT_FOUND with the available types when none matches.
 */
export function selectLayer(m: ImageManifest, mediaType?: string): Descriptor {
  if (m.layers.length === 0) fail("NOT_FOUND", "no layers found in artifact");
  if (!mediaType) return m.layers[0]!;
  const hit = m.layers.find((l) => l.mediaType === mediaType);
  if (!hit) {
    fail("NOT_FOUND", `no layer with media type ${mediaType} in artifact; it has: ${[...new Set(m.layers.map((l) => l.mediaType))].join(", ")}`, {
      hint: "pick one of those with --layer-media-type",
    });
  }
  return hit;
}
