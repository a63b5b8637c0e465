import { useEffect, useRef } from "react";
import { useAppApi, type KeyHandler } from "../app-context.ts";

/**
 * Routes keys to the calling view while it is the visible one (`active`). The latest handler is
 * always used, so it may close over fresh state without re-registering.
 */
export default function useKeys(handler: KeyHandler, active: boolean): void {
  const app = useAppApi();
  const ref = useRef(handler);
  ref.current = handler;
  useEffect(() => {
    if (!active) return;
    app.setKeys((name, input) => ref.current(name, input));
    return () => app.setKeys(undefined);
  }, [app, active]);
}
