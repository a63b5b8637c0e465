import { Box, Text } from "ink";
import type { AppApi } from "../app-context.ts";
import { isStrongHighlight } from "../render/diff-line.ts";
import { fit } from "../render/tag-row.ts";
import { patchLines, type DiffViewState } from "../models/diff-view.ts";
import Table from "./Table.tsx";
import TextPane from "./TextPane.tsx";

/** Props of {@link DiffPanel}. */
export interface DiffPanelProps {
  readonly state: DiffViewState;
  readonly app: Pick<AppApi, "theme" | "width">;
  /** Rows for the change list. */
  readonly listHeight: number;
  /** Rows for the selected change's highlights and patch. */
  readonly patchHeight: number;
}

/** Rows a diff panel gives the change list out of `height`; the rest, less the title line, goes to the patch. */
export function splitHeight(height: number, entries: number): { listHeight: number; patchHeight: number } {
  const listHeight = Math.max(1, Math.min(entries, Math.max(3, Math.floor(height / 3))));
  return { listHeight, patchHeight: Math.max(1, height - listHeight - 1) };
}

/**
 * The change list (objects, then files) over the selected change's highlights and unified diff.
 * Image and replica changes are drawn in the highlight colour and bold so they stand out.
 */
export default function DiffPanel({ state, app, listHeight, patchHeight }: DiffPanelProps) {
  const { theme, width } = app;
  const e = state.entries[state.list.cursor];
  const marks = { "~": theme.changed, A: theme.added, D: theme.removed, M: theme.changed };
  const lines = patchLines(state);
  const hl = e ? e.highlights.slice(0, 4) : [];
  const patchRows = Math.max(1, patchHeight - hl.length);
  return (
    <Box flexDirection="column">
      <Table
        state={{ ...state.list, height: listHeight }}
        width={width}
        theme={theme}
        row={(i) => {
          const x = state.entries[i]!;
          const note = x.highlights.find(isStrongHighlight) ?? x.highlights[0] ?? "";
          return { key: x.key, text: `${x.mark} ${x.title}  ${note ? `· ${note}` : x.detail}`, color: marks[x.mark] };
        }}
      />
      <Text bold color={theme.accent} wrap="truncate">
        {fit(e ? `── ${e.title} · ${e.detail}${state.focus === "patch" ? " · scrolling (h back)" : ""} ` : "", width)}
      </Text>
      {hl.map((h, i) => (
        <Text key={i} wrap="truncate" bold={isStrongHighlight(h)} color={isStrongHighlight(h) ? theme.highlight : undefined}>
          {fit(`  • ${h}`, width)}
        </Text>
      ))}
      {e && !e.unified ? <Text color={theme.dim}>{e.detail === "file" ? "" : `  (${e.detail}: no text diff)`}</Text> : null}
      <TextPane lines={lines} offset={Math.min(state.patchOffset, Math.max(0, lines.length - patchRows))} height={patchRows} width={width} theme={theme} syntax="diff" />
    </Box>
  );
}
