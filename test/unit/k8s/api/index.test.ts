import { expect, test } from "bun:test";
import * as k8s from "../../../../src/k8s/index.ts";

test("the k8s index exposes the API layer", () => {
  expect(k8s.ocirepositoryCRD().spec.versions.map((v) => v.name)).toEqual(["v1", "v1beta2"]);
  expect(k8s.reasonFor("REF_INVALID").reason).toBe(k8s.Reasons.URLInvalid);
  expect(k8s.OCIREPOSITORY_SUMMARY.summarize[0]).toBe(k8s.STORAGE_OPERATION_FAILED);
});
