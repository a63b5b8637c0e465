import type { Descriptor, Fetcher, OpOptions, Resolver, TagLister } from "../content/store.ts";
import { filterTagsForList, sortTags } from "../semver/index.ts";
import { createLimiter } from "./copy.ts";
import { fetchImageManifest } from "./manifests.ts";
import { fromAnnotations } from "./metadata.ts";

export interface ListArtifactsOptions extends OpOptions {
  /** Masterminds constraint; only 3-part semver tags that satisfy it are kept (flux --filter-semver). */
  semver?: string;
  /** Unanchored RE2 regex over tags (flux --filter-regex). */
  regex?: string;
  /** Keep cosign (`.sig`, `.att`, `.sbom`) and referrers-fallback (`sha256-…`) tags. Default false. */
  all?: boolean;
  /** `semver` (default): semver tags by precedence, newest first; `flux`: descending string order as flux prints. */
  sort?: "semver" | "flux";
  /** Manifests fetched at once. Default 16. */
  concurrency?: number;
}

export interface ArtifactRow {
  tag: string;
  digest: string;
  mediaType: string;
  source: string;
  revision: string;
  created: string;
  annotations: Record<string, string>;
}

/**
 * Lists a repository's tags with each tag's digest and Flux metadata. One connection and token
 * serve the whole listing; manifests are fetched concurrently (flux fetches them one by one, twice).
 */
export async function listArtifacts(target: TagLister & Fetcher & Resolver, opts: ListArtifactsOptions = {}): Promise<ArtifactRow[]> {
  return (await listArtifactsAndTags(target, opts)).rows;
}

/** A listing and the repository's unfiltered tags it was made from. */
export interface ArtifactListing {
  rows: ArtifactRow[];
  /** Every tag, including the signature and referrer tags the rows hide (signature status reads them). */
  allTags: string[];
}

/** listArtifacts, also returning the unfiltered tag list so callers need not list the tags twice. */
export async function listArtifactsAndTags(target: TagLister & Fetcher & Resolver, opts: ListArtifactsOptions = {}): Promise<ArtifactListing> {
  const allTags = await target.tags(opts);
  let tags = filterTagsForList(allTags, { semver: opts.semver, regex: opts.regex, hide: opts.all ? "none" : "signatures" });
  tags = sortTags(tags, opts.sort ?? "semver");
  const limit = createLimiter(opts.concurrency ?? 16);
  const rows = await Promise.all(
    tags.map((tag) =>
      limit(async () => {
        const m = await fetchImageManifest(target, tag, opts);
        const md = fromAnnotations(m.manifest.annotations ?? m.index?.annotations);
        return row(tag, m.descriptor, md.source, md.revision, md.created, md.annotations ?? {});
      }),
    ),
  );
  return { rows, allTags };
}

function row(tag: string, d: Descriptor, source = "", revision = "", created = "", annotations: Record<string, string>): ArtifactRow {
  return { tag, digest: d.digest, mediaType: d.mediaType, source, revision, created, annotations };
}
