import { fail } from "../../core/errors.ts";
import { parseAnnotationFlags } from "../../core/artifact/metadata.ts";
import { displayRef, referenceOf } from "../../core/oci/ref.ts";
import { loadPublicKey } from "../../core/sign/keys.ts";
import { embeddedTrustedRoot } from "../../core/sign/embedded-root.ts";
import type { KeylessTrust } from "../../core/sign/keyless.ts";
import { compileGoRegexp } from "../../core/semver/go-regexp.ts";
import { REKOR_BUNDLE_ANNOTATION } from "../../core/sign/legacy.ts";
import { findSignatures, type FoundSignature } from "../../core/sign/referrers.ts";
import { verifySignatures, type KeyTrust, type Verdict } from "../../core/sign/verifier.ts";
import { createServices, parseURLArg, type RegistryFlags } from "../services.ts";
import { Logger, parseFormat, printResult, type Streams } from "../output.ts";
import { readKeyFile, readTrustedRoot } from "../signing.ts";

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

/** The policy of `--certificate-identity[-regexp]` and `--certificate-oidc-issuer[-regexp]`, or undefined when neither is given. */
export function identityPolicy(f: IdentityFlags): { subject: string; issuer: string } | undefined {
  const subject = f.certificateIdentity !== undefined ? exactRegexp(f.certificateIdentity) : f.certificateIdentityRegexp;
  const issuer = f.certificateOidcIssuer !== undefined ? exactRegexp(f.certificateOidcIssuer) : f.certificateOidcIssuerRegexp;
  if (subject === undefined && issuer === undefined) return undefined;
  if (subject === undefined || issuer === undefined) {
    fail("USAGE", "keyless verification needs --certificate-identity[-regexp] and --certificate-oidc-issuer[-regexp]", {
      hint: "or pass --key cosign.pub for key-based signatures",
    });
  }
  // Checked here: the verifier records a bad pattern as a failure of each signature, which would read as "not verified".
  for (const [flag, re] of [["--certificate-identity-regexp", subject], ["--certificate-oidc-issuer-regexp", issuer]] as const) {
    const c = compileGoRegexp(re);
    if (!c.ok) fail("USAGE", `${flag} ${JSON.stringify(re)} is not a valid RE2 regexp: ${c.error}`);
  }
  return { subject, issuer };
}

/** The keyless policy flags of `verify artifact` (and `list artifacts`). */
export interface IdentityFlags {
  trustedRoot?: string;
  certificateIdentity?: string;
  certificateIdentityRegexp?: string;
  certificateOidcIssuer?: string;
  certificateOidcIssuerRegexp?: string;
}

/** Keyless trust: the `--trusted-root` file, else the public-good root embedded in berth (offline either way). */
export function keylessTrust(f: IdentityFlags): KeylessTrust {
  const policy = identityPolicy(f);
  if (!policy) {
    fail("USAGE", "keyless verification needs --certificate-identity[-regexp] and --certificate-oidc-issuer[-regexp]", {
      hint: "or pass --key cosign.pub for key-based signatures",
    });
  }
  if (!f.trustedRoot) return embeddedTrustedRoot([policy]);
  return { material: readTrustedRoot(f.trustedRoot), identities: [policy] };
}

/** The Rekor entry a signature carries (the earliest, whose time the verifier reports): log index and integrated time. Not verified here. */
export function rekorEntryOf(sig: FoundSignature): { logIndex: number; integratedTime: number } | undefined {
  const entries: Array<{ logIndex: number; integratedTime: number }> = [];
  const add = (i: unknown, t: unknown) => {
    const logIndex = Number(i);
    const integratedTime = Number(t);
    if (Number.isSafeInteger(logIndex) && logIndex >= 0 && Number.isSafeInteger(integratedTime) && integratedTime > 0) entries.push({ logIndex, integratedTime });
  };
  if (sig.kind === "bundle") {
    const tlog = (sig.json as { verificationMaterial?: { tlogEntries?: unknown } } | null)?.verificationMaterial?.tlogEntries;
    if (Array.isArray(tlog)) for (const e of tlog as Array<{ logIndex?: unknown; integratedTime?: unknown } | null>) add(e?.logIndex, e?.integratedTime);
  } else {
    const raw = sig.annotations[REKOR_BUNDLE_ANNOTATION];
    if (raw) {
      try {
        const p = (JSON.parse(raw) as { Payload?: { logIndex?: unknown; integratedTime?: unknown } }).Payload;
        add(p?.logIndex, p?.integratedTime);
      } catch {
        // A malformed annotation fails verification; there is nothing to report.
      }
    }
  }
  return entries.sort((a, b) => a.integratedTime - b.integratedTime)[0];
}

/** One verified signature, as `-o json|yaml` prints it and the human line describes it. */
export interface VerifiedSignature {
  format: "bundle" | "legacy";
  source: string;
  /** The trusted key's fingerprint (`ecdsa-p256 sha256:<hex>`), or `certificate` for keyless. */
  key: string;
  /** The `--key` file that verified it; null for keyless. */
  keyFile: string | null;
  /** Keyless: the certificate identity that matched the policy; null for key signatures. */
  identity: { subject: string; issuer: string } | null;
  /** Keyless: Rekor's integrated time, covered by the verified log proof; null for key signatures (verified without the log). */
  signedAt: string | null;
  /** Keyless: the Rekor log index of that entry; null otherwise. */
  logIndex: number | null;
  /** Annotations covered by the signature. */
  annotations: Record<string, string>;
  /** The referrer's created annotation: what the signer claims, not covered by the signature. */
  claimedTime: string | null;
}

/** Joins a verdict with the signature it came from (`found`) and the `--key` files. */
export function describeVerdict(v: Verdict, found: FoundSignature | undefined, keyFiles: string[] = []): VerifiedSignature {
  return {
    format: v.format,
    source: v.source,
    key: v.key,
    keyFile: v.keyIndex !== undefined ? (keyFiles[v.keyIndex] ?? null) : null,
    identity: v.identity ?? null,
    signedAt: v.signedAt ?? null,
    // Only where the log proof was verified (keyless): keyed verification ignores the log, as Flux does.
    logIndex: v.identity && v.signedAt && found ? (rekorEntryOf(found)?.logIndex ?? null) : null,
    annotations: v.annotations,
    claimedTime: v.claimedTime ?? null,
  };
}

/** The human line: which signature, who signed it (key fingerprint or identity) and when (Rekor time, or none). */
export function verifiedLine(d: VerifiedSignature): string {
  const who = d.identity ? `identity ${d.identity.subject} (issuer ${d.identity.issuer})` : `key ${d.key}${d.keyFile ? ` (${d.keyFile})` : ""}`;
  let when: string;
  if (d.signedAt) when = `at ${d.signedAt} (Rekor integrated time${d.logIndex !== null ? `, log index ${d.logIndex}` : ""})`;
  else if (d.identity) when = "no Rekor timestamp";
  else when = `no timestamp (key signatures are verified without a transparency log${d.claimedTime ? `; the referrer claims ${d.claimedTime}` : ""})`;
  return `${d.format} signature ${d.source} verified: signed by ${who}, ${when}`;
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
    const bySource = new Map<string, FoundSignature>([
      ...found.bundles.map((b) => [`referrer ${b.source}`, b] as const),
      ...found.legacy.map((l) => [l.source, l] as const),
    ]);
    const described = r.verified.map((v) => describeVerdict(v, bySource.get(v.source), f.key));
    for (const d of described) log.success(verifiedLine(d));
    for (const e of r.failures) log.warning(`ignored: ${e.message}`);
    if (format !== "human") {
      await printResult(s, format, {
        digest: subject.digest,
        verified: true,
        signatures: described,
        failures: r.failures.map((e) => ({ code: e.code, message: e.message })),
      });
    }
    return 0;
  } finally {
    await services.close();
  }
}
