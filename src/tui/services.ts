/**
 * What the TUI needs from the outside world, passed in by `src/main.ts` (the DI seam of design §2.6
 * #10): targets opened from references, the file I/O for history, and the registries known from the
 * docker config. The TUI itself reads no environment and touches no files.
 */
import { createContext, useContext } from "react";
import type { ArtifactDiff, ArtifactRef, Descriptor, SignArtifactResult, SignatureFormat, Target } from "../core/index.ts";
import type { KubeAccess } from "./cluster-client.ts";

/** One tar entry as a streaming tar reader yields it. */
export interface TarEntry {
  header: { name: string; type: string; size: number; mode: number };
  body: AsyncIterable<Uint8Array>;
}

/** Streams the entries of an (uncompressed) tar stream; read or skip each body before the next. */
export type TarReader = (tar: AsyncIterable<Uint8Array>) => AsyncIterable<TarEntry>;

/** Recently opened repositories. */
export interface HistoryStore {
  /** Newest first; [] when there is none yet. */
  load(): Promise<string[]>;
  /** Records a repository URL as the newest entry. */
  add(url: string): Promise<void>;
}

/** Signing as `berth sign artifact` does it, with the key given to `berth ui --key`. */
export interface SigningAccess {
  /** The key file; undefined when `berth ui` got no `--key`. */
  keyPath?: string;
  /** True when the key is encrypted and COSIGN_PASSWORD is unset: the TUI asks for the password. */
  needsPassword: boolean;
  /** True when an identity token is at hand (`--identity-token`, SIGSTORE_ID_TOKEN or GitHub Actions): without a key, `sign` signs keyless. */
  identityToken: boolean;
  /** Keyless: where the token comes from and the Fulcio/Rekor instances used (`berth ui --fulcio-url/--rekor-url`), for the screen. */
  keyless?: { tokenSource: string; fulcioURL: string; rekorURL: string };
  /**
   * Signs `digest` in the repository of `ref`, with the key (`password` overrides COSIGN_PASSWORD) or,
   * without one, keyless; a keyless result carries the certificate's identity.
   */
  sign(ref: ArtifactRef, digest: string, opts: { format: SignatureFormat; password?: string; signal?: AbortSignal }): Promise<SignArtifactResult & { identity?: { subject: string; issuer: string } }>;
}

/** One side of a promotion, as the core's `planPromote` takes it. */
export interface PromoteSide {
  target: Target;
  /** Source: the tag or digest to promote. Destination: the tag to (re)point. */
  reference: string;
  /** How messages name it, e.g. `ghcr.io/org/app:staging`. */
  label: string;
}

/** The core's promotion plan, as far as the TUI reads it; handed back unchanged to `promote`. */
export interface PromotionPlan {
  source: { label: string; descriptor: Descriptor };
  target: { label: string; tag: string; descriptor?: Descriptor };
  /** The destination tag already names the source digest. */
  upToDate: boolean;
  /** Current destination (a) against the source (b). */
  diff?: ArtifactDiff;
  /** Why the contents could not be compared; the promotion can still go ahead. */
  diffError?: string;
  /** The source signatures that verified (when verify keys are configured). */
  verified?: { verified: readonly { format: string; source: string }[] };
}

/** What a promotion wrote. */
export interface PromotionResult {
  digest: string;
  tag: string;
  /** Legacy `.sig`/`.att` tags of the digest and what happened to each (copied, merged, present). */
  legacyTags: readonly { tag: string; outcome: string }[];
  /** Referrer manifests (bundles, attestations) now in the destination. */
  referrers: readonly string[];
}

/** Promotion as `berth promote` does it: the core's `planPromote` and `promoteArtifact`, with `berth ui --verify-key`. */
export interface PromotionAccess {
  /** How many public keys plans verify the source's signatures with first (0: no check). */
  verifyKeys: number;
  /** Resolves the source, verifies it when keys are configured, and compares the destination tag's current artifact with it. */
  plan(source: PromoteSide, destination: PromoteSide, opts: { signal?: AbortSignal }): Promise<PromotionPlan>;
  /** Points the destination tag at the planned digest; across repositories the artifact and its signatures are copied first. */
  promote(plan: PromotionPlan, source: Target, destination: Target, opts: { sameRepository: boolean; mountFrom?: string; signal?: AbortSignal }): Promise<PromotionResult>;
}

/** Services the TUI is given. */
export interface TuiServices {
  /** Opens a registry repository or an OCI layout. */
  open(ref: ArtifactRef): Promise<Target>;
  /** Streaming tar reader (core's), injected because the core index does not export one yet. */
  readTar: TarReader;
  /** Recent repositories. */
  history: HistoryStore;
  /** Registries the docker config holds credentials for, e.g. `ghcr.io`. */
  registries: readonly string[];
  /** Kubernetes access for the Cluster screen; undefined hides it behind a hint. */
  kube?: KubeAccess;
  /** Promotion (the core's, injected: the core index does not export it). */
  promotion: PromotionAccess;
  /** Signing; undefined when signing is not wired (tests). */
  signing?: SigningAccess;
  /** Aborted when the program is interrupted; every operation also gets its own signal. */
  signal?: AbortSignal;
}

/** An in-memory history, for tests and for when the state directory cannot be written. */
export function memoryHistory(initial: string[] = []): HistoryStore {
  let items = [...initial];
  return {
    load: async () => [...items],
    add: async (url) => {
      items = [url, ...items.filter((x) => x !== url)].slice(0, 20);
    },
  };
}

/** Context carrying the services to the views. */
export const ServicesContext = createContext<TuiServices | null>(null);

/** The services of the running app; throws when used outside the app. */
export function useServices(): TuiServices {
  const s = useContext(ServicesContext);
  if (!s) throw new Error("useServices outside <ServicesContext.Provider>");
  return s;
}
