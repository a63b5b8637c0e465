import { type TableState } from "../models/table-model.ts";
import { timelineLine, type TimelineEntry } from "../models/cluster.ts";
import type { Theme } from "../render/theme.ts";
import Table from "./Table.tsx";

/** Props of {@link Timeline}. */
export interface TimelineProps {
  readonly entries: readonly TimelineEntry[];
  readonly state: TableState;
  readonly width: number;
  readonly theme: Theme;
}

/** Row keys of a timeline (position and time: entries may repeat). */
export function timelineKeys(entries: readonly TimelineEntry[]): string[] {
  return entries.map((e, i) => `${i}:${e.time}:${e.source}:${e.type}`);
}

/** Conditions and Events of one object, oldest first; warnings in the error colour. */
export default function Timeline({ entries, state, width, theme }: TimelineProps) {
  const keys = timelineKeys(entries);
  return (
    <Table
      header={`${"TIME".padEnd(19)} ${"WHAT".padEnd(14)} REASON: MESSAGE`}
      state={state}
      width={width}
      theme={theme}
      empty="no conditions or Events yet"
      row={(i) => ({ key: keys[i]!, text: timelineLine(entries[i]!), color: entries[i]!.warning ? theme.error : undefined })}
    />
  );
}
