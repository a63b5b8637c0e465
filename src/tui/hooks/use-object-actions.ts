import { useRef, useState } from "react";
import { useAppApi } from "../app-context.ts";
import { errorMessage } from "../api.ts";
import type { ClusterClient } from "../cluster-client.ts";
import { ocirepositoryPath, reconcilePatch, suspendPatch } from "../models/cluster.ts";

/** The object an action applies to. */
export interface ObjectTarget {
  namespace: string;
  name: string;
  suspended: boolean;
}

/** What {@link useObjectActions} gives a view. */
export interface ObjectActions {
  /** The y/n question being asked, if any. */
  readonly question?: string;
  /** Routes a key while a question is open: `y` runs the action, anything else cancels. False when no question is open. */
  answer(name: string): boolean;
  /** Runs `reconcile` at once; `suspend` (key `s`) and resume (key `S`) ask first. True when the action was one of these. */
  run(action: string | undefined, key: string, target: ObjectTarget | undefined): boolean;
}

/**
 * Reconcile, suspend and resume of an OCIRepository by JSON merge patch, the way `flux reconcile`,
 * `flux suspend` and `flux resume` write them. Results and failures are flashed in the footer.
 */
export default function useObjectActions(client: ClusterClient | undefined): ObjectActions {
  const app = useAppApi();
  const [pending, setPending] = useState<{ question: string; act: () => void } | undefined>();
  // Keys can arrive faster than renders: the open question is also kept in a ref.
  const ref = useRef(pending);
  ref.current = pending;
  const set = (p: typeof pending) => {
    ref.current = p;
    setPending(p);
  };

  const patch = (t: ObjectTarget, body: Record<string, unknown>, done: string) => {
    if (!client) return app.flash("not connected to a cluster", "error");
    client.mergePatch(ocirepositoryPath(t.namespace, t.name), body).then(
      () => app.flash(done),
      (e) => app.flash(`✗ ${t.namespace}/${t.name}: ${errorMessage(e)}`, "error"),
    );
  };

  return {
    question: pending?.question,
    answer(name) {
      const p = ref.current;
      if (!p) return false;
      set(undefined);
      if (name === "y" || name === "Y") p.act();
      else app.flash("cancelled");
      return true;
    },
    run(action, key, t) {
      if (action === "reconcile") {
        if (t) patch(t, reconcilePatch(new Date()), `► reconcile requested for ${t.namespace}/${t.name}`);
        return true;
      }
      if (action !== "suspend") return false;
      if (!t) return true;
      const suspend = key !== "S";
      if (suspend === t.suspended) {
        app.flash(`${t.namespace}/${t.name} is already ${suspend ? "suspended" : "running (not suspended)"}`);
        return true;
      }
      set({
        question: `${suspend ? "Suspend" : "Resume"} ${t.namespace}/${t.name}? y/n`,
        act: () => patch(t, suspendPatch(suspend), `${suspend ? "► suspended" : "► resumed"} ${t.namespace}/${t.name}`),
      });
      return true;
    },
  };
}
