import { describe, expect, test } from "bun:test";
import {
  formatConditionTime,
  findCondition,
  markFalse,
  markProgressing,
  markReconciling,
  markStalled,
  markTrue,
  markUnknown,
  notReadyAfterSuccess,
  readySummary,
  removeCondition,
  setCondition,
  sortConditions,
  summarizeReady,
  type ReadySummary,
  type SetOptions,
} from "../../../../src/k8s/api/conditions.ts";
import type { Condition } from "../../../../src/k8s/api/ocirepository.ts";

const T0 = new Date("2026-07-01T10:00:00.750Z");
const at = (s: number, generation = 1): SetOptions => ({ generation, now: new Date(T0.getTime() + s * 1000) });
const ts = (s: number) => formatConditionTime(new Date(T0.getTime() + s * 1000));
const c = (type: string, status: Condition["status"], reason: string, message = `${type} ${reason}`): Condition => ({
  type,
  status,
  reason,
  message,
  observedGeneration: 1,
  lastTransitionTime: "2026-07-01T09:00:00Z",
});
const brief = (list: readonly Condition[]) => list.map((x) => `${x.type}=${x.status} ${x.reason} "${x.message}"`);

/** End-of-pass condition adjustments of spec §3.8 step 3, driven by the helpers under test. */
function finish(list: Condition[], outcome: { kind: "success" } | { kind: "generic" } | { kind: "stalling"; reason: string; message: string }, o: SetOptions): Condition[] {
  let out = list;
  if (outcome.kind === "success") out = removeCondition(removeCondition(out, "Reconciling"), "Stalled");
  if (outcome.kind === "stalling") out = markStalled(out, outcome.reason, outcome.message, o);
  if (outcome.kind === "generic") {
    out = removeCondition(out, "Stalled");
    const r = findCondition(out, "Reconciling");
    if (r) out = markTrue(out, "Reconciling", "ProgressingWithRetry", r.message, o);
  }
  return summarizeReady(out, o);
}

describe("formatConditionTime", () => {
  test("UTC, whole seconds, no fraction", () => {
    expect(formatConditionTime(T0)).toBe("2026-07-01T10:00:00Z");
  });
});

describe("setCondition", () => {
  test("stamps observedGeneration and the transition time", () => {
    const out = setCondition([], { type: "FetchFailed", status: "True", reason: "URLInvalid", message: "bad" }, at(5, 3));
    expect(out).toEqual([{ type: "FetchFailed", status: "True", observedGeneration: 3, lastTransitionTime: ts(5), reason: "URLInvalid", message: "bad" }]);
  });

  const changes: { name: string; to: Partial<Condition>; moves: boolean }[] = [
    { name: "same status, reason and message", to: {}, moves: false },
    { name: "status changed", to: { status: "False" }, moves: true },
    { name: "reason changed", to: { reason: "Other" }, moves: true },
    { name: "message changed", to: { message: "other" }, moves: true },
  ];
  for (const ch of changes) {
    test(`lastTransitionTime ${ch.moves ? "moves" : "stays"} when ${ch.name}; observedGeneration always refreshed`, () => {
      const first = markTrue([], "ArtifactInStorage", "Succeeded", "stored", at(0, 1));
      const cur = first[0]!;
      const out = setCondition(first, { type: cur.type, status: cur.status, reason: cur.reason, message: cur.message, ...ch.to }, at(60, 2));
      expect(out[0]!.lastTransitionTime).toBe(ch.moves ? ts(60) : ts(0));
      expect(out[0]!.observedGeneration).toBe(2);
    });
  }

  test("long messages are cut to 32765 characters plus ...", () => {
    const out = markTrue([], "FetchFailed", "X", "a".repeat(40000), at(0));
    expect(out[0]!.message.length).toBe(32768);
    expect(out[0]!.message.endsWith("a...")).toBe(true);
    expect(markTrue([], "FetchFailed", "X", "b".repeat(32768), at(0))[0]!.message).toBe("b".repeat(32768));
  });

  test("does not mutate its input", () => {
    const input = [c("Ready", "True", "Succeeded")];
    const copy = structuredClone(input);
    markFalse(input, "Ready", "Failed", "x", at(1));
    removeCondition(input, "Ready");
    expect(input).toEqual(copy);
  });

  test("markUnknown sets Unknown", () => {
    expect(markUnknown([], "Ready", "Progressing", "p", at(0))[0]!.status).toBe("Unknown");
  });
});

describe("sortConditions", () => {
  test("Stalled, Reconciling, Ready first, then by descending generation, then by type", () => {
    const list: Condition[] = [
      { ...c("SourceVerified", "True", "Succeeded"), observedGeneration: 1 },
      { ...c("FetchFailed", "True", "X"), observedGeneration: 2 },
      c("Ready", "False", "X"),
      { ...c("ArtifactInStorage", "True", "Succeeded"), observedGeneration: 1 },
      c("Reconciling", "True", "Progressing"),
      c("Stalled", "True", "X"),
      { ...c("ArtifactOutdated", "True", "NewRevision"), observedGeneration: 2 },
    ];
    expect(sortConditions(list).map((x) => x.type)).toEqual([
      "Stalled",
      "Reconciling",
      "Ready",
      "ArtifactOutdated",
      "FetchFailed",
      "ArtifactInStorage",
      "SourceVerified",
    ]);
  });
});

describe("markReconciling / markStalled exclude each other", () => {
  test("reconciling removes Stalled", () => {
    const out = markReconciling([c("Stalled", "True", "URLInvalid")], "Progressing", "p", at(0));
    expect(out.map((x) => x.type)).toEqual(["Reconciling"]);
  });
  test("stalled removes Reconciling", () => {
    const out = markStalled([c("Reconciling", "True", "Progressing")], "URLInvalid", "u", at(0));
    expect(out.map((x) => x.type)).toEqual(["Stalled"]);
  });
});

describe("markProgressing", () => {
  test("Ready absent or Unknown follows Reconciling", () => {
    expect(brief(markProgressing([], "reconciliation in progress", at(0)))).toEqual([
      'Reconciling=True Progressing "reconciliation in progress"',
      'Ready=Unknown Progressing "reconciliation in progress"',
    ]);
  });
  test("a True or False Ready is kept unless drift", () => {
    const ready = [c("Ready", "True", "Succeeded", "stored")];
    expect(findCondition(markProgressing(ready, "m", at(0)), "Ready")!.status).toBe("True");
    expect(findCondition(markProgressing([c("Ready", "False", "X")], "m", at(0)), "Ready")!.status).toBe("False");
    expect(brief([findCondition(markProgressing(ready, "building artifact", { ...at(0), drift: true }), "Ready")!])).toEqual([
      'Ready=Unknown Progressing "building artifact"',
    ]);
  });
});

describe("readySummary (spec §2.4)", () => {
  const cases: { name: string; input: Condition[]; want: ReadySummary | undefined }[] = [
    { name: "no owned condition leaves Ready alone", input: [c("Ready", "False", "X")], want: undefined },
    { name: "empty", input: [], want: undefined },
    {
      name: "happy path: ArtifactInStorage=True",
      input: [c("ArtifactInStorage", "True", "Succeeded", "stored artifact for digest 'latest@sha256:aa'")],
      want: { status: "True", reason: "Succeeded", message: "stored artifact for digest 'latest@sha256:aa'" },
    },
    {
      name: "ArtifactInStorage beats SourceVerified by priority",
      input: [c("SourceVerified", "True", "Succeeded", "verified signature of revision r"), c("ArtifactInStorage", "True", "Succeeded", "stored")],
      want: { status: "True", reason: "Succeeded", message: "stored" },
    },
    {
      name: "transient pull failure with an artifact: FetchFailed wins over Reconciling",
      input: [c("Reconciling", "True", "ProgressingWithRetry"), c("ArtifactInStorage", "True", "Succeeded"), c("FetchFailed", "True", "OCIArtifactPullFailed", "pull")],
      want: { status: "False", reason: "OCIArtifactPullFailed", message: "pull" },
    },
    {
      name: "invalid URL",
      input: [c("Stalled", "True", "URLInvalid", "s"), c("FetchFailed", "True", "URLInvalid", "f")],
      want: { status: "False", reason: "URLInvalid", message: "f" },
    },
    {
      name: "feature-gate stall alone",
      input: [c("Stalled", "True", "FeatureGateDisabled", "gate")],
      want: { status: "False", reason: "FeatureGateDisabled", message: "gate" },
    },
    {
      name: "StorageOperationFailed is first in priority",
      input: [c("FetchFailed", "True", "OCIArtifactPullFailed"), c("StorageOperationFailed", "True", "ArchiveOperationFailed", "disk")],
      want: { status: "False", reason: "ArchiveOperationFailed", message: "disk" },
    },
    {
      name: "negative-True group beats positive-False",
      input: [c("ArtifactInStorage", "False", "X", "pf"), c("ArtifactOutdated", "True", "NewRevision", "nr")],
      want: { status: "False", reason: "NewRevision", message: "nr" },
    },
    {
      name: "positive-False beats positive-True",
      input: [c("SourceVerified", "True", "Succeeded"), c("ArtifactInStorage", "False", "Missing", "gone")],
      want: { status: "False", reason: "Missing", message: "gone" },
    },
    {
      name: "negative-False alone gives True",
      input: [c("FetchFailed", "False", "Recovered", "ok")],
      want: { status: "True", reason: "Recovered", message: "ok" },
    },
    {
      name: "positive-True beats negative-False",
      input: [c("FetchFailed", "False", "Recovered", "ok"), c("SourceVerified", "True", "Succeeded", "v")],
      want: { status: "True", reason: "Succeeded", message: "v" },
    },
    {
      name: "Unknown only",
      input: [c("ArtifactInStorage", "Unknown", "Progressing", "u")],
      want: { status: "Unknown", reason: "Progressing", message: "u" },
    },
    {
      name: "Unknown ranks last",
      input: [c("ArtifactInStorage", "Unknown", "Progressing"), c("FetchFailed", "False", "R", "nf")],
      want: { status: "True", reason: "R", message: "nf" },
    },
    {
      name: "Reconciling alone",
      input: [c("Reconciling", "True", "Progressing", "reconciliation in progress")],
      want: { status: "False", reason: "Progressing", message: "reconciliation in progress" },
    },
    {
      name: "SourceVerified=False overrides a negative-True group",
      input: [c("Reconciling", "True", "ProgressingWithRetry"), c("ArtifactInStorage", "True", "Succeeded"), c("SourceVerified", "False", "VerificationError", "bad sig")],
      want: { status: "False", reason: "VerificationError", message: "bad sig" },
    },
    {
      name: "Ready itself is not an input",
      input: [c("Ready", "False", "Old", "old"), c("ArtifactInStorage", "True", "Succeeded", "stored")],
      want: { status: "True", reason: "Succeeded", message: "stored" },
    },
  ];
  for (const tc of cases) test(tc.name, () => expect(readySummary(tc.input)).toEqual(tc.want));
  test("a False bipolar type outside `summarize` still overrides", () => {
    const config = { owned: [], summarize: ["ArtifactInStorage"], negativePolarity: [], bipolarity: ["SourceVerified"] };
    expect(readySummary([c("SourceVerified", "False", "VerificationError", "v")], config)).toEqual({ status: "False", reason: "VerificationError", message: "v" });
  });
});

describe("worked timelines (spec §3.13, §2.6)", () => {
  const REV = "latest@sha256:3b6c0000";
  const REF = "ghcr.io/org/repo:latest";
  const stored = (rev: string) => `stored artifact for digest '${rev}'`;

  /** Timeline A, returning every patched state. */
  function timelineA() {
    const patch1 = markProgressing([], "processing object: new generation -1 -> 1", at(1));
    const patch2 = markProgressing(patch1, "building artifact", { ...at(2), drift: true });
    const patch3 = markProgressing(patch2, `building artifact: new revision '${REV}' for '${REF}'`, { ...at(3), drift: true });
    const withArtifact = markTrue(patch3, "ArtifactInStorage", "Succeeded", stored(REV), at(4));
    const final = finish(withArtifact, { kind: "success" }, at(4));
    return { patch1, patch2, patch3, final };
  }

  test("A: new object, happy path", () => {
    const { patch1, patch2, patch3, final } = timelineA();
    expect(brief(patch1)).toEqual([
      'Reconciling=True Progressing "processing object: new generation -1 -> 1"',
      'Ready=Unknown Progressing "processing object: new generation -1 -> 1"',
    ]);
    expect(brief(patch2)).toEqual(['Reconciling=True Progressing "building artifact"', 'Ready=Unknown Progressing "building artifact"']);
    expect(findCondition(patch3, "Ready")!.message).toBe(`building artifact: new revision '${REV}' for '${REF}'`);
    expect(final).toEqual([
      { type: "Ready", status: "True", observedGeneration: 1, lastTransitionTime: ts(4), reason: "Succeeded", message: stored(REV) },
      { type: "ArtifactInStorage", status: "True", observedGeneration: 1, lastTransitionTime: ts(4), reason: "Succeeded", message: stored(REV) },
    ]);
  });

  test("B: steady state changes nothing, transition times included", () => {
    const a = timelineA().final;
    let b = markProgressing(a, "reconciliation in progress", at(600));
    expect(findCondition(b, "Ready")!.status).toBe("True");
    b = markTrue(b, "ArtifactInStorage", "Succeeded", stored(REV), at(600));
    expect(finish(b, { kind: "success" }, at(600))).toEqual(a);
  });

  test("C: tag moved upstream", () => {
    const NEW = "latest@sha256:9999aaaa";
    let c1 = markProgressing(timelineA().final, "reconciliation in progress", at(600));
    c1 = markTrue(c1, "ArtifactOutdated", "NewRevision", `new revision '${NEW}' for '${REF}'`, at(601));
    c1 = markProgressing(c1, `building artifact: new revision '${NEW}' for '${REF}'`, { ...at(601), drift: true });
    expect(brief(c1)).toEqual([
      `Reconciling=True Progressing "building artifact: new revision '${NEW}' for '${REF}'"`,
      `Ready=Unknown Progressing "building artifact: new revision '${NEW}' for '${REF}'"`,
      `ArtifactInStorage=True Succeeded "${stored(REV)}"`,
      `ArtifactOutdated=True NewRevision "new revision '${NEW}' for '${REF}'"`,
    ]);
    const done = finish(markTrue(removeCondition(c1, "ArtifactOutdated"), "ArtifactInStorage", "Succeeded", stored(NEW), at(602)), { kind: "success" }, at(602));
    expect(brief(done)).toEqual([`Ready=True Succeeded "${stored(NEW)}"`, `ArtifactInStorage=True Succeeded "${stored(NEW)}"`]);
    expect(findCondition(done, "Ready")!.lastTransitionTime).toBe(ts(602));
  });

  test("D: registry down with an existing artifact", () => {
    const msg = "failed to determine artifact digest: GET https://ghcr.io/v2/org/repo/manifests/latest: 503";
    let d = markProgressing(timelineA().final, "reconciliation in progress", at(600));
    d = markTrue(d, "FetchFailed", "OCIArtifactPullFailed", msg, at(601));
    d = finish(d, { kind: "generic" }, at(601));
    expect(brief(d)).toEqual([
      'Reconciling=True ProgressingWithRetry "reconciliation in progress"',
      `Ready=False OCIArtifactPullFailed "${msg}"`,
      `ArtifactInStorage=True Succeeded "${stored(REV)}"`,
      `FetchFailed=True OCIArtifactPullFailed "${msg}"`,
    ]);
    expect(notReadyAfterSuccess(d)).toBe(msg);
  });

  test("§2.6: failing new generation keeps the preamble message with ProgressingWithRetry", () => {
    const msg = "failed to determine artifact digest: MANIFEST_UNKNOWN";
    let s = markProgressing(timelineA().final, "processing object: new generation 1 -> 2", at(700, 2));
    s = markTrue(s, "FetchFailed", "OCIArtifactPullFailed", msg, at(701, 2));
    s = finish(s, { kind: "generic" }, at(701, 2));
    expect(findCondition(s, "Reconciling")).toMatchObject({ status: "True", reason: "ProgressingWithRetry", message: "processing object: new generation 1 -> 2" });
    expect(findCondition(s, "Ready")).toMatchObject({ status: "False", reason: "OCIArtifactPullFailed", message: msg, observedGeneration: 2 });
  });

  test("E: invalid URL stalls", () => {
    const msg = "URL validation failed for 'oci://ghcr.io/org/repo:1.0': URL must not contain a tag";
    let e = markProgressing([], "processing object: new generation -1 -> 1", at(1));
    e = markProgressing(e, "building artifact", { ...at(2), drift: true });
    e = markTrue(e, "FetchFailed", "URLInvalid", msg, at(3));
    e = finish(e, { kind: "stalling", reason: "URLInvalid", message: msg }, at(3));
    expect(brief(e)).toEqual([`Stalled=True URLInvalid "${msg}"`, `Ready=False URLInvalid "${msg}"`, `FetchFailed=True URLInvalid "${msg}"`]);
  });

  test("F: suspended — Ready re-summarized with the new generation, transition time kept", () => {
    const f = summarizeReady(timelineA().final, at(900, 2));
    expect(findCondition(f, "Ready")).toEqual({ type: "Ready", status: "True", observedGeneration: 2, lastTransitionTime: ts(4), reason: "Succeeded", message: stored(REV) });
    expect(notReadyAfterSuccess(f)).toBeUndefined();
  });

  test("summarizeReady leaves the list alone when nothing owned is present", () => {
    const only = [c("Ready", "False", "X")];
    expect(summarizeReady(only, at(5))).toEqual(only);
    expect(notReadyAfterSuccess([])).toBe("Ready condition is missing");
  });
});
