/**
 * What the TUI needs from the outside world, passed in by `src/main.ts` (the DI seam of design §2.6
 * #10): targets opened from references, the file I/O for history, and the registries known from the
 * docker config. The TUI itself reads no environment and touches no files.
 */
import { createContext, useContext } from "react";
import type { ArtifactRef, SignArtifactResult, SignatureFormat, Target } from "../core/index.ts";
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
  /** True when SIGSTORE_ID_TOKEN is set: without a key, `sign` signs keyless (Fulcio + Rekor public-good instances). */
  identityToken: boolean;
  /**
   * Signs `digest` in the repository of `ref`, with the key (`password` overrides COSIGN_PASSWORD) or,
   * without one, keyless; a keyless result carries the certificate's identity.
   */
  sign(ref: ArtifactRef, digest: string, opts: { format: SignatureFormat; password?: string; signal?: AbortSignal }): Promise<SignArtifactResult & { identity?: { subject: string; issuer: string } }>;
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
