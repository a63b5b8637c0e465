import { describe, expect, test } from "bun:test";
import { generateKeyPairSync, verify } from "node:crypto";
import { MemoryStore } from "../../../../src/core/content/memory-store.ts";
import { readAll } from "../../../../src/core/oci/digest.ts";
import { encodeIndex, encodeManifest, parseManifest } from "../../../../src/core/oci/manifest.ts";
import { OCI_INDEX, OCI_MANIFEST } from "../../../../src/core/oci/media-types.ts";
import { signArtifact } from "../../../../src/core/sign/attach.ts";
import { encodeBundleReferrer, BUNDLE_V03_MEDIA_TYPE } from "../../../../src/core/sign/bundle.ts";
import { keyFingerprint } from "../../../../src/core/sign/keys.ts";
import { encodeSignatureImage, signatureLayer, signatureTag } from "../../../../src/core/sign/legacy.ts";
import { cosignStatement, preAuthEncoding, simpleSigningPayload } from "../../../../src/core/sign/payload.ts";
import { COSIGN_SIG_ARTIFACT_TYPE, findSignatures, isBundleV03OrLater } from "../../../../src/core/sign/referrers.ts";
import { createKeySigner } from "../../../../src/core/sign/signer.ts";
import { verifySignatures } from "../../../../src/core/sign/verifier.ts";
import { vectorBytes as raw } from "../../../fixtures/cosign-vectors.ts";

const text = (b: Uint8Array) => new TextDecoder().decode(b);

describe("byte formats against cosign's (vectors derived/)", () => {
  for (const dir of ["dir-img-cosign-valid", "dir-img-cosign-key-rekor-valid"]) {
    test(`${dir}: payload, config and manifest bytes equal cosign's`, () => {
      const want = raw(`derived/${dir}/payload.json`);
      const claims = JSON.parse(want.toString("utf8"));
      const payload = simpleSigningPayload(claims.critical.identity["docker-reference"], claims.critical.image["docker-manifest-digest"]);
      expect(text(payload)).toBe(want.toString("utf8"));
      const ann = JSON.parse(raw(`derived/${dir}/layer-annotations.json`).toString("utf8"));
      const { "dev.cosignproject.cosign/signature": sig, ...extra } = ann;
      const enc = encodeSignatureImage({ mediaType: "application/vnd.oci.image.manifest.v1+json", layers: [signatureLayer(payload, sig, extra)] });
      expect(text(enc.configBytes)).toBe(raw(`derived/${dir}/sig-config.json`).toString("utf8"));
      expect(text(enc.manifestBytes)).toBe(raw(`derived/${dir}/sig-manifest.json`).toString("utf8"));
      expect(signatureTag(claims.critical.image["docker-manifest-digest"])).toBe(raw(`derived/${dir}/TAG`).toString("utf8").trim());
    });
  }
  test("optional annotations are sorted and Go-escaped", () => {
    const p = text(simpleSigningPayload("r/x", "sha256:ab", { z: "1", a: "<&>" }));
    expect(p).toBe('{"critical":{"identity":{"docker-reference":"r/x"},"image":{"docker-manifest-digest":"sha256:ab"},"type":"cosign container image signature"},"optional":{"a":"\\u003c\\u0026\\u003e","z":"1"}}');
  });
  test("the in-toto statement equals the one in cosign v3's captured bundle", () => {
    const b = JSON.parse(raw("tamago-uefi/live-cosign-v3.bundle.json").toString("utf8"));
    const theirs = JSON.parse(Buffer.from(b.dsseEnvelope.payload, "base64").toString("utf8"));
    const ours = JSON.parse(text(cosignStatement(`sha256:${theirs.subject[0].digest.sha256}`)));
    expect(ours).toEqual(theirs);
  });
  test("PAE is DSSE's", () => {
    expect(text(preAuthEncoding("t/x", new TextEncoder().encode("héllo")))).toBe("DSSEv1 3 t/x 6 héllo");
  });
  test("referrer manifest carries subject, artifactType and cosign's annotations", () => {
    const subject = { mediaType: "application/vnd.oci.image.manifest.v1+json", digest: `sha256:${"a".repeat(64)}`, size: 10 };
    const r = encodeBundleReferrer(new TextEncoder().encode("{}"), subject, new Date("2026-11-28T03:04:05.678Z"));
    const m = JSON.parse(text(r.manifestBytes));
    expect(m.artifactType).toBe(BUNDLE_V03_MEDIA_TYPE);
    expect(m.config).toEqual({ mediaType: "application/vnd.oci.empty.v1+json", size: 2, digest: "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a" });
    expect(m.subject).toEqual(subject);
    expect(m.annotations).toEqual({
      "dev.sigstore.bundle.content": "dsse-envelope",
      "dev.sigstore.bundle.predicateType": "https://sigstore.dev/cosign/sign/v1",
      "org.opencontainers.image.created": "2026-11-28T03:04:05Z",
    });
  });
  test("bundle versions below v0.3 are not discovered", () => {
    expect(isBundleV03OrLater("application/vnd.dev.sigstore.bundle.v0.3+json")).toBe(true);
    expect(isBundleV03OrLater("application/vnd.dev.sigstore.bundle+json;version=0.3")).toBe(true);
    expect(isBundleV03OrLater("application/vnd.dev.sigstore.bundle+json;version=0.2")).toBe(false);
    expect(isBundleV03OrLater(undefined)).toBe(false);
  });
});

async function subjectIn(store: MemoryStore) {
  const config = await store.add("application/vnd.oci.empty.v1+json", new TextEncoder().encode("{}"));
  const bytes = new TextEncoder().encode(JSON.stringify({ schemaVersion: 2, mediaType: "application/vnd.oci.image.manifest.v1+json", config, layers: [] }));
  const desc = await store.add("application/vnd.oci.image.manifest.v1+json", bytes);
  await store.tag(desc, "v1");
  return desc;
}

describe("sign → find → verify over an in-memory target", () => {
  const key = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const other = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const signer = createKeySigner(key.privateKey);

  test("legacy: appends, de-duplicates, verifies, refuses another key", async () => {
    const store = new MemoryStore();
    const subject = await subjectIn(store);
    const r1 = await signArtifact(store, subject, "example.com/app", signer, { format: "legacy" });
    expect(r1).toMatchObject({ format: "legacy", tag: signatureTag(subject.digest), pushed: true });
    const r2 = await signArtifact(store, subject, "example.com/app", signer, { format: "legacy" });
    expect(r2.pushed).toBe(false);
    await signArtifact(store, subject, "example.com/app", signer, { format: "legacy", annotations: { env: "prod" } });
    await signArtifact(store, subject, "example.com/app", createKeySigner(other.privateKey), { format: "legacy" });
    const found = await findSignatures(store, subject.digest);
    expect(found.bundles).toEqual([]);
    expect(found.legacy).toHaveLength(3);
    const m = parseManifest(await readAll(await store.fetch(await store.resolve(signatureTag(subject.digest))), 1 << 20));
    expect(m.kind === "manifest" && JSON.parse(text(await readAll(await store.fetch(m.manifest.config), 1 << 20))).rootfs.diff_ids).toHaveLength(3);
    const r = verifySignatures([...found.legacy], subject.digest, { keys: [key.publicKey] }, { annotations: { env: "prod" } });
    expect(r.verified.map((v) => v.annotations)).toEqual([{ env: "prod" }]);
    expect(r.failures).toHaveLength(2);
    const third = generateKeyPairSync("ec", { namedCurve: "P-256" });
    expect(() => verifySignatures(found.legacy, subject.digest, { keys: [third.publicKey] })).toThrow(/no matching signatures/);
  });

  test("bundle: referrer + tag-schema index, keyless DSSE keyid, verifies; two signatures = two referrers", async () => {
    const store = new MemoryStore();
    const subject = await subjectIn(store);
    let t = 0;
    const now = () => new Date(Date.UTC(2026, 10, 28, 3, 0, t++));
    const r1 = await signArtifact(store, subject, "example.com/app", signer, { now });
    expect(r1).toMatchObject({ format: "bundle", tag: subject.digest.replace(":", "-"), pushed: true });
    await signArtifact(store, subject, "example.com/app", createKeySigner(other.privateKey), { now, annotations: { team: "a" } });
    const found = await findSignatures(store, subject.digest);
    expect(found.bundles).toHaveLength(2);
    expect(found.legacy).toEqual([]);
    for (const b of found.bundles) {
      const j = b.json as { dsseEnvelope: { signatures: Array<Record<string, string>> }; verificationMaterial: { publicKey: { hint: string } } };
      expect(Object.keys(j.dsseEnvelope.signatures[0]!)).toEqual(["sig"]);
    }
    const hint = Buffer.from(keyFingerprint(key.publicKey)).toString("base64");
    expect(found.bundles.some((b) => (b.json as { verificationMaterial: { publicKey: { hint: string } } }).verificationMaterial.publicKey.hint === hint)).toBe(true);
    const r = verifySignatures(found.bundles, subject.digest, { keys: [key.publicKey] });
    expect(r.verified).toHaveLength(1);
    expect(r.verified[0]!.claimedTime).toMatch(/^2026-11-28T03:00:0\dZ$/);
    expect(r.failures.map((f) => f.code)).toEqual(["UNTRUSTED_SIGNER"]);
    // The DSSE signature is over PAE of the statement, verifiable by hand too.
    const j = found.bundles[0]!.json as { dsseEnvelope: { payload: string; payloadType: string; signatures: Array<{ sig: string }> } };
    const pae = preAuthEncoding(j.dsseEnvelope.payloadType, new Uint8Array(Buffer.from(j.dsseEnvelope.payload, "base64")));
    const ok = [key.publicKey, other.publicKey].some((k) => verify("sha256", pae, k, Buffer.from(j.dsseEnvelope.signatures[0]!.sig, "base64")));
    expect(ok).toBe(true);
  });
});

describe("targets with a referrers API", () => {
  test("bundle signing leaves the tag schema alone when the target lists referrers itself", async () => {
    const store = new MemoryStore();
    const subject = await subjectIn(store);
    const pushed: string[] = [];
    // A target that answers referrers like a registry with the OCI 1.1 API: from manifests pushed with a subject.
    const withApi = Object.assign(Object.create(store) as MemoryStore, {
      async push(desc: { digest: string; mediaType: string; size: number }, content: Uint8Array) {
        await store.push(desc, content);
        if (desc.mediaType === "application/vnd.oci.image.manifest.v1+json" && JSON.parse(text(content)).subject) pushed.push(desc.digest);
      },
      async referrers() {
        return pushed.map((digest) => ({ mediaType: "application/vnd.oci.image.manifest.v1+json", digest, size: 0, artifactType: BUNDLE_V03_MEDIA_TYPE }));
      },
    });
    const signer = createKeySigner(generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey);
    const r = await signArtifact(withApi, subject, "example.com/app", signer);
    expect(r.tag).toBeUndefined();
    expect(pushed).toEqual([r.signatureManifest]);
    expect(await store.tags()).toEqual(["v1"]);
  });
});

describe("legacy signature image as an OCI 1.1 referrer (spec §1.8)", () => {
  test("is found when there is no .sig tag, and verifies", async () => {
    const store = new MemoryStore();
    const subject = await subjectIn(store);
    const key = generateKeyPairSync("ec", { namedCurve: "P-256" });
    const payload = simpleSigningPayload("example.com/app", subject.digest);
    const layer = signatureLayer(payload, Buffer.from(await createKeySigner(key.privateKey).sign(payload)).toString("base64"));
    await store.push(layer, payload);
    const config = await store.add(COSIGN_SIG_ARTIFACT_TYPE, new TextEncoder().encode("{}"));
    const m = encodeManifest({ schemaVersion: 2, mediaType: OCI_MANIFEST, artifactType: COSIGN_SIG_ARTIFACT_TYPE, config, layers: [layer], subject });
    const md = await store.add(OCI_MANIFEST, m);
    const ix = encodeIndex({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [{ ...md, artifactType: COSIGN_SIG_ARTIFACT_TYPE }] });
    await store.tag(await store.add(OCI_INDEX, ix), subject.digest.replace(":", "-"));
    const found = await findSignatures(store, subject.digest);
    expect(found.bundles).toEqual([]);
    expect(found.legacy.map((l) => l.source)).toEqual([`referrer ${md.digest} layer 1`]);
    expect(verifySignatures(found.legacy, subject.digest, { keys: [key.publicKey] }).verified).toHaveLength(1);
  });
});
