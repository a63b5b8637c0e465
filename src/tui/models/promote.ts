/**
 * The Promote flow as a state machine: pick the target tag, review what the target will change from
 * (its current content) to (the source's), confirm, retag by digest. Pure; no React.
 */
import type { TreeDiff } from "../../core/index.ts";

/** What the review step shows. */
export interface PromotePlan {
  source: string;
  target: string;
  /** Digest the source tag points at: the one the target will point at. */
  sourceDigest: string;
  /** Digest the target points at now; undefined when the tag does not exist yet. */
  targetDigest?: string;
  /** Content changes from the target's current artifact to the source's; undefined when the target is new or already equal. */
  changes?: TreeDiff;
}

/** Where the flow is. */
export type PromoteState =
  | { step: "pick"; source: string }
  | { step: "planning"; source: string; target: string }
  | { step: "review"; plan: PromotePlan }
  | { step: "tagging"; plan: PromotePlan }
  | { step: "done"; plan: PromotePlan }
  | { step: "failed"; source: string; target?: string; error: string };

/** Promote actions. */
export type PromoteAction =
  | { kind: "pick"; target: string }
  | { kind: "planned"; plan: PromotePlan }
  | { kind: "confirm" }
  | { kind: "tagged" }
  | { kind: "failed"; error: string }
  /** Back to picking (from review or failure). */
  | { kind: "back" };

/** Start of the flow for a source tag. */
export function createPromote(source: string): PromoteState {
  return { step: "pick", source };
}

function sourceOf(s: PromoteState): string {
  return s.step === "pick" || s.step === "planning" || s.step === "failed" ? s.source : s.plan.source;
}

/**
 * Applies an action. Actions that do not fit the current step are ignored, so a late result (the
 * user went back while planning) cannot move the flow.
 */
export function promoteReducer(s: PromoteState, a: PromoteAction): PromoteState {
  switch (a.kind) {
    case "pick":
      return s.step === "pick" && a.target !== s.source ? { step: "planning", source: s.source, target: a.target } : s;
    case "planned":
      return s.step === "planning" && a.plan.target === s.target ? { step: "review", plan: a.plan } : s;
    case "confirm":
      // Nothing to do when the target already points at the source's digest.
      return s.step === "review" && s.plan.targetDigest !== s.plan.sourceDigest ? { step: "tagging", plan: s.plan } : s;
    case "tagged":
      return s.step === "tagging" ? { step: "done", plan: s.plan } : s;
    case "failed":
      return { step: "failed", source: sourceOf(s), target: s.step === "planning" ? s.target : s.step === "pick" || s.step === "failed" ? undefined : s.plan.target, error: a.error };
    case "back":
      return s.step === "tagging" ? s : createPromote(sourceOf(s));
    default:
      return a satisfies never;
  }
}
