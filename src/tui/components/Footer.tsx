import { Box, Text } from "ink";
import type { Binding } from "../keymap.ts";
import type { Theme } from "../render/theme.ts";

/** Props of {@link Footer}. */
export interface FooterProps {
  readonly bindings: readonly Binding[];
  /** Bindings of every screen, shown after the screen's and always given room first. */
  readonly global?: readonly Binding[];
  readonly width: number;
  readonly theme: Theme;
  /** A transient message; replaces the hints while shown. */
  readonly flash?: { message: string; kind: "info" | "error" };
}

/** The key hints (`<enter> open  </> filter …`) or a flash message, on one line. */
export default function Footer({ bindings, global = [], width, theme, flash }: FooterProps) {
  if (flash) {
    return (
      <Text color={flash.kind === "error" ? theme.error : theme.highlight} wrap="truncate">
        {flash.message.slice(0, width)}
      </Text>
    );
  }
  const hint = (b: Binding) => `<${b.label}> ${b.footer}`;
  const tail = global.filter((b) => b.footer).map(hint);
  const parts: string[] = [];
  let used = tail.reduce((n, p) => n + p.length + 2, 0);
  // Screen hints in order; one that does not fit is skipped, so a shorter later one may still show.
  for (const b of bindings) {
    if (!b.footer) continue;
    const p = hint(b);
    if (used + p.length + 2 > width) continue;
    parts.push(p);
    used += p.length + 2;
  }
  parts.push(...tail);
  return (
    <Box>
      <Text color={theme.dim} wrap="truncate">
        {parts.join("  ")}
      </Text>
    </Box>
  );
}
