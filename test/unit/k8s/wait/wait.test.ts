import { describe, expect, test } from "bun:test";
import { digestOfRevision, evaluateReconcile, evaluateRevision, revisionMatches } from "../../../../src/k8s/wait/wait.ts";

const D1 = `sha256:${"a".repeat(64)}`;
const D2 = `sha256:${"b".repeat(64)}`;

describe("revisionMatches", () => {
  const cases: { name: string; revision: string | undefined; want: string; match: boolean }[] = [
    { name: "digest vs tag@digest", revision: `prod@${D1}`, want: D1, match: true },
    { name: "digest vs bare digest", revision: D1, want: D1, match: true },
    { name: "digest vs legacy tag/hex", revision: `prod/${"a".repeat(64)}`, want: D1, match: true },
    { name: "digest vs other digest", revision: `prod@${D2}`, want: D1, match: false },
    { name: "digest prefix is not a match", revision: `prod@${D1}`, want: D1.slice(0, 20), match: false },
    { name: "full revision exact", revision: `prod@${D1}`, want: `prod@${D1}`, match: true },
    { name: "full revision other tag", revision: `staging@${D1}`, want: `prod@${D1}`, match: false },
    { name: "full revision vs bare digest revision", revision: D1, want: `prod@${D1}`, match: false },
    { name: "no revision yet", revision: undefined, want: D1, match: false },
    { name: "any revision (no --for-revision)", revision: `prod@${D1}`, want: "", match: true },
    { name: "any revision, but none yet", revision: undefined, want: "", match: false },
    { name: "upper-case digest is not a digest", revision: `prod@${D1}`, want: D1.toUpperCase(), match: false },
  ];
  for (const c of cases) test(c.name, () => expect(revisionMatches(c.revision, c.want)).toBe(c.match));
});

test("digestOfRevision", () => {
  expect(digestOfRevision(D1)).toBe(D1);
  expect(digestOfRevision(`v1.2.3@${D2}`)).toBe(D2);
  expect(digestOfRevision("main@sha1:abc")).toBeUndefined();
});

function obj(o: { gen?: number; og?: number; rev?: string; conds?: Record<string, unknown>[]; handled?: string }) {
  return {
    metadata: { name: "x", namespace: "ns", generation: o.gen ?? 2 },
    spec: {},
    status: {
      observedGeneration: o.og ?? 2,
      ...(o.rev ? { artifact: { revision: o.rev } } : {}),
      conditions: o.conds ?? [],
      ...(o.handled ? { lastHandledReconcileAt: o.handled } : {}),
    },
  };
}
const ready = (status: string, reason = "Succeeded", message = "m") => ({ type: "Ready", status, reason, message, lastTransitionTime: "2026-01-01T00:00:00Z" });
const since = new Date("2026-06-01T00:00:00Z");

describe("evaluateRevision", () => {
  test("ready when revision matches, Ready=True and the generation is observed", () => {
    expect(evaluateRevision(obj({ rev: `prod@${D1}`, conds: [ready("True")] }), D1, since)).toEqual({ status: "ready", revision: `prod@${D1}`, reason: "Succeeded", message: "m" });
  });
  test("keeps waiting on an old revision, an unobserved generation or Ready=Unknown", () => {
    expect(evaluateRevision(obj({ rev: `prod@${D2}`, conds: [ready("True")] }), D1, since)).toBeUndefined();
    expect(evaluateRevision(obj({ gen: 3, og: 2, rev: `prod@${D1}`, conds: [ready("True")] }), D1, since)).toBeUndefined();
    expect(evaluateRevision(obj({ rev: `prod@${D1}`, conds: [ready("Unknown", "Progressing")] }), D1, since)).toBeUndefined();
  });
  test("a retryable Ready=False is not final", () => {
    expect(evaluateRevision(obj({ rev: `prod@${D2}`, conds: [ready("False", "OCIArtifactPullFailed")] }), D1, since)).toBeUndefined();
  });
  test("Stalled for the current generation fails; for an old generation it does not", () => {
    const stalled = { type: "Stalled", status: "True", reason: "URLInvalid", message: "bad url", lastTransitionTime: "2026-01-01T00:00:00Z" };
    expect(evaluateRevision(obj({ conds: [ready("False", "URLInvalid"), stalled] }), D1, since)).toEqual({ status: "failed", revision: undefined, reason: "URLInvalid", message: "bad url" });
    expect(evaluateRevision(obj({ gen: 3, og: 2, conds: [ready("False", "URLInvalid"), stalled] }), D1, since)).toBeUndefined();
  });
  test("SourceVerified=False fails when it names the digest or turned False during the wait", () => {
    const sv = (message: string, at: string) => ({ type: "SourceVerified", status: "False", reason: "VerificationError", message, lastTransitionTime: at });
    const named = evaluateRevision(obj({ rev: `prod@${D2}`, conds: [sv(`no matching signatures for ${D1}`, "2026-01-01T00:00:00Z")] }), D1, since);
    expect(named).toMatchObject({ status: "failed", reason: "VerificationError" });
    const fresh = evaluateRevision(obj({ conds: [sv("failed to verify the signature using provider 'cosign': no signatures", "2026-06-01T00:00:00Z")] }), `prod@${D1}`, new Date("2026-06-01T00:00:00.700Z"));
    expect(fresh).toMatchObject({ status: "failed", reason: "VerificationError" });
    const stale = evaluateRevision(obj({ conds: [sv(`no matching signatures for ${D2}`, "2026-01-01T00:00:00Z")] }), D1, since);
    expect(stale).toBeUndefined();
  });
});

describe("evaluateReconcile", () => {
  const at = "2026-06-01T00:00:01.000Z";
  test("ready only once the request is handled", () => {
    expect(evaluateReconcile(obj({ rev: D1, conds: [ready("True")] }), at)).toBeUndefined();
    expect(evaluateReconcile(obj({ rev: D1, conds: [ready("True")], handled: "2026-05-01T00:00:00Z" }), at)).toBeUndefined();
    expect(evaluateReconcile(obj({ rev: D1, conds: [ready("True")], handled: at }), at)).toMatchObject({ status: "ready", revision: D1 });
  });
  test("handled with Ready=False fails", () => {
    expect(evaluateReconcile(obj({ conds: [ready("False", "OCIArtifactPullFailed", "no tag")], handled: at }), at)).toEqual({ status: "failed", revision: undefined, reason: "OCIArtifactPullFailed", message: "no tag" });
  });
});
