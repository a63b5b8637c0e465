/** Content diff of file trees with a Kubernetes-object view (pure except `dirTreeReader`). */
export { type TreeReader, dirTreeReader, memoryTreeReader } from "./tree-reader.ts";
export {
  type DiffOptions,
  type DiffSummary,
  type FileChange,
  type ObjectChange,
  type TreeDiff,
  diffTrees,
} from "./tree-diff.ts";
export { type RenderOptions, renderTreeDiff, summaryLine, objectTitle } from "./render.ts";
export { unifiedDiff } from "./unified.ts";
export { highlights, splitImage } from "./highlights.ts";
export { type KubeObject, parseObjects } from "./objects.ts";
