import { expect, test } from "bun:test";
import { createPromote, promoteReducer, type PromotePlan, type PromoteState } from "../../../../src/tui/models/promote.ts";

const plan: PromotePlan = { source: "v2", target: "prod", sourceDigest: "sha256:b", targetDigest: "sha256:a" };

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
