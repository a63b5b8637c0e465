import { Command, Option } from "commander";

/** Flags every verb that talks to a registry accepts (flux's names, plus TLS files). */
export interface RegistryFlags {
  creds?: string;
  provider?: string;
  insecureRegistry?: boolean;
  caFile?: string;
  certFile?: string;
  keyFile?: string;
  timeout?: string;
}

/** Adds the registry connection flags to a command. */
export function withRegistryFlags(cmd: Command): Command {
  return cmd
    .option("--creds <user:password>", "credentials for the registry: <username>[:<password>]; a value without ':' is sent as a bearer token")
    .addOption(new Option("--provider <name>", "the OCI provider name").choices(["generic", "aws", "azure", "gcp"]).default("generic"))
    .option("--insecure-registry", "allow plain HTTP and skip TLS verification", false)
    .option("--ca-file <path>", "PEM file with CA certificates to trust for the registry")
    .option("--cert-file <path>", "PEM client certificate for mutual TLS")
    .option("--key-file <path>", "PEM private key of the client certificate")
    .option("--timeout <duration>", "timeout for the whole operation (e.g. 30s, 5m)", "5m");
}


/**
 * The keyless signing flags of `sign artifact`, `push|tag artifact --sign` and the UI's Sign screen;
 * `when` says when they apply (e.g. "with --sign, keyless"). No commander defaults: an unset flag
 * stays undefined, so `--sign`'s checks can tell what was given (signing.ts fills in the defaults).
 */
export function withKeylessSignFlags(cmd: Command, when: string): Command {
  return cmd
    .option("--identity-token <token|file>", `${when}: OIDC token (audience sigstore) or a file holding it; default $SIGSTORE_ID_TOKEN, else GitHub Actions' token`)
    .option("--fulcio-url <url>", `${when}: Fulcio instance; default https://fulcio.sigstore.dev`)
    .option("--rekor-url <url>", `${when}: Rekor v1 instance; default https://rekor.sigstore.dev`)
    .option("--trusted-root <file>", `${when}: trusted_root.json new signatures are checked against before they are pushed; default the embedded public-good root for the public-good instances`);
}

/** `push|tag artifact --sign`: sign the digest just pushed or tagged, with a key or keyless. */
export function withSignAfterFlags(cmd: Command, after: string): Command {
  return withKeylessSignFlags(
    cmd
      .option("--sign", `${after}, sign the artifact's digest with --key, or keyless without it (as berth sign artifact)`, false)
      .option("--key <file>", "with --sign: cosign.key (password from COSIGN_PASSWORD, a prompt or stdin) or a PEM private key"),
    "with --sign, keyless (no --key)",
  ).addOption(new Option("--sign-format <format>", "with --sign: bundle (cosign v3 referrer, default) or legacy (sha256-<hex>.sig image)").choices(["bundle", "legacy"]));
}

/** The keyless identity policy of `verify artifact` and `list artifacts`' SIGNED column; `what` prefixes the help. */
export function withIdentityPolicyFlags(cmd: Command, what: string): Command {
  return cmd
    .option("--certificate-identity <identity>", `${what}: exact certificate SAN (email or URI)`)
    .option("--certificate-identity-regexp <regex>", `${what}: RE2 regex the certificate SAN must match (unanchored)`)
    .option("--certificate-oidc-issuer <url>", `${what}: exact OIDC issuer in the certificate`)
    .option("--certificate-oidc-issuer-regexp <regex>", `${what}: RE2 regex the OIDC issuer must match (unanchored)`);
}
