import type { EventEmitter } from "node:events";
import { Box, Text, useInput, useStdin, useWindowSize } from "ink";
import { useEffect, useRef, useState, type ReactElement } from "react";
import { COLOR_THEME, MONO_THEME } from "../render/theme.ts";

/** Props of {@link Boot}. */
export interface BootProps {
  /** Loads the app (its modules and services) and returns the element to show; runs once, after the first frame. */
  readonly load: () => Promise<ReactElement>;
  /** What is being opened, shown while loading (a command-line URL). */
  readonly opening?: string;
  /** False honours NO_COLOR. Default true. */
  readonly color?: boolean;
  /** Called when loading fails; the caller ends the UI and reports the error. */
  readonly onError: (e: unknown) => void;
}

/**
 * The first frame: the app's header and an "opening…" line, drawn before anything heavy is loaded
 * (the core, the views, registry clients), then replaced by the app. It imports only Ink and React,
 * so the terminal shows berth as soon as Ink can paint. Keys typed meanwhile are kept and handed
 * to the app once it is mounted, so nothing typed early is lost.
 */
export default function Boot({ load, opening, color = true, onError }: BootProps) {
  const [app, setApp] = useState<ReactElement | undefined>();
  const { columns, rows } = useWindowSize();
  useEffect(() => {
    let live = true;
    load().then(
      (el) => live && setApp(el),
      (e) => live && onError(e),
    );
    return () => {
      live = false;
    };
  }, []);
  // Raw mode from the first frame: ^C works and typed keys are not echoed over the screen.
  useInput(() => {}, { isActive: !app });
  // Ink's input emitter (public in its StdinContext, untyped in useStdin's result): replaying raw
  // input through it lets the app parse early keys exactly as if they came now.
  const input = (useStdin() as unknown as { internal_eventEmitter: EventEmitter }).internal_eventEmitter;
  const early = useRef<string[]>([]);
  useEffect(() => {
    if (app) return;
    const keep = (data: string) => early.current.push(data);
    input.on("input", keep);
    return () => {
      input.off("input", keep);
    };
  }, [app, input]);
  useEffect(() => {
    // The app's own input handlers subscribed in its effects, which ran before this one.
    if (!app) return;
    for (const data of early.current.splice(0)) input.emit("input", data);
  }, [app, input]);
  if (app) return app;
  const theme = color ? COLOR_THEME : MONO_THEME;
  return (
    <Box flexDirection="column" width={columns} height={rows}>
      <Text bold color={theme.accent} wrap="truncate">
        berth › repositories
      </Text>
      <Text color={theme.dim} wrap="truncate">
        {opening ? `opening ${opening}…` : "loading…"}
      </Text>
    </Box>
  );
}
