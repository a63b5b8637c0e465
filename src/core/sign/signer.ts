/**
 * Signers: something that signs bytes and names its public key. berth emits only signatures that
 * cosign and Flux verify with a plain public key (spec §1.5): ECDSA P-256 with SHA-256 (ASN.1 DER)
 * and RSA PKCS#1 v1.5 with SHA-256. P-384/P-521 and Ed25519 keys are refused for signing because
 * cosign signs those with other hashes (or Ed25519ph) that `cosign verify --key` and Flux reject.
 */
import { createPublicKey, sign as cryptoSign, type KeyObject } from "node:crypto";
import { fail } from "../errors.ts";

/** Signs payload bytes; `publicKey` is what a verifier needs. */
export interface Signer {
  readonly publicKey: KeyObject;
  sign(data: Uint8Array): Promise<Uint8Array>;
}

/** A Signer over a private key held in memory. Throws UNSUPPORTED for key types cosign/Flux could not verify. */
export function createKeySigner(privateKey: KeyObject): Signer {
  if (privateKey.type !== "private") fail("USAGE", "signing needs a private key");
  const t = privateKey.asymmetricKeyType;
  const curve = privateKey.asymmetricKeyDetails?.namedCurve;
  if (!(t === "rsa" || (t === "ec" && curve === "prime256v1"))) {
    fail("UNSUPPORTED", `cannot sign with a ${t}${curve ? ` ${curve}` : ""} key: cosign and Flux verify only ECDSA P-256 and RSA signatures made with SHA-256`, {
      hint: "create a key with `berth generate-key-pair`",
    });
  }
  const publicKey = createPublicKey(privateKey);
  return {
    publicKey,
    async sign(data) {
      return new Uint8Array(cryptoSign("sha256", data, privateKey));
    },
  };
}

/**
 * What a signature needs besides its bytes, added after signing: a certificate and a
 * transparency-log proof (keyless). Key signers have none; `signArtifact` then writes a bare
 * signature (legacy) or a public-key bundle without log entries.
 */
export interface SignatureWitness {
  /** Layer annotations for a legacy signature over `payload` (certificate, chain, Rekor proof). */
  legacyAnnotations(payload: Uint8Array, signature: Uint8Array, digest: string, opts: { signal?: AbortSignal }): Promise<Record<string, string>>;
  /** The complete v0.3 bundle JSON for a DSSE envelope over the in-toto `statement`. */
  bundle(statement: Uint8Array, signature: Uint8Array, digest: string, opts: { signal?: AbortSignal }): Promise<Uint8Array>;
}
