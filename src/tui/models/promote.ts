/**
 * The Promote flow as a state machine: pick the target (a tag here, or a tag in another repository),
 * review what the target will change from (its current content) to (the source's), confirm, promote
 * by digest. Pure; no React.
 */
import type { TreeDiff } from "../../core/index.ts";
import type { PromotionPlan, PromotionResult } from "../services.ts";

/** What the review step shows. */
export interface PromotePlan {
  source: string;
  /** The target as picked or typed (a tag or a URL); a plan answers the pick with the same value. */
  picked: string;
  /** The destination tag. */
  target: string;
  /** The destination repository URL: the source's for a tag move, another one for a copy. */
  targetRepo: string;
  /** How screens name the destination: the tag, or the URL as typed for another repository. */
  targetLabel: string;
  /** Digest the source tag points at: the one the target will point at. */
  sourceDigest: string;
  /** Digest the target points at now; undefined when the tag does not exist yet. */
  targetDigest?: string;
  /** Content changes from the target's current artifact to the source's; undefined when the target is new or already equal. */
  changes?: TreeDiff;
  /** Why the contents could not be compared (the promotion can still go ahead). */
  diffError?: string;
  /** The source's signatures that verified with the configured keys, e.g. `bundle from referrer sha256:…`. */
  verified?: string[];
  /** The core's plan, handed back to it to promote. */
  core: PromotionPlan;
}

/** Where the flow is. */
export type PromoteState =
  | { step: "pick"; source: string }
  | { step: "planning"; source: string; target: string }
  | { step: "review"; plan: PromotePlan }
  | { step: "tagging"; plan: PromotePlan }
  | { step: "done"; plan: PromotePlan; result?: PromotionResult }
  | { step: "failed"; source: string; target?: string; error: string };

/** Promote actions. */
export type PromoteAction =
  | { kind: "pick"; target: string }
  | { kind: "planned"; plan: PromotePlan }
  | { kind: "confirm" }
  | { kind: "tagged"; result?: PromotionResult }
  | { kind: "failed"; error: string }
  /** Back to picking (from review or failure). */
  | { kind: "back" };

/** `sha256-<64 hex>.sig` as `sha256-<12 hex>….sig`, so the line fits a terminal; other tags unchanged. */
function shortLegacyTag(tag: string): string {
  const m = /^sha256-([0-9a-f]{64})\.(sig|att)$/.exec(tag);
  return m ? `sha256-${m[1]!.slice(0, 12)}….${m[2]}` : tag;
}

/** The signatures line after a promotion, e.g. `signatures: sha256-….sig copied, 1 referrer`; "" when none moved. */
export function signaturesSummary(r: PromotionResult): string {
  const parts = [...r.legacyTags.map((t) => `${shortLegacyTag(t.tag)} ${t.outcome}`), ...(r.referrers.length ? [`${r.referrers.length} referrer${r.referrers.length === 1 ? "" : "s"} (bundles, attestations)`] : [])];
  return parts.length ? `signatures: ${parts.join(", ")}` : "";
}

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
      return s.step === "planning" && a.plan.picked === s.target ? { step: "review", plan: a.plan } : s;
    case "confirm":
      // Nothing to do when the target already points at the source's digest.
      return s.step === "review" && s.plan.targetDigest !== s.plan.sourceDigest ? { step: "tagging", plan: s.plan } : s;
    case "tagged":
      return s.step === "tagging" ? { step: "done", plan: s.plan, ...(a.result ? { result: a.result } : {}) } : s;
    case "failed":
      return { step: "failed", source: sourceOf(s), target: s.step === "planning" ? s.target : s.step === "pick" || s.step === "failed" ? undefined : s.plan.targetLabel, error: a.error };
    case "back":
      return s.step === "tagging" ? s : createPromote(sourceOf(s));
    default:
      return a satisfies never;
  }
}
