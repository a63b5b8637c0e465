import { Box, Text } from "ink";
import { useMemo, useReducer, useState, type ReactNode } from "react";
import { useAppApi } from "../app-context.ts";
import { inspectArtifact, listLayerFiles, type ArtifactDetails, type LayerFile } from "../api.ts";
import Table from "../components/Table.tsx";
import TextPane from "../components/TextPane.tsx";
import useAsync from "../hooks/use-async.ts";
import useKeys from "../hooks/use-keys.ts";
import useRepos from "../hooks/use-repos.ts";
import useSpinner from "../hooks/use-spinner.ts";
import useTable from "../hooks/use-table.ts";
import { actionFor, KEYMAPS, tableAction } from "../keymap.ts";
import { createScroll, scrollReducer, toScroll } from "../models/scroll.ts";
import { fit, shortDigest } from "../render/tag-row.ts";

/** The sections of the Artifact screen, in tab order. */
export const ARTIFACT_TABS = ["Manifest", "Annotations", "Layers", "Files"] as const;

/** Props of {@link ArtifactView}. */
export interface ArtifactViewProps {
  readonly active: boolean;
  readonly repo: string;
  readonly tag: string;
}

/** `1.2 KiB`-style sizes. */
export function humanSize(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ["KiB", "MiB", "GiB"];
  let v = n / 1024;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v.toFixed(1)} ${units[u]}`;
}

/**
 * One artifact: manifest, annotations, layers and the file tree of one layer: the first (Flux's
 * content layer) until another is picked with enter in Layers, or L in Files.
 */
export default function ArtifactView({ active, repo, tag }: ArtifactViewProps) {
  const app = useAppApi();
  const repos = useRepos();
  const [tab, setTab] = useState(0);
  const details = useAsync((signal) => inspectArtifact(repos, repo, tag, signal), `${repo}:${tag}`);
  const d: ArtifactDetails | undefined = details.status === "ok" ? details.value : undefined;
  // The file list streams the whole layer, so it starts only when the Files tab is first shown.
  const [wantFiles, setWantFiles] = useState(false);
  const [layer, setLayer] = useState(0);
  const files = useAsync(
    async (signal): Promise<LayerFile[]> => (wantFiles && d?.layers[layer] ? listLayerFiles(repos, repo, d.layers[layer], signal) : []),
    `${wantFiles}:${d?.digest ?? ""}:${layer}`,
  );
  const spin = useSpinner(details.status === "loading" || (wantFiles && files.status === "loading"));
  const paneHeight = Math.max(1, app.height - 3);

  const manifestLines = useMemo(() => (d ? d.manifestText.split("\n") : []), [d]);
  const [scroll, scrollDispatch] = useReducer(scrollReducer, createScroll(0, paneHeight));
  const scrollState = { ...scroll, count: manifestLines.length, height: paneHeight };
  const annotations = useMemo(() => Object.entries(d?.annotations ?? {}).sort(([a], [b]) => (a < b ? -1 : 1)), [d]);
  const layers = d?.layers ?? [];
  const fileList = files.status === "ok" ? files.value : [];
  const keysFor = [
    [],
    annotations.map(([k]) => k),
    layers.map((l, i) => `${i}:${l.digest}`),
    fileList.map((f) => f.path),
  ] as const;
  const [annTable, annMove] = useTable(keysFor[1], paneHeight - 1);
  const [layerTable, layerMove] = useTable(keysFor[2], paneHeight - 1);
  const [fileTable, fileMove] = useTable(keysFor[3], paneHeight - 1);

  const select = (n: number) => {
    const next = (n + ARTIFACT_TABS.length) % ARTIFACT_TABS.length;
    setTab(next);
    if (ARTIFACT_TABS[next] === "Files") setWantFiles(true);
  };

  useKeys((name) => {
    const action = actionFor(KEYMAPS.artifact, name);
    if (action === "nextTab") select(tab + 1);
    else if (action === "prevTab") select(tab - 1);
    else if (action === "tab") select(Number(name) - 1);
    else if (action === "sign") app.push({ kind: "sign", repo, tag: d?.digest ?? tag });
    else if (action === "open") {
      const f = fileList[fileTable.cursor];
      if (tab === 2 && layers[layerTable.cursor]) {
        setLayer(layerTable.cursor);
        select(3);
      } else if (tab === 3 && f) app.push({ kind: "file", repo, tag, path: f.path, layer });
    } else if (action === "nextLayer") {
      if (layers.length < 2) return false;
      setLayer((l) => (l + 1) % layers.length);
      select(3);
    } else {
      const t = tableAction(action);
      if (!t) return false;
      if (tab === 0) {
        const s = toScroll(t);
        scrollDispatch({ kind: "content", count: manifestLines.length });
        scrollDispatch({ kind: "resize", height: paneHeight });
        if (s) scrollDispatch(s);
      } else [annMove, layerMove, fileMove][tab - 1]!(t);
    }
    return true;
  }, active);

  const tabs = ARTIFACT_TABS.map((t, i) => (i === tab ? `[${i + 1} ${t}]` : ` ${i + 1} ${t} `)).join(" ");
  const summary = d ? `${tag} → ${shortDigest(d.digest)} · ${d.layers.length} layer${d.layers.length === 1 ? "" : "s"} · ${d.mediaType}` : details.status === "error" ? `✗ ${details.error}` : `${spin} loading manifest…`;
  const w = app.width;

  let body: ReactNode = null;
  if (d) {
    if (tab === 0) body = <TextPane lines={manifestLines} offset={Math.min(scrollState.offset, Math.max(0, manifestLines.length - paneHeight))} height={paneHeight} width={w} theme={app.theme} syntax="yaml" />;
    else if (tab === 1)
      body = <Table header={`${fit("KEY", 40)} VALUE`} state={annTable} width={w} theme={app.theme} empty="no annotations" row={(i) => ({ key: annotations[i]![0], text: `${fit(annotations[i]![0], 40)} ${annotations[i]![1]}` })} />;
    else if (tab === 2)
      body = (
        <Table
          header={`${fit("MEDIA TYPE", 48)} ${fit("SIZE", 10)} DIGEST`}
          state={layerTable}
          width={w}
          theme={app.theme}
          empty="no layers"
          marked={keysFor[2][layer]}
          row={(i) => ({ key: keysFor[2][i]!, text: `${fit(layers[i]!.mediaType, 48)} ${fit(humanSize(layers[i]!.size), 10)} ${layers[i]!.digest}` })}
        />
      );
    else if (files.status === "error") body = <Text color={app.theme.error}>✗ {files.error}</Text>;
    else if (files.status === "loading" || !wantFiles) body = <Text color={app.theme.dim}>{spin} reading {layers.length > 1 ? `layer ${layer + 1}/${layers.length}` : "the content layer"}…</Text>;
    else body = <Table header={`${fit(layers.length > 1 ? `PATH  (layer ${layer + 1}/${layers.length} ${shortDigest(layers[layer]!.digest)}, L: next)` : "PATH", Math.max(10, w - 14))} SIZE`} state={fileTable} width={w} theme={app.theme} empty="the layer holds no regular files" row={(i) => ({ key: fileList[i]!.path, text: `${fit(fileList[i]!.path, Math.max(10, w - 14))} ${humanSize(fileList[i]!.size)}` })} />;
  }

  return (
    <Box flexDirection="column">
      <Text color={details.status === "error" ? app.theme.error : app.theme.dim} wrap="truncate">
        {fit(summary, w)}
      </Text>
      <Text color={app.theme.accent} wrap="truncate">
        {fit(tabs, w)}
      </Text>
      {body}
    </Box>
  );
}
