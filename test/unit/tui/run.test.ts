import { expect, test } from "bun:test";
import { isCoreError } from "../../../src/core/index.ts";
import { initialPages } from "../../../src/tui/run.ts";

test("the command-line URL decides the first screens", () => {
  expect(initialPages(undefined)).toEqual({ pages: [{ kind: "repos" }], repositories: [] });
  expect(initialPages("oci://ghcr.io/org/app")).toEqual({ pages: [{ kind: "repos" }, { kind: "tags", repo: "oci://ghcr.io/org/app" }], repositories: ["oci://ghcr.io/org/app"] });
  expect(initialPages("oci-layout://./out:v1").pages.at(-1)).toEqual({ kind: "artifact", repo: "oci-layout://./out", tag: "v1" });
  const d = "sha256:" + "0".repeat(64);
  expect(initialPages(`oci://ghcr.io/org/app@${d}`).pages.at(-1)).toEqual({ kind: "artifact", repo: "oci://ghcr.io/org/app", tag: d });
});

test("a bad URL fails before the screen is taken over", () => {
  let err: unknown;
  try {
    initialPages("ghcr.io/org/app");
  } catch (e) {
    err = e;
  }
  expect(isCoreError(err, "REF_INVALID")).toBe(true);
});
