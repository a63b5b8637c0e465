import { Box, Text } from "ink";
import { useMemo, useReducer } from "react";
import { useAppApi } from "../app-context.ts";
import { diffSides } from "../api.ts";
import DiffPanel, { splitHeight } from "../components/DiffPanel.tsx";
import useAsync from "../hooks/use-async.ts";
import useKeys from "../hooks/use-keys.ts";
import useRepos from "../hooks/use-repos.ts";
import useSpinner from "../hooks/use-spinner.ts";
import { actionFor, KEYMAPS, tableAction } from "../keymap.ts";
import { createDiffView, diffViewReducer, summaryText, type DiffViewAction, type DiffViewState } from "../models/diff-view.ts";
import { targetLabel, type DiffTarget } from "../models/page-stack.ts";
import { toScroll } from "../models/scroll.ts";
import { fit, shortDigest } from "../render/tag-row.ts";

/** Props of {@link DiffView}. */
export interface DiffViewProps {
  readonly active: boolean;
  readonly repo: string;
  readonly old: DiffTarget;
  readonly new: DiffTarget;
}

const EMPTY: DiffViewState = createDiffView({ equal: true, summary: { files: { added: 0, removed: 0, modified: 0 }, objects: { added: 0, removed: 0, changed: 0 } }, files: [], objects: [] });

/** Diff of two tags, or of a tag and a local directory: the `berth diff artifact` engine, browsable. */
export default function DiffView({ active, repo, old: oldSide, new: newSide }: DiffViewProps) {
  const app = useAppApi();
  const repos = useRepos();
  const res = useAsync((signal) => diffSides(repos, repo, oldSide, newSide, signal), `${repo}:${JSON.stringify(oldSide)}:${JSON.stringify(newSide)}`);
  const spin = useSpinner(res.status === "loading");
  const changes = res.status === "ok" ? res.value.changes : undefined;
  const entryCount = changes ? changes.objects.length + changes.files.length : 0;
  const { listHeight, patchHeight } = splitHeight(app.height - 1, entryCount);
  // The view state belongs to one result; until the first key it is the result's initial view.
  const initial = useMemo(() => (changes ? createDiffView(changes, listHeight, patchHeight) : EMPTY), [changes]);
  const [own, dispatchOwn] = useReducer(
    (s: { from?: DiffViewState; view: DiffViewState }, x: { a: DiffViewAction; init: DiffViewState }) => ({
      from: x.init,
      view: diffViewReducer(s.from === x.init ? s.view : x.init, x.a),
    }),
    { view: EMPTY },
  );
  const dispatch = (a: DiffViewAction) => dispatchOwn({ a, init: initial });
  const state = diffViewReducer(own.from === initial ? own.view : initial, { kind: "resize", listHeight, patchHeight });

  useKeys((name) => {
    const action = actionFor(KEYMAPS.diff, name);
    if (action === "open") dispatch({ kind: "open" });
    else if (action === "close" || (name === "esc" && state.focus === "patch")) {
      if (state.focus === "list") return false;
      dispatch({ kind: "close" });
    } else {
      const t = tableAction(action);
      if (!t) return false;
      if (state.focus === "list") dispatch({ kind: "list", action: t });
      else {
        const s = toScroll(t);
        if (s?.kind === "by") dispatch({ kind: "scroll", delta: s.delta });
        else if (s?.kind === "page") dispatch({ kind: "scroll", delta: s.dir * (s.half ? Math.floor(patchHeight / 2) : patchHeight) });
        else if (s?.kind === "to") dispatch({ kind: "scrollTo", where: s.where });
      }
    }
    return true;
  }, active);

  let status: string;
  if (res.status === "loading") status = `${spin} comparing ${targetLabel(oldSide)} → ${targetLabel(newSide)}…`;
  else if (res.status === "error") status = `✗ ${res.error}`;
  else if (res.value.equal) status = `no changes: both point at the same content (${shortDigest(res.value.a.layer.digest)})`;
  else if (!res.value.changes || res.value.changes.equal) status = "the files are identical; the archives differ only in modes, layout or compression";
  else status = `${targetLabel(oldSide)} → ${targetLabel(newSide)}: ${summaryText(res.value.changes)}`;

  return (
    <Box flexDirection="column">
      <Text bold color={res.status === "error" ? app.theme.error : undefined} wrap="truncate">
        {fit(status, app.width)}
      </Text>
      {state.entries.length > 0 ? <DiffPanel state={state} app={app} listHeight={listHeight} patchHeight={patchHeight} /> : null}
    </Box>
  );
}
