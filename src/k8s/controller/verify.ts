/**
 * `spec.verify` (spec §5): checks the signature of the resolved digest before anything is pulled.
 * The reconciler calls `verifySource` when §3.5.7 says verification is due and maps its outcome to
 * the `SourceVerified` condition; a thrown error keeps the previously served artifact.
 */
import { CoreError, type RegistryClientOptions, type RegistryRepository } from "../../core/index.ts";
import type { OCIRepository } from "../api/ocirepository.ts";
import type { KubeClient } from "../client/kube.ts";

/** Input of `verifySource`. */
export interface VerifySourceInput {
  kube: KubeClient;
  obj: OCIRepository;
  /** The object's repository, with its credentials and transport. */
  repo: RegistryRepository;
  /** The options `repo`'s client was made with (TLS material for a private Rekor, insecure). */
  registryOptions: RegistryClientOptions;
  /** The manifest digest to verify (`sha256:…`). */
  digest: string;
  /** The revision string, for messages. */
  revision: string;
  signal?: AbortSignal;
}

/** `verified`: SourceVerified=True; `ignored`: leave SourceVerified as it is (notation audit/skip). */
export type VerifySourceOutcome = "verified" | "ignored";

/** The provider name used in messages: `cosign`, `cosign keyless` or `notation`. */
export function verifyProviderLabel(obj: OCIRepository): string {
  const v = obj.spec.verify;
  if (!v) return "";
  if (v.provider === "cosign" && !v.secretRef) return "cosign keyless";
  return v.provider;
}

/**
 * Verifies `input.digest` per `obj.spec.verify`. Throws CoreError `VERIFY_FAILED` whose message is
 * the condition message: `failed to verify the signature using provider '<p>': <err>`.
 */
export async function verifySource(input: VerifySourceInput): Promise<VerifySourceOutcome> {
  const label = verifyProviderLabel(input.obj);
  throw new CoreError({
    code: "VERIFY_FAILED",
    message: `failed to verify the signature using provider '${label}': verification is not supported yet by berth's controller`,
  });
}
