/** File trees to compare: an extracted artifact, a local source directory, or files held in memory. */
import type { Stats } from "node:fs";
import { lstat, readdir, readFile } from "node:fs/promises";
import { basename, join } from "node:path";
import { fail } from "../errors.ts";

/** Read access to a tree of regular files. */
export interface TreeReader {
  /** Relative POSIX paths of the regular files, without a leading `./`. */
  list(): Promise<string[]>;
  /** Contents of one listed file. */
  read(path: string): Promise<Uint8Array>;
}

/**
 * A directory on disk (the only I/O in core/diff). Regular files only: symlinks, sockets and the like are
 * not listed, because an artifact never contains them once built. A path to a single file gives a tree
 * holding just that file under its base name, as `flux diff artifact --path file.yaml` treats it.
 * A missing path fails with USAGE (flux's `invalid path` message), other errors with STORAGE_FAILED.
 */
export function dirTreeReader(dir: string): TreeReader {
  let stat: Promise<Stats> | undefined;
  const statDir = () =>
    (stat ??= lstat(dir).catch((e: NodeJS.ErrnoException) =>
      e.code === "ENOENT" || e.code === "ENOTDIR"
        ? fail("USAGE", `invalid path '${dir}', must point to an existing directory or file`)
        : fail("STORAGE_FAILED", `reading ${dir}: ${e.message}`, undefined, e),
    ));
  return {
    async list() {
      if ((await statDir()).isFile()) return [basename(dir)];
      const out: string[] = [];
      async function walk(rel: string): Promise<void> {
        const entries = await readdir(rel === "" ? dir : join(dir, rel), { withFileTypes: true });
        for (const e of entries) {
          const p = rel === "" ? e.name : `${rel}/${e.name}`;
          if (e.isDirectory()) await walk(p);
          else if (e.isFile()) out.push(p);
        }
      }
      await walk("").catch((e: Error) => fail("STORAGE_FAILED", `listing ${dir}: ${e.message}`, undefined, e));
      return out.sort();
    },
    async read(path) {
      const file = (await statDir()).isFile() && path === basename(dir) ? dir : join(dir, ...path.split("/"));
      return new Uint8Array(
        await readFile(file).catch((e: Error) => fail("STORAGE_FAILED", `reading ${file}: ${e.message}`, undefined, e)),
      );
    },
  };
}

/** A tree held in memory; strings are stored as UTF-8. Handy for tests and for callers that already hold the bytes. */
export function memoryTreeReader(files: Readonly<Record<string, string | Uint8Array>>): TreeReader {
  const enc = new TextEncoder();
  return {
    async list() {
      return Object.keys(files).sort();
    },
    async read(path) {
      const f = files[path];
      if (f === undefined) throw new Error(`no such file in tree: ${path}`);
      return typeof f === "string" ? enc.encode(f) : f;
    },
  };
}
