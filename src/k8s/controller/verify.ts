/**
 * `spec.verify` (spec §5): checks the signature of the resolved digest before anything is pulled.
 * The reconciler calls `verifySource` when §3.5.7 says verification is due and maps its outcome to
 * the `SourceVerified` condition; a thrown error keeps the previously served artifact.
 *
 * cosign only, and offline: keyed signatures ignore the transparency log (as Flux does), and keyless
 * ones are checked against the trusted root's Fulcio CAs and the Rekor SET/proof carried with the
 * signature; Rekor is never queried. Notation is not implemented.
 */
import { RE2JS } from "re2js";
import {
  CoreError,
  embeddedTrustedRoot,
  findSignatures,
  isCoreError,
  loadPublicKey,
  parseTrustedRoot,
  verifySignatures,
  type FoundSignature,
  type IdentityMatcher,
  type KeylessTrust,
  type RegistryClientOptions,
  type RegistryRepository,
} from "../../core/index.ts";
import type { OCIRepository } from "../api/ocirepository.ts";
import type { KubeClient } from "../client/kube.ts";

/** Input of `verifySource`. */
export interface VerifySourceInput {
  kube: KubeClient;
  obj: OCIRepository;
  /** The object's repository, with its credentials and transport. */
  repo: RegistryRepository;
  /** The options `repo`'s client was made with (TLS material for a private Rekor, insecure). */
  registryOptions: RegistryClientOptions;
  /** The manifest digest to verify (`sha256:…`). */
  digest: string;
  /** The revision string, for messages. */
  revision: string;
  signal?: AbortSignal;
}

/** `verified`: SourceVerified=True; `ignored`: leave SourceVerified as it is (notation audit/skip). */
export type VerifySourceOutcome = "verified" | "ignored";

/** Secret key holding a Sigstore trusted root (`verify.trustedRootSecretRef`). */
export const TRUSTED_ROOT_KEY = "trusted_root.json";

/** The provider name used in messages: `cosign`, `cosign keyless` or `notation`. */
export function verifyProviderLabel(obj: OCIRepository): string {
  const v = obj.spec.verify;
  if (!v) return "";
  if (v.provider === "cosign" && !v.secretRef) return "cosign keyless";
  return v.provider;
}

/**
 * Verifies `input.digest` per `obj.spec.verify`. Throws CoreError `VERIFY_FAILED` whose message is
 * the condition message: `failed to verify the signature using provider '<p>': <err>`.
 * Neither key material, trusted roots nor secret values ever enter a message.
 */
export async function verifySource(input: VerifySourceInput): Promise<VerifySourceOutcome> {
  const label = verifyProviderLabel(input.obj);
  try {
    const v = input.obj.spec.verify;
    if (!v) throw new Error("spec.verify is not set, so there is nothing to verify");
    switch (v.provider) {
      case "cosign":
        return v.secretRef ? await verifyWithKeys(input, v.secretRef.name) : await verifyKeyless(input);
      case "notation":
        throw new Error("notation signatures are not supported yet by berth's controller; sign with cosign and set provider 'cosign'");
      default:
        v.provider satisfies never;
        throw new Error(`unsupported verification provider: ${String(v.provider)}`);
    }
  } catch (e) {
    const err = e instanceof Error ? e.message : String(e);
    throw new CoreError({
      code: "VERIFY_FAILED",
      message: `failed to verify the signature using provider '${label}': ${err}`,
      details: { digest: input.digest, ref: digestRef(input) },
      cause: e instanceof VerifyError ? undefined : e,
    });
  }
}

/** An error whose message is final and whose cause must not travel (it may quote secret bytes). */
class VerifyError extends Error {}

/** `<registry>/<repository>@<digest>`, the reference Flux names in its messages. */
function digestRef(input: VerifySourceInput): string {
  return `${input.repo.name}@${input.digest}`;
}

/**
 * Reads a Secret's data, decoded. A failed read is reported with the API server's own text
 * (`secrets "x" not found`), as upstream returns the client error unchanged.
 */
async function readSecret(input: VerifySourceInput, name: string): Promise<Map<string, Uint8Array>> {
  const ns = input.obj.metadata.namespace;
  let secret: { data?: Record<string, string> };
  try {
    secret = await input.kube.get(`/api/v1/namespaces/${encodeURIComponent(ns)}/secrets/${encodeURIComponent(name)}`, input.signal);
  } catch (e) {
    if (!isCoreError(e)) throw e;
    // The client prefixes `GET <path>: HTTP <status>: `; the Status message after it is what upstream shows.
    throw new VerifyError(e.message.replace(/^[A-Z]+ \S+: HTTP \d+: /, ""));
  }
  // The API server returns data keys sorted, which stands in for Go's (random) map order.
  return new Map(Object.entries(secret.data ?? {}).map(([k, b64]) => [k, new Uint8Array(Buffer.from(b64, "base64"))]));
}

/** The signatures cosign v3 would verify: bundles when there are any, else the legacy `.sig` layers. */
async function discover(input: VerifySourceInput): Promise<FoundSignature[]> {
  const found = await findSignatures(input.repo, input.digest, { signal: input.signal });
  return found.bundles.length > 0 ? found.bundles : found.legacy;
}

/**
 * §5.1: each `*.pub` key in turn; a key that does not parse aborts, one that does not verify is
 * skipped. Discovery and verification errors count as "no match", as upstream's loop does.
 */
async function verifyWithKeys(input: VerifySourceInput, secretName: string): Promise<VerifySourceOutcome> {
  const data = await readSecret(input, secretName);
  let sigs: FoundSignature[] | undefined;
  for (const [name, bytes] of data) {
    if (!name.endsWith(".pub")) continue;
    let key;
    try {
      key = loadPublicKey(new TextDecoder().decode(bytes));
    } catch (e) {
      const why = isCoreError(e) ? e.message : "it does not parse";
      throw new VerifyError(`unable to load the public key '${name}' of secret '${input.obj.metadata.namespace}/${secretName}': ${why}`);
    }
    try {
      sigs ??= await discover(input);
      // Any attestation about the digest is accepted, as Flux verifies bundles as attestations (§5.3).
      verifySignatures(sigs, input.digest, { keys: [key] }, { requireSignPredicate: false });
      return "verified";
    } catch (e) {
      if (!isCoreError(e)) throw e;
      if (e.code === "CANCELLED") throw e;
    }
  }
  throw new VerifyError(`no matching signatures were found for '${digestRef(input)}'`);
}

/** §5.2: Fulcio certificates checked against the trusted root, identities OR-ed. */
async function verifyKeyless(input: VerifySourceInput): Promise<VerifySourceOutcome> {
  const v = input.obj.spec.verify!;
  const identities = identityMatchers(v.matchOIDCIdentity ?? []);
  const material = v.trustedRootSecretRef ? await trustedRootFromSecret(input, v.trustedRootSecretRef.name) : publicGoodRoot();
  const trust: KeylessTrust = { material, identities };
  const sigs = await discover(input);
  if (sigs.length === 0) throw new VerifyError("no signatures found");
  try {
    verifySignatures(sigs, input.digest, { keyless: trust }, { requireSignPredicate: false });
    return "verified";
  } catch (e) {
    if (!isCoreError(e)) throw e;
    if (e.code === "UNTRUSTED_SIGNER") throw new VerifyError("no matching signatures: none of the expected identities matched what was in the certificate");
    throw e;
  }
}

let embedded: KeylessTrust["material"] | undefined;

/** The embedded public-good root, parsed once per process (upstream also loads it once). */
function publicGoodRoot(): KeylessTrust["material"] {
  embedded ??= embeddedTrustedRoot().material;
  return embedded;
}

/**
 * `matchOIDCIdentity` as core matchers. Each regexp is compiled here first so a typo is reported
 * as such instead of as a failed signature; an empty list accepts any identity (§5.2), which an
 * unanchored empty pattern does.
 */
function identityMatchers(ids: { issuer: string; subject: string }[]): IdentityMatcher[] {
  if (ids.length === 0) return [{ issuer: "", subject: "" }];
  for (const [i, m] of ids.entries()) {
    for (const field of ["issuer", "subject"] as const) {
      try {
        RE2JS.compile(m[field]);
      } catch (e) {
        throw new VerifyError(`invalid ${field} regexp in matchOIDCIdentity[${i}]: ${(e as Error).message}`);
      }
    }
  }
  return ids.map((m) => ({ issuer: m.issuer, subject: m.subject }));
}

/** The trusted root of `trustedRootSecretRef`, with upstream's three error texts. */
async function trustedRootFromSecret(input: VerifySourceInput, secretName: string): Promise<KeylessTrust["material"]> {
  const where = `${input.obj.metadata.namespace}/${secretName}`;
  const raw = (await readSecret(input, secretName)).get(TRUSTED_ROOT_KEY);
  if (!raw) throw new VerifyError(`'${TRUSTED_ROOT_KEY}' not found in secret '${where}'`);
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder().decode(raw));
  } catch {
    // The parser's text quotes the offending bytes; keep them out of the condition.
    throw new VerifyError(`unable to parse trusted root: '${TRUSTED_ROOT_KEY}' of secret '${where}' is not valid JSON`);
  }
  let material: KeylessTrust["material"];
  try {
    material = parseTrustedRoot(json);
  } catch (e) {
    throw new VerifyError(`unable to parse trusted root: ${(e as Error).message.replace(/^invalid trusted root: /, "")}`);
  }
  const tlogs = (json as { tlogs?: unknown }).tlogs;
  const hasLog = Array.isArray(tlogs) && tlogs.some((t) => typeof (t as { baseUrl?: unknown })?.baseUrl === "string" && (t as { baseUrl: string }).baseUrl !== "");
  if (!hasLog) throw new VerifyError("no transparency log entries found in trusted root");
  return material;
}
