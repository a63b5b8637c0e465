import { fail } from "../../core/errors.ts";
import { parseAnnotationFlags } from "../../core/artifact/metadata.ts";
import { displayRef, referenceOf } from "../../core/oci/ref.ts";
import { signArtifact } from "../../core/sign/attach.ts";
import { embeddedTrustedRoot } from "../../core/sign/embedded-root.ts";
import { PUBLIC_GOOD_FULCIO_URL } from "../../core/sign/fulcio.ts";
import { parseTrustedRoot } from "../../core/sign/keyless.ts";
import { createKeylessSigner } from "../../core/sign/keyless-signer.ts";
import { PUBLIC_GOOD_REKOR_URL } from "../../core/sign/rekor.ts";
import type { Signer, SignatureWitness } from "../../core/sign/signer.ts";
import type { TrustMaterial } from "@sigstore/verify";
import { createServices, parseURLArg, type RegistryFlags } from "../services.ts";
import { Logger, parseFormat, printResult, type Streams } from "../output.ts";
import { dockerReferenceOf, loadKeySigner, parseSignatureFormat, readKeyFile, resolveIdentityToken, sigstoreDispatcher } from "../signing.ts";

/** Re-exported from ../signing.ts, where the key loading shared with push/tag `--sign` lives. */
export { readKeyFile } from "../signing.ts";

export interface SignFlags extends RegistryFlags {
  key?: string;
  identityToken?: string;
  fulcioUrl?: string;
  rekorUrl?: string;
  trustedRoot?: string;
  format?: string;
  annotations?: string[];
  output?: string;
  quiet?: boolean;
}

/**
 * The trust a keyless signature is checked against before it is pushed: `--trusted-root`, else
 * the embedded public-good root when both services are the public-good ones, else none.
 */
function selfCheckTrust(f: SignFlags, fulcioURL: string, rekorURL: string): TrustMaterial | undefined {
  if (f.trustedRoot) {
    let json: unknown;
    try {
      json = JSON.parse(readKeyFile(f.trustedRoot));
    } catch (e) {
      fail("USAGE", `--trusted-root ${f.trustedRoot} is not JSON: ${(e as Error).message}`);
    }
    return parseTrustedRoot(json);
  }
  const same = (a: string, b: string) => a.replace(/\/+$/, "") === b;
  return same(fulcioURL, PUBLIC_GOOD_FULCIO_URL) && same(rekorURL, PUBLIC_GOOD_REKOR_URL) ? embeddedTrustedRoot().material : undefined;
}

/**
 * `berth sign artifact`: resolves the tag once and signs that digest — with a cosign key (`--key`),
 * or keyless with an ephemeral key certified by Fulcio and logged in Rekor — storing the signature
 * as a cosign v3 bundle referrer (default) or in the legacy `sha256-<hex>.sig` image.
 */
export async function run(url: string | undefined, f: SignFlags, s: Streams, env: NodeJS.ProcessEnv): Promise<number> {
  const format = parseFormat(f.output);
  if (!url) fail("USAGE", "artifact name is required");
  if (f.key && f.identityToken !== undefined) fail("USAGE", "--key and --identity-token exclude each other: sign with a key or keyless");
  const sigFormat = parseSignatureFormat(f.format);
  const ref = parseURLArg(url, "artifact name is required");
  const annotations = parseAnnotationFlags(f.annotations ?? []);
  const log = new Logger(s, f.quiet || format !== "human");
  let signer: Signer;
  let witness: SignatureWitness | undefined;
  let identity: { subject: string; issuer: string } | undefined;
  const fulcioURL = f.fulcioUrl ?? PUBLIC_GOOD_FULCIO_URL;
  const rekorURL = f.rekorUrl ?? PUBLIC_GOOD_REKOR_URL;
  if (f.key) {
    signer = await loadKeySigner(f.key, env);
  } else {
    const verifyWith = selfCheckTrust(f, fulcioURL, rekorURL);
    const dispatcher = sigstoreDispatcher(env);
    const { token, source } = await resolveIdentityToken(f.identityToken, env, { dispatcher, signal: s.signal });
    log.action(`requesting a signing certificate from ${fulcioURL} (identity token from ${source})`);
    const k = await createKeylessSigner({ identityToken: token, fulcioURL, rekorURL, verifyWith, dispatcher, signal: s.signal });
    signer = k;
    witness = k.witness;
    identity = k.identity;
    log.success(`certificate issued to ${k.identity.subject} (issuer ${k.identity.issuer})`);
  }
  const services = createServices(f, env, undefined, s.signal);
  try {
    const target = await services.open(ref);
    const subject = await target.resolve(referenceOf(ref), { signal: services.signal });
    log.action(`signing ${displayRef(ref, { digest: subject.digest })} (${sigFormat} format${witness ? `, logged in ${rekorURL}` : ""})`);
    const r = await signArtifact(target, subject, dockerReferenceOf(ref), signer, { format: sigFormat, annotations, witness, signal: services.signal });
    if (r.pushed) log.success(`signature ${r.signatureManifest} pushed${r.tag ? ` (tag ${r.tag})` : ""}`);
    else log.success(`already signed with this key and payload; nothing pushed`);
    if (format === "human" && !f.quiet) {
      // Key signatures are not logged: cosign (not Flux, which ignores the log for keys) must be told to skip the log check.
      log.raw(
        identity
          ? `  verify with: berth verify artifact … --certificate-identity ${identity.subject} --certificate-oidc-issuer ${identity.issuer}`
          : "  verify with: berth verify artifact … --key <cosign.pub>, or cosign verify --key <cosign.pub> --insecure-ignore-tlog …",
      );
    }
    if (format !== "human") {
      await printResult(s, format, { digest: r.digest, format: r.format, signature: r.signatureManifest, tag: r.tag ?? "", pushed: r.pushed, identity: identity ?? null });
    }
    return 0;
  } finally {
    await services.close();
  }
}
