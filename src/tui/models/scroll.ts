/** Scrolling a read-only text (the file viewer, the manifest pane) as a pure reducer. */
import type { TableAction } from "./table-model.ts";

/** Viewport over `count` lines. */
export interface ScrollState {
  readonly offset: number;
  readonly height: number;
  readonly count: number;
}

/** Scroll actions. */
export type ScrollAction =
  | { kind: "by"; delta: number }
  | { kind: "page"; dir: 1 | -1; half?: boolean }
  | { kind: "to"; where: "top" | "bottom" }
  | { kind: "resize"; height: number }
  | { kind: "content"; count: number };

/** A viewport at the top. */
export function createScroll(count: number, height: number): ScrollState {
  return { offset: 0, height: Math.max(1, height), count };
}

function clamp(s: ScrollState, offset: number): ScrollState {
  const o = Math.max(0, Math.min(offset, s.count - s.height));
  return o === s.offset ? s : { ...s, offset: o };
}

/** Applies an action; the last line never scrolls above the bottom of the viewport. */
export function scrollReducer(s: ScrollState, a: ScrollAction): ScrollState {
  switch (a.kind) {
    case "by":
      return clamp(s, s.offset + a.delta);
    case "page":
      return clamp(s, s.offset + a.dir * (a.half ? Math.max(1, Math.floor(s.height / 2)) : s.height));
    case "to":
      return clamp(s, a.where === "top" ? 0 : s.count);
    case "resize":
      return clamp({ ...s, height: Math.max(1, a.height) }, s.offset);
    case "content":
      return clamp({ ...s, count: a.count }, s.offset);
    default:
      return a satisfies never;
  }
}

/** The scroll action of a table movement (both screens share the same movement keys). */
export function toScroll(t: TableAction): ScrollAction | undefined {
  switch (t.kind) {
    case "move":
      return { kind: "by", delta: t.delta };
    case "top":
      return { kind: "to", where: "top" };
    case "bottom":
      return { kind: "to", where: "bottom" };
    case "halfPage":
      return { kind: "page", dir: t.dir, half: true };
    case "page":
      return { kind: "page", dir: t.dir };
    default:
      return undefined;
  }
}

