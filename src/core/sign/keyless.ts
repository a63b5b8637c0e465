/**
 * Keyless (Fulcio certificate + Rekor) verification, offline against a trusted root file (spec §4,
 * §1.10, §2.5). The cryptography — certificate path to a Fulcio CA valid at the signing time, SCT,
 * Rekor SET/inclusion proof, signature — is `@sigstore/verify`'s with its default thresholds (1 tlog
 * entry, 1 SCT, 1 timestamp). Added here, as cosign does: the code-signing EKU, the Rekor entry's key
 * equals the certificate, the identity policy (Go RE2, unanchored, OR over matchers; none = reject),
 * and the payload's digest claim. Pure: no network, no TUF.
 */
import { createHash, X509Certificate as NodeX509 } from "node:crypto";
import { bundleFromJSON, type Bundle } from "@sigstore/bundle";
import { HashAlgorithm, TrustedRoot } from "@sigstore/protobuf-specs";
import { toSignedEntity, toTrustMaterial, Verifier as SigstoreVerifier, type TrustMaterial } from "@sigstore/verify";
import { CoreError, fail } from "../errors.ts";
import { compileGoRegexp } from "../semver/go-regexp.ts";
import { parsePem } from "./keys.ts";
import { CERTIFICATE_ANNOTATION, REKOR_BUNDLE_ANNOTATION, SIGNATURE_ANNOTATION } from "./legacy.ts";
import { COSIGN_SIGN_PREDICATE, IN_TOTO_PAYLOAD_TYPE, parseSimpleSigning, parseStatement, checkAnnotations, stringRecord } from "./payload.ts";
import type { BundleSignature, LegacySignature } from "./referrers.ts";

/** Layer annotation holding an RFC 3161 timestamp for the signature. */
export const RFC3161_ANNOTATION = "dev.sigstore.cosign/rfc3161timestamp";
const CODE_SIGNING_EKU = "1.3.6.1.5.5.7.3.3";

/** One accepted identity, as Flux's `matchOIDCIdentity`: both Go RE2 regexps, unanchored. */
export interface IdentityMatcher {
  issuer: string;
  subject: string;
}

/** Trust for keyless signatures: a Sigstore trusted root and the identities allowed to sign. */
export interface KeylessTrust {
  /** Parsed with `parseTrustedRoot`. */
  material: TrustMaterial;
  /** OR-ed; an empty list rejects every signature. */
  identities: IdentityMatcher[];
}

/** What a keyless verification proved. */
export interface KeylessVerdict {
  /** The certificate's SAN (URI, else email) that matched. */
  subject: string;
  /** OIDC issuer from the certificate (Fulcio extension .8, else .1). */
  issuer: string;
  /** Rekor integrated time (RFC 3339), when a v1 entry gave one; covered by the verified SET or proof. */
  signedAt?: string;
  /** Annotations covered by the signature. */
  annotations: Record<string, string>;
}

/** Parses a `trusted_root.json` (protobuf-specs TrustedRoot JSON). Throws USAGE. */
export function parseTrustedRoot(json: unknown): TrustMaterial {
  try {
    return toTrustMaterial(TrustedRoot.fromJSON(json));
  } catch (e) {
    throw new CoreError({ code: "USAGE", message: `invalid trusted root: ${(e as Error).message}`, cause: e });
  }
}

/** Compiles identity matchers once; throws USAGE for an invalid regexp. */
function compileIdentities(ids: IdentityMatcher[]): Array<{ issuer: (s: string) => boolean; subject: (s: string) => boolean; src: IdentityMatcher }> {
  return ids.map((m) => {
    const i = compileGoRegexp(m.issuer);
    const s = compileGoRegexp(m.subject);
    if (!i.ok) fail("USAGE", `invalid issuer regexp ${JSON.stringify(m.issuer)}: ${i.error}`);
    if (!s.ok) fail("USAGE", `invalid subject regexp ${JSON.stringify(m.subject)}: ${s.error}`);
    return { issuer: i.test, subject: s.test, src: m };
  });
}

function sigstoreVerify(material: TrustMaterial, bundle: Bundle, source: string, artifact?: Uint8Array): { subject: string; issuer: string } {
  try {
    const signer = new SigstoreVerifier(material).verify(toSignedEntity(bundle, artifact === undefined ? undefined : Buffer.from(artifact)));
    return { subject: signer.identity?.subjectAlternativeName ?? "", issuer: signer.identity?.extensions?.issuer ?? "" };
  } catch (e) {
    throw new CoreError({ code: "VERIFY_FAILED", message: `${source}: ${(e as Error).message}`, cause: e });
  }
}

function checkLeaf(der: Uint8Array, source: string): void {
  let eku: string[] | undefined;
  try {
    eku = new NodeX509(Buffer.from(der)).keyUsage;
  } catch (e) {
    throw new CoreError({ code: "VERIFY_FAILED", message: `${source}: signing certificate does not parse`, cause: e });
  }
  if (!eku?.includes(CODE_SIGNING_EKU)) fail("VERIFY_FAILED", `${source}: signing certificate lacks the code-signing extended key usage`);
}

function checkIdentity(trust: KeylessTrust, got: { subject: string; issuer: string }, source: string): void {
  if (trust.identities.length === 0) fail("UNTRUSTED_SIGNER", `${source}: no identity is trusted; give an issuer and a subject to accept`);
  const ok = compileIdentities(trust.identities).some((m) => m.issuer(got.issuer) && m.subject(got.subject));
  if (!ok) fail("UNTRUSTED_SIGNER", `${source}: signed by ${got.subject} (issuer ${got.issuer}), which matches no trusted identity`);
}

/** The certificate DER named by a Rekor entry body (hashedrekord 0.0.1 or dsse 0.0.1), if the shape is known. */
function bodyCertificate(body: Uint8Array): Uint8Array | undefined {
  let j: { kind?: string; spec?: { signature?: { publicKey?: { content?: string } }; signatures?: Array<{ verifier?: string }> } };
  try {
    j = JSON.parse(new TextDecoder().decode(body));
  } catch {
    return undefined;
  }
  const b64 = j.kind === "hashedrekord" ? j.spec?.signature?.publicKey?.content : j.kind === "dsse" ? j.spec?.signatures?.[0]?.verifier : undefined;
  if (!b64) return undefined;
  return parsePem(Buffer.from(b64, "base64").toString("utf8"))?.der;
}

function checkTlogKey(bundle: Bundle, leaf: Uint8Array, source: string): void {
  for (const e of bundle.verificationMaterial.tlogEntries) {
    const cert = bodyCertificate(new Uint8Array(e.canonicalizedBody));
    if (cert && !Buffer.from(cert).equals(Buffer.from(leaf))) fail("VERIFY_FAILED", `${source}: the Rekor entry names another certificate than the signature's`);
  }
}

function integratedTime(bundle: Bundle): string | undefined {
  const t = bundle.verificationMaterial.tlogEntries.map((e) => Number(e.integratedTime)).filter((n) => n > 0);
  return t.length ? new Date(Math.min(...t) * 1000).toISOString().replace(/\.000Z$/, "Z") : undefined;
}

/** Verifies a legacy `.sig` layer carrying a Fulcio certificate and a Rekor proof. */
export function verifyLegacyKeyless(sig: LegacySignature, digest: string, trust: KeylessTrust, annotations: Record<string, string> = {}): KeylessVerdict {
  const src = sig.source;
  const b64 = sig.annotations[SIGNATURE_ANNOTATION];
  if (!b64) fail("VERIFY_FAILED", `${src}: layer has no ${SIGNATURE_ANNOTATION} annotation`);
  const certPem = sig.annotations[CERTIFICATE_ANNOTATION];
  const leaf = certPem ? parsePem(certPem)?.der : undefined;
  if (!leaf) fail("VERIFY_FAILED", `${src}: layer has no signing certificate, so it can only be verified with a key`);
  const tlogEntries = [];
  const rekor = sig.annotations[REKOR_BUNDLE_ANNOTATION];
  if (rekor) {
    try {
      const rb = JSON.parse(rekor) as { SignedEntryTimestamp: string; Payload: { body: string; integratedTime: number; logIndex: number; logID: string } };
      const body = Buffer.from(rb.Payload.body, "base64");
      const bj = JSON.parse(body.toString("utf8")) as { kind: string; apiVersion: string };
      tlogEntries.push({
        logIndex: String(rb.Payload.logIndex),
        logId: { keyId: Buffer.from(rb.Payload.logID, "hex") },
        kindVersion: { kind: bj.kind, version: bj.apiVersion },
        integratedTime: String(rb.Payload.integratedTime),
        inclusionPromise: { signedEntryTimestamp: Buffer.from(rb.SignedEntryTimestamp, "base64") },
        inclusionProof: undefined,
        canonicalizedBody: body,
      });
    } catch (e) {
      throw new CoreError({ code: "VERIFY_FAILED", message: `${src}: the ${REKOR_BUNDLE_ANNOTATION} annotation is malformed`, cause: e });
    }
  }
  const rfc3161 = [];
  const ts = sig.annotations[RFC3161_ANNOTATION];
  if (ts) {
    try {
      rfc3161.push({ signedTimestamp: Buffer.from((JSON.parse(ts) as { SignedRFC3161Timestamp: string }).SignedRFC3161Timestamp, "base64") });
    } catch (e) {
      throw new CoreError({ code: "VERIFY_FAILED", message: `${src}: the ${RFC3161_ANNOTATION} annotation is malformed`, cause: e });
    }
  }
  const bundle = legacyBundle(sig.payload, b64, {
    content: { $case: "x509CertificateChain", x509CertificateChain: { certificates: [{ rawBytes: Buffer.from(leaf) }] } },
    tlogEntries,
    timestampVerificationData: { rfc3161Timestamps: rfc3161 },
  });
  checkLeaf(leaf, src);
  const who = sigstoreVerify(trust.material, bundle, src, sig.payload);
  checkTlogKey(bundle, leaf, src);
  checkIdentity(trust, who, src);
  const claims = parseSimpleSigning(sig.payload);
  if (claims.digest !== digest) fail("VERIFY_FAILED", `${src}: signed payload is for ${claims.digest}, not ${digest}`);
  checkAnnotations(claims.optional, annotations, src);
  return { ...who, signedAt: integratedTime(bundle), annotations: stringRecord(claims.optional) };
}

/** Verifies a keyless Sigstore bundle (DSSE, certificate) found as a referrer. */
export function verifyBundleKeyless(
  sig: BundleSignature,
  digest: string,
  trust: KeylessTrust,
  opts: { annotations?: Record<string, string>; requireSignPredicate?: boolean } = {},
): KeylessVerdict {
  const src = `referrer ${sig.source}`;
  let bundle: Bundle;
  try {
    bundle = bundleFromJSON(sig.json);
  } catch (e) {
    throw new CoreError({ code: "VERIFY_FAILED", message: `${src}: invalid Sigstore bundle: ${(e as Error).message}`, cause: e });
  }
  if (bundle.content.$case !== "dsseEnvelope") fail("VERIFY_FAILED", `${src}: bundle holds a ${bundle.content.$case}, but image signatures are DSSE envelopes`);
  const vm = bundle.verificationMaterial.content;
  const leaf = vm.$case === "certificate" ? vm.certificate.rawBytes : vm.$case === "x509CertificateChain" ? vm.x509CertificateChain.certificates[0]?.rawBytes : undefined;
  if (!leaf) fail("UNTRUSTED_SIGNER", `${src}: bundle was signed with a key, not a certificate; verify it with --key`);
  const env = bundle.content.dsseEnvelope;
  if (env.payloadType !== IN_TOTO_PAYLOAD_TYPE) fail("VERIFY_FAILED", `${src}: DSSE payload type is ${env.payloadType}, want ${IN_TOTO_PAYLOAD_TYPE}`);
  checkLeaf(new Uint8Array(leaf), src);
  const who = sigstoreVerify(trust.material, bundle, src);
  checkTlogKey(bundle, new Uint8Array(leaf), src);
  checkIdentity(trust, who, src);
  const st = parseStatement(new Uint8Array(env.payload));
  if ((opts.requireSignPredicate ?? true) && st.predicateType !== COSIGN_SIGN_PREDICATE) {
    fail("VERIFY_FAILED", `${src}: statement predicate is ${st.predicateType}, not a cosign signature (${COSIGN_SIGN_PREDICATE})`);
  }
  const i = digest.indexOf(":");
  const subject = st.subjects.find((s) => s.digest[digest.slice(0, i)] === digest.slice(i + 1));
  if (!subject) fail("VERIFY_FAILED", `${src}: signed statement is not about ${digest}`);
  checkAnnotations(subject.annotations, opts.annotations ?? {}, src);
  return { ...who, signedAt: integratedTime(bundle), annotations: stringRecord(subject.annotations) };
}

/**
 * Wraps a legacy `.sig` layer (payload + base64 signature) in an in-memory v0.1 message-signature
 * bundle so @sigstore/verify can check it. Never serialised, so the v0.3 shape rules do not apply
 * (spec §1.10). Used for keyed and keyless legacy signatures alike.
 */
export function legacyBundle(payload: Uint8Array, signatureB64: string, verificationMaterial: Record<string, unknown>): Bundle {
  return {
    mediaType: "application/vnd.dev.sigstore.bundle+json;version=0.1",
    verificationMaterial,
    content: {
      $case: "messageSignature",
      messageSignature: {
        messageDigest: { algorithm: HashAlgorithm.SHA2_256, digest: createHash("sha256").update(payload).digest() },
        signature: Buffer.from(signatureB64, "base64"),
      },
    },
  } as unknown as Bundle;
}
