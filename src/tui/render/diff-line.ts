/** Roles of unified-diff lines, for colouring (same rules as `berth diff artifact --color`). */

/** How a diff line is drawn. */
export type DiffLineRole = "header" | "hunk" | "added" | "removed" | "context";

/** The role of one unified-diff line. */
export function diffLineRole(line: string): DiffLineRole {
  if (line.startsWith("+++") || line.startsWith("---")) return "header";
  if (line.startsWith("@@")) return "hunk";
  if (line.startsWith("+")) return "added";
  if (line.startsWith("-")) return "removed";
  return "context";
}

/** Highlights that a reviewer must not miss (image and replica changes) are drawn stronger. */
export function isStrongHighlight(h: string): boolean {
  return /^(image |replicas |images: |container |minReplicas |maxReplicas )/.test(h);
}
