/**
 * The pure signature Verifier: trust material and found signatures in, a verdict or a CoreError out.
 * Key-based, with Flux's keyed semantics (spec §5 step 3): transparency-log entries and timestamps
 * are ignored, no network. On top of the cryptographic check (delegated to `@sigstore/verify` over
 * an in-memory bundle, spec §1.10) it enforces what cosign's claim verifiers check: the payload's
 * digest claim (legacy) or statement subject (bundle) equals the verified digest, requested
 * annotations match, and — stricter than cosign — bundles carry the cosign sign predicate.
 */
import { verify as cryptoVerify, type KeyObject } from "node:crypto";
import { ed25519ph } from "@noble/curves/ed25519.js";
import { bundleFromJSON, type Bundle } from "@sigstore/bundle";
import { toSignedEntity, Verifier as SigstoreVerifier, type TrustMaterial } from "@sigstore/verify";
import { CoreError, fail, isCoreError, type ErrorCode } from "../errors.ts";
import { describeKey, keyFingerprint } from "./keys.ts";
import { COSIGN_SIGN_PREDICATE, IN_TOTO_PAYLOAD_TYPE, parseSimpleSigning, parseStatement, preAuthEncoding, checkAnnotations, stringRecord } from "./payload.ts";
import { SIGNATURE_ANNOTATION } from "./legacy.ts";
import type { BundleSignature, FoundSignature, LegacySignature } from "./referrers.ts";
import { legacyBundle, verifyBundleKeyless, verifyLegacyKeyless, type KeylessTrust, type KeylessVerdict } from "./keyless.ts";

/** What a signature must be checked against: public keys, or else a trusted root with identities (keyless). */
export interface KeyTrust {
  /** Public keys any of which may have signed (Flux: every `*.pub` of the Secret). When non-empty, keyless is not used. */
  keys?: KeyObject[];
  /** Keyless trust (Fulcio + Rekor, offline). Used when no keys are given. */
  keyless?: KeylessTrust;
}

/** Options of the Verifier. */
export interface VerifyOptions {
  /** Annotations the signed payload must carry with these exact values (cosign `verify -a`). Default: none. */
  annotations?: Record<string, string>;
  /**
   * Require the bundle statement's predicate type to be cosign's image-signature predicate.
   * Default true; false accepts any attestation about the digest as cosign and Flux do.
   */
  requireSignPredicate?: boolean;
}

/** Defaults of VerifyOptions. */
export const DEFAULT_VERIFY_OPTIONS: Required<VerifyOptions> = { annotations: {}, requireSignPredicate: true };

/** One signature that passed every check. */
export interface Verdict {
  format: "legacy" | "bundle";
  /** The trusted key that verified it, as `ecdsa-p256 sha256:<hex of SPKI sha256>`, or `certificate` for keyless. */
  key: string;
  /** Index into `KeyTrust.keys` of that key; undefined for keyless. */
  keyIndex?: number;
  /** Keyless: the certificate identity that matched the policy. */
  identity?: { subject: string; issuer: string };
  /** Keyless: the Rekor integrated time, covered by the verified log proof. */
  signedAt?: string;
  /** The digest the signature is about. */
  digest: string;
  /** Annotations covered by the signature (legacy `optional`, bundle subject annotations). */
  annotations: Record<string, string>;
  /** When the signer says it signed (bundle referrer's created annotation); not covered by the signature. */
  claimedTime?: string;
  /** Where the signature was found. */
  source: string;
}

const MINIMUM_BUN = [1, 4, 1] as const;

/**
 * Bun before 1.4.1 makes `crypto.verify(undefined, …)` throw for EC keys, which `@sigstore/core`
 * turns into "signature invalid" for every DSSE check (spec §6.3). Refuse loudly instead.
 */
function checkRuntime(): void {
  const v = (process.versions as Record<string, string | undefined>).bun;
  if (!v) return;
  const parts = v.split(".").map((x) => Number.parseInt(x, 10));
  for (let i = 0; i < 3; i++) {
    if ((parts[i] ?? 0) > MINIMUM_BUN[i]!) return;
    if ((parts[i] ?? 0) < MINIMUM_BUN[i]!) fail("UNSUPPORTED", `signature verification needs Bun ${MINIMUM_BUN.join(".")} or newer (running ${v})`);
  }
}

function trustFor(key: KeyObject): TrustMaterial {
  return {
    certificateAuthorities: [],
    timestampAuthorities: [],
    tlogs: [],
    ctlogs: [],
    publicKey: () => ({ publicKey: key, validFor: () => true }),
  };
}

/** Runs the sigstore signature check with each key; returns the index of the first that verifies, or -1. */
function firstVerifyingKey(keys: KeyObject[], bundle: Bundle, artifact?: Uint8Array): number {
  for (const [i, key] of keys.entries()) {
    try {
      new SigstoreVerifier(trustFor(key), { tlogThreshold: 0, ctlogThreshold: 0, timestampThreshold: 0 }).verify(
        toSignedEntity(bundle, artifact === undefined ? undefined : Buffer.from(artifact)),
      );
      return i;
    } catch {
      // Try the next key; which key failed and why is not useful to the user.
    }
  }
  return -1;
}

/**
 * Ed25519 keys, checked here because `@sigstore/verify` passes SHA-256 as the algorithm for message
 * signatures, which Ed25519 refuses. Pure Ed25519 first (what cosign and Flux verify), then
 * Ed25519ph (SHA-512 prehash), which is what `cosign sign` emits for Ed25519 keys (spec §1.5) and
 * node:crypto cannot check.
 */
function firstEd25519Key(keys: KeyObject[], message: Uint8Array, signature: Uint8Array): number {
  for (const [i, key] of keys.entries()) {
    if (key.asymmetricKeyType !== "ed25519") continue;
    try {
      if (cryptoVerify(null, message, key, signature)) return i;
      const x = key.export({ format: "jwk" }).x;
      if (x && ed25519ph.verify(signature, message, new Uint8Array(Buffer.from(x, "base64url")))) return i;
    } catch {
      // A malformed signature is just a non-match.
    }
  }
  return -1;
}

/** Verifies one legacy `.sig` layer for `digest`. Throws VERIFY_FAILED. */
export function verifyLegacySignature(sig: LegacySignature, digest: string, trust: KeyTrust, options: VerifyOptions = {}): Verdict {
  checkRuntime();
  const o = { ...DEFAULT_VERIFY_OPTIONS, ...options };
  const b64 = sig.annotations[SIGNATURE_ANNOTATION];
  if (!b64) fail("VERIFY_FAILED", `${sig.source}: layer has no ${SIGNATURE_ANNOTATION} annotation`);
  // Rekor entries, certificates and timestamps are left out on purpose: keyed verification ignores the tlog, as Flux does.
  const bundle = legacyBundle(sig.payload, b64, {
    content: { $case: "publicKey", publicKey: { hint: "" } },
    tlogEntries: [],
    timestampVerificationData: { rfc3161Timestamps: [] },
  });
  const keys = requireKeys(trust);
  let i = firstVerifyingKey(keys, bundle, sig.payload);
  if (i < 0) i = firstEd25519Key(keys, sig.payload, new Uint8Array(Buffer.from(b64, "base64")));
  if (i < 0) fail("VERIFY_FAILED", `${sig.source}: signature does not verify with ${keysPhrase(trust)}`);
  const claims = parseSimpleSigning(sig.payload);
  if (claims.digest !== digest) fail("VERIFY_FAILED", `${sig.source}: signed payload is for ${claims.digest}, not ${digest}`);
  checkAnnotations(claims.optional, o.annotations, sig.source);
  return { format: "legacy", key: describeKey(keys[i]!), keyIndex: i, digest, annotations: stringRecord(claims.optional), source: sig.source };
}

/** Verifies one Sigstore bundle (cosign v3 format) for `digest`. Throws VERIFY_FAILED or UNTRUSTED_SIGNER. */
export function verifyBundleSignature(sig: BundleSignature, digest: string, trust: KeyTrust, options: VerifyOptions = {}): Verdict {
  checkRuntime();
  const o = { ...DEFAULT_VERIFY_OPTIONS, ...options };
  let bundle: Bundle;
  try {
    bundle = bundleFromJSON(sig.json);
  } catch (e) {
    throw new CoreError({ code: "VERIFY_FAILED", message: `referrer ${sig.source}: invalid Sigstore bundle: ${(e as Error).message}`, cause: e });
  }
  const content = bundle.content;
  if (content.$case !== "dsseEnvelope") fail("VERIFY_FAILED", `referrer ${sig.source}: bundle holds a ${content.$case}, but image signatures are DSSE envelopes`);
  const vm = bundle.verificationMaterial.content;
  if (vm.$case !== "publicKey") fail("UNTRUSTED_SIGNER", `referrer ${sig.source}: bundle was signed with a certificate (keyless); verify it with an identity, not a key`);
  const env = content.dsseEnvelope;
  if (env.payloadType !== IN_TOTO_PAYLOAD_TYPE) fail("VERIFY_FAILED", `referrer ${sig.source}: DSSE payload type is ${env.payloadType}, want ${IN_TOTO_PAYLOAD_TYPE}`);
  // Offline keyed mode: drop log entries and timestamps instead of failing on a log we do not trust.
  const offline = { ...bundle, verificationMaterial: { ...bundle.verificationMaterial, tlogEntries: [], timestampVerificationData: undefined } } as Bundle;
  const keys = requireKeys(trust);
  let i = firstVerifyingKey(keys, offline);
  if (i < 0 && env.signatures.length === 1) {
    i = firstEd25519Key(keys, preAuthEncoding(env.payloadType, new Uint8Array(env.payload)), new Uint8Array(env.signatures[0]!.sig));
  }
  if (i < 0) {
    const hint = vm.publicKey.hint;
    const known = keys.some((k) => Buffer.from(keyFingerprint(k)).toString("base64") === hint);
    const code: ErrorCode = hint && !known ? "UNTRUSTED_SIGNER" : "VERIFY_FAILED";
    fail(code, `referrer ${sig.source}: DSSE signature does not verify with ${keysPhrase(trust)}${code === "UNTRUSTED_SIGNER" ? " (signed by another key)" : ""}`);
  }
  const st = parseStatement(new Uint8Array(env.payload));
  if (o.requireSignPredicate && st.predicateType !== COSIGN_SIGN_PREDICATE) {
    fail("VERIFY_FAILED", `referrer ${sig.source}: statement predicate is ${st.predicateType}, not a cosign signature (${COSIGN_SIGN_PREDICATE})`);
  }
  const [alg, hex] = [digest.slice(0, digest.indexOf(":")), digest.slice(digest.indexOf(":") + 1)];
  const subject = st.subjects.find((s) => s.digest[alg] === hex);
  if (!subject) fail("VERIFY_FAILED", `referrer ${sig.source}: signed statement is not about ${digest}`);
  checkAnnotations(subject.annotations, o.annotations, `referrer ${sig.source}`);
  return {
    format: "bundle",
    key: describeKey(keys[i]!),
    keyIndex: i,
    digest,
    annotations: stringRecord(subject.annotations),
    claimedTime: sig.created,
    source: `referrer ${sig.source}`,
  };
}

/** The outcome over all signatures found: those that passed and why the others failed. */
export interface VerifyResult {
  verified: Verdict[];
  failures: CoreError[];
}

/**
 * Verifies every signature independently (cosign semantics: verified when at least one passes).
 * Throws VERIFY_FAILED when there are none, or the first failure's code when none pass; the
 * message lists every failure.
 */
export function verifySignatures(sigs: FoundSignature[], digest: string, trust: KeyTrust, options: VerifyOptions = {}): VerifyResult {
  const keyed = (trust.keys?.length ?? 0) > 0;
  if (!keyed && !trust.keyless) fail("USAGE", "no public key or trusted root to verify with");
  if (sigs.length === 0) fail("VERIFY_FAILED", `no signatures found for ${digest}`, { digest, hint: "sign it with `berth sign artifact` or `cosign sign`" });
  const verified: Verdict[] = [];
  const failures: CoreError[] = [];
  for (const s of sigs) {
    try {
      if (keyed) verified.push(s.kind === "legacy" ? verifyLegacySignature(s, digest, trust, options) : verifyBundleSignature(s, digest, trust, options));
      else verified.push(keylessVerdict(s, digest, trust.keyless!, options));
    } catch (e) {
      if (!isCoreError(e)) throw e;
      failures.push(e);
    }
  }
  if (verified.length === 0) {
    const code: ErrorCode = failures.every((f) => f.code === "UNTRUSTED_SIGNER") ? "UNTRUSTED_SIGNER" : "VERIFY_FAILED";
    fail(code, `no matching signatures for ${digest}: ${failures.map((f) => f.message).join("; ")}`, { digest });
  }
  return { verified, failures };
}

function keysPhrase(t: KeyTrust): string {
  const keys = t.keys ?? [];
  return keys.length === 1 ? `the key ${describeKey(keys[0]!)}` : `any of ${keys.length} keys`;
}

function requireKeys(t: KeyTrust): KeyObject[] {
  if (!t.keys?.length) fail("USAGE", "no public key to verify with");
  return t.keys;
}

function keylessVerdict(s: FoundSignature, digest: string, trust: KeylessTrust, options: VerifyOptions): Verdict {
  checkRuntime();
  const o = { ...DEFAULT_VERIFY_OPTIONS, ...options };
  const v: KeylessVerdict =
    s.kind === "legacy"
      ? verifyLegacyKeyless(s, digest, trust, o.annotations)
      : verifyBundleKeyless(s, digest, trust, { annotations: o.annotations, requireSignPredicate: o.requireSignPredicate });
  return {
    format: s.kind,
    key: "certificate",
    identity: { subject: v.subject, issuer: v.issuer },
    signedAt: v.signedAt,
    digest,
    annotations: v.annotations,
    claimedTime: s.kind === "bundle" ? s.created : undefined,
    source: s.kind === "bundle" ? `referrer ${s.source}` : s.source,
  };
}
