import { expect, test } from "bun:test";
import { filterPrompt } from "../../../src/tui/filter-prompt.ts";

test("filterPrompt: '/' with the current filter; edits and enter apply the text, esc clears it", () => {
  const applied: string[] = [];
  const p = filterPrompt("v1.", (f) => applied.push(f));
  expect(p.label).toBe("/");
  expect(p.initial).toBe("v1.");
  p.onChange?.("v1.2");
  p.onSubmit("v1.2.");
  p.onCancel?.();
  expect(applied).toEqual(["v1.2", "v1.2.", ""]);
});
