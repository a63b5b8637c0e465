/**
 * Signing shared by `berth sign artifact` and the `--sign` option of `push` and `tag`: reading
 * the key file, asking for its password the cosign way, finding an OIDC identity token for keyless
 * signing, and signing an already-resolved digest.
 */
import { existsSync, readFileSync, statSync } from "node:fs";
import { EnvHttpProxyAgent, type Dispatcher } from "undici/index.js";
import type { Descriptor, Target } from "../core/content/store.ts";
import { fail } from "../core/errors.ts";
import type { ArtifactRef } from "../core/oci/ref.ts";
import { signArtifact, type SignArtifactResult, type SignatureFormat } from "../core/sign/attach.ts";
import { isEncryptedCosignKey, loadPrivateKey } from "../core/sign/keys.ts";
import { createKeySigner, type Signer } from "../core/sign/signer.ts";
import { fetchGitHubActionsToken } from "../core/sign/oidc.ts";
import { readPassword } from "./password.ts";

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

/** Signs `subject` (a resolved manifest, never a tag) in `target`. */
export function signDigest(
  target: Target,
  ref: ArtifactRef,
  subject: Descriptor,
  signer: Signer,
  opts: { format: SignatureFormat; annotations?: Record<string, string>; signal?: AbortSignal },
): Promise<SignArtifactResult> {
  return signArtifact(target, subject, dockerReferenceOf(ref), signer, { format: opts.format, annotations: opts.annotations ?? {}, signal: opts.signal });
}

/** The `signature` object of `-o json|yaml` results. */
export function signatureResult(r: SignArtifactResult): Record<string, unknown> {
  return { digest: r.digest, format: r.format, signature: r.signatureManifest, tag: r.tag ?? "", pushed: r.pushed };
}

/** The human `✔` line after signing. */
export function signedMessage(r: SignArtifactResult): string {
  return r.pushed
    ? `artifact signed: ${r.format} signature ${r.signatureManifest} pushed${r.tag ? ` (tag ${r.tag})` : ""}`
    : `artifact signed: already signed with this key and payload; nothing pushed`;
}

/** The `--sign`, `--key` and `--sign-format` flags of `push artifact` and `tag artifact`. */
export interface SignFlags {
  sign?: boolean;
  key?: string;
  signFormat?: string;
}

/** Checks the `--sign` flags together; returns the signature format to write. */
export function parseSignFlags(f: SignFlags): SignatureFormat {
  if (f.sign && !f.key) fail("USAGE", "--sign needs --key (a cosign.key or PEM private key)");
  if (!f.sign && (f.key !== undefined || f.signFormat !== undefined)) fail("USAGE", "--key and --sign-format only apply with --sign");
  return parseSignatureFormat(f.signFormat, "--sign-format");
}

/** Where keyless signing found its identity token (for messages; never the token itself). */
export type TokenSource = "--identity-token" | "SIGSTORE_ID_TOKEN" | "GitHub Actions";

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
  if (flag !== undefined && flag !== "") {
    if (existsSync(flag) && statSync(flag).isFile()) return { token: readKeyFile(flag).trim(), source: "--identity-token" };
    // The value is not echoed: it is either a token or a mistyped path.
    if (flag.trim().split(".").length !== 3) fail("USAGE", "--identity-token is neither a readable file nor a JWT");
    return { token: flag.trim(), source: "--identity-token" };
  }
  if (env.SIGSTORE_ID_TOKEN) return { token: env.SIGSTORE_ID_TOKEN.trim(), source: "SIGSTORE_ID_TOKEN" };
  if (env.ACTIONS_ID_TOKEN_REQUEST_URL && env.ACTIONS_ID_TOKEN_REQUEST_TOKEN) {
    return { token: await fetchGitHubActionsToken(env.ACTIONS_ID_TOKEN_REQUEST_URL, env.ACTIONS_ID_TOKEN_REQUEST_TOKEN, http), source: "GitHub Actions" };
  }
  fail("USAGE", "keyless signing needs an OIDC identity token", {
    hint: "pass --identity-token or set SIGSTORE_ID_TOKEN (in GitHub Actions grant permissions: id-token: write), or sign with --key",
  });
}

/** The dispatcher for Sigstore services: honours HTTPS_PROXY/HTTP_PROXY/NO_PROXY from the environment. */
export function sigstoreDispatcher(env: NodeJS.ProcessEnv): Dispatcher | undefined {
  const proxied = env.HTTPS_PROXY || env.https_proxy || env.HTTP_PROXY || env.http_proxy;
  return proxied ? new EnvHttpProxyAgent() : undefined;
}
