import { fail } from "../../core/errors.ts";
import { parseAnnotationFlags } from "../../core/artifact/metadata.ts";
import { displayRef, referenceOf } from "../../core/oci/ref.ts";
import { signArtifact } from "../../core/sign/attach.ts";
import { createServices, parseURLArg, type RegistryFlags } from "../services.ts";
import { Logger, parseFormat, printResult, type Streams } from "../output.ts";
import { dockerReferenceOf, loadKeySigner, parseSignatureFormat } from "../signing.ts";

/** Re-exported from ../signing.ts, where the key loading shared with push/tag `--sign` lives. */
export { readKeyFile } from "../signing.ts";

export interface SignFlags extends RegistryFlags {
  key?: string;
  format?: string;
  annotations?: string[];
  output?: string;
  quiet?: boolean;
}

/**
 * `berth sign artifact`: resolves the tag once and signs that digest with a cosign key, storing the
 * signature as a cosign v3 bundle referrer (default) or in the legacy `sha256-<hex>.sig` image.
 */
export async function run(url: string | undefined, f: SignFlags, s: Streams, env: NodeJS.ProcessEnv): Promise<number> {
  const format = parseFormat(f.output);
  if (!url) fail("USAGE", "artifact name is required");
  if (!f.key) fail("USAGE", "--key is required (a cosign.key or PEM private key)");
  const sigFormat = parseSignatureFormat(f.format);
  const ref = parseURLArg(url, "artifact name is required");
  const signer = await loadKeySigner(f.key, env);
  const annotations = parseAnnotationFlags(f.annotations ?? []);
  const log = new Logger(s, f.quiet || format !== "human");
  const services = createServices(f, env, undefined, s.signal);
  try {
    const target = await services.open(ref);
    const subject = await target.resolve(referenceOf(ref), { signal: services.signal });
    log.action(`signing ${displayRef(ref, { digest: subject.digest })} (${sigFormat} format)`);
    const r = await signArtifact(target, subject, dockerReferenceOf(ref), signer, { format: sigFormat, annotations, signal: services.signal });
    if (r.pushed) log.success(`signature ${r.signatureManifest} pushed${r.tag ? ` (tag ${r.tag})` : ""}`);
    else log.success(`already signed with this key and payload; nothing pushed`);
    // No Rekor upload: cosign (not Flux, which ignores the log for keys) must be told to skip the log check.
    if (format === "human" && !f.quiet) log.raw("  verify with: berth verify artifact … --key <cosign.pub>, or cosign verify --key <cosign.pub> --insecure-ignore-tlog …");
    if (format !== "human") await printResult(s, format, { digest: r.digest, format: r.format, signature: r.signatureManifest, tag: r.tag ?? "", pushed: r.pushed });
    return 0;
  } finally {
    await services.close();
  }
}
