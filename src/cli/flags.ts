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

