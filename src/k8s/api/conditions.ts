/**
 * Pure helpers over `status.conditions` (metav1.Condition) with fluxcd/pkg/runtime/conditions semantics, and
 * the `Ready` summary source-controller computes for OCIRepository (../shared/spec/ocirepository.md §2.1, §2.4).
 * Every function returns a new array and never mutates its input.
 */
import type { Condition } from "./ocirepository.ts";
import {
  ARTIFACT_IN_STORAGE,
  ARTIFACT_OUTDATED,
  FETCH_FAILED,
  READY,
  RECONCILING,
  Reasons,
  SOURCE_VERIFIED,
  STALLED,
  STORAGE_OPERATION_FAILED,
} from "./reasons.ts";

/** A condition's status. */
export type ConditionStatus = Condition["status"];

/** What a caller supplies; the bookkeeping fields are filled in by `setCondition`. */
export interface ConditionInput {
  type: string;
  status: ConditionStatus;
  reason: string;
  message: string;
}

/** Context of a change: the object's `metadata.generation` and the clock. */
export interface SetOptions {
  generation: number;
  now: Date;
}

/** Longest message the CRD accepts. */
export const MAX_CONDITION_MESSAGE = 32768;
const ELLIPSIS = "...";

/** RFC 3339 in UTC with whole seconds, as metav1.Time serialises. */
export function formatConditionTime(d: Date): string {
  return new Date(Math.floor(d.getTime() / 1000) * 1000).toISOString().replace(".000Z", "Z");
}

function truncate(message: string): string {
  return message.length > MAX_CONDITION_MESSAGE ? message.slice(0, MAX_CONDITION_MESSAGE - ELLIPSIS.length) + ELLIPSIS : message;
}

const LEADING: readonly string[] = [STALLED, RECONCILING, READY];

/** Stalled, Reconciling, Ready first (in that order); then newest observedGeneration first; then by type. */
export function sortConditions(list: readonly Condition[]): Condition[] {
  return [...list].sort((a, b) => {
    const ia = LEADING.indexOf(a.type);
    const ib = LEADING.indexOf(b.type);
    if (ia !== -1 || ib !== -1) return (ia === -1 ? LEADING.length : ia) - (ib === -1 ? LEADING.length : ib);
    const g = (b.observedGeneration ?? 0) - (a.observedGeneration ?? 0);
    if (g !== 0) return g;
    return a.type < b.type ? -1 : a.type > b.type ? 1 : 0;
  });
}

/** The condition of this type, if present. */
export function findCondition(list: readonly Condition[] | undefined, type: string): Condition | undefined {
  return list?.find((c) => c.type === type);
}

/** Whether a condition of this type is present with this status. */
export function hasStatus(list: readonly Condition[] | undefined, type: string, status: ConditionStatus): boolean {
  return findCondition(list, type)?.status === status;
}

/** Shorthands of `hasStatus`. */
export const isTrue = (list: readonly Condition[] | undefined, type: string): boolean => hasStatus(list, type, "True");
export const isFalse = (list: readonly Condition[] | undefined, type: string): boolean => hasStatus(list, type, "False");
export const isUnknown = (list: readonly Condition[] | undefined, type: string): boolean => hasStatus(list, type, "Unknown");

/** The list without the condition of this type. */
export function removeCondition(list: readonly Condition[] | undefined, type: string): Condition[] {
  return (list ?? []).filter((c) => c.type !== type);
}

/**
 * Sets (adds or replaces) one condition. `observedGeneration` is always stamped with the object's generation;
 * `lastTransitionTime` moves to `now` only when status, reason or message changed, as fluxcd's setter does.
 * Messages over 32768 characters are cut to 32765 plus "...". The result is sorted (`sortConditions`).
 */
export function setCondition(list: readonly Condition[] | undefined, input: ConditionInput, opts: SetOptions): Condition[] {
  const message = truncate(input.message);
  const old = findCondition(list, input.type);
  const same = old !== undefined && old.status === input.status && old.reason === input.reason && old.message === message;
  const next: Condition = {
    type: input.type,
    status: input.status,
    observedGeneration: opts.generation,
    lastTransitionTime: same ? old.lastTransitionTime : formatConditionTime(opts.now),
    reason: input.reason,
    message,
  };
  return sortConditions([...removeCondition(list, input.type), next]);
}

/** Sets a condition to True. */
export function markTrue(list: readonly Condition[] | undefined, type: string, reason: string, message: string, opts: SetOptions): Condition[] {
  return setCondition(list, { type, status: "True", reason, message }, opts);
}

/** Sets a condition to False. */
export function markFalse(list: readonly Condition[] | undefined, type: string, reason: string, message: string, opts: SetOptions): Condition[] {
  return setCondition(list, { type, status: "False", reason, message }, opts);
}

/** Sets a condition to Unknown. */
export function markUnknown(list: readonly Condition[] | undefined, type: string, reason: string, message: string, opts: SetOptions): Condition[] {
  return setCondition(list, { type, status: "Unknown", reason, message }, opts);
}

/** Reconciling=True; removes Stalled (an object cannot be both). */
export function markReconciling(list: readonly Condition[] | undefined, reason: string, message: string, opts: SetOptions): Condition[] {
  return markTrue(removeCondition(list, STALLED), RECONCILING, reason, message, opts);
}

/** Stalled=True; removes Reconciling. */
export function markStalled(list: readonly Condition[] | undefined, reason: string, message: string, opts: SetOptions): Condition[] {
  return markTrue(removeCondition(list, RECONCILING), STALLED, reason, message, opts);
}

/**
 * "Progressive status" of source-controller: Reconciling=True `Progressing` with `message`, and Ready=Unknown with
 * the same reason and message — only when Ready is absent or already Unknown, unless `drift` (the artifact is
 * missing or outdated, so a True/False Ready is no longer accurate).
 */
export function markProgressing(list: readonly Condition[] | undefined, message: string, opts: SetOptions & { drift?: boolean }): Condition[] {
  let out = markReconciling(list, Reasons.Progressing, message, opts);
  const ready = findCondition(out, READY);
  if (opts.drift || ready === undefined || ready.status === "Unknown") out = markUnknown(out, READY, Reasons.Progressing, message, opts);
  return out;
}

/** Which conditions feed `Ready`, and how (source-controller's `summarize.Conditions`). */
export interface SummaryConfig {
  /**
   * Types the controller owns: on a status patch conflict its values win. Includes Ready. Not used by the summary
   * itself; the status patcher reads it.
   */
  owned: readonly string[];
  /** Types the summary considers, in priority order (first wins inside a group). */
  summarize: readonly string[];
  /** Types that are "abnormal-true": True means something is wrong. */
  negativePolarity: readonly string[];
  /** Types that may be True or False legitimately; a False one overrides the summary. */
  bipolarity: readonly string[];
}

/** source-controller's OCIRepository summary configuration (spec §2.4). */
export const OCIREPOSITORY_SUMMARY: SummaryConfig = {
  owned: [STORAGE_OPERATION_FAILED, FETCH_FAILED, ARTIFACT_OUTDATED, ARTIFACT_IN_STORAGE, SOURCE_VERIFIED, READY, RECONCILING, STALLED],
  summarize: [STORAGE_OPERATION_FAILED, FETCH_FAILED, ARTIFACT_OUTDATED, ARTIFACT_IN_STORAGE, SOURCE_VERIFIED, STALLED, RECONCILING],
  negativePolarity: [STORAGE_OPERATION_FAILED, FETCH_FAILED, ARTIFACT_OUTDATED, STALLED, RECONCILING],
  bipolarity: [SOURCE_VERIFIED],
};

/** The Ready status, reason and message a summary produces. */
export interface ReadySummary {
  status: ConditionStatus;
  reason: string;
  message: string;
}

/** Group rank: 0 negative-True, 1 positive-False, 2 positive-True, 3 negative-False, 4 Unknown. */
function rank(c: Condition, negative: boolean): number {
  if (c.status === "Unknown") return 4;
  if (negative) return c.status === "True" ? 0 : 3;
  return c.status === "False" ? 1 : 2;
}

const READY_STATUS_BY_RANK: readonly ConditionStatus[] = ["False", "False", "True", "True", "Unknown"];

/**
 * What Ready should say, or undefined when none of the `summarize` types is present and no bipolar one is False
 * (Ready is then left alone). The best-ranked group wins; inside it the type listed first in `summarize`; a False
 * bipolar condition overrides.
 */
export function readySummary(list: readonly Condition[] | undefined, config: SummaryConfig = OCIREPOSITORY_SUMMARY): ReadySummary | undefined {
  let best: { c: Condition; rank: number } | undefined;
  for (const type of config.summarize) {
    const c = findCondition(list, type);
    if (c === undefined) continue;
    const r = rank(c, config.negativePolarity.includes(type));
    if (best === undefined || r < best.rank) best = { c, rank: r };
  }
  // Applied after the merge, as source-controller does, so it holds even for a bipolar type not in `summarize`.
  for (const type of config.bipolarity) {
    const c = findCondition(list, type);
    if (c?.status === "False") return { status: "False", reason: c.reason, message: c.message };
  }
  if (best === undefined) return undefined;
  return { status: READY_STATUS_BY_RANK[best.rank]!, reason: best.c.reason, message: best.c.message };
}

/** Sets Ready from `readySummary` (through `setCondition`, so its transition time and generation follow the rules). */
export function summarizeReady(list: readonly Condition[] | undefined, opts: SetOptions & { config?: SummaryConfig }): Condition[] {
  const s = readySummary(list, opts.config);
  if (s === undefined) return [...(list ?? [])];
  return setCondition(list, { type: READY, ...s }, opts);
}

/**
 * A pass that otherwise succeeded must leave Ready=True; if not, source-controller turns the pass into an error
 * carrying Ready's message so it is retried with backoff (spec §2.4 rule 7). Returns that message, or undefined
 * when Ready is True.
 */
export function notReadyAfterSuccess(list: readonly Condition[] | undefined): string | undefined {
  const ready = findCondition(list, READY);
  if (ready?.status === "True") return undefined;
  return ready?.message ?? "Ready condition is missing";
}
