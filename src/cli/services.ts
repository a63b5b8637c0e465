import { readFileSync } from "node:fs";
import { homedir } from "node:os";
import { CoreError, fail } from "../core/errors.ts";
import { parseGoDuration } from "../core/duration.ts";
import { LayoutStore } from "../core/content/layout-store.ts";
import type { Target } from "../core/content/store.ts";
import { parseArtifactURL, type ArtifactRef } from "../core/oci/ref.ts";
import {
  createDockerConfigProvider,
  createRegistryClient,
  parseCredsFlag,
  proxyFromEnv,
  staticCredentials,
  type CredentialProvider,
  type RegistryClient,
} from "../core/registry/index.ts";
import type { ProgressSink } from "../core/progress.ts";
import { cloudCredentials } from "../core/registry/cloud/provider.ts";
import { VERSION } from "./version.ts";
import type { RegistryFlags } from "./flags.ts";
export type { RegistryFlags } from "./flags.ts";

function readPem(path: string | undefined, what: string): string | undefined {
  if (!path) return undefined;
  try {
    return readFileSync(path, "utf8");
  } catch (e) {
    fail("USAGE", `cannot read ${what} ${path}: ${(e as Error).message}`);
  }
}

/** Everything a command needs to reach registries and layouts; built once per command from flags and env. */
export interface Services {
  client: RegistryClient;
  credentialsSource: "flag" | "docker-config" | "provider";
  signal: AbortSignal;
  open(ref: ArtifactRef, opts?: { create?: boolean }): Promise<Target>;
  close(): Promise<void>;
}

export function createServices(flags: RegistryFlags, env: NodeJS.ProcessEnv, onProgress?: ProgressSink, interrupt?: AbortSignal): Services {
  let credentials: CredentialProvider;
  let credentialsSource: Services["credentialsSource"] = "docker-config";
  const provider = flags.provider ?? "generic";
  if (provider !== "generic" && provider !== "aws" && provider !== "azure" && provider !== "gcp") {
    fail("USAGE", `--provider must be one of generic, aws, azure, gcp, not ${provider}`);
  }
  if (provider !== "generic" && flags.creds) fail("USAGE", "--creds and --provider cannot be used together", { hint: "drop --creds to use the cloud identity" });
  if (provider !== "generic") {
    // As flux: the registry login comes from the cloud identity of the machine or CI job.
    credentials = cloudCredentials(provider, { env: { ...env } });
    credentialsSource = "provider";
  } else if (flags.creds) {
    credentials = staticCredentials(parseCredsFlag(flags.creds));
    credentialsSource = "flag";
  } else {
    credentials = createDockerConfigProvider({ env: { ...env }, homeDir: env.HOME ?? homedir() });
  }
  const timeoutMs = parseGoDuration(flags.timeout ?? "5m");
  const signals = [...(timeoutMs > 0 ? [AbortSignal.timeout(timeoutMs)] : []), ...(interrupt ? [interrupt] : [])];
  const signal = AbortSignal.any(signals);
  const client = createRegistryClient({
    insecure: Boolean(flags.insecureRegistry),
    ca: readPem(flags.caFile ?? env.SSL_CERT_FILE, "CA file"),
    cert: readPem(flags.certFile, "client certificate"),
    key: readPem(flags.keyFile, "client key"),
    credentials,
    userAgent: `berth/${VERSION}`,
    proxy: proxyFromEnv(env),
    onProgress,
  });
  if (Boolean(flags.certFile) !== Boolean(flags.keyFile)) fail("USAGE", "--cert-file and --key-file must be given together");
  return {
    client,
    credentialsSource,
    signal,
    async open(ref, opts = {}) {
      if (ref.kind === "layout") return LayoutStore.open(ref.path, { create: opts.create });
      return client.repository({ registry: ref.registry, repository: ref.repository });
    },
    close: () => client.close(),
  };
}

/** Parses a URL argument, turning a missing one into flux's message. */
export function parseURLArg(url: string | undefined, missing: string): ArtifactRef {
  if (!url) throw new CoreError({ code: "USAGE", message: missing });
  return parseArtifactURL(url);
}
