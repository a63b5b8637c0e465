import { fail } from "../errors.ts";
import { ANNOTATION_CREATED, ANNOTATION_REVISION, ANNOTATION_SOURCE } from "../oci/media-types.ts";

/** Flux artifact metadata: what `flux push artifact` records as manifest annotations. */
export interface Metadata {
  source?: string;
  revision?: string;
  created?: string;
  annotations?: Record<string, string>;
}

/**
 * Merges metadata into annotations the way fluxcd/pkg does: source, revision and created first,
 * user annotations after (so they may override them); an empty created gets `now`; a created that is
 * not RFC 3339 fails (flux 2.9 behaviour).
 */
export function toAnnotations(m: Metadata, now: Date): Record<string, string> {
  const out: Record<string, string> = {};
  if (m.source) out[ANNOTATION_SOURCE] = m.source;
  if (m.revision) out[ANNOTATION_REVISION] = m.revision;
  out[ANNOTATION_CREATED] = m.created ?? formatRFC3339(now);
  Object.assign(out, m.annotations ?? {});
  const created = out[ANNOTATION_CREATED];
  if (!created) out[ANNOTATION_CREATED] = formatRFC3339(now);
  else if (!RFC3339.test(created)) {
    fail("USAGE", `invalid created timestamp "${created}": not an RFC 3339 time`, {
      hint: "use a value like 2024-01-01T00:00:00Z",
    });
  }
  return out;
}

/** Reads flux metadata back from manifest annotations. */
export function fromAnnotations(a: Record<string, string> | undefined): Metadata {
  const x = a ?? {};
  return { source: x[ANNOTATION_SOURCE], revision: x[ANNOTATION_REVISION], created: x[ANNOTATION_CREATED], annotations: { ...x } };
}

const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

/** RFC 3339 in UTC with second precision, as Go's `time.RFC3339` prints a UTC time. */
export function formatRFC3339(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, "Z");
}

/**
 * Parses `key=value` annotation flags. flux splits on every `=` and rejects values containing one;
 * berth splits on the first `=` so values may contain `=` (documented difference).
 */
export function parseAnnotationFlags(values: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const v of values) {
    const i = v.indexOf("=");
    if (i <= 0) fail("USAGE", `invalid annotation ${v}, must be in the format key=value`);
    out[v.slice(0, i)] = v.slice(i + 1);
  }
  return out;
}
