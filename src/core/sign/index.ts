/** Cosign-compatible signing and verification (key-based): the public surface of `sign/`. */
export { signArtifact, DEFAULT_SIGN_ARTIFACT_OPTIONS, type SignArtifactOptions, type SignArtifactResult, type SignatureFormat } from "./attach.ts";
export {
  decryptCosignKey,
  encryptCosignKey,
  generateKeyPair,
  loadPrivateKey,
  loadPublicKey,
  publicKeyPem,
  keyFingerprint,
  describeKey,
  type GeneratedKeyPair,
} from "./keys.ts";
export { createKeySigner, type Signer } from "./signer.ts";
export { findSignatures, findBundles, findLegacySignatures, listReferrers, type FoundSignature, type FoundSignatures, type ReferrerLister } from "./referrers.ts";
export {
  verifySignatures,
  verifyLegacySignature,
  verifyBundleSignature,
  DEFAULT_VERIFY_OPTIONS,
  type KeyTrust,
  type Verdict,
  type VerifyOptions,
  type VerifyResult,
} from "./verifier.ts";
export { parseTrustedRoot, verifyLegacyKeyless, verifyBundleKeyless, type IdentityMatcher, type KeylessTrust, type KeylessVerdict } from "./keyless.ts";
export { signatureTag, referrersTag, SIMPLE_SIGNING_MEDIA_TYPE, SIGNATURE_ANNOTATION } from "./legacy.ts";
export { BUNDLE_V03_MEDIA_TYPE } from "./bundle.ts";
export { signatureStatuses, type SignatureStatus } from "./status.ts";
export { embeddedTrustedRoot } from "./embedded-root.ts";
