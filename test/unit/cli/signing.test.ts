import { describe, expect, test } from "bun:test";
import { isCoreError } from "../../../src/core/errors.ts";
import { embeddedTrustedRoot } from "../../../src/core/sign/embedded-root.ts";
import { parseSignFlags, prepareSigner, selfCheckTrust, signatureResult, signedMessage, verifyHint } from "../../../src/cli/signing.ts";

function usageMessage(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (isCoreError(e, "USAGE")) return e.message;
    throw e;
  }
  throw new Error("no USAGE error");
}

describe("parseSignFlags (push/tag --sign)", () => {
  test("--sign alone is keyless; --sign --key is keyed; the format defaults to bundle", () => {
    expect(parseSignFlags({ sign: true })).toBe("bundle");
    expect(parseSignFlags({ sign: true, key: "cosign.key", signFormat: "legacy" })).toBe("legacy");
    expect(parseSignFlags({ sign: true, identityToken: "t", fulcioUrl: "http://f", rekorUrl: "http://r", trustedRoot: "root.json" })).toBe("bundle");
    expect(parseSignFlags({ sign: false })).toBe("bundle");
  });
  test("signing flags without --sign are refused, naming every flag given", () => {
    expect(usageMessage(() => parseSignFlags({ key: "k" }))).toBe("--key only applies with --sign");
    expect(usageMessage(() => parseSignFlags({ sign: false, identityToken: "t", trustedRoot: "r" }))).toBe("--identity-token, --trusted-root only apply with --sign");
  });
  test("--key excludes the keyless flags", () => {
    expect(usageMessage(() => parseSignFlags({ sign: true, key: "k", fulcioUrl: "http://f" }))).toContain("--key and --fulcio-url exclude each other");
    expect(usageMessage(() => parseSignFlags({ sign: true, key: "k", signFormat: "oci" }))).toBe("--sign-format must be bundle or legacy, not oci");
  });
});

describe("signing results", () => {
  const base = { format: "bundle" as const, digest: "sha256:" + "a".repeat(64), signatureManifest: "sha256:" + "b".repeat(64), pushed: true };
  test("keyless results name the identity; key results have identity null", () => {
    const identity = { subject: "https://github.com/o/r/.github/workflows/x.yml@refs/heads/main", issuer: "https://token.actions.githubusercontent.com" };
    expect(signatureResult({ ...base, identity })).toEqual({ digest: base.digest, format: "bundle", signature: base.signatureManifest, tag: "", pushed: true, identity });
    expect(signatureResult({ ...base, tag: "sha256-x" }).identity).toBeNull();
    expect(signedMessage({ ...base, identity })).toBe(`artifact signed keyless as ${identity.subject} (issuer ${identity.issuer}): bundle signature ${base.signatureManifest} pushed`);
    expect(signedMessage({ ...base, pushed: false })).toBe("artifact signed: already signed with this key and payload; nothing pushed");
    expect(verifyHint(identity)).toContain(`--certificate-identity ${identity.subject} --certificate-oidc-issuer ${identity.issuer}`);
    expect(verifyHint(undefined)).toContain("--insecure-ignore-tlog");
  });
});

describe("keyless preparation", () => {
  test("the embedded root checks new signatures only for the public-good instances", () => {
    expect(selfCheckTrust(undefined, "https://fulcio.sigstore.dev/", "https://rekor.sigstore.dev")).toBe(embeddedTrustedRoot().material);
    expect(selfCheckTrust(undefined, "http://127.0.0.1:1", "https://rekor.sigstore.dev")).toBeUndefined();
  });
  test("without --key and without any token source it fails before any network use", async () => {
    const err = await prepareSigner({ fulcioUrl: "http://127.0.0.1:9" }, {}).catch((e) => e);
    expect(isCoreError(err, "USAGE")).toBe(true);
    expect(err.message).toBe("keyless signing needs an OIDC identity token");
  });
});
