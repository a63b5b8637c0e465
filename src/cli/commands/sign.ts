import { fail } from "../../core/errors.ts";
import { parseAnnotationFlags } from "../../core/artifact/metadata.ts";
import { displayRef, referenceOf } from "../../core/oci/ref.ts";
import { createServices, parseURLArg, type RegistryFlags } from "../services.ts";
import { Logger, parseFormat, printResult, type Streams } from "../output.ts";
import { parseSignatureFormat, prepareSigner, signatureResult, signDigest, verifyHint, type KeylessFlags } from "../signing.ts";

/** Re-exported from ../signing.ts, where the key loading shared with push/tag `--sign` lives. */
export { readKeyFile } from "../signing.ts";

export interface SignFlags extends RegistryFlags, KeylessFlags {
  key?: string;
  format?: string;
  annotations?: string[];
  output?: string;
  quiet?: boolean;
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
  const signer = await prepareSigner(f, env, { signal: s.signal, log });
  const services = createServices(f, env, undefined, s.signal);
  try {
    const target = await services.open(ref);
    const subject = await target.resolve(referenceOf(ref), { signal: services.signal });
    log.action(`signing ${displayRef(ref, { digest: subject.digest })} (${sigFormat} format${signer.rekorURL ? `, logged in ${signer.rekorURL}` : ""})`);
    const r = await signDigest(target, ref, subject, signer, { format: sigFormat, annotations, signal: services.signal });
    if (r.pushed) log.success(`signature ${r.signatureManifest} pushed${r.tag ? ` (tag ${r.tag})` : ""}`);
    else log.success(`already signed with this key and payload; nothing pushed`);
    if (format === "human" && !f.quiet) log.raw(verifyHint(r.identity));
    if (format !== "human") await printResult(s, format, signatureResult(r));
    return 0;
  } finally {
    await services.close();
  }
}
