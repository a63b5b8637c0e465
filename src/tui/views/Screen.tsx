import { Text } from "ink";
import { lazy, Suspense, type ReactNode } from "react";
import type { Page } from "../models/page-stack.ts";
import ArtifactView from "./ArtifactView.tsx";
import ReposView from "./ReposView.tsx";
import TagsView from "./TagsView.tsx";

// Screens that are never the first one load when first opened: the Cluster screens bring in the
// Kubernetes code, the others keep the app's start-up (and so the time to the first rows) short.
const ClusterView = lazy(() => import("./ClusterView.tsx"));
const OCIRepoView = lazy(() => import("./OCIRepoView.tsx"));
const SignView = lazy(() => import("./SignView.tsx"));
const DiffView = lazy(() => import("./DiffView.tsx"));
const FileView = lazy(() => import("./FileView.tsx"));
const HelpView = lazy(() => import("./HelpView.tsx"));
const PromoteView = lazy(() => import("./PromoteView.tsx"));

function Later({ children }: { children: ReactNode }) {
  return <Suspense fallback={<Text dimColor>loading…</Text>}>{children}</Suspense>;
}

/** Props of {@link Screen}. */
export interface ScreenProps {
  readonly page: Page;
  /** The visible page gets the keys; the others stay mounted but idle. */
  readonly active: boolean;
  /** For the help page: the page it explains. */
  readonly helpFor?: Page;
  readonly repositories: readonly string[];
  readonly openRepository: (url: string) => void;
}

/** The view of a page (routing by composition, as ink's router example). */
export default function Screen({ page, active, helpFor, repositories, openRepository }: ScreenProps) {
  switch (page.kind) {
    case "repos":
      return <ReposView active={active} repositories={repositories} openRepository={openRepository} />;
    case "tags":
      return <TagsView active={active} repo={page.repo} />;
    case "artifact":
      return <ArtifactView active={active} repo={page.repo} tag={page.tag} />;
    case "file":
      return <Later><FileView active={active} repo={page.repo} tag={page.tag} path={page.path} layer={page.layer ?? 0} /></Later>;
    case "diff":
      return <Later><DiffView active={active} repo={page.repo} old={page.old} new={page.new} /></Later>;
    case "promote":
      return <Later><PromoteView active={active} repo={page.repo} source={page.source} /></Later>;
    case "cluster":
      return <Later><ClusterView active={active} /></Later>;
    case "ocirepo":
      return <Later><OCIRepoView active={active} namespace={page.namespace} name={page.name} {...(page.context ? { context: page.context } : {})} /></Later>;
    case "sign":
      return <Later><SignView active={active} repo={page.repo} tag={page.tag} /></Later>;
    case "help":
      return <Later><HelpView active={active} page={helpFor} /></Later>;
    default:
      return page satisfies never;
  }
}
