import { Box, Text } from "ink";
import { useEffect, useMemo, useReducer, useState } from "react";
import { useAppApi } from "../app-context.ts";
import { errorMessage } from "../api.ts";
import Table from "../components/Table.tsx";
import { filterPrompt } from "../filter-prompt.ts";
import useCluster from "../hooks/use-cluster.ts";
import useKeys from "../hooks/use-keys.ts";
import useNow from "../hooks/use-now.ts";
import useObjectActions from "../hooks/use-object-actions.ts";
import useSpinner from "../hooks/use-spinner.ts";
import useTable from "../hooks/use-table.ts";
import { actionFor, KEYMAPS, tableAction } from "../keymap.ts";
import {
  ALL_NAMESPACES,
  CLUSTER_SORT_COLUMNS,
  clusterColumns,
  clusterReducer,
  clusterRows,
  createCluster,
  namespaceChoices,
  ocirepositoriesPath,
  type ClusterRow,
  type ClusterState,
} from "../models/cluster.ts";
import { fit } from "../render/tag-row.ts";
import type { Theme } from "../render/theme.ts";
import { useServices } from "../services.ts";

/** Props of {@link ClusterView}. */
export interface ClusterViewProps {
  readonly active: boolean;
}

type Picker = { kind: "namespace" | "context"; choices: string[] };

/** The status line above the list: where, how many, and the watch's state. */
export function clusterStatus(s: ClusterState, where: { context: string; namespace?: string }, shown: number, spin: string): string {
  const conn = s.connection === "reconnecting" ? `⚠ reconnecting (${s.error ?? "watch failed"})` : s.connection === "connecting" ? `${spin} connecting` : "● live";
  return [
    conn,
    `ctx ${where.context || "(in-cluster)"}`,
    `ns ${where.namespace ?? ALL_NAMESPACES}`,
    `${shown} OCIRepositor${shown === 1 ? "y" : "ies"}`,
    `sort ${s.sort}${s.desc ? "↓" : "↑"}`,
    s.filter ? `filter "${s.filter}"` : "",
  ]
    .filter(Boolean)
    .join(" · ");
}

/** Color of a row: failing red, reconciling or unknown highlighted, suspended dimmed. */
function rowColor(r: ClusterRow, theme: Theme): string | undefined {
  if (r.ready === "False") return theme.error;
  if (r.ready === "Unknown" || r.reconciling) return theme.highlight;
  return undefined;
}

/** OCIRepositories of a cluster, live from a watch; one object opens with enter. */
export default function ClusterView({ active }: ClusterViewProps) {
  const app = useAppApi();
  const services = useServices();
  const [context, setContext] = useState<string | undefined>(undefined);
  const [namespace, setNamespace] = useState<string | undefined>(undefined);
  const conn = useCluster(context);
  const client = conn.status === "ok" ? conn.client : undefined;
  const [state, dispatch] = useReducer(clusterReducer, undefined, createCluster);
  const [picker, setPicker] = useState<Picker | undefined>();
  const actions = useObjectActions(client);

  useEffect(() => {
    if (!client) return;
    dispatch({ kind: "reset" });
    const stop = client.watch(ocirepositoriesPath(namespace), {
      onEvent: (type, obj) => dispatch({ kind: "event", type, obj }),
      onListStart: () => dispatch({ kind: "listStart" }),
      onListed: () => dispatch({ kind: "listed" }),
      onError: (e) => dispatch({ kind: "error", error: errorMessage(e) }),
    });
    return () => void stop();
  }, [client, namespace]);

  const rows = useMemo(() => clusterRows(state), [state]);
  const keys = useMemo(() => rows.map((r) => r.key), [rows]);
  const [table, move] = useTable(keys, Math.max(1, app.height - 2));
  const pickKeys = picker?.choices ?? [];
  const [pickTable, pickMove] = useTable(pickKeys, Math.max(1, app.height - 2));
  const columns = useMemo(() => clusterColumns(app.width, rows), [app.width, rows]);
  const now = useNow(5000, active);
  const spin = useSpinner(conn.status === "connecting" || state.connection === "connecting");
  const current = rows[table.cursor];

  const openPicker = async (kind: Picker["kind"]) => {
    if (kind === "context") {
      const ctx = await services.kube?.contexts().catch(() => undefined);
      if (!ctx || ctx.names.length === 0) return app.flash("no kubeconfig contexts to switch to", "error");
      setPicker({ kind, choices: ctx.names });
      return;
    }
    // Namespaces the user may list, else the ones the rows and the context name.
    let names: string[] = [];
    try {
      const list = client ? await client.get("/api/v1/namespaces") : undefined;
      names = (list?.items ?? []).map((n: { metadata?: { name?: string } }) => n.metadata?.name ?? "");
    } catch {
      names = [...Object.values(state.rows).map((r) => r.namespace), ...(client?.namespace ? [client.namespace] : [])];
    }
    setPicker({ kind, choices: namespaceChoices(names) });
  };

  useKeys(
    (name) => {
      if (actions.answer(name)) return true;
      const action = actionFor(KEYMAPS.cluster, name);
      const t = tableAction(action);
      if (picker) {
        if (t) pickMove(t);
        else if (name === "enter" || name === "l") {
          const choice = picker.choices[pickTable.cursor];
          if (choice !== undefined && picker.kind === "namespace") setNamespace(choice === ALL_NAMESPACES ? undefined : choice);
          if (choice !== undefined && picker.kind === "context") {
            setContext(choice);
            setNamespace(undefined);
          }
          setPicker(undefined);
        } else if (name === "esc" || name === "q" || name === "h") setPicker(undefined);
        return true;
      }
      if (t) {
        move(t);
        return true;
      }
      if (actions.run(action, name, current)) return true;
      switch (action) {
        case "open":
          if (current) app.push({ kind: "ocirepo", namespace: current.namespace, name: current.name, ...(context ? { context } : {}) });
          return true;
        case "filter":
          app.prompt(filterPrompt(state.filter, (filter) => dispatch({ kind: "filter", filter })));
          return true;
        case "namespace":
        case "context":
          void openPicker(action);
          return true;
        case "sort":
          dispatch({ kind: "sort", column: CLUSTER_SORT_COLUMNS[(CLUSTER_SORT_COLUMNS.indexOf(state.sort) + 1) % CLUSTER_SORT_COLUMNS.length]! });
          return true;
        case "reverse":
          dispatch({ kind: "sort", column: state.sort });
          return true;
      }
      return false;
    },
    active,
    actions.question ? [] : picker ? ["open", "down"] : undefined,
  );

  const t = app.theme;
  const w = app.width;
  if (picker) {
    return (
      <Box flexDirection="column">
        <Text bold wrap="truncate">
          {fit(`Pick the ${picker.kind} (enter), esc to keep ${picker.kind === "namespace" ? (namespace ?? ALL_NAMESPACES) : (client?.context ?? context ?? "")}`, w)}
        </Text>
        <Table header={picker.kind.toUpperCase()} state={pickTable} width={w} theme={t} row={(i) => ({ key: pickKeys[i]!, text: pickKeys[i]! })} />
      </Box>
    );
  }
  if (conn.status === "none" || conn.status === "error") {
    const lines =
      conn.status === "none"
        ? ["No Kubernetes access configured.", "Start the UI with: berth ui --kubeconfig <file> [--context <name>]", "(default: $KUBECONFIG, then ~/.kube/config, then the in-cluster service account)"]
        : [`✗ cannot connect: ${conn.error}`, "Check --kubeconfig / --context (x picks another context), or press esc."];
    return (
      <Box flexDirection="column">
        {lines.map((l, i) => (
          <Text key={i} color={i === 0 && conn.status === "error" ? t.error : undefined} wrap="truncate">
            {fit(l, w)}
          </Text>
        ))}
      </Box>
    );
  }

  const where = { context: client?.context ?? context ?? "", ...(namespace ? { namespace } : {}) };
  const status = actions.question ?? clusterStatus(state, where, rows.length, spin);
  return (
    <Box flexDirection="column">
      <Text bold={Boolean(actions.question)} color={actions.question ? t.highlight : state.connection === "reconnecting" ? t.error : t.dim} wrap="truncate">
        {fit(status, w)}
      </Text>
      <Table
        header={columns.map((c) => fit(c.title, c.width)).join(" ")}
        state={table}
        width={w}
        theme={t}
        empty={state.connection === "connecting" ? "" : state.filter ? "no OCIRepository matches the filter" : `no OCIRepositories in ${namespace ? `namespace ${namespace}` : "any namespace"}`}
        row={(i) => {
          const r = rows[i]!;
          return { key: r.key, text: columns.map((c) => fit(c.cell(r, now), c.width)).join(" "), color: rowColor(r, t), dim: r.suspended };
        }}
      />
    </Box>
  );
}
