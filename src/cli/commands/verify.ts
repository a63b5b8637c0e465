import { fail } from "../../core/errors.ts";
import { parseAnnotationFlags } from "../../core/artifact/metadata.ts";
import { displayRef, referenceOf } from "../../core/oci/ref.ts";
import { loadPublicKey } from "../../core/sign/keys.ts";
import { embeddedTrustedRoot } from "../../core/sign/embedded-root.ts";
import { parseTrustedRoot, type KeylessTrust } from "../../core/sign/keyless.ts";
import { findSignatures } from "../../core/sign/referrers.ts";
import { verifySignatures, type KeyTrust, type Verdict } from "../../core/sign/verifier.ts";
import { createServices, parseURLArg, type RegistryFlags } from "../services.ts";
import { Logger, parseFormat, printResult, type Streams } from "../output.ts";
import { readKeyFile } from "./sign.ts";

export interface VerifyFlags extends RegistryFlags {
  key?: string[];
  trustedRoot?: string;
  certificateIdentity?: string;
  certificateIdentityRegexp?: string;
  certificateOidcIssuer?: string;
  certificateOidcIssuerRegexp?: string;
  annotations?: string[];
  anyPredicate?: boolean;
  output?: string;
  quiet?: boolean;
}

/** Go's regexp.QuoteMeta, anchored: cosign compares exact identities with ==. */
function exactRegexp(s: string): string {
  return `^${s.replace(/[\\.+*?()|[\]{}^$]/g, "\\$&")}$`;
}

/** Keyless trust: the `--trusted-root` file, else the public-good root embedded in berth (offline either way). */
function keylessTrust(f: VerifyFlags): KeylessTrust {
  const subject = f.certificateIdentity !== undefined ? exactRegexp(f.certificateIdentity) : f.certificateIdentityRegexp;
  const issuer = f.certificateOidcIssuer !== undefined ? exactRegexp(f.certificateOidcIssuer) : f.certificateOidcIssuerRegexp;
  if (subject === undefined || issuer === undefined) {
    fail("USAGE", "keyless verification needs --certificate-identity[-regexp] and --certificate-oidc-issuer[-regexp]", {
      hint: "or pass --key cosign.pub for key-based signatures",
    });
  }
  if (!f.trustedRoot) return embeddedTrustedRoot([{ issuer, subject }]);
  let json: unknown;
  try {
    json = JSON.parse(readKeyFile(f.trustedRoot));
  } catch (e) {
    fail("USAGE", `--trusted-root ${f.trustedRoot} is not JSON: ${(e as Error).message}`);
  }
  return { material: parseTrustedRoot(json), identities: [{ issuer, subject }] };
}

function who(v: Verdict, f: VerifyFlags): string {
  if (v.identity) return `identity ${v.identity.subject} (issuer ${v.identity.issuer})`;
  return `key ${v.key}${v.keyIndex !== undefined ? ` (${f.key?.[v.keyIndex]})` : ""}`;
}

/**
 * `berth verify artifact`: resolves the reference once, finds bundle referrers (else the legacy
 * `.sig` image) as cosign v3 and Flux do, and checks them offline against public keys (`--key`) or,
 * keyless, against a trusted root (`--trusted-root`, default the embedded public-good root) and one identity. Exit 0 when at least one signature verifies, 7 otherwise.
 */
export async function run(url: string | undefined, f: VerifyFlags, s: Streams, env: NodeJS.ProcessEnv): Promise<number> {
  const format = parseFormat(f.output);
  if (!url) fail("USAGE", "artifact name is required");
  const keyed = (f.key?.length ?? 0) > 0;
  const trust: KeyTrust = keyed ? { keys: f.key!.map((k) => loadPublicKey(readKeyFile(k))) } : { keyless: keylessTrust(f) };
  const annotations = parseAnnotationFlags(f.annotations ?? []);
  const ref = parseURLArg(url, "artifact name is required");
  const log = new Logger(s, f.quiet || format !== "human");
  const services = createServices(f, env, undefined, s.signal);
  try {
    const target = await services.open(ref);
    const subject = await target.resolve(referenceOf(ref), { signal: services.signal });
    log.action(`verifying signatures of ${displayRef(ref, { digest: subject.digest })}`);
    const found = await findSignatures(target, subject.digest, { signal: services.signal });
    const r = verifySignatures([...found.bundles, ...found.legacy], subject.digest, trust, { annotations, requireSignPredicate: !f.anyPredicate });
    for (const v of r.verified) {
      const when = v.signedAt ? `, logged in Rekor at ${v.signedAt}` : v.claimedTime ? `, signed at ${v.claimedTime} (claimed)` : "";
      log.success(`${v.format} signature from ${v.source} verified: ${who(v, f)}${when}`);
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
          keyFile: v.keyIndex !== undefined ? f.key?.[v.keyIndex] : null,
          identity: v.identity ?? null,
          signedAt: v.signedAt ?? null,
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
