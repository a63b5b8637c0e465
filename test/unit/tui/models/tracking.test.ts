import { expect, test } from "bun:test";
import { createTracking, trackerLine, trackingReducer, trackingSummary, type TrackingAction, type TrackingState } from "../../../../src/tui/models/tracking.ts";

const D1 = `sha256:${"1".repeat(64)}`;
const D2 = `sha256:${"2".repeat(64)}`;
const apply = (...as: TrackingAction[]) => as.reduce<TrackingState>(trackingReducer, createTracking());
const found: TrackingAction = {
  kind: "found",
  objects: [
    { namespace: "a", name: "x", ref: { tag: "prod" } },
    { namespace: "b", name: "y", ref: { semver: "1.x" } },
  ],
};

test("found trackers start waiting; updates move them; results are final", () => {
  const s = apply({ kind: "find" }, found, { kind: "update", key: "a/x", update: { revision: `prod@${D1}`, ready: "True", suspended: false, message: "ok" } });
  if (s.step !== "following") throw new Error(s.step);
  expect(s.trackers.map((t) => [t.key, t.ref, t.outcome, t.revision])).toEqual([
    ["a/x", "tag prod", "waiting", `prod@${D1}`],
    ["b/y", "semver 1.x", "waiting", ""],
  ]);
  const done = apply(
    found,
    { kind: "result", key: "a/x", result: { status: "ready", revision: `prod@${D2}` } },
    // A late update of a finished wait does not reopen it.
    { kind: "update", key: "a/x", update: { revision: `prod@${D1}`, ready: "False", suspended: false } },
    { kind: "error", key: "b/y", error: "forbidden" },
    { kind: "result", key: "b/y", result: { status: "ready" } },
  );
  if (done.step !== "following") throw new Error(done.step);
  expect(done.trackers.map((t) => [t.outcome, t.revision, t.message])).toEqual([
    ["ready", `prod@${D2}`, ""],
    ["error", "", "forbidden"],
  ]);
  expect(trackerLine(done.trackers[0]!, "")).toBe(`✔ a/x (tag prod)  prod@sha256:222222222222  has the new revision`);
  expect(trackerLine(done.trackers[1]!, "")).toBe(`✗ b/y (semver 1.x)  -  error: forbidden`);
  expect(trackingSummary(done, "oci://r/app:prod", "")).toBe("cluster: 1/2 OCIRepositories tracking oci://r/app:prod have the new digest");
});

test("summaries: finding, none, failure; suspended trackers say why they do not move", () => {
  expect(trackingSummary(apply({ kind: "find" }), "r:t", "*")).toBe("* looking for OCIRepositories that track r:t…");
  expect(trackingSummary(apply({ kind: "found", objects: [] }), "r:t", "")).toBe("no OCIRepository in the cluster tracks r:t");
  expect(trackingSummary(apply({ kind: "failed", error: "HTTP 403" }), "r:t", "")).toBe("cluster not followed: HTTP 403");
  expect(trackingSummary(createTracking(), "r:t", "")).toBe("");
  const s = apply(found, { kind: "update", key: "b/y", update: { suspended: true } });
  if (s.step !== "following") throw new Error(s.step);
  expect(trackerLine(s.trackers[1]!, "⠋")).toBe("⠋ b/y (semver 1.x)  -  suspended: will not move until resumed");
});
