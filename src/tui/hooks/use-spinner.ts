import { useEffect, useState } from "react";

const FRAMES = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];

/** A spinner frame that advances while `active`; "" when not. */
export default function useSpinner(active: boolean): string {
  const [i, setI] = useState(0);
  useEffect(() => {
    if (!active) return;
    const t = setInterval(() => setI((x) => (x + 1) % FRAMES.length), 120);
    return () => clearInterval(t);
  }, [active]);
  return active ? FRAMES[i]! : "";
}
