/**
 * Local state the TUI reads and writes through injected file functions (the TUI itself touches no
 * files): the recent-repositories history and the registries of the docker config.
 */
import type { HistoryStore } from "./services.ts";

/** File access handed in by the composition root. */
export interface TextFiles {
  /** The file's text; rejects when it does not exist. */
  read(path: string): Promise<string>;
  /** Writes the file, creating its directory. */
  write(path: string, text: string): Promise<void>;
}

/** Options of {@link createFileHistory}. */
export interface FileHistoryOptions {
  path: string;
  files: TextFiles;
  /** Entries kept. Default 20. */
  max?: number;
}

/**
 * History kept as a JSON array of URLs, newest first. A missing or unreadable file is an empty
 * history, and a failed write is ignored: history is a convenience and must never break the UI.
 */
export function createFileHistory({ path, files, max = 20 }: FileHistoryOptions): HistoryStore {
  const load = async (): Promise<string[]> => {
    try {
      const v: unknown = JSON.parse(await files.read(path));
      return Array.isArray(v) ? v.filter((x): x is string => typeof x === "string").slice(0, max) : [];
    } catch {
      return [];
    }
  };
  return {
    load,
    async add(url) {
      const next = [url, ...(await load()).filter((x) => x !== url)].slice(0, max);
      await files.write(path, JSON.stringify(next, null, 2) + "\n").catch(() => {});
    },
  };
}

/**
 * Registry hosts of a docker config (`auths` and `credHelpers` keys), normalised: scheme and path
 * dropped, Docker Hub's legacy key shown as `docker.io`. Invalid JSON gives [].
 */
export function registriesFromDockerConfig(text: string): string[] {
  let cfg: unknown;
  try {
    cfg = JSON.parse(text);
  } catch {
    return [];
  }
  if (!cfg || typeof cfg !== "object") return [];
  const c = cfg as { auths?: unknown; credHelpers?: unknown };
  const keys = [c.auths, c.credHelpers].flatMap((m) => (m && typeof m === "object" ? Object.keys(m) : []));
  const hosts = keys.map((k) => {
    const host = k.replace(/^[a-z]+:\/\//i, "").replace(/\/.*$/, "");
    return host === "index.docker.io" ? "docker.io" : host;
  });
  return [...new Set(hosts.filter(Boolean))].sort();
}
