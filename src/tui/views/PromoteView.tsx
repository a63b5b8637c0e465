import { Box, Text } from "ink";
import { useEffect, useMemo, useReducer, useRef } from "react";
import { useAppApi } from "../app-context.ts";
import { errorMessage, listTags, planPromotion, promote } from "../api.ts";
import DiffPanel, { splitHeight } from "../components/DiffPanel.tsx";
import Table from "../components/Table.tsx";
import useAsync from "../hooks/use-async.ts";
import useCluster from "../hooks/use-cluster.ts";
import useKeys from "../hooks/use-keys.ts";
import useRepos from "../hooks/use-repos.ts";
import useSpinner from "../hooks/use-spinner.ts";
import useTable from "../hooks/use-table.ts";
import { actionFor, KEYMAPS, tableAction } from "../keymap.ts";
import { createDiffView, diffViewReducer, type DiffViewAction, type DiffViewState } from "../models/diff-view.ts";
import { createPromote, promoteReducer, signaturesSummary, type PromotePlan } from "../models/promote.ts";
import { createTracking, trackerLine, trackingReducer, trackingSummary } from "../models/tracking.ts";
import { useServices } from "../services.ts";
import { fit, shortDigest } from "../render/tag-row.ts";
import { isSignatureOrReferrerTag, sortTags, type TreeDiff } from "../../core/index.ts";

/** How long the OCIRepositories tracking a promoted tag are followed (their interval may be minutes). */
export const TRACK_TIMEOUT_MS = 15 * 60_000;

/** Props of {@link PromoteView}. */
export interface PromoteViewProps {
  readonly active: boolean;
  readonly repo: string;
  readonly source: string;
}

/**
 * Promote: pick a target tag (or type a tag in another repository), review what it will change,
 * confirm; the core then moves the tag, or copies the digest with its signatures (as `berth promote`).
 */
export default function PromoteView({ active, repo, source }: PromoteViewProps) {
  const app = useAppApi();
  const repos = useRepos();
  const [state, dispatch] = useReducer(promoteReducer, source, createPromote);
  const tags = useAsync(async (signal) => sortTags((await listTags(repos, repo, signal)).filter((t) => t !== source && !isSignatureOrReferrerTag(t))), `${repo}:${source}`);
  const candidates = tags.status === "ok" ? tags.value : [];
  const [table, move] = useTable(candidates, Math.max(1, app.height - 3));
  const spin = useSpinner(tags.status === "loading" || state.step === "planning" || state.step === "tagging");

  const plan = state.step === "review" || state.step === "tagging" || state.step === "done" ? state.plan : undefined;
  // Two header lines (target change, question) above the diff panel.
  const { listHeight, patchHeight } = splitHeight(app.height - 2, plan?.changes ? plan.changes.objects.length + plan.changes.files.length : 0);
  const initialDiff = useMemo(() => (plan?.changes ? createDiffView(plan.changes, listHeight, patchHeight) : undefined), [plan?.changes]);
  // The review's list state belongs to one plan: a new plan starts from its own initial view.
  const [diffState, diffDispatch] = useReducer(
    (s: { from?: TreeDiff; view?: DiffViewState }, x: { a: DiffViewAction; from: TreeDiff; init: DiffViewState }) => ({
      from: x.from,
      view: diffViewReducer(s.from === x.from && s.view ? s.view : x.init, x.a),
    }),
    {},
  );
  const diff = plan?.changes && diffState.from === plan.changes && diffState.view ? diffState.view : initialDiff;
  const moveDiff = (a: DiffViewAction) => plan?.changes && initialDiff && diffDispatch({ a, from: plan.changes, init: initialDiff });

  useEffect(() => {
    if (state.step !== "planning") return;
    const ac = new AbortController();
    planPromotion(repos, repo, state.source, state.target, ac.signal).then(
      (p) => ac.signal.aborted || dispatch({ kind: "planned", plan: p }),
      (e) => ac.signal.aborted || dispatch({ kind: "failed", error: errorMessage(e) }),
    );
    return () => ac.abort();
  }, [state, repos, repo]);

  const tagging = useRef<PromotePlan | undefined>(undefined);
  useEffect(() => {
    // Once per confirmed plan, whatever else re-runs this effect (a resize changes `app`).
    if (state.step !== "tagging" || tagging.current === state.plan) return;
    tagging.current = state.plan;
    // Not aborted on unmount: a retag that started is allowed to finish.
    promote(repos, repo, state.plan).then(
      (result) => {
        dispatch({ kind: "tagged", result });
        app.flash(`✔ ${state.plan.targetLabel} now points at ${shortDigest(state.plan.sourceDigest)}`);
      },
      (e) => dispatch({ kind: "failed", error: errorMessage(e) }),
    );
  }, [state, repos, repo, app]);

  // After the retag: follow the cluster's OCIRepositories that track the target (registry repos only).
  const services = useServices();
  const promotion = services.promotion;
  const hasKube = Boolean(services.kube);
  const follow = state.step === "done" && hasKube && state.plan.targetRepo.startsWith("oci://");
  const conn = useCluster(undefined, follow);
  const [tracking, track] = useReducer(trackingReducer, undefined, createTracking);
  const followed = useRef<PromotePlan | undefined>(undefined);
  // The waits live as long as the screen, not as long as one run of the effect below.
  const following = useRef<AbortController | undefined>(undefined);
  useEffect(() => () => following.current?.abort(), []);
  useEffect(() => {
    if (!follow || state.step !== "done") return;
    if (conn.status === "error") return track({ kind: "failed", error: conn.error });
    if (conn.status !== "ok" || followed.current === state.plan) return;
    followed.current = state.plan;
    const { target, targetRepo, sourceDigest } = state.plan;
    const client = conn.client;
    const ac = new AbortController();
    following.current = ac;
    track({ kind: "find" });
    client.findTracking(targetRepo, target, ac.signal).then(
      (objects) => {
        if (ac.signal.aborted) return;
        track({ kind: "found", objects });
        for (const o of objects) {
          const key = `${o.namespace}/${o.name}`;
          client.waitForRevision(o, sourceDigest, { timeoutMs: TRACK_TIMEOUT_MS, signal: ac.signal, onUpdate: (update) => track({ kind: "update", key, update }) }).then(
            (result) => track({ kind: "result", key, result }),
            (e) => ac.signal.aborted || track({ kind: "error", key, error: errorMessage(e) }),
          );
        }
      },
      (e) => ac.signal.aborted || track({ kind: "failed", error: errorMessage(e) }),
    );
  }, [follow, conn, state]);
  const trackSpin = useSpinner(tracking.step === "finding" || (tracking.step === "following" && tracking.trackers.some((x) => x.outcome === "waiting")));

  useKeys((name) => {
    const action = actionFor(KEYMAPS.promote, name);
    const t = tableAction(action);
    if (state.step === "pick") {
      if (t) move(t);
      else if (action === "pick" && candidates[table.cursor]) dispatch({ kind: "pick", target: candidates[table.cursor]! });
      else if (action === "newTag") app.prompt({ label: `promote ${source} to (new tag, or oci://repo:tag): `, onSubmit: (v) => v.trim() && dispatch({ kind: "pick", target: v.trim() }) });
      else return false;
      return true;
    }
    if (state.step === "review") {
      if (action === "confirm") dispatch({ kind: "confirm" });
      else if (action === "diff" && state.plan.targetDigest && state.plan.targetRepo === repo) app.push({ kind: "diff", repo, old: { kind: "tag", tag: state.plan.target }, new: { kind: "tag", tag: source } });
      else if (t) moveDiff({ kind: "list", action: t });
      else if (name === "esc" || name === "n" || name === "q") dispatch({ kind: "back" });
      else return false;
      return true;
    }
    if (state.step === "failed" && (name === "esc" || name === "q")) {
      dispatch({ kind: "back" });
      return true;
    }
    return state.step === "tagging";
  }, active, state.step === "pick" ? ["pick", "newTag", "down"] : state.step === "review" ? (state.plan.targetDigest === state.plan.sourceDigest ? [] : ["confirm", "cancel", ...(state.plan.targetDigest && state.plan.targetRepo === repo ? ["diff"] : [])]) : []);

  const t = app.theme;
  const w = app.width;
  switch (state.step) {
    case "pick":
      return (
        <Box flexDirection="column">
          <Text bold wrap="truncate">
            {fit(`Promote ${source}: pick the tag to point at it (enter), or n for a new tag or another repository's`, w)}
          </Text>
          {tags.status === "error" ? <Text color={t.error}>✗ {tags.error}</Text> : null}
          <Table header="TARGET TAG" state={table} width={w} theme={t} empty={tags.status === "loading" ? `${spin} listing tags…` : "no other tags: press n"} row={(i) => ({ key: candidates[i]!, text: candidates[i]! })} />
        </Box>
      );
    case "planning":
      return <Text>{`${spin} ${promotion.verifyKeys ? "verifying the signatures of " + state.source + ", " : ""}comparing ${state.target} (now) with ${state.source}…`}</Text>;
    case "failed":
      return (
        <Box flexDirection="column">
          <Text color={t.error} wrap="truncate">{`✗ promote ${state.source}${state.target ? ` → ${state.target}` : ""} failed: ${state.error}`}</Text>
          <Text color={t.dim}>esc: back to picking a tag</Text>
        </Box>
      );
    default: {
      const p = state.plan;
      const same = p.targetDigest === p.sourceDigest;
      const here = p.targetRepo === repo;
      const head = p.targetDigest ? `${p.targetLabel}: ${shortDigest(p.targetDigest)} → ${shortDigest(p.sourceDigest)} (${p.source})` : `${p.targetLabel}: new tag → ${shortDigest(p.sourceDigest)} (${p.source})`;
      const question =
        state.step === "done"
          ? `✔ promoted: ${p.targetLabel} now points at ${shortDigest(p.sourceDigest)}; esc to go back`
          : state.step === "tagging"
            ? `${spin} ${here ? "tagging" : "copying the artifact and its signatures to"} ${p.targetLabel}…`
            : same
              ? `${p.targetLabel} already points at ${p.source}'s digest: nothing to do (esc)`
              : `Promote ${p.source} to ${p.targetLabel}? y to confirm, n/esc to pick another tag${p.targetDigest && here ? ", d for the full diff" : ""}`;
      const summary = [
        p.verified ? `✔ signature verified (${p.verified.join(", ")})` : "",
        !here && !same && state.step !== "done" ? "another repository: the digest is copied with its signatures (.sig/.att tags and referrers)" : "",
        state.step === "done" ? "" : !p.targetDigest ? "the tag does not exist yet: it will be created" : same ? "" : p.diffError ? `cannot compare the contents: ${p.diffError}` : p.changes ? "" : "the files are identical; only the archive differs",
        state.step === "done" && state.result ? signaturesSummary(state.result) : "",
      ].filter(Boolean);
      return (
        <Box flexDirection="column">
          <Text bold wrap="truncate">
            {fit(head, w)}
          </Text>
          <Text bold color={state.step === "done" ? t.added : t.highlight} wrap="truncate">
            {fit(question, w)}
          </Text>
          {summary.map((l) => (
            <Text key={l} color={l.startsWith("✔") ? t.added : t.dim} wrap="truncate">
              {fit(l, w)}
            </Text>
          ))}
          {tracking.step !== "idle" ? (
            <Box flexDirection="column">
              <Text bold={tracking.step !== "failed"} color={tracking.step === "failed" ? t.dim : t.accent} wrap="truncate">
                {fit(trackingSummary(tracking, p.target, trackSpin), w)}
              </Text>
              {tracking.step === "following"
                ? tracking.trackers.slice(0, Math.max(1, app.height - 4)).map((x) => (
                    <Text key={x.key} color={x.outcome === "ready" ? t.added : x.outcome === "waiting" ? undefined : t.error} wrap="truncate">
                      {fit(trackerLine(x, trackSpin), w)}
                    </Text>
                  ))
                : null}
            </Box>
          ) : diff && diff.entries.length > 0 ? (
            <DiffPanel state={diff} app={app} listHeight={listHeight} patchHeight={patchHeight} />
          ) : null}
        </Box>
      );
    }
  }
}
