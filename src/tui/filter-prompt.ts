/** The `/` filter prompt that list screens share. */
import type { PromptRequest } from "./app-context.ts";

/**
 * A prompt for `/` that filters as the user types: each edit and enter apply the text, esc clears
 * the filter. `current` is the filter in effect, shown for editing.
 */
export function filterPrompt(current: string, apply: (filter: string) => void): PromptRequest {
  return { label: "/", initial: current, onChange: apply, onSubmit: apply, onCancel: () => apply("") };
}
