/**
 * Key bindings as data (k9s `Hinter`): views dispatch on the action a key maps to, and the footer and
 * the help screen are rendered from the same tables, so hints cannot drift from the handlers.
 */
import type { Page } from "./models/page-stack.ts";
import type { TableAction } from "./models/table-model.ts";

/** One binding: the key names that trigger it, how the footer writes them, and what it does. */
export interface Binding {
  readonly keys: readonly string[];
  readonly label: string;
  readonly action: string;
  readonly hint: string;
  /** Shown in the footer with this short name (bindings without one appear only in `?` help). */
  readonly footer?: string;
}

/** Normalised key names: `a`, `G`, `enter`, `esc`, `tab`, `shift+tab`, `up`, `ctrl+d`, `space`, `pgdn`… */
export function keyName(input: string, key: Partial<Record<"return" | "escape" | "tab" | "shift" | "upArrow" | "downArrow" | "leftArrow" | "rightArrow" | "pageUp" | "pageDown" | "home" | "end" | "backspace" | "delete" | "ctrl" | "meta", boolean>>): string {
  if (key.return) return "enter";
  if (key.escape) return "esc";
  if (key.tab) return key.shift ? "shift+tab" : "tab";
  if (key.upArrow) return "up";
  if (key.downArrow) return "down";
  if (key.leftArrow) return "left";
  if (key.rightArrow) return "right";
  if (key.pageUp) return "pgup";
  if (key.pageDown) return "pgdn";
  if (key.home) return "home";
  if (key.end) return "end";
  if (key.backspace || key.delete) return "backspace";
  if (key.ctrl) return `ctrl+${input}`;
  if (input === " ") return "space";
  return input;
}

/** The action bound to `name` in `bindings`, if any. */
export function actionFor(bindings: readonly Binding[], name: string): string | undefined {
  return bindings.find((b) => b.keys.includes(name))?.action;
}

/** List movement shared by every list and text screen. */
export const MOVE: readonly Binding[] = [
  { keys: ["j", "down"], label: "j/↓", action: "down", hint: "down" },
  { keys: ["k", "up"], label: "k/↑", action: "up", hint: "up" },
  { keys: ["g", "home"], label: "g", action: "top", hint: "first line" },
  { keys: ["G", "end"], label: "G", action: "bottom", hint: "last line" },
  { keys: ["ctrl+d"], label: "^d", action: "halfDown", hint: "half a page down" },
  { keys: ["ctrl+u"], label: "^u", action: "halfUp", hint: "half a page up" },
  { keys: ["ctrl+f", "pgdn"], label: "^f/PgDn", action: "pageDown", hint: "page down" },
  { keys: ["ctrl+b", "pgup"], label: "^b/PgUp", action: "pageUp", hint: "page up" },
];

/** The table action of a movement action name. */
export function tableAction(action: string | undefined): TableAction | undefined {
  switch (action) {
    case "down":
      return { kind: "move", delta: 1 };
    case "up":
      return { kind: "move", delta: -1 };
    case "top":
      return { kind: "top" };
    case "bottom":
      return { kind: "bottom" };
    case "halfDown":
      return { kind: "halfPage", dir: 1 };
    case "halfUp":
      return { kind: "halfPage", dir: -1 };
    case "pageDown":
      return { kind: "page", dir: 1 };
    case "pageUp":
      return { kind: "page", dir: -1 };
    default:
      return undefined;
  }
}

/** Keys that work on every screen (handled by the app after the view declined the key). */
export const GLOBAL: readonly Binding[] = [
  { keys: ["?"], label: "?", action: "help", hint: "help", footer: "help" },
  { keys: ["esc", "q"], label: "q/esc", action: "back", hint: "back (quit on the first screen)", footer: "back" },
  { keys: [":"], label: ":", action: "command", hint: "open a repository (oci://… or oci-layout://…), or :ocirepositories" },
  { keys: ["c"], label: "c", action: "cluster", hint: "OCIRepositories in the cluster" },
  { keys: ["Q", "ctrl+c"], label: "Q/^c", action: "quit", hint: "quit" },
];

const SIGN: Binding = { keys: ["S"], label: "S", action: "sign", hint: "sign the digest with the configured key", footer: "sign" };

/** The Cluster screen's object actions (list and detail). */
const OBJECT_ACTIONS: readonly Binding[] = [
  { keys: ["r"], label: "r", action: "reconcile", hint: "reconcile now (sets reconcile.fluxcd.io/requestedAt)", footer: "reconcile" },
  { keys: ["s", "S"], label: "s/S", action: "suspend", hint: "suspend (s) or resume (S), after a y/n question", footer: "suspend" },
];

const FILTER: Binding = { keys: ["/"], label: "/", action: "filter", hint: "filter (enter keeps, esc clears)", footer: "filter" };

/** Bindings of each screen. */
export const KEYMAPS: Readonly<Record<Page["kind"], readonly Binding[]>> = {
  repos: [
    { keys: ["enter", "l", "right"], label: "enter", action: "open", hint: "show the repository's tags", footer: "open" },
    FILTER,
    { keys: ["c"], label: "c", action: "cluster", hint: "OCIRepositories in the cluster", footer: "cluster" },
    ...MOVE,
  ],
  tags: [
    { keys: ["enter", "l", "right"], label: "enter", action: "open", hint: "inspect the artifact", footer: "inspect" },
    { keys: ["d"], label: "d", action: "diff", hint: "diff with the marked tag, or with the next older one", footer: "diff" },
    { keys: ["p"], label: "p", action: "promote", hint: "promote this tag to another tag or repository", footer: "promote" },
    SIGN,
    FILTER,
    { keys: ["space"], label: "space", action: "mark", hint: "mark a tag to diff against" },
    { keys: ["L"], label: "L", action: "diffLocal", hint: "diff with a local directory (what a push would change)" },
    { keys: ["a"], label: "a", action: "toggleAll", hint: "show/hide signature and referrer tags", footer: "all" },
    { keys: ["r", "ctrl+r"], label: "r", action: "reload", hint: "reload" },
    ...MOVE,
  ],
  artifact: [
    { keys: ["tab", "right", "l"], label: "tab", action: "nextTab", hint: "next section", footer: "section" },
    { keys: ["shift+tab", "left", "h"], label: "S-tab", action: "prevTab", hint: "previous section" },
    { keys: ["1", "2", "3", "4"], label: "1-4", action: "tab", hint: "manifest, annotations, layers, files" },
    { keys: ["enter"], label: "enter", action: "open", hint: "view the file; on a layer (3 Layers): list its files", footer: "view" },
    { keys: ["L"], label: "L", action: "nextLayer", hint: "list the next layer's files (several layers)", footer: "layer" },
    SIGN,
    ...MOVE,
  ],
  file: [...MOVE],
  diff: [
    { keys: ["enter", "l", "right"], label: "enter", action: "open", hint: "scroll the selected change's diff", footer: "patch" },
    { keys: ["h", "left"], label: "h", action: "close", hint: "back to the change list" },
    ...MOVE,
  ],
  promote: [
    { keys: ["enter"], label: "enter", action: "pick", hint: "promote to the selected tag", footer: "pick" },
    { keys: ["n"], label: "n", action: "newTag", hint: "promote to a new tag, or to oci://repo:tag in another repository (copied with its signatures)", footer: "new tag/repo" },
    { keys: ["y"], label: "y", action: "confirm", hint: "confirm the promotion", footer: "confirm" },
    { keys: ["d"], label: "d", action: "diff", hint: "open the full diff", footer: "full diff" },
    { keys: ["esc", "n"], label: "n/esc", action: "cancel", hint: "back to picking the target tag", footer: "cancel" },
    ...MOVE,
  ],
  cluster: [
    { keys: ["enter", "l", "right"], label: "enter", action: "open", hint: "conditions and Events of the object", footer: "open" },
    { keys: ["n"], label: "n", action: "namespace", hint: "pick the namespace (or all)", footer: "ns" },
    ...OBJECT_ACTIONS,
    FILTER,
    { keys: ["x"], label: "x", action: "context", hint: "pick the kubeconfig context" },
    { keys: ["o"], label: "o", action: "sort", hint: "sort by the next column" },
    { keys: ["O"], label: "O", action: "reverse", hint: "reverse the sort order" },
    ...MOVE,
  ],
  ocirepo: [...OBJECT_ACTIONS, ...MOVE],
  sign: [
    { keys: ["y", "enter"], label: "y", action: "confirm", hint: "sign", footer: "sign" },
    { keys: ["f"], label: "f", action: "format", hint: "switch the signature format (bundle/legacy)", footer: "format" },
  ],
  help: [...MOVE],
};
