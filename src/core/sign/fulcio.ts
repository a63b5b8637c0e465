/**
 * Fulcio's v2 signing-certificate API (spec §4.1): trade an OIDC identity token plus a proof of
 * possession of an ephemeral key for a short-lived code-signing certificate with an embedded SCT.
 */
import { X509Certificate, createPublicKey, sign as cryptoSign, type KeyObject } from "node:crypto";
import { CoreError, fail } from "../errors.ts";
import { encodePem, parsePem, publicKeyPem } from "./keys.ts";
import { tokenClaims } from "./oidc.ts";
import { serviceJSON, type ServiceHttpOptions } from "./service-http.ts";

/** The public-good Fulcio instance. */
export const PUBLIC_GOOD_FULCIO_URL = "https://fulcio.sigstore.dev";

/** A certificate Fulcio issued: the leaf first, then its issuers (intermediates, root), as DER and PEM. */
export interface FulcioCertificate {
  leaf: Uint8Array;
  leafPem: string;
  /** Issuing chain after the leaf, as Fulcio returned it (may be empty). */
  chain: Uint8Array[];
  chainPem: string;
}

/** Options of requestSigningCertificate. */
export interface FulcioRequest extends ServiceHttpOptions {
  /** Fulcio base URL. */
  fulcioURL: string;
  /** OIDC identity token (audience `sigstore`). */
  identityToken: string;
  /** The ephemeral private key; its public half goes into the certificate. */
  privateKey: KeyObject;
}

/**
 * Requests a signing certificate (`POST /api/v2/signingCert`). The proof of possession is a
 * signature over the token's subject (sub, or email for email issuers) with the ephemeral key.
 * Checks that the certificate names that key.
 */
export async function requestSigningCertificate(r: FulcioRequest): Promise<FulcioCertificate> {
  const claims = tokenClaims(r.identityToken);
  const publicKey = createPublicKey(r.privateKey);
  const proof = cryptoSign("sha256", Buffer.from(claims.subject, "utf8"), r.privateKey);
  const url = new URL("api/v2/signingCert", r.fulcioURL.endsWith("/") ? r.fulcioURL : `${r.fulcioURL}/`);
  const body = {
    credentials: { oidcIdentityToken: r.identityToken },
    publicKeyRequest: {
      publicKey: { algorithm: "ECDSA", content: publicKeyPem(publicKey) },
      proofOfPossession: proof.toString("base64"),
    },
  };
  const res = (await serviceJSON("Fulcio", url, { method: "POST", body }, [r.identityToken], r)) as {
    signedCertificateEmbeddedSct?: { chain?: { certificates?: unknown } };
    signedCertificateDetachedSct?: unknown;
  };
  const pems = res?.signedCertificateEmbeddedSct?.chain?.certificates;
  if (!Array.isArray(pems) || pems.length === 0) {
    const why = res?.signedCertificateDetachedSct ? "a certificate with a detached SCT, which berth does not support" : "no certificate chain";
    fail("VERIFY_FAILED", `Fulcio ${url.origin} returned ${why}`);
  }
  const ders = pems.map((p, i) => {
    const der = typeof p === "string" ? parsePem(p)?.der : undefined;
    if (!der) fail("VERIFY_FAILED", `Fulcio ${url.origin} returned certificate ${i + 1} that is not PEM`);
    return der;
  });
  let leafKey: KeyObject;
  try {
    leafKey = new X509Certificate(Buffer.from(ders[0]!)).publicKey;
  } catch (e) {
    throw new CoreError({ code: "VERIFY_FAILED", message: `Fulcio ${url.origin} returned a certificate that does not parse`, cause: e });
  }
  if (!leafKey.equals(publicKey)) fail("VERIFY_FAILED", `Fulcio ${url.origin} returned a certificate for another key`);
  const pem = (der: Uint8Array) => encodePem("CERTIFICATE", der);
  return { leaf: ders[0]!, leafPem: pem(ders[0]!), chain: ders.slice(1), chainPem: ders.slice(1).map(pem).join("") };
}
