/**
 * Navigation as data (k9s `model.Stack`): the screens the user walked through, newest last. `esc`/`q`
 * pops, `enter` pushes; the root page is never popped.
 */

/** What a diff compares against: another tag of the repository, or a local directory built like `push` would. */
export type DiffTarget = { kind: "tag"; tag: string } | { kind: "local"; path: string };

/** One screen and what it shows. */
export type Page =
  | { kind: "repos" }
  | { kind: "tags"; repo: string }
  | { kind: "artifact"; repo: string; tag: string }
  /** `layer`: index of the layer the file is in (default 0, the content layer). */
  | { kind: "file"; repo: string; tag: string; path: string; layer?: number }
  /** `old` → `new`: the diff shows what changes when going from `old` to `new`. */
  | { kind: "diff"; repo: string; old: DiffTarget; new: DiffTarget }
  | { kind: "promote"; repo: string; source: string }
  /** OCIRepositories of the cluster. */
  | { kind: "cluster" }
  /** One OCIRepository: its conditions and Events. */
  | { kind: "ocirepo"; namespace: string; name: string; context?: string }
  /** Signing one tag's digest. */
  | { kind: "sign"; repo: string; tag: string }
  | { kind: "help" };

/** The page stack. Invariant: never empty. */
export interface StackState {
  readonly pages: readonly Page[];
}

/** Stack actions. */
export type StackAction =
  | { kind: "push"; page: Page }
  | { kind: "pop" }
  /** Replaces the top page (e.g. promote → its result). */
  | { kind: "replace"; page: Page }
  /** Drops everything above the first page and pushes `page` (the `:` prompt jumps this way). */
  | { kind: "jump"; page: Page }
  /** Goes back to the topmost page of `page.kind` when one is open, else pushes `page` (`c` for the cluster). */
  | { kind: "focus"; page: Page };

/** A stack holding `root` and then `rest`. */
export function createStack(root: Page, ...rest: Page[]): StackState {
  return { pages: [root, ...rest] };
}

/** Applies a stack action. */
export function stackReducer(s: StackState, a: StackAction): StackState {
  switch (a.kind) {
    case "push":
      return { pages: [...s.pages, a.page] };
    case "pop":
      return s.pages.length > 1 ? { pages: s.pages.slice(0, -1) } : s;
    case "replace":
      return { pages: [...s.pages.slice(0, -1), a.page] };
    case "jump":
      return { pages: [s.pages[0]!, a.page] };
    case "focus": {
      const i = s.pages.map((p) => p.kind).lastIndexOf(a.page.kind);
      return i < 0 ? { pages: [...s.pages, a.page] } : i === s.pages.length - 1 ? s : { pages: s.pages.slice(0, i + 1) };
    }
    default:
      return a satisfies never;
  }
}

/** The visible page. */
export function top(s: StackState): Page {
  return s.pages[s.pages.length - 1]!;
}

/** True when popping would leave the app (the root page is showing). */
export function atRoot(s: StackState): boolean {
  return s.pages.length === 1;
}

/** A short title per page for the breadcrumb line. */
export function pageTitle(p: Page): string {
  switch (p.kind) {
    case "repos":
      return "repositories";
    case "tags":
      return p.repo;
    case "artifact":
      return `:${p.tag}`;
    case "file":
      return p.path;
    case "diff":
      return `diff ${targetLabel(p.old)} → ${targetLabel(p.new)}`;
    case "promote":
      return `promote ${p.source}`;
    case "cluster":
      return "ocirepositories";
    case "ocirepo":
      return `${p.namespace}/${p.name}`;
    case "sign":
      return `sign ${p.tag.startsWith("sha256:") ? p.tag.slice(0, 19) : p.tag}`;
    case "help":
      return "help";
    default:
      return p satisfies never;
  }
}

/** `v1.0.0` for a tag, `./deploy (local)` for a directory. */
export function targetLabel(t: DiffTarget): string {
  return t.kind === "tag" ? t.tag : `${t.path} (local)`;
}
