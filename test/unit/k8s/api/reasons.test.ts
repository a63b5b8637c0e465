import { describe, expect, test } from "bun:test";
import type { ErrorCode } from "../../../../src/core/index.ts";
import { ERROR_REASONS, Reasons, reasonFor, type ReasonMapping } from "../../../../src/k8s/api/reasons.ts";

describe("Reasons", () => {
  test("every reason string is its own name (verbatim Flux spelling)", () => {
    for (const [k, v] of Object.entries(Reasons)) expect(v).toBe(k as typeof v);
  });
  test("reasons satisfy the CRD's condition reason pattern", () => {
    for (const v of Object.values(Reasons)) expect(v).toMatch(/^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$/);
  });
});

describe("ERROR_REASONS (design §2.3)", () => {
  const want: [ErrorCode, Omit<ReasonMapping, "status">][] = [
    ["REF_INVALID", { condition: "FetchFailed", reason: "URLInvalid", kind: "stalling" }],
    ["AUTH_FAILED", { condition: "FetchFailed", reason: "AuthenticationFailed", kind: "generic" }],
    ["NOT_FOUND", { condition: "FetchFailed", reason: "OCIArtifactPullFailed", kind: "generic" }],
    ["NO_MATCHING_VERSION", { condition: "FetchFailed", reason: "ReadOperationFailed", kind: "generic" }],
    ["REGISTRY_UNAVAILABLE", { condition: "FetchFailed", reason: "OCIArtifactPullFailed", kind: "generic" }],
    ["DIGEST_MISMATCH", { condition: "FetchFailed", reason: "OCIArtifactLayerOperationFailed", kind: "generic" }],
    ["MANIFEST_INVALID", { condition: "FetchFailed", reason: "OCIArtifactLayerOperationFailed", kind: "generic" }],
    ["VERIFY_FAILED", { condition: "SourceVerified", reason: "VerificationError", kind: "generic" }],
    ["UNTRUSTED_SIGNER", { condition: "SourceVerified", reason: "VerificationError", kind: "generic" }],
    ["STORAGE_FAILED", { condition: "StorageOperationFailed", reason: "ArchiveOperationFailed", kind: "generic" }],
    ["INTERNAL", { condition: "Ready", reason: "ReconciliationFailed", kind: "generic" }],
    ["CANCELLED", { condition: null, reason: "ProgressingWithRetry", kind: "waiting" }],
  ];
  for (const [code, m] of want) test(code, () => expect(reasonFor(code)).toMatchObject(m));

  test("SourceVerified and Ready are marked False, negative-polarity types True", () => {
    for (const m of Object.values(ERROR_REASONS)) {
      if (m.condition === null) continue;
      expect(m.status).toBe(m.condition === "SourceVerified" || m.condition === "Ready" ? "False" : "True");
    }
  });

  test("every mapped reason is a known Flux reason", () => {
    const known = new Set<string>(Object.values(Reasons));
    for (const m of Object.values(ERROR_REASONS)) expect(known.has(m.reason)).toBe(true);
  });

  test("the table covers all 16 codes of errors.ts", () => {
    expect(Object.keys(ERROR_REASONS).length).toBe(16);
  });
});
