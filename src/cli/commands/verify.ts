import { fail } from "../../core/errors.ts";
import { parseAnnotationFlags } from "../../core/artifact/metadata.ts";
import { displayRef, referenceOf } from "../../core/oci/ref.ts";
import { loadPublicKey } from "../../core/sign/keys.ts";
import { findSignatures } from "../../core/sign/referrers.ts";
import { verifySignatures } from "../../core/sign/verifier.ts";
import { createServices, parseURLArg, type RegistryFlags } from "../services.ts";
import { Logger, parseFormat, printResult, type Streams } from "../output.ts";
import { readKeyFile } from "./sign.ts";

export interface VerifyFlags extends RegistryFlags {
  key?: string[];
  annotations?: string[];
  anyPredicate?: boolean;
  output?: string;
  quiet?: boolean;
}

/**
 * `berth verify artifact`: resolves the reference once, finds bundle referrers (else the legacy
 * `.sig` image) as cosign v3 and Flux do, and checks them against the given public keys offline.
 * Exit 0 when at least one signature verifies, 7 otherwise.
 */
export async function run(url: string | undefined, f: VerifyFlags, s: Streams, env: NodeJS.ProcessEnv): Promise<number> {
  const format = parseFormat(f.output);
  if (!url) fail("USAGE", "artifact name is required");
  if (!f.key?.length) fail("USAGE", "--key is required (a cosign.pub PEM public key)");
  const keys = f.key.map((k) => loadPublicKey(readKeyFile(k)));
  const annotations = parseAnnotationFlags(f.annotations ?? []);
  const ref = parseURLArg(url, "artifact name is required");
  const log = new Logger(s, f.quiet || format !== "human");
  const services = createServices(f, env, undefined, s.signal);
  try {
    const target = await services.open(ref);
    const subject = await target.resolve(referenceOf(ref), { signal: services.signal });
    log.action(`verifying signatures of ${displayRef(ref, { digest: subject.digest })}`);
    const found = await findSignatures(target, subject.digest, { signal: services.signal });
    const r = verifySignatures([...found.bundles, ...found.legacy], subject.digest, { keys }, { annotations, requireSignPredicate: !f.anyPredicate });
    for (const v of r.verified) {
      const when = v.claimedTime ? `, signed at ${v.claimedTime} (claimed)` : "";
      log.success(`${v.format} signature from ${v.source} verified with key ${v.key} (${f.key[v.keyIndex]})${when}`);
    }
    for (const e of r.failures) log.warning(`ignored: ${e.message}`);
    if (format !== "human") {
      await printResult(s, format, {
        digest: subject.digest,
        verified: true,
        signatures: r.verified.map((v) => ({
          format: v.format,
          source: v.source,
          key: v.key,
          keyFile: f.key![v.keyIndex],
          annotations: v.annotations,
          claimedTime: v.claimedTime ?? null,
        })),
        failures: r.failures.map((e) => ({ code: e.code, message: e.message })),
      });
    }
    return 0;
  } finally {
    await services.close();
  }
}
