import { describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { embeddedTrustedRoot, embeddedTrustedRootJSON } from "../../../../src/core/sign/embedded-root.ts";
import { verifyBundleKeyless, verifyLegacyKeyless } from "../../../../src/core/sign/keyless.ts";
import type { BundleSignature } from "../../../../src/core/sign/referrers.ts";
import { legacyKeylessVector, vectorBytes as raw, errorCode as code } from "../../../fixtures/cosign-vectors.ts";

const GH = "^https://github\\.com/login/oauth$";


describe("embedded public-good trusted root", () => {
  test("names the public-good Rekor v1 log and the Fulcio CAs", () => {
    const j = embeddedTrustedRootJSON() as {
      mediaType: string;
      tlogs: Array<{ baseUrl: string; logId: { keyId: string }; publicKey: { rawBytes: string } }>;
      certificateAuthorities: Array<{ subject: { commonName: string } }>;
    };
    expect(j.mediaType).toStartWith("application/vnd.dev.sigstore.trustedroot");
    const rekor = j.tlogs.find((t) => t.baseUrl === "https://rekor.sigstore.dev");
    expect(Buffer.from(rekor!.logId.keyId, "base64").toString("hex")).toBe("c0d23d6ad406973f9559f3ba2d1ca01f84147d8ffc5b8445c224f98b9591801d");
    // the log ID is the hash of the key it ships, so the key is the real one
    expect(createHash("sha256").update(Buffer.from(rekor!.publicKey.rawBytes, "base64")).digest("hex")).toBe(
      "c0d23d6ad406973f9559f3ba2d1ca01f84147d8ffc5b8445c224f98b9591801d",
    );
    expect(j.certificateAuthorities.map((c) => c.subject.commonName)).toContain("sigstore");
  });

  test("parses once and carries the identities given", () => {
    const a = embeddedTrustedRoot();
    const b = embeddedTrustedRoot([{ issuer: "x", subject: "y" }]);
    expect(a.identities).toEqual([]);
    expect(b.identities).toEqual([{ issuer: "x", subject: "y" }]);
    expect(a.material).toBe(b.material);
  });

  test("verifies real cosign's legacy keyless signature (vector A3) offline; another identity is refused", () => {
    const { sig, digest } = legacyKeylessVector();
    const v = verifyLegacyKeyless(sig, digest, embeddedTrustedRoot([{ issuer: GH, subject: "^mitr@redhat\\.com$" }]));
    expect(v).toMatchObject({ subject: "mitr@redhat.com", issuer: "https://github.com/login/oauth", signedAt: "2023-01-20T20:51:33Z" });
    expect(code(() => verifyLegacyKeyless(sig, digest, embeddedTrustedRoot([{ issuer: GH, subject: "^someone@else$" }])))).toBe("UNTRUSTED_SIGNER");
    expect(code(() => verifyLegacyKeyless(sig, digest, embeddedTrustedRoot()))).toBe("UNTRUSTED_SIGNER");
  });

  test("verifies cosign's keyless DSSE bundle (vector B6) in lax mode", () => {
    const sig: BundleSignature = { kind: "bundle", json: JSON.parse(raw("cosign/oci-attestation.sigstore.json").toString("utf8")), source: "sha256:x" };
    const digest = "sha256:732112270d7e59418a8c080b134b24cabd67d250d0d0147a97ed95ba5c280aa4";
    const v = verifyBundleKeyless(sig, digest, embeddedTrustedRoot([{ issuer: GH, subject: "^cody@soyland\\.com$" }]), { requireSignPredicate: false });
    expect(v.subject).toBe("cody@soyland.com");
  });
});
