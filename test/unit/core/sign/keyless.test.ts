import { describe, expect, test } from "bun:test";
import { parseTrustedRoot, verifyBundleKeyless, verifyLegacyKeyless, type KeylessTrust } from "../../../../src/core/sign/keyless.ts";
import type { BundleSignature } from "../../../../src/core/sign/referrers.ts";
import { verifySignatures } from "../../../../src/core/sign/verifier.ts";
import { legacyKeylessVector, vectorBytes as raw, errorCode as code } from "../../../fixtures/cosign-vectors.ts";

const root = (p: string) => parseTrustedRoot(JSON.parse(raw(p).toString("utf8")));
const PGI = root("cosign/trusted_root_pgi.json");
const PROD = root("sigstore-js/trusted_root.prod.json");
const GH = "https://github.com/login/oauth";


describe("legacy keyless layer by real cosign (vector A3: Fulcio + Rekor, 2023)", () => {
  const { sig, digest } = legacyKeylessVector();
  const trust = (material = PGI, subject = "^mitr@redhat\\.com$", issuer = GH): KeylessTrust => ({ material, identities: [{ issuer, subject }] });

  test("verifies against both public-good trusted roots with the right identity; reports the Rekor time", () => {
    for (const material of [PGI, PROD]) {
      const v = verifyLegacyKeyless(sig, digest, trust(material));
      expect(v).toMatchObject({ subject: "mitr@redhat.com", issuer: GH, annotations: {} });
      expect(v.signedAt).toBe("2023-01-20T20:51:33Z");
    }
  });
  test("identity regexps are Go RE2 and unanchored; (?i) works", () => {
    expect(verifyLegacyKeyless(sig, digest, trust(PGI, "redhat")).subject).toBe("mitr@redhat.com");
    expect(verifyLegacyKeyless(sig, digest, trust(PGI, "(?i)MITR@")).subject).toBe("mitr@redhat.com");
  });
  test("another identity, another issuer, or no identity at all is UNTRUSTED_SIGNER", () => {
    expect(code(() => verifyLegacyKeyless(sig, digest, trust(PGI, "^someone@example\\.com$")))).toBe("UNTRUSTED_SIGNER");
    expect(code(() => verifyLegacyKeyless(sig, digest, trust(PGI, ".*", "^https://accounts\\.google\\.com$")))).toBe("UNTRUSTED_SIGNER");
    expect(code(() => verifyLegacyKeyless(sig, digest, { material: PGI, identities: [] }))).toBe("UNTRUSTED_SIGNER");
  });
  test("without the Rekor proof (tlog required for keyless) it fails", () => {
    const { "dev.sigstore.cosign/bundle": _, ...noRekor } = sig.annotations;
    expect(code(() => verifyLegacyKeyless({ ...sig, annotations: noRekor }, digest, trust()))).toBe("VERIFY_FAILED");
  });
  test("a changed payload byte or another digest fails", () => {
    const p = new Uint8Array(sig.payload);
    p[20]! ^= 1;
    expect(code(() => verifyLegacyKeyless({ ...sig, payload: p }, digest, trust()))).toBe("VERIFY_FAILED");
    expect(() => verifyLegacyKeyless(sig, `sha256:${"0".repeat(64)}`, trust())).toThrow(/signed payload is for/);
  });
  test("an empty trusted root trusts nothing", () => {
    const empty = parseTrustedRoot({ mediaType: "application/vnd.dev.sigstore.trustedroot+json;version=0.1", tlogs: [], certificateAuthorities: [], ctlogs: [], timestampAuthorities: [] });
    expect(code(() => verifyLegacyKeyless(sig, digest, trust(empty)))).toBe("VERIFY_FAILED");
  });
  test("through verifySignatures, a keyless trust verifies and names the identity", () => {
    const r = verifySignatures([sig], digest, { keyless: trust() });
    expect(r.verified[0]).toMatchObject({ format: "legacy", key: "certificate", identity: { subject: "mitr@redhat.com", issuer: GH } });
  });
});

describe("cosign's keyless DSSE attestation bundle (vector B6)", () => {
  const sig: BundleSignature = { kind: "bundle", json: JSON.parse(raw("cosign/oci-attestation.sigstore.json").toString("utf8")), source: "sha256:x" };
  const digest = "sha256:732112270d7e59418a8c080b134b24cabd67d250d0d0147a97ed95ba5c280aa4";
  const trust: KeylessTrust = { material: PGI, identities: [{ issuer: `^${GH.replace(/[.]/g, "\\.")}$`, subject: "^cody@soyland\\.com$" }] };
  test("is not a signature by default (predicate is an attestation's)", () => {
    expect(() => verifyBundleKeyless(sig, digest, trust)).toThrow(/not a cosign signature/);
  });
  test("verifies in cosign's lax mode for its subject, with the identity", () => {
    const v = verifyBundleKeyless(sig, digest, trust, { requireSignPredicate: false });
    expect(v.subject).toBe("cody@soyland.com");
    expect(v.signedAt).toMatch(/^20\d\d-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  });
  test("is refused for another identity or another digest", () => {
    expect(code(() => verifyBundleKeyless(sig, digest, { ...trust, identities: [{ issuer: ".*", subject: "^mitr@" }] }, { requireSignPredicate: false }))).toBe(
      "UNTRUSTED_SIGNER",
    );
    expect(code(() => verifyBundleKeyless(sig, `sha256:${"1".repeat(64)}`, trust, { requireSignPredicate: false }))).toBe("VERIFY_FAILED");
  });
  test("a key-based bundle is refused by the keyless path", () => {
    const keyBundle: BundleSignature = { kind: "bundle", json: JSON.parse(raw("tamago-uefi/live-cosign-v3.bundle.json").toString("utf8")), source: "k" };
    expect(code(() => verifyBundleKeyless(keyBundle, "sha256:5099b89d7666cc2186cad769ddc262ddc7c335b33f5fe79f9ffe50a01282b23e", trust))).toBe("UNTRUSTED_SIGNER");
  });
});
