import { describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { tokenClaims } from "../../../../src/core/sign/oidc.ts";
import { bundleTlogEntry, dsseEntry, hashedRekordEntry, legacyRekorAnnotation, type RekorEntry } from "../../../../src/core/sign/rekor.ts";
import { vectorBytes as raw, errorCode as code } from "../../../fixtures/cosign-vectors.ts";

const part = (o: unknown) => Buffer.from(JSON.stringify(o)).toString("base64url");
const jwt = (claims: Record<string, unknown>) => `${part({ alg: "RS256" })}.${part(claims)}.c2ln`;


describe("identity token claims", () => {
  test("workload tokens prove possession over sub; email tokens over the verified email", () => {
    expect(tokenClaims(jwt({ iss: "https://token.actions.githubusercontent.com", sub: "repo:o/r:ref:refs/heads/main" }))).toEqual({
      issuer: "https://token.actions.githubusercontent.com",
      subject: "repo:o/r:ref:refs/heads/main",
    });
    expect(tokenClaims(jwt({ iss: "https://oauth2.sigstore.dev/auth", sub: "CgYxMjM0NTY", email: "me@example.com", email_verified: true }))).toEqual({
      issuer: "https://oauth2.sigstore.dev/auth",
      subject: "me@example.com",
    });
  });
  test("an unverified email, a missing iss or sub, or a non-JWT is USAGE", () => {
    expect(code(() => tokenClaims(jwt({ iss: "https://x", sub: "s", email: "me@example.com", email_verified: false })))).toBe("USAGE");
    expect(code(() => tokenClaims(jwt({ sub: "s" })))).toBe("USAGE");
    expect(code(() => tokenClaims(jwt({ iss: "https://x" })))).toBe("USAGE");
    expect(code(() => tokenClaims("abc"))).toBe("USAGE");
    expect(code(() => tokenClaims(`${part({})}.!!!.x`))).toBe("USAGE");
  });
});

describe("Rekor entries", () => {
  test("hashedrekord 0.0.1 names sha256(payload), the signature and the PEM", () => {
    const payload = new TextEncoder().encode("payload");
    const e = hashedRekordEntry(payload, new Uint8Array([1, 2, 3]), "-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----\n") as {
      spec: { data: { hash: { algorithm: string; value: string } }; signature: { content: string; publicKey: { content: string } } };
    };
    expect(e).toMatchObject({ apiVersion: "0.0.1", kind: "hashedrekord" });
    expect(e.spec.data.hash).toEqual({ algorithm: "sha256", value: createHash("sha256").update(payload).digest("hex") });
    expect(e.spec.signature.content).toBe("AQID");
    expect(Buffer.from(e.spec.signature.publicKey.content, "base64").toString()).toStartWith("-----BEGIN CERTIFICATE-----");
  });

  test("dsse 0.0.1 proposes the envelope without keyid and the certificate as verifier", () => {
    const e = dsseEntry({ payloadType: "application/vnd.in-toto+json", payload: new Uint8Array([123, 125]), signature: new Uint8Array([9]) }, "PEM") as {
      spec: { proposedContent: { envelope: string; verifiers: string[] } };
    };
    expect(JSON.parse(e.spec.proposedContent.envelope)).toEqual({ payloadType: "application/vnd.in-toto+json", payload: "e30=", signatures: [{ sig: "CQ==" }] });
    expect(e.spec.proposedContent.verifiers).toEqual([Buffer.from("PEM").toString("base64")]);
  });

  test("the legacy annotation is byte-identical to the one real cosign wrote (vector A3)", () => {
    const annotation = JSON.parse(raw("derived/dir-img-cosign-fulcio-rekor-valid/layer-annotations.json").toString())["dev.sigstore.cosign/bundle"] as string;
    const j = JSON.parse(annotation);
    const entry: RekorEntry = { uuid: "u", signedEntryTimestamp: j.SignedEntryTimestamp, ...j.Payload };
    expect(legacyRekorAnnotation(entry)).toBe(annotation);
  });

  test("the v0.3 tlog entry reproduces the one in cosign's bundle (vector B6) from Rekor's hex answer", () => {
    const want = JSON.parse(raw("cosign/oci-attestation.sigstore.json").toString()).verificationMaterial.tlogEntries[0];
    const hex = (b64: string) => Buffer.from(b64, "base64").toString("hex");
    const entry: RekorEntry = {
      uuid: "u",
      body: want.canonicalizedBody,
      integratedTime: Number(want.integratedTime),
      logID: hex(want.logId.keyId),
      logIndex: Number(want.logIndex),
      signedEntryTimestamp: want.inclusionPromise.signedEntryTimestamp,
      inclusionProof: {
        logIndex: Number(want.inclusionProof.logIndex),
        rootHash: hex(want.inclusionProof.rootHash),
        treeSize: Number(want.inclusionProof.treeSize),
        hashes: want.inclusionProof.hashes.map(hex),
        checkpoint: want.inclusionProof.checkpoint.envelope,
      },
    };
    expect(bundleTlogEntry(entry)).toEqual(want);
    expect(code(() => bundleTlogEntry({ ...entry, inclusionProof: undefined }))).toBe("VERIFY_FAILED");
  });
});
