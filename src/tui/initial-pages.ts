/** The screens `berth ui <url>` opens with, worked out from the command-line URL. */
import { parseArtifactURL } from "../core/index.ts";
import { repoURL } from "./api.ts";
import type { Page } from "./models/page-stack.ts";

/** The pages to open for a command-line URL: its tags, and the tag's artifact when it names one. Throws REF_INVALID for a bad URL. */
export function initialPages(url: string | undefined): { pages: Page[]; repositories: string[] } {
  if (!url) return { pages: [{ kind: "repos" }], repositories: [] };
  const ref = parseArtifactURL(url);
  const repo = repoURL(ref);
  const pages: Page[] = [{ kind: "repos" }, { kind: "tags", repo }];
  const tag = ref.tag ?? ref.digest;
  if (tag) pages.push({ kind: "artifact", repo, tag });
  return { pages, repositories: [repo] };
}
