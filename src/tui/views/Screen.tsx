import type { Page } from "../models/page-stack.ts";
import ArtifactView from "./ArtifactView.tsx";
import ClusterView from "./ClusterView.tsx";
import OCIRepoView from "./OCIRepoView.tsx";
import SignView from "./SignView.tsx";
import DiffView from "./DiffView.tsx";
import FileView from "./FileView.tsx";
import HelpView from "./HelpView.tsx";
import PromoteView from "./PromoteView.tsx";
import ReposView from "./ReposView.tsx";
import TagsView from "./TagsView.tsx";

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
      return <FileView active={active} repo={page.repo} tag={page.tag} path={page.path} layer={page.layer ?? 0} />;
    case "diff":
      return <DiffView active={active} repo={page.repo} old={page.old} new={page.new} />;
    case "promote":
      return <PromoteView active={active} repo={page.repo} source={page.source} />;
    case "cluster":
      return <ClusterView active={active} />;
    case "ocirepo":
      return <OCIRepoView active={active} namespace={page.namespace} name={page.name} {...(page.context ? { context: page.context } : {})} />;
    case "sign":
      return <SignView active={active} repo={page.repo} tag={page.tag} />;
    case "help":
      return <HelpView active={active} page={helpFor} />;
    default:
      return page satisfies never;
  }
}
