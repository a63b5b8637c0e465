import { expect, test } from "bun:test";
import { atRoot, createStack, pageTitle, stackReducer, top, type Page } from "../../../../src/tui/models/page-stack.ts";

const repos: Page = { kind: "repos" };
const tags: Page = { kind: "tags", repo: "oci://r/app" };
const art: Page = { kind: "artifact", repo: "oci://r/app", tag: "v1" };

test("push, pop and the root that is never popped", () => {
  let s = createStack(repos);
  expect(atRoot(s)).toBe(true);
  s = stackReducer(s, { kind: "push", page: tags });
  s = stackReducer(s, { kind: "push", page: art });
  expect(top(s)).toEqual(art);
  s = stackReducer(stackReducer(s, { kind: "pop" }), { kind: "pop" });
  expect(top(s)).toEqual(repos);
  expect(stackReducer(s, { kind: "pop" })).toBe(s);
});

test("jump keeps only the root below the new page; replace swaps the top", () => {
  let s = createStack(repos, tags, art);
  s = stackReducer(s, { kind: "jump", page: { kind: "tags", repo: "oci://r/other" } });
  expect(s.pages.map((p) => p.kind)).toEqual(["repos", "tags"]);
  s = stackReducer(s, { kind: "replace", page: art });
  expect(s.pages).toEqual([repos, art]);
});

test("titles name what each page shows", () => {
  expect(pageTitle(art)).toBe(":v1");
  expect(pageTitle({ kind: "diff", repo: "x", old: { kind: "tag", tag: "v1" }, new: { kind: "local", path: "./deploy" } })).toBe("diff v1 → ./deploy (local)");
});
