import { Box, Text } from "ink";
import { visibleRange, type TableState } from "../models/table-model.ts";
import { fit } from "../render/tag-row.ts";
import type { Theme } from "../render/theme.ts";

/** One rendered row. */
export interface TableLine {
  key: string;
  text: string;
  color?: string;
  dim?: boolean;
}

/** Props of {@link Table}. */
export interface TableProps {
  /** Column titles, already laid out; omitted for headerless lists. */
  readonly header?: string;
  readonly state: TableState;
  /** Renders row `index`; called only for visible rows, so long lists cost nothing off screen. */
  readonly row: (index: number) => TableLine;
  readonly width: number;
  readonly theme: Theme;
  /** Key of a marked row (drawn with `*`). */
  readonly marked?: string;
  /** Shown instead of rows when the list is empty. */
  readonly empty?: string;
}

/** A virtualised list with a selection marker (`▸`, inverse video) and an optional header. */
export default function Table({ header, state, row, width, theme, marked, empty }: TableProps) {
  const [start, end] = visibleRange(state);
  const lines: TableLine[] = [];
  for (let i = start; i < end; i++) lines.push(row(i));
  return (
    <Box flexDirection="column">
      {header !== undefined && (
        <Text bold color={theme.accent}>
          {fit("  " + header, width)}
        </Text>
      )}
      {state.count === 0 && empty ? <Text color={theme.dim}>{fit("  " + empty, width)}</Text> : null}
      {lines.map((l, n) => {
        const selected = start + n === state.cursor;
        const mark = selected ? "▸" : l.key === marked ? "*" : " ";
        return (
          <Text key={l.key} inverse={selected} color={l.color} dimColor={l.dim && !selected} wrap="truncate">
            {fit(`${mark} ${l.text}`, width)}
          </Text>
        );
      })}
    </Box>
  );
}
