import { describe, expect, test } from "bun:test";
import { createTable, tableReducer, visibleRange, type TableAction, type TableState } from "../../../../src/tui/models/table-model.ts";

const keys = (n: number) => Array.from({ length: n }, (_, i) => `k${i}`);
const table = (n: number, height: number): TableState => tableReducer(createTable(height), { kind: "rows", keys: keys(n) });
const run = (s: TableState, ...as: TableAction[]) => as.reduce((x, a) => tableReducer(x, a, keys(x.count)), s);

describe("tableReducer", () => {
  const cases: { name: string; n: number; h: number; actions: TableAction[]; cursor: number; offset: number }[] = [
    { name: "down moves the cursor", n: 10, h: 5, actions: [{ kind: "move", delta: 1 }], cursor: 1, offset: 0 },
    { name: "up at the top stays", n: 10, h: 5, actions: [{ kind: "move", delta: -1 }], cursor: 0, offset: 0 },
    { name: "down past the viewport scrolls by one", n: 10, h: 5, actions: Array(5).fill({ kind: "move", delta: 1 }), cursor: 5, offset: 1 },
    { name: "bottom shows the last page", n: 1000, h: 20, actions: [{ kind: "bottom" }], cursor: 999, offset: 980 },
    { name: "top after bottom", n: 1000, h: 20, actions: [{ kind: "bottom" }, { kind: "top" }], cursor: 0, offset: 0 },
    { name: "page down moves a screen", n: 100, h: 10, actions: [{ kind: "page", dir: 1 }], cursor: 10, offset: 10 },
    { name: "half page down", n: 100, h: 10, actions: [{ kind: "halfPage", dir: 1 }], cursor: 5, offset: 0 },
    { name: "page down at the end clamps", n: 12, h: 10, actions: [{ kind: "page", dir: 1 }, { kind: "page", dir: 1 }], cursor: 11, offset: 2 },
    { name: "moves on an empty list stay at 0", n: 0, h: 10, actions: [{ kind: "move", delta: 3 }, { kind: "bottom" }], cursor: 0, offset: 0 },
    { name: "shrinking the viewport keeps the cursor visible", n: 50, h: 20, actions: [{ kind: "select", index: 19 }, { kind: "resize", height: 5 }], cursor: 19, offset: 15 },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const s = run(table(c.n, c.h), ...c.actions);
      expect([s.cursor, s.offset]).toEqual([c.cursor, c.offset]);
    });
  }

  test("the selection follows its key when rows are re-sorted", () => {
    let s = run(table(5, 3), { kind: "select", index: 3 });
    expect(s.key).toBe("k3");
    s = tableReducer(s, { kind: "rows", keys: ["k3", "k0", "k1", "k2", "k4"] });
    expect(s.cursor).toBe(0);
    expect(s.key).toBe("k3");
  });

  test("a filtered-out selection falls back to a valid index", () => {
    let s = run(table(10, 3), { kind: "select", index: 8 });
    s = tableReducer(s, { kind: "rows", keys: ["k1", "k2"] });
    expect(s.cursor).toBe(1);
    expect(s.count).toBe(2);
  });

  test("visibleRange renders only the viewport of 1000 rows", () => {
    const s = run(table(1000, 22), { kind: "select", index: 500 });
    const [a, b] = visibleRange(s);
    expect(b - a).toBe(22);
    expect(a <= 500 && 500 < b).toBe(true);
  });

  test("unchanged rows keep the same state object (no re-render loop)", () => {
    const s = table(5, 3);
    expect(tableReducer(s, { kind: "rows", keys: keys(5) })).toBe(s);
    expect(tableReducer(s, { kind: "resize", height: 3 })).toBe(s);
  });
});
