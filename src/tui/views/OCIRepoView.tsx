import { Box, Text } from "ink";
import { useEffect, useMemo, useRef, useState } from "react";
import { useAppApi } from "../app-context.ts";
import { errorMessage } from "../api.ts";
import Timeline, { timelineKeys } from "../components/Timeline.tsx";
import useCluster from "../hooks/use-cluster.ts";
import useKeys from "../hooks/use-keys.ts";
import useObjectActions from "../hooks/use-object-actions.ts";
import useSpinner from "../hooks/use-spinner.ts";
import useTable from "../hooks/use-table.ts";
import { actionFor, KEYMAPS, tableAction } from "../keymap.ts";
import { buildTimeline, eventsPath, ocirepositoriesPath, toClusterRow } from "../models/cluster.ts";
import { fit } from "../render/tag-row.ts";

type Obj = Record<string, any>;

/** Props of {@link OCIRepoView}. */
export interface OCIRepoViewProps {
  readonly active: boolean;
  readonly namespace: string;
  readonly name: string;
  readonly context?: string;
}

/** One OCIRepository: a summary, then its conditions and Events as one live timeline. */
export default function OCIRepoView({ active, namespace, name, context }: OCIRepoViewProps) {
  const app = useAppApi();
  const conn = useCluster(context);
  const client = conn.status === "ok" ? conn.client : undefined;
  const [obj, setObj] = useState<Obj | null | undefined>(undefined);
  const [events, setEvents] = useState<Record<string, Obj>>({});
  const [watchError, setWatchError] = useState<string | undefined>();
  const actions = useObjectActions(client);

  useEffect(() => {
    if (!client) return;
    const sel = `?fieldSelector=${encodeURIComponent(`metadata.name=${name}`)}`;
    const ok = () => setWatchError(undefined);
    const stopObj = client.watch(ocirepositoriesPath(namespace) + sel, {
      onEvent: (type, o) => {
        ok();
        setObj(type === "DELETED" ? null : o);
      },
      onListed: () => setObj((o) => (o === undefined ? null : o)),
      onError: (e) => setWatchError(errorMessage(e)),
    });
    const stopEvents = client.watch(eventsPath(namespace, name), {
      onEvent: (type, e) => {
        ok();
        const uid = String(e.metadata?.uid ?? e.metadata?.name);
        setEvents((m) => {
          if (type !== "DELETED") return { ...m, [uid]: e };
          const { [uid]: _, ...rest } = m;
          return rest;
        });
      },
      onError: (e) => setWatchError(errorMessage(e)),
    });
    return () => {
      void stopObj();
      void stopEvents();
    };
  }, [client, namespace, name]);

  const entries = useMemo(() => buildTimeline(obj?.status?.conditions ?? [], Object.values(events)), [obj, events]);
  const keys = useMemo(() => timelineKeys(entries), [entries]);
  const [table, move] = useTable(keys, Math.max(1, app.height - 5));
  // Follow the newest entry (like `tail -f`) until the user moves away from the bottom.
  const atBottom = useRef(true);
  useEffect(() => {
    if (atBottom.current && keys.length > 0) move({ kind: "bottom" });
  }, [keys.length]);
  const spin = useSpinner(obj === undefined && !watchError && conn.status !== "error");

  useKeys(
    (key) => {
      if (actions.answer(key)) return true;
      const action = actionFor(KEYMAPS.ocirepo, key);
      const t = tableAction(action);
      if (t) {
        move(t);
        atBottom.current = t.kind === "bottom" || (t.kind === "move" && t.delta > 0 && table.cursor + t.delta >= keys.length - 1);
        return true;
      }
      return actions.run(action, key, obj ? { namespace, name, suspended: obj.spec?.suspend === true } : undefined);
    },
    active,
    actions.question ? [] : undefined,
  );

  const t = app.theme;
  const w = app.width;
  if (conn.status === "none" || conn.status === "error") {
    return <Text color={t.error}>{fit(conn.status === "none" ? "No Kubernetes access configured (berth ui --kubeconfig …)." : `✗ cannot connect: ${conn.error}`, w)}</Text>;
  }
  const row = obj ? toClusterRow(obj) : undefined;
  const head = obj === undefined ? `${spin} loading ${namespace}/${name}…` : obj === null ? `${namespace}/${name} does not exist (deleted?)` : `${namespace}/${name}  Ready=${row!.ready || "-"}  suspended=${row!.suspended}${row!.reconciling ? "  reconciling" : ""}`;
  const second = actions.question ?? (watchError ? `⚠ reconnecting (${watchError})` : row ? `revision ${row.revision || "-"}` : "");
  return (
    <Box flexDirection="column">
      <Text bold wrap="truncate">
        {fit(head, w)}
      </Text>
      <Text bold={Boolean(actions.question)} color={actions.question ? t.highlight : watchError ? t.error : undefined} wrap="truncate">
        {fit(second, w)}
      </Text>
      <Text color={t.dim} wrap="truncate">
        {fit(row ? `${row.url}${row.requestedAt ? `  · reconcile requested ${row.requestedAt}` : ""}` : "", w)}
      </Text>
      <Timeline entries={entries} state={table} width={w} theme={t} />
    </Box>
  );
}
