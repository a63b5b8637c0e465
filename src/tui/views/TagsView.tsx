import { Box, Text } from "ink";
import { useEffect, useMemo, useReducer, useRef, useState } from "react";
import { useAppApi } from "../app-context.ts";
import { describeTag, errorMessage, listTags } from "../api.ts";
import Table from "../components/Table.tsx";
import { filterPrompt } from "../filter-prompt.ts";
import useKeys from "../hooks/use-keys.ts";
import useRepos from "../hooks/use-repos.ts";
import useSpinner from "../hooks/use-spinner.ts";
import useTable from "../hooks/use-table.ts";
import { actionFor, KEYMAPS, tableAction } from "../keymap.ts";
import { createTags, hiddenCount, pendingTags, tagRows, tagsReducer, type TagInfo } from "../models/tags.ts";
import { fit, tagCells, tagColumns } from "../render/tag-row.ts";

/** Manifests fetched at once while filling in the list. */
export const DESCRIBE_CONCURRENCY = 8;
/**
 * Loaded rows are applied in batches at most this often (ms), so 1000 arrivals are a few renders;
 * a row arriving after a quiet spell (the first one) is applied at once.
 */
const FLUSH_MS = 80;

/** Props of {@link TagsView}. */
export interface TagsViewProps {
  readonly active: boolean;
  readonly repo: string;
}

/** Tags of a repository: the list shows at once and fills in as manifests arrive. */
export default function TagsView({ active, repo }: TagsViewProps) {
  const app = useAppApi();
  const repos = useRepos();
  const [state, dispatch] = useReducer(tagsReducer, undefined, createTags);
  const [generation, setGeneration] = useState(0);
  const [marked, setMarked] = useState<string | undefined>();
  const stateRef = useRef(state);
  stateRef.current = state;

  useEffect(() => {
    const ac = new AbortController();
    listTags(repos, repo, ac.signal).then(
      (tags) => ac.signal.aborted || dispatch({ kind: "listed", tags }),
      (e) => ac.signal.aborted || dispatch({ kind: "listFailed", error: errorMessage(e) }),
    );
    return () => ac.abort();
  }, [repos, repo, generation]);

  // Fill in rows: a small worker pool over the tags not loaded yet, newest first.
  const listed = !state.listing && !state.error;
  useEffect(() => {
    if (!listed) return;
    const queue = pendingTags(stateRef.current);
    if (queue.length === 0) return;
    const ac = new AbortController();
    let buffer: Record<string, TagInfo | { error: string }> = {};
    let flushed = 0;
    const flush = () => {
      if (Object.keys(buffer).length === 0) return;
      const infos = buffer;
      buffer = {};
      flushed = performance.now();
      dispatch({ kind: "infos", infos });
    };
    const timer = setInterval(flush, FLUSH_MS);
    const worker = async () => {
      for (let t = queue.shift(); t !== undefined && !ac.signal.aborted; t = queue.shift()) {
        // The result is stored after the await: `buffer[t] = await …` would write into the buffer
        // object of before the await, which a flush may have replaced meanwhile.
        let result: TagInfo | { error: string };
        try {
          result = await describeTag(repos, repo, t, ac.signal);
        } catch (e) {
          if (ac.signal.aborted) return;
          result = { error: errorMessage(e) };
        }
        buffer[t] = result;
        if (performance.now() - flushed >= FLUSH_MS) flush();
      }
    };
    Promise.all(Array.from({ length: DESCRIBE_CONCURRENCY }, worker)).then(() => {
      clearInterval(timer);
      if (!ac.signal.aborted) flush();
    });
    return () => {
      ac.abort();
      clearInterval(timer);
    };
  }, [repos, repo, listed, state.showAll, generation]);

  const rows = useMemo(() => tagRows(state), [state]);
  const keys = useMemo(() => rows.map((r) => r.key), [rows]);
  const [table, move] = useTable(keys, Math.max(1, app.height - 2));
  const columns = useMemo(() => tagColumns(app.width, rows), [app.width, rows]);
  const loadedCount = state.tags.filter((t) => state.infos[t]).length;
  const pending = pendingTags(state).length;
  const spin = useSpinner(state.listing || pending > 0);
  const current = rows[table.cursor];

  useKeys((name) => {
    const action = actionFor(KEYMAPS.tags, name);
    const t = tableAction(action);
    if (t) {
      move(t);
      return true;
    }
    switch (action) {
      case "open":
        if (current) app.push({ kind: "artifact", repo, tag: current.tag });
        return true;
      case "filter":
        app.prompt(filterPrompt(state.filter, (filter) => dispatch({ kind: "filter", filter })));
        return true;
      case "toggleAll":
        dispatch({ kind: "toggleAll" });
        return true;
      case "reload":
        dispatch({ kind: "reload" });
        setGeneration((g) => g + 1);
        return true;
      case "mark":
        if (current) setMarked((m) => (m === current.tag ? undefined : current.tag));
        return true;
      case "diff": {
        if (!current) return true;
        const here = table.cursor;
        let other: number;
        if (marked !== undefined && marked !== current.tag) other = rows.findIndex((r) => r.tag === marked);
        // Without a mark: the next older row with another digest (rows are newest first).
        else other = rows.findIndex((r, i) => i > here && r.group !== "member" && (!current.info || !r.info || r.info.digest !== current.info.digest));
        if (other < 0) {
          app.flash("nothing older to compare with: mark a tag with space first", "error");
          return true;
        }
        const [older, newer] = other > here ? [rows[other]!, current] : [current, rows[other]!];
        app.push({ kind: "diff", repo, old: { kind: "tag", tag: older.tag }, new: { kind: "tag", tag: newer.tag } });
        return true;
      }
      case "diffLocal":
        if (!current) return true;
        app.prompt({
          label: `diff ${current.tag} with local dir: `,
          initial: "./",
          onSubmit: (p) => p.trim() && app.push({ kind: "diff", repo, old: { kind: "tag", tag: current.tag }, new: { kind: "local", path: p.trim() } }),
        });
        return true;
      case "promote":
        if (current) app.push({ kind: "promote", repo, source: current.tag });
        return true;
      case "sign":
        if (current) app.push({ kind: "sign", repo, tag: current.tag });
        return true;
    }
    return false;
  }, active);

  const status = state.error
    ? `✗ ${state.error}`
    : state.listing
      ? `${spin} listing tags…`
      : [
          `${rows.length} tags`,
          pending > 0 ? `${spin} ${loadedCount}/${state.tags.length - hiddenCount(state)} loaded` : "",
          hiddenCount(state) > 0 ? `${hiddenCount(state)} signature/referrer tags hidden (a)` : "",
          state.filter ? `filter "${state.filter}"` : "",
          marked ? `marked ${marked}` : "",
        ]
          .filter(Boolean)
          .join(" · ");

  return (
    <Box flexDirection="column">
      <Text color={state.error ? app.theme.error : app.theme.dim} wrap="truncate">
        {fit(status, app.width)}
      </Text>
      <Table
        header={columns.map((c) => fit(c.title, c.width)).join(" ")}
        state={table}
        width={app.width}
        theme={app.theme}
        marked={marked}
        empty={state.listing ? "" : state.error ? "" : state.filter ? "no tag matches the filter" : "no tags"}
        row={(i) => {
          const r = rows[i]!;
          return { key: r.key, text: tagCells(r, columns, "…").join(" "), color: r.error ? app.theme.error : undefined, dim: r.group === "member" };
        }}
      />
    </Box>
  );
}
