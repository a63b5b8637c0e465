/** What views can ask of the app: navigation, the one-line prompt, flash messages, the key route. */
import { createContext, useContext } from "react";
import type { Page } from "./models/page-stack.ts";
import type { Theme } from "./render/theme.ts";

/** A one-line input at the bottom (`:` command, `/` filter, a tag name…). */
export interface PromptRequest {
  /** Shown before the input, e.g. `/` or `promote to tag: `. */
  label: string;
  initial?: string;
  /** Shows the input as `•` (passwords). Default false. */
  secret?: boolean;
  /** Called on every edit (live filtering). */
  onChange?: (value: string) => void;
  onSubmit: (value: string) => void;
  /** Called on esc. */
  onCancel?: () => void;
}

/** A key handler of the visible view; returns true when it used the key. */
export type KeyHandler = (name: string, input: string) => boolean;

/** The app's services to views. */
export interface AppApi {
  push(page: Page): void;
  pop(): void;
  replace(page: Page): void;
  /** Shows a message in the footer for a few seconds. */
  flash(message: string, kind?: "info" | "error"): void;
  prompt(req: PromptRequest): void;
  /** Registers the visible view's key handler (the app calls it before its global keys). */
  setKeys(handler: KeyHandler | undefined): void;
  /** Limits the footer to these actions of the screen's keymap (a view in a sub-step); undefined shows all. */
  setHints(actions: readonly string[] | undefined): void;
  readonly theme: Theme;
  /** Size of the area between the header and the footer. */
  readonly width: number;
  readonly height: number;
}

/** Context of {@link AppApi}. */
export const AppContext = createContext<AppApi | null>(null);

/** The app API; throws outside the app. */
export function useAppApi(): AppApi {
  const a = useContext(AppContext);
  if (!a) throw new Error("useAppApi outside <AppContext.Provider>");
  return a;
}
