import { useEffect, useReducer, useRef } from "react";
import { createTable, tableReducer, type TableAction, type TableState } from "../models/table-model.ts";

function sameKeys(a: readonly string[], b: readonly string[]): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * A table model bound to a list of row keys and a viewport height: the selection follows its key when
 * the rows change, and the viewport follows resizes. Keys are compared by content, so callers may
 * pass a fresh array each render. Returns the state and a dispatcher that records the selected key.
 */
export default function useTable(keys: readonly string[], height: number): [TableState, (a: TableAction) => void] {
  const [state, dispatch] = useReducer(
    // Rows are synced first, so a key pressed before the rows effect ran still acts on the rows shown.
    (s: TableState, x: { a: TableAction; keys: readonly string[] }) => tableReducer(tableReducer(s, { kind: "rows", keys: x.keys }), x.a, x.keys),
    undefined,
    () => tableReducer(createTable(height), { kind: "rows", keys }),
  );
  const last = useRef(keys);
  const changed = !sameKeys(last.current, keys);
  if (changed) last.current = keys;
  const stable = last.current;
  useEffect(() => dispatch({ a: { kind: "rows", keys: stable }, keys: stable }), [stable]);
  useEffect(() => dispatch({ a: { kind: "resize", height }, keys: stable }), [height, stable]);
  // Between a change of rows and the effect above, clamp so a shrunken list never indexes past its end.
  const view = state.count === stable.length ? state : tableReducer(state, { kind: "rows", keys: stable });
  return [view, (a) => dispatch({ a, keys: stable })];
}
