/** Masterminds-compatible semver for tag resolution and listing (pure). */
export {
  type Version,
  type ParseVersionOptions,
  parseVersion,
  tryParseVersion,
  makeVersion,
  formatVersion,
  compareVersions,
} from "./version.ts";
export {
  type Constraint,
  type Comparator,
  type Operator,
  type SatisfiesOptions,
  parseConstraint,
  tryParseConstraint,
  satisfies,
} from "./constraint.ts";
export {
  type ResolveOptions,
  type ResolveResult,
  type SkipReason,
  HELM_CHART_LAYER_MEDIA_TYPE,
  resolveTag,
} from "./resolve.ts";
export {
  type HiddenTags,
  type ListFilterOptions,
  type TagOrder,
  filterTagsForList,
  sortTags,
  isCosignTag,
  isSignatureOrReferrerTag,
} from "./tags.ts";
export { type GoRegexpResult, compileGoRegexp } from "./go-regexp.ts";
