/** The Table renders only the rows in its viewport, so a 1000-tag list costs a screenful per frame. */
import { expect, test } from "bun:test";
import { render } from "ink-testing-library";
import Table from "../../../src/tui/components/Table.tsx";
import { createTable, tableReducer } from "../../../src/tui/models/table-model.ts";
import { MONO_THEME } from "../../../src/tui/render/theme.ts";

test("1000 rows: each frame renders the visible 20, at the top and after G", () => {
  const keys = Array.from({ length: 1000 }, (_, i) => `t${i}`);
  const calls: number[] = [];
  const row = (i: number) => {
    calls.push(i);
    return { key: keys[i]!, text: keys[i]! };
  };
  let state = tableReducer(createTable(20), { kind: "rows", keys });
  const ui = render(<Table state={state} row={row} width={40} theme={MONO_THEME} />);
  expect(calls).toEqual(Array.from({ length: 20 }, (_, i) => i));
  expect(ui.lastFrame()!.split("\n").length).toBe(20);

  calls.length = 0;
  state = tableReducer(state, { kind: "bottom" }, keys);
  ui.rerender(<Table state={state} row={row} width={40} theme={MONO_THEME} />);
  expect(calls).toEqual(Array.from({ length: 20 }, (_, i) => 980 + i));
  const lines = ui.lastFrame()!.split("\n");
  expect(lines.at(-1)).toMatch(/^▸ t999/);
  expect(lines[0]).toMatch(/^ {2}t980/);
  ui.unmount();
});
