/**
 * Starts the TUI on the terminal: alternate screen, raw keys, and a guaranteed restore of the
 * terminal on exit, error or interrupt. Receives already-built services (or a function that builds
 * them); reads no env.
 *
 * The first frame comes before the heavy part: this module imports only Ink, React and the boot
 * screen; the app, its views and the core are imported once that frame is on the terminal, while
 * the caller's services are built.
 */
import { render } from "ink";
import { createElement } from "react";
import Boot from "./components/Boot.tsx";
import ErrorBoundary from "./components/ErrorBoundary.tsx";
import type { TuiServices } from "./services.ts";

/** Options of {@link runTui}. */
export interface RunTuiOptions {
  /** The services, or a function building them (called after the first frame is drawn). */
  services: TuiServices | (() => Promise<TuiServices>);
  /** `oci://…` or `oci-layout://…` from the command line: opens its tags (and the tag's artifact, when it names one). */
  url?: string;
  /** False when NO_COLOR is set. */
  color: boolean;
  stdin?: NodeJS.ReadStream;
  stdout?: NodeJS.WriteStream;
}

/** Runs the UI until the user quits; rejects with the error that ended it, after the terminal is restored. */
export async function runTui(opts: RunTuiOptions): Promise<void> {
  let failure: unknown;
  let services: TuiServices | undefined;
  const fail = (e: unknown) => {
    failure = e;
    instance.unmount();
  };
  const load = async () => {
    const [s, { default: App }, { initialPages }] = await Promise.all([
      typeof opts.services === "function" ? opts.services() : opts.services,
      import("./app.tsx"),
      import("./initial-pages.ts"),
    ]);
    services = s;
    const { pages, repositories } = initialPages(opts.url);
    if (repositories[0]) s.history.add(repositories[0]).catch(() => {});
    if (s.signal?.aborted) onAbort();
    else s.signal?.addEventListener("abort", onAbort, { once: true });
    return createElement(App, { services: s, initial: pages, repositories, color: opts.color });
  };
  const instance = render(
    createElement(ErrorBoundary, { onError: fail }, createElement(Boot, { load, color: opts.color, onError: fail, ...(opts.url ? { opening: opts.url } : {}) })),
    // interactive: the caller checked for a terminal; without this Ink renders only the last frame
    // whenever CI is set in the environment (a terminal inside a CI job, or our own tests).
    // maxFps 60 (Ink's default is 30): a frame waits at most 17 ms behind the state it shows, which
    // took about 20 ms off the time to the first filled-in tag row; bursts of updates stay batched.
    { alternateScreen: true, exitOnCtrlC: true, patchConsole: true, interactive: true, maxFps: 60, ...(opts.stdin ? { stdin: opts.stdin } : {}), ...(opts.stdout ? { stdout: opts.stdout } : {}) },
  );
  const onAbort = () => instance.unmount();
  try {
    await instance.waitUntilExit();
  } finally {
    services?.signal?.removeEventListener("abort", onAbort);
    instance.cleanup();
  }
  if (failure) throw failure;
}
