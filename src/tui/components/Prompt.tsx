import { Text } from "ink";
import type { Theme } from "../render/theme.ts";

/** Props of {@link Prompt}. */
export interface PromptProps {
  readonly label: string;
  readonly value: string;
  readonly width: number;
  readonly theme: Theme;
  /** Masks the value (passwords). */
  readonly secret?: boolean;
}

/** The one-line input the app shows for `:`, `/` and questions; keys are fed by the app. */
export default function Prompt({ label, value: raw, width, theme, secret }: PromptProps) {
  const value = secret ? "•".repeat([...raw].length) : raw;
  const room = Math.max(1, width - label.length - 1);
  const shown = value.length > room ? "…" + value.slice(value.length - room + 1) : value;
  return (
    <Text wrap="truncate">
      <Text color={theme.accent} bold>
        {label}
      </Text>
      {shown}
      <Text inverse> </Text>
    </Text>
  );
}
