/**
 * Keyless signing (spec §1.9 step 5, §2.2): an ephemeral ECDSA P-256 key, a Fulcio certificate for
 * it bound to an OIDC identity, and a Rekor v1 entry per signature — `hashedrekord` over the
 * payload for a legacy layer, `dsse` over the envelope for a v0.3 bundle, as cosign does. The key
 * lives only in memory for this process. Before anything is pushed, each new signature can be
 * verified against a trusted root, so a wrong Fulcio/Rekor URL fails here and not at the verifier.
 */
import { X509Certificate, generateKeyPairSync } from "node:crypto";
import type { TrustMaterial } from "@sigstore/verify";
import { BUNDLE_V03_MEDIA_TYPE } from "./bundle.ts";
import { requestSigningCertificate, PUBLIC_GOOD_FULCIO_URL, type FulcioCertificate } from "./fulcio.ts";
import { verifyBundleKeyless, verifyLegacyKeyless, type IdentityMatcher } from "./keyless.ts";
import { CERTIFICATE_ANNOTATION, CHAIN_ANNOTATION, REKOR_BUNDLE_ANNOTATION, SIGNATURE_ANNOTATION } from "./legacy.ts";
import { tokenClaims } from "./oidc.ts";
import { IN_TOTO_PAYLOAD_TYPE } from "./payload.ts";
import { bundleTlogEntry, dsseEntry, hashedRekordEntry, legacyRekorAnnotation, uploadEntry, PUBLIC_GOOD_REKOR_URL } from "./rekor.ts";
import { createKeySigner, type SignatureWitness, type Signer } from "./signer.ts";
import type { ServiceHttpOptions } from "./service-http.ts";

/** Options of createKeylessSigner. */
export interface KeylessSignerOptions extends ServiceHttpOptions {
  /** OIDC identity token with audience `sigstore`. Never logged. */
  identityToken: string;
  /** Fulcio base URL. Default the public-good instance. */
  fulcioURL?: string;
  /** Rekor v1 base URL. Default the public-good instance. */
  rekorURL?: string;
  /**
   * Trust material (Fulcio CA, Rekor and CT log keys) each new signature is verified against before
   * it is pushed. Default none: no check.
   */
  verifyWith?: TrustMaterial;
  /**
   * cosign v3 leaves the legacy chain annotation empty (the verifier takes intermediates from its
   * trusted root); cosign 2.x wrote Fulcio's chain there. Default true: write it, which both accept.
   */
  legacyChain?: boolean;
}

/** A signer with a Fulcio certificate and the Rekor witness `signArtifact` needs. */
export interface KeylessSigner extends Signer {
  certificate: FulcioCertificate;
  /** The certificate's identity: first URI or email SAN, and the token's issuer. */
  identity: { subject: string; issuer: string };
  witness: SignatureWitness;
}

/** The first URI, else email, SAN of a certificate. */
function certificateSubject(der: Uint8Array): string {
  const san = new X509Certificate(Buffer.from(der)).subjectAltName ?? "";
  const parts = san.split(/,\s*/);
  const uri = parts.find((p) => p.startsWith("URI:"));
  const email = parts.find((p) => p.startsWith("email:"));
  return uri?.slice(4) ?? email?.slice(6) ?? "";
}

const ANY_IDENTITY: IdentityMatcher[] = [{ issuer: ".*", subject: ".*" }];

/** Creates an ephemeral key and gets it certified by Fulcio. Throws USAGE for a malformed token, AUTH_FAILED when Fulcio refuses it. */
export async function createKeylessSigner(o: KeylessSignerOptions): Promise<KeylessSigner> {
  const claims = tokenClaims(o.identityToken);
  const { privateKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const http: ServiceHttpOptions = { dispatcher: o.dispatcher, timeoutMs: o.timeoutMs, attempts: o.attempts, userAgent: o.userAgent };
  const certificate = await requestSigningCertificate({ ...http, signal: o.signal, fulcioURL: o.fulcioURL ?? PUBLIC_GOOD_FULCIO_URL, identityToken: o.identityToken, privateKey });
  const rekorURL = o.rekorURL ?? PUBLIC_GOOD_REKOR_URL;
  const inner = createKeySigner(privateKey);
  const witness: SignatureWitness = {
    async legacyAnnotations(payload, signature, digest, opts) {
      const entry = await uploadEntry(rekorURL, hashedRekordEntry(payload, signature, certificate.leafPem), { ...http, signal: opts.signal });
      const annotations: Record<string, string> = {
        [CERTIFICATE_ANNOTATION]: certificate.leafPem,
        [CHAIN_ANNOTATION]: o.legacyChain === false ? "" : certificate.chainPem,
        [REKOR_BUNDLE_ANNOTATION]: legacyRekorAnnotation(entry),
      };
      if (o.verifyWith) {
        const sig = { kind: "legacy" as const, payload, annotations: { ...annotations, [SIGNATURE_ANNOTATION]: Buffer.from(signature).toString("base64") }, source: "the new signature" };
        verifyLegacyKeyless(sig, digest, { material: o.verifyWith, identities: ANY_IDENTITY });
      }
      return annotations;
    },
    async bundle(statement, signature, digest, opts) {
      const entry = await uploadEntry(rekorURL, dsseEntry({ payloadType: IN_TOTO_PAYLOAD_TYPE, payload: statement, signature }, certificate.leafPem), {
        ...http,
        signal: opts.signal,
      });
      const doc = {
        mediaType: BUNDLE_V03_MEDIA_TYPE,
        verificationMaterial: { certificate: { rawBytes: Buffer.from(certificate.leaf).toString("base64") }, tlogEntries: [bundleTlogEntry(entry)] },
        // No keyid: cosign skips a DSSE signature whose keyid is not its own computed one (spec §2.5).
        dsseEnvelope: {
          payload: Buffer.from(statement).toString("base64"),
          payloadType: IN_TOTO_PAYLOAD_TYPE,
          signatures: [{ sig: Buffer.from(signature).toString("base64") }],
        },
      };
      if (o.verifyWith) {
        verifyBundleKeyless({ kind: "bundle", json: doc, source: "the new bundle" }, digest, { material: o.verifyWith, identities: ANY_IDENTITY });
      }
      return new TextEncoder().encode(JSON.stringify(doc));
    },
  };
  return { ...inner, certificate, identity: { subject: certificateSubject(certificate.leaf), issuer: claims.issuer }, witness };
}
