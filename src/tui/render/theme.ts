/**
 * Colours by role. With NO_COLOR every role is undefined, so components render plain text (the
 * selection is still marked with `▸` and inverse video, which are not colours).
 */

/** Ink colour names per role; undefined = terminal default. */
export interface Theme {
  readonly accent?: string;
  readonly dim?: string;
  readonly added?: string;
  readonly removed?: string;
  readonly changed?: string;
  readonly hunk?: string;
  readonly key?: string;
  readonly string?: string;
  readonly number?: string;
  readonly comment?: string;
  readonly error?: string;
  readonly highlight?: string;
  /** Whether dim/bold styling is used for structure (kept with NO_COLOR: they are not colours). */
  readonly color: boolean;
}

/** The default palette, close to k9s' defaults on a dark terminal. */
export const COLOR_THEME: Theme = {
  accent: "cyan",
  dim: "gray",
  added: "green",
  removed: "red",
  changed: "yellow",
  hunk: "cyan",
  key: "blue",
  string: "green",
  number: "magenta",
  comment: "gray",
  error: "red",
  highlight: "yellow",
  color: true,
};

/** No colours at all (NO_COLOR, https://no-color.org). */
export const MONO_THEME: Theme = { color: false };
