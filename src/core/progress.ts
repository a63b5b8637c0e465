/**
 * Progress is emitted as events through an `onProgress` option, never printed by the core.
 * The CLI renders them as bars on a TTY and as plain lines otherwise; the TUI as a status line.
 */
export type ProgressEvent =
  | { kind: "start"; id: string; label: string; total?: number }
  | { kind: "advance"; id: string; bytes: number }
  | { kind: "done"; id: string; skipped?: boolean }
  | { kind: "message"; text: string };

export type ProgressSink = (e: ProgressEvent) => void;

export const NO_PROGRESS: ProgressSink = () => {};
