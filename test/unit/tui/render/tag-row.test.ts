import { expect, test } from "bun:test";
import { fit, shortDigest, shortTime, tagCells, tagColumns } from "../../../../src/tui/render/tag-row.ts";
import type { TagRow } from "../../../../src/tui/models/tags.ts";

const row: TagRow = {
  key: "v1.2.3",
  tag: "v1.2.3",
  group: "single",
  info: { digest: "sha256:" + "ab".repeat(32), mediaType: "m", created: "2024-05-01T12:34:56Z", source: "https://github.com/org/repo", revision: "main@sha1:0123456789abcdef" },
};

test.each([60, 80, 120, 200])("columns fit a %i-column terminal", (w) => {
  const cols = tagColumns(w, [row]);
  const line = "  " + tagCells(row, cols, "…").join(" ");
  expect([...line].length).toBeLessThanOrEqual(w);
  expect(cols[0]!.title).toBe("TAG");
  expect(cols.some((c) => c.title === "SOURCE")).toBe(w >= 120);
});

test("cells", () => {
  const cols = tagColumns(120, [row]);
  const cells = tagCells(row, cols, "…").map((c) => c.trimEnd());
  expect(cells).toEqual(["v1.2.3", "sha256:abababababab", "2024-05-01 12:34", "main@sha1:0123456789abcdef".slice(0, 23) + "…", "https://github.com/org/repo"]);
  expect(tagCells({ key: "x", tag: "x", group: "single" }, cols, "…")[1]!.trim()).toBe("…");
});

test("helpers", () => {
  expect(fit("abcdef", 4)).toBe("abc…");
  expect(fit("ab", 4)).toBe("ab  ");
  expect(shortDigest("sha256:0123456789abcdef")).toBe("sha256:0123456789ab");
  expect(shortTime("2024-05-01T12:34:56Z")).toBe("2024-05-01 12:34");
  expect(shortTime("yesterday")).toBe("yesterday");
});
