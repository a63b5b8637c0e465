import { Box, Text } from "ink";
import type { Binding } from "../keymap.ts";
import type { Theme } from "../render/theme.ts";

/** Props of {@link Footer}. */
export interface FooterProps {
  readonly bindings: readonly Binding[];
  readonly width: number;
  readonly theme: Theme;
  /** A transient message; replaces the hints while shown. */
  readonly flash?: { message: string; kind: "info" | "error" };
}

/** The key hints (`<enter> open  </> filter …`) or a flash message, on one line. */
export default function Footer({ bindings, width, theme, flash }: FooterProps) {
  if (flash) {
    return (
      <Text color={flash.kind === "error" ? theme.error : theme.highlight} wrap="truncate">
        {flash.message.slice(0, width)}
      </Text>
    );
  }
  const parts: string[] = [];
  let used = 0;
  for (const b of bindings) {
    if (!b.footer) continue;
    const p = `<${b.label}> ${b.footer}`;
    if (used + p.length + 2 > width) break;
    parts.push(p);
    used += p.length + 2;
  }
  return (
    <Box>
      <Text color={theme.dim} wrap="truncate">
        {parts.join("  ")}
      </Text>
    </Box>
  );
}
