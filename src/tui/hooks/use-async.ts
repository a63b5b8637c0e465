import { useEffect, useState } from "react";
import { errorMessage } from "../api.ts";

/** State of an async load. */
export type AsyncState<T> = { status: "loading" } | { status: "ok"; value: T } | { status: "error"; error: string };

/**
 * Runs `load` when `key` changes, aborting the previous run; the result lands only while the
 * component is mounted and the key unchanged.
 */
export default function useAsync<T>(load: (signal: AbortSignal) => Promise<T>, key: string): AsyncState<T> {
  const [state, setState] = useState<AsyncState<T>>({ status: "loading" });
  useEffect(() => {
    const ac = new AbortController();
    setState({ status: "loading" });
    load(ac.signal).then(
      (value) => ac.signal.aborted || setState({ status: "ok", value }),
      (e) => ac.signal.aborted || setState({ status: "error", error: errorMessage(e) }),
    );
    return () => ac.abort();
    // `load` is a fresh closure each render; `key` names what it loads.
  }, [key]);
  return state;
}
