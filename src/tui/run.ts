/**
 * Starts the TUI on the terminal: alternate screen, raw keys, and a guaranteed restore of the
 * terminal on exit, error or interrupt. Receives already-built services; reads no env.
 */
import { render } from "ink";
import { createElement } from "react";
import { parseArtifactURL } from "../core/index.ts";
import App from "./app.tsx";
import { repoURL } from "./api.ts";
import ErrorBoundary from "./components/ErrorBoundary.tsx";
import type { Page } from "./models/page-stack.ts";
import type { TuiServices } from "./services.ts";

/** Options of {@link runTui}. */
export interface RunTuiOptions {
  services: TuiServices;
  /** `oci://…` or `oci-layout://…` from the command line: opens its tags (and the tag's artifact, when it names one). */
  url?: string;
  /** False when NO_COLOR is set. */
  color: boolean;
  stdin?: NodeJS.ReadStream;
  stdout?: NodeJS.WriteStream;
}

/** The pages to open for a command-line URL. Throws REF_INVALID for a bad URL, before the screen is taken over. */
export function initialPages(url: string | undefined): { pages: Page[]; repositories: string[] } {
  if (!url) return { pages: [{ kind: "repos" }], repositories: [] };
  const ref = parseArtifactURL(url);
  const repo = repoURL(ref);
  const pages: Page[] = [{ kind: "repos" }, { kind: "tags", repo }];
  const tag = ref.tag ?? ref.digest;
  if (tag) pages.push({ kind: "artifact", repo, tag });
  return { pages, repositories: [repo] };
}

/** Runs the UI until the user quits; rejects with the error that ended it, after the terminal is restored. */
export async function runTui(opts: RunTuiOptions): Promise<void> {
  const { pages, repositories } = initialPages(opts.url);
  if (repositories[0]) await opts.services.history.add(repositories[0]).catch(() => {});
  let failure: unknown;
  const instance = render(
    createElement(ErrorBoundary, { onError: (e: unknown) => ((failure = e), instance.unmount()) }, createElement(App, { services: opts.services, initial: pages, repositories, color: opts.color })),
    // interactive: the caller checked for a terminal; without this Ink renders only the last frame
    // whenever CI is set in the environment (a terminal inside a CI job, or our own tests).
    { alternateScreen: true, exitOnCtrlC: true, patchConsole: true, interactive: true, ...(opts.stdin ? { stdin: opts.stdin } : {}), ...(opts.stdout ? { stdout: opts.stdout } : {}) },
  );
  const onAbort = () => instance.unmount();
  opts.services.signal?.addEventListener("abort", onAbort, { once: true });
  try {
    await instance.waitUntilExit();
  } finally {
    opts.services.signal?.removeEventListener("abort", onAbort);
    instance.cleanup();
  }
  if (failure) throw failure;
}
