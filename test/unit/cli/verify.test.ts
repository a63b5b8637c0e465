import { describe, expect, test } from "bun:test";
import { isCoreError } from "../../../src/core/errors.ts";
import type { Verdict } from "../../../src/core/sign/verifier.ts";
import { describeVerdict, identityPolicy, rekorEntryOf, verifiedLine } from "../../../src/cli/commands/verify.ts";

const DIGEST = "sha256:" + "c".repeat(64);
const tlog = (logIndex: number | string, integratedTime: number | string) => ({ logIndex: String(logIndex), integratedTime: String(integratedTime) });

describe("rekorEntryOf", () => {
  test("bundle: the earliest tlog entry; legacy: the Rekor bundle annotation", () => {
    const bundle = { kind: "bundle" as const, source: "sha256:x", json: { verificationMaterial: { tlogEntries: [tlog(900, 1_800_000_100), tlog(412, 1_800_000_000)] } } };
    expect(rekorEntryOf(bundle)).toEqual({ logIndex: 412, integratedTime: 1_800_000_000 });
    const ann = JSON.stringify({ SignedEntryTimestamp: "x", Payload: { body: "e30=", integratedTime: 1_700_000_123, logIndex: 77, logID: "ab" } });
    const legacy = { kind: "legacy" as const, source: "sha256-c.sig layer 1", payload: new Uint8Array(), annotations: { "dev.sigstore.cosign/bundle": ann } };
    expect(rekorEntryOf(legacy)).toEqual({ logIndex: 77, integratedTime: 1_700_000_123 });
  });
  test("no entry, or a malformed one, gives undefined", () => {
    expect(rekorEntryOf({ kind: "bundle", source: "s", json: { verificationMaterial: { tlogEntries: [] } } })).toBeUndefined();
    expect(rekorEntryOf({ kind: "bundle", source: "s", json: null })).toBeUndefined();
    expect(rekorEntryOf({ kind: "legacy", source: "s", payload: new Uint8Array(), annotations: { "dev.sigstore.cosign/bundle": "{not json" } })).toBeUndefined();
    expect(rekorEntryOf({ kind: "legacy", source: "s", payload: new Uint8Array(), annotations: {} })).toBeUndefined();
  });
});

describe("describeVerdict and verifiedLine", () => {
  test("keyless: identity, Rekor time and log index", () => {
    const v: Verdict = {
      format: "bundle",
      key: "certificate",
      identity: { subject: "me@example.com", issuer: "https://accounts.google.com" },
      signedAt: "2027-01-15T08:00:00Z",
      digest: DIGEST,
      annotations: {},
      claimedTime: "2027-01-15T07:59:59Z",
      source: "referrer sha256:r",
    };
    const found = { kind: "bundle" as const, source: "sha256:r", json: { verificationMaterial: { tlogEntries: [tlog(31337, Date.parse(v.signedAt!) / 1000)] } } };
    const d = describeVerdict(v, found);
    expect(d).toMatchObject({ key: "certificate", keyFile: null, identity: v.identity, signedAt: v.signedAt, logIndex: 31337 });
    expect(verifiedLine(d)).toBe(
      "bundle signature referrer sha256:r verified: signed by identity me@example.com (issuer https://accounts.google.com), at 2027-01-15T08:00:00Z (Rekor integrated time, log index 31337)",
    );
  });
  test("keyed: fingerprint and key file, no timestamp and no log index even when the signature carries a log entry", () => {
    const v: Verdict = { format: "legacy", key: "ecdsa-p256 sha256:" + "d".repeat(64), keyIndex: 1, digest: DIGEST, annotations: { env: "prod" }, source: "sha256-c.sig layer 1" };
    const ann = JSON.stringify({ SignedEntryTimestamp: "x", Payload: { body: "e30=", integratedTime: 1_700_000_123, logIndex: 77, logID: "ab" } });
    const d = describeVerdict(v, { kind: "legacy", source: v.source, payload: new Uint8Array(), annotations: { "dev.sigstore.cosign/bundle": ann } }, ["a.pub", "b.pub"]);
    expect(d).toEqual({ format: "legacy", source: v.source, key: v.key, keyFile: "b.pub", identity: null, signedAt: null, logIndex: null, annotations: { env: "prod" }, claimedTime: null });
    expect(verifiedLine(d)).toBe(`legacy signature sha256-c.sig layer 1 verified: signed by key ${v.key} (b.pub), no timestamp (key signatures are verified without a transparency log)`);
    expect(verifiedLine({ ...d, claimedTime: "2027-01-01T00:00:00Z" })).toEndWith("; the referrer claims 2027-01-01T00:00:00Z)");
  });
});

describe("identityPolicy", () => {
  test("exact values are anchored and quoted; regexps pass through; one without the other is a usage error", () => {
    expect(identityPolicy({ certificateIdentity: "a.b@x.io", certificateOidcIssuerRegexp: "^https://x" })).toEqual({ subject: "^a\\.b@x\\.io$", issuer: "^https://x" });
    expect(identityPolicy({})).toBeUndefined();
    let err: unknown;
    try {
      identityPolicy({ certificateIdentity: "a" });
    } catch (e) {
      err = e;
    }
    expect(isCoreError(err, "USAGE")).toBe(true);
    err = undefined;
    try {
      identityPolicy({ certificateIdentityRegexp: "^https://(x", certificateOidcIssuer: "https://x" });
    } catch (e) {
      err = e;
    }
    expect(isCoreError(err, "USAGE") && (err as Error).message).toStartWith('--certificate-identity-regexp "^https://(x" is not a valid RE2 regexp');
  });
});
