import { Box, Text } from "ink";
import { diffLineRole } from "../render/diff-line.ts";
import type { Theme } from "../render/theme.ts";
import { highlightYamlLine } from "../render/yaml.ts";

/** Props of {@link TextPane}. */
export interface TextPaneProps {
  readonly lines: readonly string[];
  readonly offset: number;
  readonly height: number;
  readonly width: number;
  readonly theme: Theme;
  /** `yaml` highlights keys, strings and comments; `diff` colours +/- lines. */
  readonly syntax?: "yaml" | "diff" | "plain";
  /** Prefix each line with its number. */
  readonly numbers?: boolean;
}

/** Renders the visible slice of a text; lines are cut at the width, never wrapped (keeps the layout fixed). */
export default function TextPane({ lines, offset, height, width, theme, syntax = "plain", numbers }: TextPaneProps) {
  const slice = lines.slice(offset, offset + height);
  const gutter = numbers ? String(lines.length).length + 1 : 0;
  return (
    <Box flexDirection="column" width={width}>
      {slice.map((line, i) => {
        const n = numbers ? <Text color={theme.dim}>{String(offset + i + 1).padStart(gutter - 1)} </Text> : null;
        const text = line.replace(/\t/g, "  ");
        if (syntax === "diff") {
          const role = diffLineRole(text);
          const color = { header: undefined, hunk: theme.hunk, added: theme.added, removed: theme.removed, context: undefined }[role];
          return (
            <Text key={offset + i} wrap="truncate" color={color} bold={role === "header"}>
              {n}
              {text || " "}
            </Text>
          );
        }
        if (syntax === "yaml") {
          return (
            <Text key={offset + i} wrap="truncate">
              {n}
              {highlightYamlLine(text).map((s, j) => (
                <Text key={j} color={s.role === "comment" ? theme.comment : s.role === "key" ? theme.key : s.role === "string" ? theme.string : s.role === "number" ? theme.number : s.role === "marker" ? theme.accent : undefined}>
                  {s.text}
                </Text>
              ))}
              {text ? "" : " "}
            </Text>
          );
        }
        return (
          <Text key={offset + i} wrap="truncate">
            {n}
            {text || " "}
          </Text>
        );
      })}
    </Box>
  );
}
