import { Box, Text } from "ink";
import { useMemo, useState } from "react";
import { useAppApi } from "../app-context.ts";
import Table from "../components/Table.tsx";
import useAsync from "../hooks/use-async.ts";
import useCluster from "../hooks/use-cluster.ts";
import useKeys from "../hooks/use-keys.ts";
import useTable from "../hooks/use-table.ts";
import { actionFor, KEYMAPS, tableAction } from "../keymap.ts";
import { fit } from "../render/tag-row.ts";
import { useServices } from "../services.ts";

/** A line of the Repositories screen. */
interface RepoRow {
  key: string;
  /** Repository URL, or `oci://<registry>/` for a registry known only from the docker config. */
  url: string;
  from: "command line" | "recent" | "docker config" | "cluster";
}

/** Props of {@link ReposView}. */
export interface ReposViewProps {
  readonly active: boolean;
  readonly repositories: readonly string[];
  readonly openRepository: (url: string) => void;
}

/** The collection of OCIRepositories in every namespace. */
const ALL_OCIREPOSITORIES = "/apis/source.toolkit.fluxcd.io/v1/ocirepositories";

/**
 * Repositories: from the command line, recent history, the docker config's registries and the
 * OCIRepositories of the current kube context; `:` types one.
 */
export default function ReposView({ active, repositories, openRepository }: ReposViewProps) {
  const app = useAppApi();
  const services = useServices();
  // Reloaded each time the screen comes back, so a repository just opened is listed.
  const history = useAsync((_signal) => services.history.load(), `history:${active}`);
  // The cluster is asked only when a kubeconfig names contexts (no in-cluster guessing on a laptop),
  // and only once the screen shows; a cluster that does not answer simply adds no rows.
  const contexts = useAsync(async () => (services.kube ? (await services.kube.contexts()).names : []), "contexts");
  const cluster = useCluster(undefined, active && contexts.status === "ok" && contexts.value.length > 0);
  const clusterRepos = useAsync(async (signal) => {
    if (cluster.status !== "ok") return [];
    const list = await cluster.client.get(ALL_OCIREPOSITORIES, AbortSignal.any([signal, AbortSignal.timeout(5000)]));
    const urls = ((list.items ?? []) as { spec?: { url?: unknown } }[]).map((o) => o.spec?.url).filter((u): u is string => typeof u === "string");
    return [...new Set(urls)].sort();
  }, `cluster:${cluster.status}:${active}`);
  const [filter, setFilter] = useState("");
  const all = useMemo(() => {
    const rows: RepoRow[] = [];
    const seen = new Set<string>();
    const add = (url: string, from: RepoRow["from"]) => {
      if (seen.has(url)) return;
      seen.add(url);
      rows.push({ key: url, url, from });
    };
    for (const r of repositories) add(r, "command line");
    if (history.status === "ok") for (const r of history.value) add(r, "recent");
    if (clusterRepos.status === "ok") for (const r of clusterRepos.value) add(r, "cluster");
    for (const r of services.registries) add(`oci://${r}/`, "docker config");
    return rows;
  }, [repositories, history, clusterRepos, services.registries]);
  const rows = useMemo(() => all.filter((r) => r.url.toLowerCase().includes(filter.toLowerCase())), [all, filter]);
  const keys = useMemo(() => rows.map((r) => r.key), [rows]);
  const [table, move] = useTable(keys, Math.max(1, app.height - 2));
  const width = app.width;
  const srcW = 14;

  useKeys((name) => {
    const action = actionFor(KEYMAPS.repos, name);
    const t = tableAction(action);
    if (t) {
      move(t);
      return true;
    }
    if (action === "open") {
      const r = rows[table.cursor];
      if (!r) return true;
      // A registry alone has no tag list to show (the distribution API has no portable catalog): ask for the repository.
      if (r.url.endsWith("/")) app.prompt({ label: ":", initial: r.url, onSubmit: (v) => v.trim() && openRepository(v.trim()) });
      else openRepository(r.url);
      return true;
    }
    if (action === "filter") {
      app.prompt({ label: "/", initial: filter, onChange: setFilter, onSubmit: setFilter, onCancel: () => setFilter("") });
      return true;
    }
    return false;
  }, active);

  return (
    <Box flexDirection="column">
      <Text color={app.theme.dim} wrap="truncate">
        {fit(`${rows.length} repositories${filter ? ` · filter "${filter}"` : ""} · press : to open oci://<registry>/<repo> or oci-layout://<dir>`, width)}
      </Text>
      <Table
        header={`${fit("REPOSITORY", width - srcW - 3)} FROM`}
        state={table}
        width={width}
        theme={app.theme}
        empty="no repositories yet: press : and type one"
        row={(i) => {
          const r = rows[i]!;
          return { key: r.key, text: `${fit(r.url, width - srcW - 3)} ${r.from}`, dim: r.from === "docker config" };
        }}
      />
    </Box>
  );
}
