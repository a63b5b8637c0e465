import { Box, Text } from "ink";
import { useMemo, useReducer } from "react";
import { useAppApi } from "../app-context.ts";
import { inspectArtifact, readLayerFile } from "../api.ts";
import TextPane from "../components/TextPane.tsx";
import useAsync from "../hooks/use-async.ts";
import useKeys from "../hooks/use-keys.ts";
import useRepos from "../hooks/use-repos.ts";
import useSpinner from "../hooks/use-spinner.ts";
import { actionFor, KEYMAPS, tableAction } from "../keymap.ts";
import { createScroll, scrollReducer, toScroll } from "../models/scroll.ts";
import { fit } from "../render/tag-row.ts";
import { isYaml } from "../render/yaml.ts";

/** Props of {@link FileView}. */
export interface FileViewProps {
  readonly active: boolean;
  readonly repo: string;
  readonly tag: string;
  readonly path: string;
  /** Index of the layer holding the file. Default 0. */
  readonly layer?: number;
}

/** A file of an artifact, read by streaming the layer; YAML is highlighted. */
export default function FileView({ active, repo, tag, path, layer = 0 }: FileViewProps) {
  const app = useAppApi();
  const repos = useRepos();
  const file = useAsync(async (signal) => {
    const d = await inspectArtifact(repos, repo, tag, signal);
    const l = d.layers[layer];
    if (!l) throw new Error(`the artifact has no layer ${layer + 1}`);
    return readLayerFile(repos, repo, l, path, signal);
  }, `${repo}:${tag}:${layer}:${path}`);
  const spin = useSpinner(file.status === "loading");
  const lines = useMemo(() => (file.status === "ok" ? file.value.text.replace(/\n$/, "").split("\n") : []), [file]);
  const height = Math.max(1, app.height - 1);
  const [scroll, dispatch] = useReducer(scrollReducer, createScroll(0, height));
  const view = scrollReducer({ ...scroll, count: lines.length, height }, { kind: "by", delta: 0 });

  useKeys((name) => {
    const t = tableAction(actionFor(KEYMAPS.file, name));
    const s = t && toScroll(t);
    if (!s) return false;
    dispatch({ kind: "content", count: lines.length });
    dispatch({ kind: "resize", height });
    dispatch(s);
    return true;
  }, active);

  const status =
    file.status === "loading"
      ? `${spin} reading ${path}…`
      : file.status === "error"
        ? `✗ ${file.error}`
        : file.value.binary
          ? `${path}: binary file, not shown`
          : `${path} · ${lines.length} lines${file.value.truncated ? " · truncated at 1 MiB" : ""}${lines.length > height ? ` · ${view.offset + 1}-${Math.min(lines.length, view.offset + height)}` : ""}`;
  return (
    <Box flexDirection="column">
      <Text color={file.status === "error" ? app.theme.error : app.theme.dim} wrap="truncate">
        {fit(status, app.width)}
      </Text>
      <TextPane lines={lines} offset={view.offset} height={height} width={app.width} theme={app.theme} syntax={isYaml(path) ? "yaml" : "plain"} numbers />
    </Box>
  );
}
