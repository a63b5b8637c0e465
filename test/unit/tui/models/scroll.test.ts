import { expect, test } from "bun:test";
import { createScroll, scrollReducer, toScroll } from "../../../../src/tui/models/scroll.ts";

test("scrolling stays between the top and the last full page", () => {
  let s = createScroll(100, 20);
  s = scrollReducer(s, { kind: "by", delta: -5 });
  expect(s.offset).toBe(0);
  s = scrollReducer(s, { kind: "to", where: "bottom" });
  expect(s.offset).toBe(80);
  s = scrollReducer(s, { kind: "page", dir: -1, half: true });
  expect(s.offset).toBe(70);
  s = scrollReducer(s, { kind: "resize", height: 50 });
  expect(s.offset).toBe(50);
  expect(scrollReducer(createScroll(5, 20), { kind: "to", where: "bottom" }).offset).toBe(0);
});

test("table movements map to scrolls", () => {
  expect(toScroll({ kind: "move", delta: 1 })).toEqual({ kind: "by", delta: 1 });
  expect(toScroll({ kind: "bottom" })).toEqual({ kind: "to", where: "bottom" });
  expect(toScroll({ kind: "halfPage", dir: -1 })).toEqual({ kind: "page", dir: -1, half: true });
  expect(toScroll({ kind: "rows", keys: [] })).toBeUndefined();
});
