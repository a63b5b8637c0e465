/**
 * The Tags screen's data: tag names arrive first (one request), then each tag's manifest fills in its
 * row. Rows are semver-sorted, tags that point at the same digest are grouped under the first of them,
 * and signature/referrer tags are hidden unless asked for. Pure; no React.
 */
import { isSignatureOrReferrerTag, sortTags } from "../../core/index.ts";

/** What one tag's manifest says. */
export interface TagInfo {
  digest: string;
  mediaType: string;
  /** `org.opencontainers.image.created`, "" when absent. */
  created: string;
  source: string;
  revision: string;
}

/** The Tags screen state. */
export interface TagsState {
  /** All tags, semver-sorted (newest first). */
  readonly tags: readonly string[];
  /** Per tag: its info once loaded, or the error message of a failed load. */
  readonly infos: Readonly<Record<string, TagInfo | { error: string }>>;
  /** Listing the tags themselves is still running. */
  readonly listing: boolean;
  /** The listing failed. */
  readonly error?: string;
  /** Show signature, attestation, SBOM and referrer tags too. */
  readonly showAll: boolean;
  /** Case-insensitive substring filter over tag, digest, source and revision. */
  readonly filter: string;
}

/** Tags screen actions. */
export type TagsAction =
  | { kind: "listed"; tags: readonly string[] }
  | { kind: "listFailed"; error: string }
  /** A batch of loaded infos (batched so 1000 arrivals are not 1000 renders). */
  | { kind: "infos"; infos: Readonly<Record<string, TagInfo | { error: string }>> }
  | { kind: "toggleAll" }
  | { kind: "filter"; filter: string }
  | { kind: "reload" };

/** A row as the table shows it. */
export interface TagRow {
  /** The tag; also the row key. */
  key: string;
  tag: string;
  info?: TagInfo;
  error?: string;
  /** `leader` heads a group of tags with one digest; `member` rows follow their leader. */
  group: "single" | "leader" | "member";
  /** For members: the leader's tag. */
  sameAs?: string;
  /** For leaders: how many tags share the digest (the leader included). */
  groupSize?: number;
}

/** The state before anything is loaded. */
export function createTags(): TagsState {
  return { tags: [], infos: {}, listing: true, showAll: false, filter: "" };
}

/** Applies an action. */
export function tagsReducer(s: TagsState, a: TagsAction): TagsState {
  switch (a.kind) {
    case "listed":
      return { ...s, tags: sortTags(a.tags, "semver"), listing: false, error: undefined };
    case "listFailed":
      return { ...s, listing: false, error: a.error };
    case "infos":
      return { ...s, infos: { ...s.infos, ...a.infos } };
    case "toggleAll":
      return { ...s, showAll: !s.showAll };
    case "filter":
      return { ...s, filter: a.filter };
    case "reload":
      return { ...createTags(), showAll: s.showAll, filter: s.filter };
    default:
      return a satisfies never;
  }
}

function isInfo(x: TagInfo | { error: string } | undefined): x is TagInfo {
  return x !== undefined && "digest" in x;
}

/** The tags whose info should be fetched, in display order (what the user sees loads first). */
export function pendingTags(s: TagsState): string[] {
  return s.tags.filter((t) => s.infos[t] === undefined && (s.showAll || !isSignatureOrReferrerTag(t)));
}

/** Number of tags hidden by the signature/referrer toggle. */
export function hiddenCount(s: TagsState): number {
  return s.showAll ? 0 : s.tags.filter(isSignatureOrReferrerTag).length;
}

function matches(tag: string, info: TagInfo | undefined, filter: string): boolean {
  if (!filter) return true;
  const f = filter.toLowerCase();
  return [tag, info?.digest ?? "", info?.source ?? "", info?.revision ?? ""].some((x) => x.toLowerCase().includes(f));
}

/**
 * The rows to show: visible tags in semver order, each group of same-digest tags gathered under its
 * first (highest) tag. Tags whose digest is not known yet stay where their version puts them.
 */
export function tagRows(s: TagsState): TagRow[] {
  const visible = s.tags.filter((t) => s.showAll || !isSignatureOrReferrerTag(t));
  const byDigest = new Map<string, string[]>();
  for (const t of visible) {
    const i = s.infos[t];
    if (!isInfo(i)) continue;
    const g = byDigest.get(i.digest);
    if (g) g.push(t);
    else byDigest.set(i.digest, [t]);
  }
  const rows: TagRow[] = [];
  const placed = new Set<string>();
  for (const t of visible) {
    if (placed.has(t)) continue;
    const x = s.infos[t];
    const info = isInfo(x) ? x : undefined;
    const error = x && !isInfo(x) ? x.error : undefined;
    const group = info ? byDigest.get(info.digest)! : [t];
    if (group.length === 1) {
      placed.add(t);
      if (matches(t, info, s.filter)) rows.push({ key: t, tag: t, info, error, group: "single" });
      continue;
    }
    // A group is shown when any member matches the filter, so an alias never appears without its leader.
    const show = group.some((m) => matches(m, info, s.filter));
    for (const [n, m] of group.entries()) {
      placed.add(m);
      if (!show) continue;
      rows.push(n === 0 ? { key: m, tag: m, info, group: "leader", groupSize: group.length } : { key: m, tag: m, info, group: "member", sameAs: t });
    }
  }
  return rows;
}

/** The loaded info of a tag, if any. */
export function infoOf(s: TagsState, tag: string): TagInfo | undefined {
  const x = s.infos[tag];
  return isInfo(x) ? x : undefined;
}
