import { expect, test } from "bun:test";
import { createTags, hiddenCount, pendingTags, tagRows, tagsReducer, type TagInfo } from "../../../../src/tui/models/tags.ts";

const info = (digest: string, revision = ""): TagInfo => ({ digest, mediaType: "m", created: "2024-01-01T00:00:00Z", source: "https://git/x", revision });
const sig = "sha256-" + "a".repeat(64) + ".sig";

function loaded() {
  let s = tagsReducer(createTags(), { kind: "listed", tags: ["v1.0.0", "latest", "v1.10.0", "v1.2.0", sig, "prod"] });
  s = tagsReducer(s, { kind: "infos", infos: { "v1.10.0": info("sha256:b", "main@sha1:2"), prod: info("sha256:b"), "v1.2.0": info("sha256:a", "main@sha1:1"), latest: info("sha256:b") } });
  return s;
}

test("tags are semver-sorted, newest first, other tags after", () => {
  const s = tagsReducer(createTags(), { kind: "listed", tags: ["v1.0.0", "latest", "v1.10.0", "v1.2.0"] });
  expect(s.tags).toEqual(["v1.10.0", "v1.2.0", "v1.0.0", "latest"]);
  expect(s.listing).toBe(false);
});

test("same-digest tags are grouped under the highest one; unknown digests stay in place", () => {
  const rows = tagRows(loaded());
  expect(rows.map((r) => `${r.group}:${r.tag}`)).toEqual(["leader:v1.10.0", "member:prod", "member:latest", "single:v1.2.0", "single:v1.0.0"]);
  expect(rows[0]!.groupSize).toBe(3);
  expect(rows[1]!.sameAs).toBe("v1.10.0");
  expect(rows.find((r) => r.tag === "v1.0.0")!.info).toBeUndefined();
});

test("signature and referrer tags are hidden until toggled", () => {
  const s = loaded();
  expect(tagRows(s).some((r) => r.tag === sig)).toBe(false);
  expect(hiddenCount(s)).toBe(1);
  const all = tagsReducer(s, { kind: "toggleAll" });
  expect(tagRows(all).some((r) => r.tag === sig)).toBe(true);
  expect(hiddenCount(all)).toBe(0);
});

test("the filter matches tag, digest and revision; a matching alias brings its group", () => {
  const s = loaded();
  expect(tagRows(tagsReducer(s, { kind: "filter", filter: "V1.2" })).map((r) => r.tag)).toEqual(["v1.2.0"]);
  expect(tagRows(tagsReducer(s, { kind: "filter", filter: "sha1:1" })).map((r) => r.tag)).toEqual(["v1.2.0"]);
  expect(tagRows(tagsReducer(s, { kind: "filter", filter: "prod" })).map((r) => r.tag)).toEqual(["v1.10.0", "prod", "latest"]);
  expect(tagRows(tagsReducer(s, { kind: "filter", filter: "nothing" }))).toEqual([]);
});

test("pending tags are the visible ones not loaded yet, in display order; errors count as loaded", () => {
  let s = loaded();
  expect(pendingTags(s)).toEqual(["v1.0.0"]);
  s = tagsReducer(s, { kind: "infos", infos: { "v1.0.0": { error: "manifest unknown" } } });
  expect(pendingTags(s)).toEqual([]);
  expect(tagRows(s).find((r) => r.tag === "v1.0.0")!.error).toBe("manifest unknown");
  expect(pendingTags(tagsReducer(s, { kind: "toggleAll" }))).toEqual([sig]);
});

test("1000 tags: rows are computed once per state change, all present", () => {
  const tags = Array.from({ length: 1000 }, (_, i) => `1.0.${i}`);
  let s = tagsReducer(createTags(), { kind: "listed", tags });
  const infos = Object.fromEntries(tags.map((t, i) => [t, info(`sha256:${i % 500}`)]));
  s = tagsReducer(s, { kind: "infos", infos });
  const rows = tagRows(s);
  expect(rows).toHaveLength(1000);
  expect(rows[0]!.tag).toBe("1.0.999");
  expect(rows.filter((r) => r.group === "leader")).toHaveLength(500);
});
