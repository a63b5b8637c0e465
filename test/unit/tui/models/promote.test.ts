import { expect, test } from "bun:test";
import { createPromote, promoteReducer, signaturesSummary, type PromotePlan, type PromoteState } from "../../../../src/tui/models/promote.ts";

const plan: PromotePlan = {
  source: "v2",
  picked: "prod",
  target: "prod",
  targetRepo: "oci://r/app",
  targetLabel: "prod",
  sourceDigest: "sha256:b",
  targetDigest: "sha256:a",
  core: { source: { label: "r/app:v2", descriptor: { mediaType: "m", digest: "sha256:b", size: 1 } }, target: { label: "r/app:prod", tag: "prod" }, upToDate: false },
};

test("pick → planning → review → tagging → done", () => {
  let s: PromoteState = createPromote("v2");
  s = promoteReducer(s, { kind: "pick", target: "prod" });
  expect(s).toEqual({ step: "planning", source: "v2", target: "prod" });
  s = promoteReducer(s, { kind: "planned", plan });
  expect(s.step).toBe("review");
  s = promoteReducer(s, { kind: "confirm" });
  expect(s.step).toBe("tagging");
  expect(promoteReducer(s, { kind: "back" })).toBe(s);
  s = promoteReducer(s, { kind: "tagged" });
  expect(s).toEqual({ step: "done", plan });
});

test("a tag cannot be promoted onto itself, and an equal target needs no confirmation", () => {
  const s = createPromote("v2");
  expect(promoteReducer(s, { kind: "pick", target: "v2" })).toBe(s);
  const review: PromoteState = { step: "review", plan: { ...plan, targetDigest: "sha256:b" } };
  expect(promoteReducer(review, { kind: "confirm" })).toBe(review);
});

test("a late plan for another target is ignored; failures keep the source for going back", () => {
  const planning = promoteReducer(createPromote("v2"), { kind: "pick", target: "staging" });
  expect(promoteReducer(planning, { kind: "planned", plan })).toBe(planning);
  const failed = promoteReducer(planning, { kind: "failed", error: "denied" });
  expect(failed).toEqual({ step: "failed", source: "v2", target: "staging", error: "denied" });
  expect(promoteReducer(failed, { kind: "back" })).toEqual(createPromote("v2"));
});

test("done keeps what the promotion wrote; the signatures line names each legacy tag and counts referrers", () => {
  const tagging: PromoteState = { step: "tagging", plan };
  const result = { digest: "sha256:b", tag: "prod", legacyTags: [{ tag: "sha256-b.sig", outcome: "copied" }], referrers: ["sha256:r1", "sha256:r2"] };
  expect(promoteReducer(tagging, { kind: "tagged", result })).toEqual({ step: "done", plan, result });
  expect(signaturesSummary(result)).toBe("signatures: sha256-b.sig copied, 2 referrers (bundles, attestations)");
  expect(signaturesSummary({ ...result, legacyTags: [], referrers: [] })).toBe("");
  const long = `sha256-${"ab".repeat(32)}.att`;
  expect(signaturesSummary({ ...result, legacyTags: [{ tag: long, outcome: "merged" }], referrers: [] })).toBe("signatures: sha256-abababababab….att merged");
});

test("a plan for a URL target answers the pick that typed it", () => {
  const url = "oci://other/app:prod";
  const planning = promoteReducer(createPromote("v2"), { kind: "pick", target: url });
  const cross = { ...plan, picked: url, targetRepo: "oci://other/app", targetLabel: url };
  expect(promoteReducer(planning, { kind: "planned", plan })).toBe(planning);
  expect(promoteReducer(planning, { kind: "planned", plan: cross })).toEqual({ step: "review", plan: cross });
  expect(promoteReducer({ step: "review", plan: cross }, { kind: "failed", error: "x" })).toMatchObject({ target: url });
});
