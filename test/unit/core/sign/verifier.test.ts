import { describe, expect, test } from "bun:test";
import { createHash, generateKeyPairSync, sign } from "node:crypto";
import { ed25519ph } from "@noble/curves/ed25519.js";
import { loadPublicKey } from "../../../../src/core/sign/keys.ts";
import type { BundleSignature, LegacySignature } from "../../../../src/core/sign/referrers.ts";
import { verifyBundleSignature, verifyLegacySignature, verifySignatures } from "../../../../src/core/sign/verifier.ts";
import { vectorBytes as raw, errorCode as code } from "../../../fixtures/cosign-vectors.ts";

const pub = (p: string) => loadPublicKey(raw(p).toString("utf8"));
const sha = (b: Uint8Array) => `sha256:${createHash("sha256").update(b).digest("hex")}`;

function legacy(dir: string): { sig: LegacySignature; digest: string } {
  const payload = new Uint8Array(raw(`derived/${dir}/payload.json`));
  return {
    sig: { kind: "legacy", payload, annotations: JSON.parse(raw(`derived/${dir}/layer-annotations.json`).toString("utf8")), source: `${dir} layer 1` },
    digest: sha(raw(`containers-image/${dir}/manifest.json`)),
  };
}


describe("legacy .sig layers made by real cosign (vectors A)", () => {
  test("key-only signature verifies with cosign.pub for the manifest's digest", () => {
    const { sig, digest } = legacy("dir-img-cosign-valid");
    expect(digest).toBe("sha256:634a8f35b5f16dcf4aaa0822adc0b1964bb786fca12f6831de8ddc45e5986a00");
    const v = verifyLegacySignature(sig, digest, { keys: [pub("containers-image/cosign.pub")] });
    expect(v.format).toBe("legacy");
    expect(v.digest).toBe(digest);
    expect(v.key).toMatch(/^ecdsa-p256 sha256:/);
    expect(v.annotations).toEqual({});
  });
  test("fails with cosign2.pub, a changed payload byte, or another digest", () => {
    const { sig, digest } = legacy("dir-img-cosign-valid");
    expect(code(() => verifyLegacySignature(sig, digest, { keys: [pub("containers-image/cosign2.pub")] }))).toBe("VERIFY_FAILED");
    const tampered = new Uint8Array(sig.payload);
    tampered[tampered.length - 3]! ^= 1;
    expect(code(() => verifyLegacySignature({ ...sig, payload: tampered }, digest, { keys: [pub("containers-image/cosign.pub")] }))).toBe("VERIFY_FAILED");
    const other = `sha256:${"0".repeat(64)}`;
    expect(() => verifyLegacySignature(sig, other, { keys: [pub("containers-image/cosign.pub")] })).toThrow(/signed payload is for sha256:634a/);
  });
  test("key+Rekor signature verifies with cosign2.pub offline (tlog ignored, as Flux does)", () => {
    const { sig, digest } = legacy("dir-img-cosign-key-rekor-valid");
    expect(sig.annotations["dev.sigstore.cosign/bundle"]).toBeDefined();
    expect(verifyLegacySignature(sig, digest, { keys: [pub("containers-image/cosign.pub"), pub("containers-image/cosign2.pub")] }).keyIndex).toBe(1);
  });
  test("a keyless signature does not verify with a key", () => {
    const { sig, digest } = legacy("dir-img-cosign-fulcio-rekor-valid");
    expect(code(() => verifyLegacySignature(sig, digest, { keys: [pub("containers-image/cosign.pub")] }))).toBe("VERIFY_FAILED");
  });
  test("requested annotations must be in the payload's optional section", () => {
    const { sig, digest } = legacy("dir-img-cosign-valid");
    expect(() => verifyLegacySignature(sig, digest, { keys: [pub("containers-image/cosign.pub")] }, { annotations: { env: "prod" } })).toThrow(/env/);
  });
});

describe("cosign v3 key bundle (vector B7, tamago-uefi)", () => {
  const json = JSON.parse(raw("tamago-uefi/live-cosign-v3.bundle.json").toString("utf8"));
  const digest = "sha256:5099b89d7666cc2186cad769ddc262ddc7c335b33f5fe79f9ffe50a01282b23e";
  const sig: BundleSignature = { kind: "bundle", json, source: "sha256:test", created: "2026-06-01T00:00:00Z" };
  test("verifies with its key for the statement's subject", () => {
    const v = verifyBundleSignature(sig, digest, { keys: [pub("tamago-uefi/live-cosign-v3.pub")] });
    expect(v).toMatchObject({ format: "bundle", digest, annotations: {}, claimedTime: "2026-06-01T00:00:00Z" });
  });
  test("is UNTRUSTED_SIGNER with another key (the hint names a different key)", () => {
    expect(code(() => verifyBundleSignature(sig, digest, { keys: [pub("containers-image/cosign.pub")] }))).toBe("UNTRUSTED_SIGNER");
  });
  test("is refused for another digest", () => {
    expect(() => verifyBundleSignature(sig, `sha256:${"1".repeat(64)}`, { keys: [pub("tamago-uefi/live-cosign-v3.pub")] })).toThrow(/not about/);
  });
  test("a tampered statement fails the DSSE check", () => {
    const st = Buffer.from(json.dsseEnvelope.payload, "base64").toString("utf8").replace("cosign/sign/v1", "cosign/sign/v2");
    const bad = { ...json, dsseEnvelope: { ...json.dsseEnvelope, payload: Buffer.from(st).toString("base64") } };
    expect(code(() => verifyBundleSignature({ ...sig, json: bad }, digest, { keys: [pub("tamago-uefi/live-cosign-v3.pub")] }))).toBe("VERIFY_FAILED");
  });
  test("a DSSE keyid is tolerated by berth (cosign would skip a foreign one; berth does not write any)", () => {
    const withKeyid = { ...json, dsseEnvelope: { ...json.dsseEnvelope, signatures: [{ ...json.dsseEnvelope.signatures[0], keyid: "" }] } };
    expect(verifyBundleSignature({ ...sig, json: withKeyid }, digest, { keys: [pub("tamago-uefi/live-cosign-v3.pub")] }).format).toBe("bundle");
  });
});

describe("cosign's keyless attestation bundle (vector B6) with a key", () => {
  test("is refused as keyless", () => {
    const json = JSON.parse(raw("cosign/oci-attestation.sigstore.json").toString("utf8"));
    const digest = "sha256:732112270d7e59418a8c080b134b24cabd67d250d0d0147a97ed95ba5c280aa4";
    expect(code(() => verifyBundleSignature({ kind: "bundle", json, source: "x" }, digest, { keys: [pub("containers-image/cosign.pub")] }))).toBe(
      "UNTRUSTED_SIGNER",
    );
  });
});

describe("verifySignatures", () => {
  test("passes when one of several signatures verifies and reports the others", () => {
    const a = legacy("dir-img-cosign-valid");
    const b = legacy("dir-img-cosign-key-rekor-valid");
    const r = verifySignatures([b.sig, a.sig], a.digest, { keys: [pub("containers-image/cosign.pub")] });
    expect(r.verified.map((v) => v.source)).toEqual(["dir-img-cosign-valid layer 1"]);
    expect(r.failures).toHaveLength(1);
  });
  test("no signatures is VERIFY_FAILED", () => {
    expect(code(() => verifySignatures([], `sha256:${"0".repeat(64)}`, { keys: [pub("containers-image/cosign.pub")] }))).toBe("VERIFY_FAILED");
  });
});

describe("key types cosign verifies with (spec §1.5)", () => {
  const payloadFor = (digest: string) => new TextEncoder().encode(`{"critical":{"identity":{"docker-reference":"r/x"},"image":{"docker-manifest-digest":"${digest}"},"type":"cosign container image signature"},"optional":null}`);
  const digest = `sha256:${"ab".repeat(32)}`;
  const legacyWith = (payload: Uint8Array, sig: Uint8Array): LegacySignature => ({
    kind: "legacy",
    payload,
    annotations: { "dev.cosignproject.cosign/signature": Buffer.from(sig).toString("base64") },
    source: "t",
  });

  test("RSA PKCS#1 v1.5 / SHA-256", () => {
    const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
    const p = payloadFor(digest);
    expect(verifyLegacySignature(legacyWith(p, sign("sha256", p, privateKey)), digest, { keys: [publicKey] }).key).toMatch(/^rsa-2048 /);
  });
  test("Ed25519 pure and Ed25519ph (what cosign sign emits for Ed25519 keys); another key fails", () => {
    const { privateKey, publicKey } = generateKeyPairSync("ed25519");
    const p = payloadFor(digest);
    expect(verifyLegacySignature(legacyWith(p, sign(null, p, privateKey)), digest, { keys: [publicKey] }).key).toMatch(/^ed25519 /);
    const secret = new Uint8Array(Buffer.from(privateKey.export({ format: "jwk" }).d!, "base64url"));
    const ph = ed25519ph.sign(p, secret);
    expect(verifyLegacySignature(legacyWith(p, ph), digest, { keys: [publicKey] }).format).toBe("legacy");
    expect(code(() => verifyLegacySignature(legacyWith(p, ph), digest, { keys: [generateKeyPairSync("ed25519").publicKey] }))).toBe("VERIFY_FAILED");
  });
});
