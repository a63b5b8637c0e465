/**
 * Signing shared by `berth sign artifact` and the `--sign` option of `push` and `tag`: reading
 * the key file, asking for its password the cosign way, finding an OIDC identity token and getting
 * a Fulcio certificate for keyless signing, and signing an already-resolved digest.
 */
import { X509Certificate } from "node:crypto";
import { existsSync, readFileSync, statSync } from "node:fs";
import { EnvHttpProxyAgent, type Dispatcher } from "undici/index.js";
import type { TrustMaterial } from "@sigstore/verify";
import type { Descriptor, Target } from "../core/content/store.ts";
import { fail } from "../core/errors.ts";
import { formatRef, type ArtifactRef } from "../core/oci/ref.ts";
import { signArtifact, type SignArtifactResult, type SignatureFormat } from "../core/sign/attach.ts";
import { embeddedTrustedRoot } from "../core/sign/embedded-root.ts";
import { PUBLIC_GOOD_FULCIO_URL } from "../core/sign/fulcio.ts";
import { parseTrustedRoot } from "../core/sign/keyless.ts";
import { createKeylessSigner, type KeylessSigner } from "../core/sign/keyless-signer.ts";
import { isEncryptedCosignKey, loadPrivateKey } from "../core/sign/keys.ts";
import { PUBLIC_GOOD_REKOR_URL } from "../core/sign/rekor.ts";
import { createKeySigner, type Signer, type SignatureWitness } from "../core/sign/signer.ts";
import { fetchGitHubActionsToken } from "../core/sign/oidc.ts";
import type { Logger } from "./output.ts";
import { readPassword } from "./password.ts";
import { identityTokenSource, type TokenSource } from "./token-source.ts";
export type { TokenSource } from "./token-source.ts";

/** Reads a key file; its content is never echoed in errors. */
export function readKeyFile(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (e) {
    fail("USAGE", `cannot read key file ${path}: ${(e as NodeJS.ErrnoException).code ?? "error"}`);
  }
}

/** Validates a `--format`/`--sign-format` value; undefined means `bundle` (cosign v3's default). */
export function parseSignatureFormat(value: string | undefined, flag = "--format"): SignatureFormat {
  const f = value ?? "bundle";
  if (f !== "bundle" && f !== "legacy") fail("USAGE", `${flag} must be bundle or legacy, not ${value}`);
  return f;
}

/** Options of loadKeySigner. */
export interface LoadKeySignerOptions {
  /**
   * True when stdin carries something else (push `-f -`): an encrypted key then needs
   * COSIGN_PASSWORD, since the password cannot also come from stdin. Default false.
   */
  stdinBusy?: boolean;
}

/**
 * Loads a cosign.key (password from COSIGN_PASSWORD, a prompt or stdin) or a PEM private key
 * into a Signer. Called before any upload, so a wrong password fails before anything is pushed.
 */
export async function loadKeySigner(keyPath: string, env: NodeJS.ProcessEnv, opts: LoadKeySignerOptions = {}): Promise<Signer> {
  const keyText = readKeyFile(keyPath);
  let password: string | undefined;
  if (isEncryptedCosignKey(keyText)) {
    if (opts.stdinBusy && env.COSIGN_PASSWORD === undefined && !process.stdin.isTTY) {
      fail("USAGE", `${keyPath} is encrypted and stdin is the artifact content`, { hint: "set COSIGN_PASSWORD to the key's password" });
    }
    password = await readPassword(env, "Enter password for private key: ");
  }
  return createKeySigner(loadPrivateKey(keyText, password));
}

/** The `<registry>/<repository>` (or layout path) a legacy payload records as its docker-reference. */
export function dockerReferenceOf(ref: ArtifactRef): string {
  return ref.kind === "registry" ? `${ref.registry}/${ref.repository}` : ref.path;
}

/** A signer ready to use, with what keyless signing adds (certificate witness and identity). */
export interface PreparedSigner {
  signer: Signer;
  /** Keyless: writes the certificate and Rekor entry into each signature. */
  witness?: SignatureWitness;
  /** Keyless: the certificate's identity. */
  identity?: { subject: string; issuer: string };
  /** Keyless: the Rekor log the signatures go to. */
  rekorURL?: string;
  /** Keyless: when the certificate stops being valid; a signature made later fails verification. */
  notAfter?: Date;
}

/** Signs `subject` (a resolved manifest, never a tag) in `target`. */
export function signDigest(
  target: Target,
  ref: ArtifactRef,
  subject: Descriptor,
  signer: Signer | PreparedSigner,
  opts: { format: SignatureFormat; annotations?: Record<string, string>; signal?: AbortSignal },
): Promise<SignArtifactResult & { identity?: { subject: string; issuer: string } }> {
  const p: PreparedSigner = "signer" in signer ? signer : { signer };
  // Rekor would log a signature made after the certificate expired, and every verifier would then refuse it.
  if (p.notAfter && Date.now() >= p.notAfter.getTime()) {
    fail("AUTH_FAILED", `the keyless signing certificate expired at ${p.notAfter.toISOString()}, before ${subject.digest} could be signed`, {
      hint: `sign it again with a fresh identity token: berth sign artifact ${formatRef(ref, { digest: subject.digest })}`,
    });
  }
  return signArtifact(target, subject, dockerReferenceOf(ref), p.signer, {
    format: opts.format,
    annotations: opts.annotations ?? {},
    witness: p.witness,
    signal: opts.signal,
  }).then((r) => (p.identity ? { ...r, identity: p.identity } : r));
}

/** The `signature` object of `-o json|yaml` results; `identity` is null for key signatures. */
export function signatureResult(r: SignArtifactResult & { identity?: { subject: string; issuer: string } }): Record<string, unknown> {
  return { digest: r.digest, format: r.format, signature: r.signatureManifest, tag: r.tag ?? "", pushed: r.pushed, identity: r.identity ?? null };
}

/** The human `✔` line after signing. */
export function signedMessage(r: SignArtifactResult & { identity?: { subject: string; issuer: string } }): string {
  const by = r.identity ? ` keyless as ${r.identity.subject} (issuer ${r.identity.issuer})` : "";
  return r.pushed
    ? `artifact signed${by}: ${r.format} signature ${r.signatureManifest} pushed${r.tag ? ` (tag ${r.tag})` : ""}`
    : `artifact signed${by}: already signed with this key and payload; nothing pushed`;
}

/** How to verify what was just signed, for the human output. */
export function verifyHint(identity: { subject: string; issuer: string } | undefined): string {
  // Key signatures are not logged: cosign (not Flux, which ignores the log for keys) must be told to skip the log check.
  return identity
    ? `  verify with: berth verify artifact … --certificate-identity ${identity.subject} --certificate-oidc-issuer ${identity.issuer}`
    : "  verify with: berth verify artifact … --key <cosign.pub>, or cosign verify --key <cosign.pub> --insecure-ignore-tlog …";
}

/** Keyless options, shared by `sign artifact` and the `--sign` option of push and tag. */
export interface KeylessFlags {
  /** OIDC token or a file holding it; default SIGSTORE_ID_TOKEN, then GitHub Actions' token. */
  identityToken?: string;
  /** Default the public-good Fulcio. */
  fulcioUrl?: string;
  /** Default the public-good Rekor. */
  rekorUrl?: string;
  /** trusted_root.json the new signature is checked against; default see selfCheckTrust. */
  trustedRoot?: string;
}

/** Reads and parses a `--trusted-root` file. Throws USAGE. */
export function readTrustedRoot(path: string): TrustMaterial {
  let json: unknown;
  try {
    json = JSON.parse(readKeyFile(path));
  } catch (e) {
    fail("USAGE", `--trusted-root ${path} is not JSON: ${(e as Error).message}`);
  }
  return parseTrustedRoot(json);
}

/**
 * The trust a keyless signature is checked against before it is pushed: `--trusted-root`, else
 * the embedded public-good root when both services are the public-good ones, else none.
 */
export function selfCheckTrust(trustedRoot: string | undefined, fulcioURL: string, rekorURL: string): TrustMaterial | undefined {
  if (trustedRoot) return readTrustedRoot(trustedRoot);
  const same = (a: string, b: string) => a.replace(/\/+$/, "") === b;
  return same(fulcioURL, PUBLIC_GOOD_FULCIO_URL) && same(rekorURL, PUBLIC_GOOD_REKOR_URL) ? embeddedTrustedRoot().material : undefined;
}

/** Options of prepareSigner. */
export interface PrepareSignerOptions extends LoadKeySignerOptions {
  signal?: AbortSignal;
  /** Where progress lines go; default none. */
  log?: Logger;
}

/**
 * The signer for `--key`, else a keyless one: the identity token is found, an ephemeral key is
 * certified by Fulcio. Called before any upload, so a wrong password, a missing token or a refused
 * one fails before anything is pushed.
 */
export async function prepareSigner(f: { key?: string } & KeylessFlags, env: NodeJS.ProcessEnv, o: PrepareSignerOptions = {}): Promise<PreparedSigner> {
  if (f.key) return { signer: await loadKeySigner(f.key, env, o) };
  const fulcioURL = f.fulcioUrl ?? PUBLIC_GOOD_FULCIO_URL;
  const rekorURL = f.rekorUrl ?? PUBLIC_GOOD_REKOR_URL;
  const verifyWith = selfCheckTrust(f.trustedRoot, fulcioURL, rekorURL);
  const dispatcher = sigstoreDispatcher(env);
  const { token, source } = await resolveIdentityToken(f.identityToken, env, { dispatcher, signal: o.signal });
  o.log?.action(`requesting a signing certificate from ${fulcioURL} (identity token from ${source})`);
  const k: KeylessSigner = await createKeylessSigner({ identityToken: token, fulcioURL, rekorURL, verifyWith, dispatcher, signal: o.signal });
  o.log?.success(`certificate issued to ${k.identity.subject} (issuer ${k.identity.issuer})`);
  return { signer: k, witness: k.witness, identity: k.identity, rekorURL, notAfter: certificateNotAfter(k.certificate.leaf) };
}

function certificateNotAfter(der: Uint8Array): Date | undefined {
  try {
    const d = new Date(new X509Certificate(Buffer.from(der)).validTo);
    return Number.isNaN(d.getTime()) ? undefined : d;
  } catch {
    return undefined;
  }
}

/** The `--sign` flags of `push artifact` and `tag artifact`: `--key`, or keyless without it. */
export interface SignFlags extends KeylessFlags {
  sign?: boolean;
  key?: string;
  signFormat?: string;
}

/** Checks the `--sign` flags together; returns the signature format to write. */
export function parseSignFlags(f: SignFlags): SignatureFormat {
  const given = (["key", "signFormat", "identityToken", "fulcioUrl", "rekorUrl", "trustedRoot"] as const).filter((k) => f[k] !== undefined);
  if (!f.sign && given.length > 0) fail("USAGE", `${given.map(flagName).join(", ")} only appl${given.length === 1 ? "ies" : "y"} with --sign`);
  if (f.key) {
    const keyless = given.filter((k) => k !== "key" && k !== "signFormat");
    if (keyless.length > 0) fail("USAGE", `--key and ${keyless.map(flagName).join(", ")} exclude each other: sign with a key or keyless`);
  }
  return parseSignatureFormat(f.signFormat, "--sign-format");
}

function flagName(k: string): string {
  return `--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
}

/**
 * The OIDC identity token for keyless signing, the way cosign looks for one: `--identity-token`
 * (the token, or a file holding it), else SIGSTORE_ID_TOKEN, else GitHub Actions' ambient token
 * (ACTIONS_ID_TOKEN_REQUEST_URL/_TOKEN, audience `sigstore`). No interactive browser flow.
 */
export async function resolveIdentityToken(
  flag: string | undefined,
  env: NodeJS.ProcessEnv,
  http: { dispatcher?: Dispatcher; signal?: AbortSignal } = {},
): Promise<{ token: string; source: TokenSource }> {
  const source = identityTokenSource(flag, env);
  if (source === "--identity-token") {
    const f = flag!;
    if (existsSync(f) && statSync(f).isFile()) return { token: readKeyFile(f).trim(), source };
    // The value is not echoed: it is either a token or a mistyped path.
    if (f.trim().split(".").length !== 3) fail("USAGE", "--identity-token is neither a readable file nor a JWT");
    return { token: f.trim(), source };
  }
  if (source === "SIGSTORE_ID_TOKEN") return { token: env.SIGSTORE_ID_TOKEN!.trim(), source };
  if (source === "GitHub Actions") return { token: await fetchGitHubActionsToken(env.ACTIONS_ID_TOKEN_REQUEST_URL!, env.ACTIONS_ID_TOKEN_REQUEST_TOKEN!, http), source };
  fail("USAGE", "keyless signing needs an OIDC identity token", {
    hint: "pass --identity-token or set SIGSTORE_ID_TOKEN (in GitHub Actions grant permissions: id-token: write), or sign with --key",
  });
}

/** The dispatcher for Sigstore services: honours HTTPS_PROXY/HTTP_PROXY/NO_PROXY from the environment. */
export function sigstoreDispatcher(env: NodeJS.ProcessEnv): Dispatcher | undefined {
  const proxied = env.HTTPS_PROXY || env.https_proxy || env.HTTP_PROXY || env.http_proxy;
  return proxied ? new EnvHttpProxyAgent() : undefined;
}
