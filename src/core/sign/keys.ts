/**
 * cosign key files: the encrypted `cosign.key` (scrypt + NaCl secretbox around PKCS#8 DER, PEM label
 * `ENCRYPTED SIGSTORE PRIVATE KEY` or the older `ENCRYPTED COSIGN PRIVATE KEY`), plain PEM keys, and
 * `cosign.pub`. See shared/spec/cosign.md §3. Passwords and key bytes never appear in error messages.
 */
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, scryptSync, type KeyObject } from "node:crypto";
import nacl from "tweetnacl";
import { CoreError, fail } from "../errors.ts";

/** PEM label cosign writes for encrypted private keys (all current versions). */
export const SIGSTORE_PRIVATE_KEY_LABEL = "ENCRYPTED SIGSTORE PRIVATE KEY";
/** PEM label older cosign versions wrote; still read. */
export const COSIGN_PRIVATE_KEY_LABEL = "ENCRYPTED COSIGN PRIVATE KEY";

/** scrypt cost cosign uses when it writes a key (N=2^16, r=8, p=1). */
const WRITE_N = 65536;
/** The only scrypt parameter sets cosign decrypts; anything else could be a memory bomb. */
const ACCEPTED_N = new Set([32768, 65536, 131072]);

interface EncryptedKeyJSON {
  kdf: { name: string; params: { N: number; r: number; p: number }; salt: string };
  cipher: { name: string; nonce: string };
  ciphertext: string;
}

/** One PEM block: its label and DER body. */
export interface PemBlock {
  label: string;
  der: Uint8Array;
}

/** Reads the first PEM block of `text`; undefined when there is none. */
export function parsePem(text: string): PemBlock | undefined {
  const m = /-----BEGIN ([A-Z0-9 ]+)-----\r?\n([\s\S]*?)-----END \1-----/.exec(text);
  if (!m) return undefined;
  return { label: m[1]!, der: new Uint8Array(Buffer.from(m[2]!.replace(/\s+/g, ""), "base64")) };
}

/** Writes one PEM block with 64-character lines, as Go's encoding/pem does. */
export function encodePem(label: string, der: Uint8Array): string {
  const b64 = Buffer.from(der).toString("base64");
  const lines = b64.match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join("\n")}\n-----END ${label}-----\n`;
}

/** Whether `text` holds a cosign-encrypted private key (either label). */
export function isEncryptedCosignKey(text: string): boolean {
  const b = parsePem(text);
  return b !== undefined && (b.label === SIGSTORE_PRIVATE_KEY_LABEL || b.label === COSIGN_PRIVATE_KEY_LABEL);
}

/**
 * Decrypts a cosign private key file with `password` (UTF-8; empty is a legal password) and returns
 * the key. The plaintext must be PKCS#8, as cosign requires: a SEC1 key inside is refused.
 * Throws USAGE for a malformed file or a wrong password.
 */
export function decryptCosignKey(text: string, password: string): KeyObject {
  const block = parsePem(text);
  if (!block || (block.label !== SIGSTORE_PRIVATE_KEY_LABEL && block.label !== COSIGN_PRIVATE_KEY_LABEL)) {
    fail("USAGE", `not a cosign private key: expected a PEM block "${SIGSTORE_PRIVATE_KEY_LABEL}"`);
  }
  let j: EncryptedKeyJSON;
  try {
    j = JSON.parse(Buffer.from(block.der).toString("utf8")) as EncryptedKeyJSON;
  } catch {
    fail("USAGE", "cosign private key is corrupt: its PEM body is not JSON");
  }
  if (j?.kdf?.name !== "scrypt" || j?.cipher?.name !== "nacl/secretbox") {
    fail("UNSUPPORTED", `cosign private key uses kdf ${JSON.stringify(j?.kdf?.name)} / cipher ${JSON.stringify(j?.cipher?.name)}; only scrypt + nacl/secretbox are supported`);
  }
  const { N, r, p } = j.kdf.params ?? {};
  if (!ACCEPTED_N.has(N) || r !== 8 || p !== 1) fail("UNSUPPORTED", `cosign private key has unsupported scrypt parameters N=${N} r=${r} p=${p}`);
  const salt = Buffer.from(j.kdf.salt ?? "", "base64");
  const nonce = Buffer.from(j.cipher.nonce ?? "", "base64");
  const ciphertext = Buffer.from(j.ciphertext ?? "", "base64");
  if (nonce.length !== nacl.secretbox.nonceLength) fail("USAGE", "cosign private key is corrupt: bad nonce length");
  const plain = nacl.secretbox.open(new Uint8Array(ciphertext), new Uint8Array(nonce), deriveKey(password, salt, N));
  if (!plain) fail("USAGE", "decrypt cosign private key: wrong password (or the file is corrupt)", { hint: "set COSIGN_PASSWORD to the password the key was created with" });
  try {
    return createPrivateKey({ key: Buffer.from(plain), format: "der", type: "pkcs8" });
  } catch (e) {
    throw new CoreError({ code: "UNSUPPORTED", message: "cosign private key decrypted, but it does not hold a PKCS#8 private key", cause: e });
  }
}

/** Encrypts `key` as cosign does (scrypt N=65536, r=8, p=1, random salt and nonce) and returns the PEM. */
export function encryptCosignKey(key: KeyObject, password: string): string {
  const pkcs8 = key.export({ format: "der", type: "pkcs8" });
  const salt = randomBytes(32);
  const nonce = randomBytes(nacl.secretbox.nonceLength);
  const sealed = nacl.secretbox(new Uint8Array(pkcs8), new Uint8Array(nonce), deriveKey(password, salt, WRITE_N));
  // Field order of go-securesystemslib's encrypted.data struct.
  const j: EncryptedKeyJSON = {
    kdf: { name: "scrypt", params: { N: WRITE_N, r: 8, p: 1 }, salt: salt.toString("base64") },
    cipher: { name: "nacl/secretbox", nonce: nonce.toString("base64") },
    ciphertext: Buffer.from(sealed).toString("base64"),
  };
  return encodePem(SIGSTORE_PRIVATE_KEY_LABEL, new TextEncoder().encode(JSON.stringify(j)));
}

function deriveKey(password: string, salt: Uint8Array, N: number): Uint8Array {
  // Node's default maxmem (32 MiB) is below 128·N·r for N ≥ 32768; allow the largest accepted N.
  return new Uint8Array(scryptSync(Buffer.from(password, "utf8"), salt, 32, { N, r: 8, p: 1, maxmem: 256 * 1024 * 1024 }));
}

/** A freshly generated cosign key pair, as file contents. */
export interface GeneratedKeyPair {
  /** `cosign.key`: the encrypted private key PEM. */
  privateKeyPem: string;
  /** `cosign.pub`: the SubjectPublicKeyInfo PEM. */
  publicKeyPem: string;
}

/** Generates an ECDSA P-256 key pair, like `cosign generate-key-pair`. */
export function generateKeyPair(password: string): GeneratedKeyPair {
  const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  return { privateKeyPem: encryptCosignKey(privateKey, password), publicKeyPem: publicKeyPem(publicKey) };
}

/** The `PUBLIC KEY` PEM of a key (or of a private key's public half). */
export function publicKeyPem(key: KeyObject): string {
  const pub = key.type === "private" ? createPublicKey(key) : key;
  return encodePem("PUBLIC KEY", new Uint8Array(pub.export({ format: "der", type: "spki" })));
}

/**
 * Loads a private key for signing: a cosign-encrypted key (needs `password`) or an unencrypted PEM
 * (`PRIVATE KEY`, `EC PRIVATE KEY`, `RSA PRIVATE KEY`). Throws USAGE when it is neither.
 */
export function loadPrivateKey(text: string, password: string | undefined): KeyObject {
  if (isEncryptedCosignKey(text)) {
    if (password === undefined) fail("USAGE", "the cosign private key is encrypted and no password was given", { hint: "set COSIGN_PASSWORD" });
    return decryptCosignKey(text, password);
  }
  const b = parsePem(text);
  if (!b || !/^(|EC |RSA )PRIVATE KEY$/.test(b.label)) fail("USAGE", "not a private key: expected a cosign.key or a PEM private key");
  try {
    return createPrivateKey(text);
  } catch (e) {
    throw new CoreError({ code: "USAGE", message: `cannot parse the ${b.label} PEM block`, cause: e });
  }
}

/** Loads a `PUBLIC KEY` (SPKI) or `RSA PUBLIC KEY` (PKCS#1) PEM; only the first block is read, as cosign does. */
export function loadPublicKey(text: string): KeyObject {
  const b = parsePem(text);
  if (!b || (b.label !== "PUBLIC KEY" && b.label !== "RSA PUBLIC KEY")) fail("USAGE", "not a public key: expected a PEM block PUBLIC KEY");
  try {
    return b.label === "PUBLIC KEY"
      ? createPublicKey({ key: Buffer.from(b.der), format: "der", type: "spki" })
      : createPublicKey({ key: Buffer.from(b.der), format: "der", type: "pkcs1" });
  } catch (e) {
    throw new CoreError({ code: "USAGE", message: `cannot parse the ${b.label} PEM block`, cause: e });
  }
}

/** sha256 of the key's SubjectPublicKeyInfo DER: cosign's bundle `publicKey.hint` (base64) and berth's key id (hex). */
export function keyFingerprint(key: KeyObject): Uint8Array {
  const pub = key.type === "private" ? createPublicKey(key) : key;
  return new Uint8Array(createHash("sha256").update(pub.export({ format: "der", type: "spki" })).digest());
}

/** A short description of a key for humans: `ecdsa-p256 sha256:ab12…`. */
export function describeKey(key: KeyObject): string {
  const t = key.asymmetricKeyType ?? "unknown";
  const curve = key.asymmetricKeyDetails?.namedCurve;
  const kind = t === "ec" ? `ecdsa-${curveName(curve)}` : t === "rsa" ? `rsa-${key.asymmetricKeyDetails?.modulusLength ?? "?"}` : t;
  return `${kind} sha256:${Buffer.from(keyFingerprint(key)).toString("hex")}`;
}

function curveName(c: string | undefined): string {
  return c === "prime256v1" ? "p256" : c === "secp384r1" ? "p384" : c === "secp521r1" ? "p521" : (c ?? "?");
}
