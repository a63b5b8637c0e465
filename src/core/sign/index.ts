/** Cosign-compatible signing and verification (key-based and keyless): the public surface of `sign/`. */
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
export { embeddedTrustedRoot, embeddedTrustedRootJSON, PUBLIC_GOOD_TUF_MIRROR } from "./embedded-root.ts";
export { createKeylessSigner, type KeylessSigner, type KeylessSignerOptions } from "./keyless-signer.ts";
export { requestSigningCertificate, PUBLIC_GOOD_FULCIO_URL, type FulcioCertificate, type FulcioRequest } from "./fulcio.ts";
export { uploadEntry, hashedRekordEntry, dsseEntry, legacyRekorAnnotation, bundleTlogEntry, PUBLIC_GOOD_REKOR_URL, type RekorEntry } from "./rekor.ts";
export { tokenClaims, fetchGitHubActionsToken, SIGSTORE_AUDIENCE, type TokenClaims } from "./oidc.ts";
export { redact, type ServiceHttpOptions } from "./service-http.ts";
export type { SignatureWitness } from "./signer.ts";
