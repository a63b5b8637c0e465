import type { Descriptor, Platform } from "../content/store.ts";
import { fail } from "../errors.ts";
import { isIndexType, isManifestType, OCI_INDEX, OCI_MANIFEST } from "./media-types.ts";

/** An OCI image manifest or Docker schema 2 manifest (the two share their shape). */
export interface ImageManifest {
  schemaVersion: 2;
  mediaType: string;
  artifactType?: string;
  config: Descriptor;
  layers: Descriptor[];
  subject?: Descriptor;
  annotations?: Record<string, string>;
}

/** An OCI image index or Docker manifest list. */
export interface ImageIndex {
  schemaVersion: 2;
  mediaType: string;
  artifactType?: string;
  manifests: Descriptor[];
  subject?: Descriptor;
  annotations?: Record<string, string>;
}

export type ParsedManifest = { kind: "manifest"; manifest: ImageManifest } | { kind: "index"; index: ImageIndex };

/**
 * Parses manifest bytes. The media type comes from the body's `mediaType`, or the transport's
 * Content-Type when the body has none (older OCI manifests omit it). Throws MANIFEST_INVALID.
 */
export function parseManifest(bytes: Uint8Array, contentType?: string): ParsedManifest {
  let doc: unknown;
  try {
    doc = JSON.parse(new TextDecoder().decode(bytes));
  } catch (e) {
    fail("MANIFEST_INVALID", `manifest is not valid JSON: ${(e as Error).message}`);
  }
  if (typeof doc !== "object" || doc === null || Array.isArray(doc)) fail("MANIFEST_INVALID", "manifest is not a JSON object");
  const o = doc as Record<string, unknown>;
  if (o.schemaVersion !== 2) fail("MANIFEST_INVALID", `unsupported manifest schemaVersion ${JSON.stringify(o.schemaVersion)} (schema 1 is not supported)`);
  let mt = typeof o.mediaType === "string" ? o.mediaType : (contentType ?? "");
  if (mt === "") mt = Array.isArray(o.manifests) ? OCI_INDEX : OCI_MANIFEST;
  if (isIndexType(mt) || (!isManifestType(mt) && Array.isArray(o.manifests))) {
    if (!Array.isArray(o.manifests)) fail("MANIFEST_INVALID", "index has no manifests array");
    for (const d of o.manifests) checkDescriptor(d, "index entry");
    return { kind: "index", index: { ...(o as object), mediaType: mt } as ImageIndex };
  }
  if (!o.config) fail("MANIFEST_INVALID", "manifest has no config descriptor");
  checkDescriptor(o.config, "config");
  if (!Array.isArray(o.layers)) fail("MANIFEST_INVALID", "manifest has no layers array");
  for (const d of o.layers) checkDescriptor(d, "layer");
  return { kind: "manifest", manifest: { ...(o as object), mediaType: mt } as ImageManifest };
}

function checkDescriptor(d: unknown, what: string): asserts d is Descriptor {
  const x = d as Partial<Descriptor> | null;
  if (
    !x ||
    typeof x.mediaType !== "string" ||
    typeof x.digest !== "string" ||
    !/^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/.test(x.digest) ||
    typeof x.size !== "number" ||
    !Number.isSafeInteger(x.size) ||
    x.size < 0
  ) {
    fail("MANIFEST_INVALID", `${what} descriptor is malformed: ${JSON.stringify(d)?.slice(0, 200)}`);
  }
}

/** Serialises a descriptor with Go's field order (ggcr v1.Descriptor), so digests match flux's. */
export function descriptorJSON(d: Descriptor): Record<string, unknown> {
  const o: Record<string, unknown> = { mediaType: d.mediaType, size: d.size, digest: d.digest };
  if (d.urls?.length) o.urls = d.urls;
  if (d.annotations && Object.keys(d.annotations).length) o.annotations = sortedRecord(d.annotations);
  if (d.platform) o.platform = d.platform;
  if (d.artifactType) o.artifactType = d.artifactType;
  return o;
}

/** Go's encoding/json sorts map keys; struct fields keep their declared order. */
export function sortedRecord(r: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of Object.keys(r).sort(cmpBytes)) out[k] = r[k]!;
  return out;
}

function cmpBytes(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Compact JSON of an image manifest in ggcr's struct order (schemaVersion, mediaType, config,
 * layers, annotations), which is what makes berth's manifest digests equal flux's.
 * Go escapes <, > and & in strings; JSON.stringify does not, so they are escaped here too.
 */
export function encodeManifest(m: ImageManifest): Uint8Array {
  const o: Record<string, unknown> = { schemaVersion: 2, mediaType: m.mediaType };
  if (m.artifactType) o.artifactType = m.artifactType;
  o.config = descriptorJSON(m.config);
  o.layers = m.layers.map(descriptorJSON);
  if (m.subject) o.subject = descriptorJSON(m.subject);
  if (m.annotations && Object.keys(m.annotations).length) o.annotations = sortedRecord(m.annotations);
  return new TextEncoder().encode(goJSON(o));
}

/** Compact JSON of an index, same conventions. */
export function encodeIndex(ix: ImageIndex): Uint8Array {
  const o: Record<string, unknown> = { schemaVersion: 2, mediaType: ix.mediaType };
  if (ix.artifactType) o.artifactType = ix.artifactType;
  o.manifests = ix.manifests.map(descriptorJSON);
  if (ix.subject) o.subject = descriptorJSON(ix.subject);
  if (ix.annotations && Object.keys(ix.annotations).length) o.annotations = sortedRecord(ix.annotations);
  return new TextEncoder().encode(goJSON(o));
}

/** JSON.stringify with Go's HTML-safe escaping of <, > and &, and U+2028/U+2029. */
export function goJSON(v: unknown): string {
  return JSON.stringify(v).replace(/[<>&\u2028\u2029]/g, (c) => "\\u" + c.charCodeAt(0).toString(16).padStart(4, "0"));
}

/**
 * Picks the child of an index to use when the caller gave no platform: linux/amd64 (what ggcr's
 * `remote.Image` picks, and so source-controller), else the first entry. NOT_FOUND on an empty index.
 */
export function selectFromIndex(ix: ImageIndex, want?: Partial<Platform>): Descriptor {
  const p = { os: "linux", architecture: "amd64", ...want };
  const hit = ix.manifests.find((d) => d.platform && d.platform.os === p.os && d.platform.architecture === p.architecture);
  const pick = hit ?? ix.manifests[0];
  if (!pick) fail("NOT_FOUND", "the index lists no manifests");
  return pick;
}
