import { useEffect, useLayoutEffect, useRef } from "react";
import { useAppApi, type KeyHandler } from "../app-context.ts";

/**
 * Routes keys to the calling view while it is the visible one (`active`). The latest handler is
 * always used, so it may close over fresh state without re-registering. `hints`, when given, limits
 * the footer to those actions (for views whose keys depend on a sub-step).
 */
export default function useKeys(handler: KeyHandler, active: boolean, hints?: readonly string[]): void {
  const app = useAppApi();
  const ref = useRef(handler);
  ref.current = handler;
  // A layout effect: the handler is in place when the frame that shows the view is committed, so a
  // key typed as soon as the screen appears reaches it (a passive effect runs later, and such a key
  // went to no one).
  useLayoutEffect(() => {
    if (!active) return;
    app.setKeys((name, input) => ref.current(name, input));
    return () => app.setKeys(undefined);
  }, [app, active]);
  const hintKey = hints?.join(" ");
  useEffect(() => {
    if (!active) return;
    app.setHints(hintKey === undefined ? undefined : hintKey.split(" ").filter(Boolean));
    return () => app.setHints(undefined);
  }, [app, active, hintKey]);
}
