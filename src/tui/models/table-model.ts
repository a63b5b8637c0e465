/**
 * Selection and scrolling of a list, as a pure reducer (k9s `model.Table` without the I/O). Only the
 * rows inside `[offset, offset + height)` are ever rendered, which keeps a 1000-tag list responsive.
 */

/** Cursor and viewport of a list of `count` rows. */
export interface TableState {
  /** Index of the selected row; 0 when the list is empty. */
  readonly cursor: number;
  /** Index of the first visible row. */
  readonly offset: number;
  /** Rows that fit on screen (at least 1). */
  readonly height: number;
  readonly count: number;
  /** Key of the selected row, so the selection follows the row when rows are re-sorted or filtered. */
  readonly key?: string;
}

/** What can happen to a list. */
export type TableAction =
  | { kind: "move"; delta: number }
  | { kind: "top" }
  | { kind: "bottom" }
  | { kind: "page"; dir: 1 | -1 }
  | { kind: "halfPage"; dir: 1 | -1 }
  | { kind: "resize"; height: number }
  | { kind: "select"; index: number }
  /** New row keys (after loading, sorting or filtering): the cursor stays on the same key when it is still there. */
  | { kind: "rows"; keys: readonly string[] };

/** An empty list with the given viewport height. */
export function createTable(height = 10): TableState {
  return { cursor: 0, offset: 0, height: Math.max(1, height), count: 0 };
}

function clampCursor(s: TableState, cursor: number): number {
  return Math.max(0, Math.min(cursor, s.count - 1));
}

/** Moves the offset as little as possible so the cursor is visible. */
function follow(s: TableState): TableState {
  let offset = s.offset;
  if (s.cursor < offset) offset = s.cursor;
  if (s.cursor >= offset + s.height) offset = s.cursor - s.height + 1;
  offset = Math.max(0, Math.min(offset, Math.max(0, s.count - s.height)));
  return offset === s.offset ? s : { ...s, offset };
}

function at(s: TableState, cursor: number, keys?: readonly string[]): TableState {
  const c = clampCursor(s, cursor);
  const key = keys ? keys[c] : s.key;
  return follow({ ...s, cursor: c, ...(keys ? { key } : {}) });
}

/**
 * Applies an action. `keys` (the current row keys) lets cursor moves record the selected key; pass it
 * whenever rows have keys.
 */
export function tableReducer(s: TableState, a: TableAction, keys?: readonly string[]): TableState {
  switch (a.kind) {
    case "move":
      return at(s, s.cursor + a.delta, keys);
    case "top":
      return at(s, 0, keys);
    case "bottom":
      return at(s, s.count - 1, keys);
    case "page":
      return at({ ...s, offset: Math.max(0, s.offset + a.dir * s.height) }, s.cursor + a.dir * s.height, keys);
    case "halfPage":
      return at(s, s.cursor + a.dir * Math.max(1, Math.floor(s.height / 2)), keys);
    case "select":
      return at(s, a.index, keys);
    case "resize":
      return Math.max(1, a.height) === s.height ? s : follow({ ...s, height: Math.max(1, a.height) });
    case "rows": {
      const count = a.keys.length;
      const found = s.key !== undefined ? a.keys.indexOf(s.key) : -1;
      const cursor = found >= 0 ? found : Math.min(s.cursor, Math.max(0, count - 1));
      if (count === s.count && cursor === s.cursor && a.keys[cursor] === s.key) return s;
      return follow({ ...s, count, cursor, key: a.keys[cursor] });
    }
    default:
      return a satisfies never;
  }
}

/** `[start, end)` of the rows to render. */
export function visibleRange(s: TableState): [number, number] {
  return [s.offset, Math.min(s.count, s.offset + s.height)];
}

