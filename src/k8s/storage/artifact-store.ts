/**
 * The artifact storage of the OCIRepository controller (spec §3.6, §3.7, §3.9; design §2.1): the
 * role source-controller's `Storage` plays. Files live under `<root>/<kind>/<ns>/<name>/<file>`, are
 * written atomically (temp file in the same directory, fsync, rename) with their sha256 and size
 * computed while writing, are garbage collected by age and count, and are served by `file-server.ts`
 * at `status.artifact.url`.
 *
 * Locking is in-process (one promise chain per object directory): berth runs one controller
 * process per storage root, as source-controller's single-replica Deployment does, so the flock
 * `<file>.lock` files upstream creates are not needed and none are written.
 */
import { open, readdir, lstat, rename, rm, unlink, chmod, symlink, readFile, mkdir, stat } from "node:fs/promises";
import { createReadStream } from "node:fs";
import { randomBytes } from "node:crypto";
import { dirname, join, resolve, sep } from "node:path";
import { CoreError, Digester, buildArtifactArchive, fail } from "../../core/index.ts";
import { artifactURL } from "./urls.ts";

export { artifactURL };

/** `status.artifact` of a Flux source (`meta.Artifact`, spec §1.5), as this store fills it in. */
export interface StoredArtifact {
  /** `<kind>/<namespace>/<name>/<file>` relative to the storage root. */
  path: string;
  /** `http://<adv-addr>/<path>`. */
  url: string;
  /** The source revision, e.g. `latest@sha256:<hex>`. */
  revision: string;
  /** `sha256:<hex>` of the stored file bytes. Empty until stored. */
  digest: string;
  /** RFC3339 (seconds, UTC) time the file was written. */
  lastUpdateTime: string;
  /** Size of the stored file in bytes. */
  size?: number;
  /** Manifest annotations of the pulled artifact. */
  metadata?: Record<string, string>;
}

/** Options of `ArtifactStore`; all but `root` are optional. */
export interface ArtifactStoreOptions {
  /** Storage root (`--storage-path`). Required; created if missing. */
  root: string;
  /** Host[:port], optionally with an `http://`/`https://` scheme, used in URLs (`--storage-adv-addr`). Default `localhost:9090`. */
  advertisedAddress?: string;
  /** Age in ms after which a non-current file is garbage (`--artifact-retention-ttl`). Default 60_000 (1m). */
  retentionTTL?: number;
  /** Most files kept per object, the current one included (`--artifact-retention-records`). Default 2. */
  retentionRecords?: number;
  /** Clock, for tests. Default `() => new Date()`. */
  now?: () => Date;
}

/** Documented defaults of `ArtifactStoreOptions`. */
export const DEFAULT_ARTIFACT_STORE_OPTIONS = {
  advertisedAddress: "localhost:9090",
  retentionTTL: 60_000,
  retentionRecords: 2,
} as const;

/** Name of the per-object symlink to the newest artifact (`status.url`). */
export const LATEST_LINK = "latest.tar.gz";

/** Upper bound of files looked at per GC pass, as upstream (a runaway directory cannot stall a reconcile). */
const GC_FILE_LIMIT = 1000;

/** Always excluded from `extract` archives (source-controller's VCS patterns). */
export const VCS_IGNORE_PATTERNS: readonly string[] = Object.freeze([".git/", ".gitignore", ".gitmodules", ".gitattributes"]);

/** Used with the VCS patterns when neither `.sourceignore` files nor `spec.ignore` give any pattern (spec §3.7). */
export const DEFAULT_SOURCE_IGNORE_PATTERNS: readonly string[] = Object.freeze([
  "*.jpg", "*.jpeg", "*.gif", "*.png", "*.wmv", "*.flv", "*.tar.gz", "*.zip",
  ".github/", ".circleci/", ".travis.yml", ".gitlab-ci.yml", "appveyor.yml", ".drone.yml", "cloudbuild.yaml",
  "codeship-services.yml", "codeship-steps.yml",
  "**/.goreleaser.yml", "**/.sops.yaml", "**/.flux.yaml",
]);

const SEGMENT_RE = /^[A-Za-z0-9][A-Za-z0-9._:-]*$/;

function checkSegment(what: string, s: string): void {
  // Names become path components; reject anything that could climb out or hide a separator.
  if (!SEGMENT_RE.test(s) || s.includes("..")) {
    fail("USAGE", `invalid artifact ${what} ${JSON.stringify(s)}: use letters, digits, '.', '_', ':' and '-' only`);
  }
}

/**
 * `<kind>/<ns>/<name>/<filename>` with the kind lower-cased (`ocirepository/apps/podinfo/sha256:….tar.gz`).
 * Throws USAGE for components that are not plain names.
 */
export function artifactPathFor(kind: string, namespace: string, name: string, filename: string): string {
  const k = kind.toLowerCase();
  checkSegment("kind", k);
  checkSegment("namespace", namespace);
  checkSegment("name", name);
  checkSegment("file name", filename);
  return `${k}/${namespace}/${name}/${filename}`;
}

/**
 * The stored file name for a revision (spec §3.6, §3.10): the digest after the last `@` plus
 * `.tar.gz` (`latest@sha256:<hex>` → `sha256:<hex>.tar.gz`). `copy` artifacts use the same name;
 * `<digest>.tgz` is only the name of the blob in the reconcile's temp dir.
 */
export function artifactFileName(revision: string): string {
  const d = revision.slice(revision.lastIndexOf("@") + 1);
  if (!/^[a-z0-9]+:[A-Za-z0-9=_-]+$/.test(d)) fail("USAGE", `revision ${JSON.stringify(revision)} does not end in <algo>:<hex>; cannot name its artifact file`);
  return `${d}.tar.gz`;
}

/** RFC3339 in UTC with whole seconds, as `metav1.Time` serialises. */
export function rfc3339(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, "Z");
}

/** What `garbageCollect` removed. */
export interface GarbageCollectResult {
  /** Absolute paths deleted. */
  deleted: string[];
}

/** Options of `archiveDir`. */
export interface ArchiveDirOptions {
  /** `spec.ignore`: gitignore lines scoped to the root, appended after `.sourceignore` files. Default none. */
  ignore?: string | null;
  signal?: AbortSignal;
}

function storageError(what: string, e: unknown): CoreError {
  if (e instanceof CoreError) return e;
  const msg = e instanceof Error ? e.message : String(e);
  return new CoreError({ code: "STORAGE_FAILED", message: `${what}: ${msg}`, cause: e });
}

function isNotFound(e: unknown): boolean {
  return (e as NodeJS.ErrnoException)?.code === "ENOENT";
}

/** source-controller's artifact Storage: atomic writes, integrity checks, `latest` link, GC, per-object locks. */
export class ArtifactStore {
  /** Absolute storage root. */
  readonly root: string;
  readonly advertisedAddress: string;
  readonly retentionTTL: number;
  readonly retentionRecords: number;
  private readonly now: () => Date;
  private readonly locks = new Map<string, Promise<unknown>>();

  constructor(opts: ArtifactStoreOptions) {
    if (!opts.root) fail("USAGE", "artifact storage needs a root directory: set --storage-path");
    this.root = resolve(opts.root);
    this.advertisedAddress = opts.advertisedAddress ?? DEFAULT_ARTIFACT_STORE_OPTIONS.advertisedAddress;
    this.retentionTTL = opts.retentionTTL ?? DEFAULT_ARTIFACT_STORE_OPTIONS.retentionTTL;
    this.retentionRecords = opts.retentionRecords ?? DEFAULT_ARTIFACT_STORE_OPTIONS.retentionRecords;
    this.now = opts.now ?? (() => new Date());
  }

  /** A new, not yet stored artifact for an object: path and URL set, digest empty. */
  newArtifact(kind: string, namespace: string, name: string, filename: string, revision: string): StoredArtifact {
    const path = artifactPathFor(kind, namespace, name, filename);
    return { path, url: this.url(path), revision, digest: "", lastUpdateTime: "" };
  }

  /** URL of a storage-relative path (or an artifact's path) under the advertised address. */
  url(pathOrArtifact: string | { path: string }): string {
    return artifactURL(this.advertisedAddress, typeof pathOrArtifact === "string" ? pathOrArtifact : pathOrArtifact.path);
  }

  /** Absolute path of a storage-relative path; throws USAGE when it would leave the root. */
  localPath(pathOrArtifact: string | { path: string }): string {
    const rel = typeof pathOrArtifact === "string" ? pathOrArtifact : pathOrArtifact.path;
    const abs = resolve(this.root, rel);
    if (!abs.startsWith(this.root + sep)) fail("USAGE", `artifact path ${JSON.stringify(rel)} is outside the storage root`);
    return abs;
  }

  /** Directory holding every artifact of one object. */
  objectDir(kind: string, namespace: string, name: string): string {
    return dirname(this.localPath(artifactPathFor(kind, namespace, name, "x")));
  }

  /**
   * Runs `fn` while holding the lock of one object directory: calls for the same object run one at
   * a time, in call order. Every mutating method takes it, so it is not re-entrant: do not call
   * them from inside `fn`.
   */
  private async lock<T>(dir: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.locks.get(dir) ?? Promise.resolve();
    const run = prev.then(fn, fn);
    const tail = run.catch(() => {});
    this.locks.set(dir, tail);
    try {
      return await run;
    } finally {
      if (this.locks.get(dir) === tail) this.locks.delete(dir);
    }
  }

  /**
   * Writes `stream` to the artifact's file atomically: bytes go to a temp file in the same
   * directory (mode 0600), which is fsynced and renamed over the target only once the stream ended
   * cleanly. A failing stream leaves no file behind and any previous file untouched. Returns the
   * artifact with `digest`, `size` and `lastUpdateTime` set (the `copy` operation, spec §3.6).
   */
  async store(artifact: StoredArtifact, stream: AsyncIterable<Uint8Array>, signal?: AbortSignal): Promise<StoredArtifact> {
    const target = this.localPath(artifact);
    const dir = dirname(target);
    return this.lock(dir, () => this.storeUnlocked(artifact, target, stream, signal));
  }

  private async storeUnlocked(
    artifact: StoredArtifact,
    target: string,
    stream: AsyncIterable<Uint8Array>,
    signal: AbortSignal | undefined,
  ): Promise<StoredArtifact> {
    const dir = dirname(target);
    await mkdir(dir, { recursive: true, mode: 0o700 }).catch((e) => {
      throw storageError(`creating artifact directory ${dir}`, e);
    });
    const tmp = join(dir, `.${randomBytes(8).toString("hex")}.tmp`);
    const d = new Digester();
    let fh;
    try {
      fh = await open(tmp, "wx", 0o600);
    } catch (e) {
      throw storageError(`creating a temp file in ${dir}; is --storage-path writable?`, e);
    }
    try {
      try {
        for await (const chunk of stream) {
          if (signal?.aborted) fail("CANCELLED", `storing ${artifact.path} cancelled`);
          d.update(chunk);
          let off = 0;
          while (off < chunk.byteLength) off += (await fh.write(chunk, off, chunk.byteLength - off)).bytesWritten;
        }
        await fh.sync();
      } finally {
        await fh.close();
      }
      await rename(tmp, target);
    } catch (e) {
      await unlink(tmp).catch(() => {});
      throw storageError(`storing artifact ${artifact.path}`, e);
    }
    await syncDir(dir);
    return { ...artifact, digest: d.digest(), size: d.size, lastUpdateTime: rfc3339(this.now()) };
  }

  /**
   * Archives an extracted layer the way source-controller does (spec §3.7): a gzip'ed tar of
   * `srcDir` walked in lexical order with the root as `.`, regular files and directories only,
   * uid/gid 0, no owner names, mtime 0, modes 0750 (dirs), 0700 (files with an exec bit) and 0600,
   * Go's gzip level 6, ignore rules from `.sourceignore` files, `opts.ignore` and the defaults.
   *
   * `srcDir` must be a scratch directory: its permission bits are normalised in place, because the
   * core archiver records the modes it finds. Returns the stored artifact (file mode 0600).
   */
  async archiveDir(srcDir: string, artifact: StoredArtifact, opts: ArchiveDirOptions = {}): Promise<StoredArtifact> {
    const src = resolve(srcDir);
    const st = await stat(src).catch(() => undefined);
    if (!st?.isDirectory()) fail("STORAGE_FAILED", `invalid dir path: ${srcDir} is not a directory`);
    const target = this.localPath(artifact);
    const dir = dirname(target);
    return this.lock(dir, async () => {
      try {
        await mkdir(dir, { recursive: true, mode: 0o700 });
        await normaliseModes(src);
        const ignorePaths = await sourceControllerIgnore(src, opts.ignore);
        const res = await buildArtifactArchive(src, target, {
          ignorePaths,
          sourceIgnore: false,
          resolveSymlinks: false,
          normalizeModes: false,
          gzip: "go",
          // Config artifacts are small and a controller runs many archives at once: worker VMs would
          // cost tens of MiB and a start-up each, for no gain at this size.
          gzipWorkers: 0,
          signal: opts.signal,
        });
        await chmod(target, 0o600);
        await syncDir(dir);
        return { ...artifact, digest: res.digest, size: res.size, lastUpdateTime: rfc3339(this.now()) };
      } catch (e) {
        throw storageError(`archiving ${srcDir} to ${artifact.path}`, e);
      }
    });
  }

  /** Whether the artifact's file exists as a regular file (a symlink does not count, as upstream's Lstat). */
  async exists(artifact: { path: string }): Promise<boolean> {
    const st = await lstat(this.localPath(artifact)).catch(() => undefined);
    return st?.isFile() ?? false;
  }

  /**
   * Re-hashes the stored file and compares it with `artifact.digest` (and `size` when set). Throws
   * NOT_FOUND when the file is missing and DIGEST_MISMATCH when it was altered.
   */
  async verify(artifact: StoredArtifact): Promise<void> {
    const p = this.localPath(artifact);
    if (!(await this.exists(artifact))) {
      fail("NOT_FOUND", `artifact ${artifact.path} is not in storage; it is rebuilt on the next reconcile`);
    }
    const d = new Digester();
    try {
      for await (const chunk of createReadStream(p)) d.update(chunk as Uint8Array);
    } catch (e) {
      throw storageError(`reading ${artifact.path}`, e);
    }
    const got = d.digest();
    if (got !== artifact.digest || (artifact.size !== undefined && artifact.size !== d.size)) {
      throw new CoreError({
        code: "DIGEST_MISMATCH",
        message: `artifact ${artifact.path} is ${got} (${d.size} bytes), status says ${artifact.digest} (${artifact.size ?? "?"} bytes); it will be rebuilt`,
        details: { digest: artifact.digest },
      });
    }
  }

  /**
   * Points `<object dir>/latest.tar.gz` at the artifact's file (absolute target, as upstream),
   * replacing an older link atomically. Returns the link's URL (`status.url`, always `http://`).
   */
  async symlinkLatest(artifact: { path: string }): Promise<string> {
    const target = this.localPath(artifact);
    const dir = dirname(target);
    const link = join(dir, LATEST_LINK);
    const tmp = `${link}.tmp`;
    await this.lock(dir, async () => {
      try {
        await rm(tmp, { force: true });
        await symlink(target, tmp);
        await rename(tmp, link);
      } catch (e) {
        await rm(tmp, { force: true }).catch(() => {});
        throw storageError(`failed to update status URL symlink`, e);
      }
    });
    const rel = artifact.path.slice(0, artifact.path.lastIndexOf("/") + 1) + LATEST_LINK;
    return `http://${this.advertisedAddress.replace(/^https?:\/\//, "").replace(/\/+$/, "")}/${rel}`;
  }

  /**
   * Removes old files of the artifact's object (spec §3.9). Only regular files count (no symlinks,
   * no `*.lock`, at most 1000). Every file other than `keep` older than the TTL is deleted; then the
   * oldest non-current files go while more than `retentionRecords` would remain (`keep` counts).
   * The file `keep` names is never deleted. Deleting `<f>` also deletes `<f>.lock`.
   */
  async garbageCollect(keep: { path: string }, opts: { ttl?: number; maxRecords?: number } = {}): Promise<GarbageCollectResult> {
    const current = this.localPath(keep);
    const dir = dirname(current);
    const ttl = opts.ttl ?? this.retentionTTL;
    const max = opts.maxRecords ?? this.retentionRecords;
    return this.lock(dir, async () => {
      let names: string[];
      try {
        names = await readdir(dir);
      } catch (e) {
        if (isNotFound(e)) return { deleted: [] };
        throw storageError(`garbage collection of ${dir}`, e);
      }
      const now = this.now().getTime();
      const files: { path: string; mtime: number }[] = [];
      const stale: string[] = [];
      for (const n of names.sort()) {
        if (files.length >= GC_FILE_LIMIT) break;
        if (n.endsWith(".lock")) continue;
        const p = join(dir, n);
        const st = await lstat(p).catch(() => undefined);
        if (!st?.isFile()) continue;
        // Leftover temp files of an interrupted write: never a record, removed once past the TTL.
        if (n.startsWith(".") && n.endsWith(".tmp")) {
          if (now - st.mtimeMs > ttl) stale.push(p);
          continue;
        }
        files.push({ path: p, mtime: st.mtimeMs });
      }
      const garbage = new Set<string>();
      for (const f of files) if (f.path !== current && now - f.mtime > ttl) garbage.add(f.path);
      const byAge = files.filter((f) => f.path !== current && !garbage.has(f.path)).sort((a, b) => a.mtime - b.mtime);
      for (const f of byAge) {
        if (files.length - garbage.size <= max) break;
        garbage.add(f.path);
      }
      const deleted: string[] = [];
      const errors: string[] = [];
      for (const p of garbage) {
        try {
          await unlink(p);
          deleted.push(p);
        } catch (e) {
          if (!isNotFound(e)) errors.push((e as Error).message);
        }
        await unlink(`${p}.lock`).catch(() => {});
      }
      for (const p of stale) await unlink(p).catch(() => {});
      if (errors.length) fail("STORAGE_FAILED", `garbage collection of ${dir} failed: ${errors.join("; ")}`);
      return { deleted };
    });
  }

  /**
   * Deletes an object's whole directory (artifacts, `latest.tar.gz`, leftovers) when the object is
   * deleted. Returns whether anything was there. Errors are STORAGE_FAILED
   * ("garbage collection for deleted resource failed").
   */
  async removeAll(kind: string, namespace: string, name: string): Promise<boolean> {
    const dir = this.objectDir(kind, namespace, name);
    return this.lock(dir, async () => {
      const existed = await lstat(dir).then(() => true, () => false);
      try {
        await rm(dir, { recursive: true, force: true });
      } catch (e) {
        throw storageError("garbage collection for deleted resource failed", e);
      }
      return existed;
    });
  }
}

async function syncDir(dir: string): Promise<void> {
  // Makes the rename durable; some filesystems refuse fsync on directories, which is harmless here.
  const fh = await open(dir, "r").catch(() => undefined);
  if (!fh) return;
  await fh.sync().catch(() => {});
  await fh.close().catch(() => {});
}

/** Sets the modes source-controller writes into its tar headers on the tree itself (dirs 0750, exec files 0700, others 0600). */
async function normaliseModes(dir: string): Promise<void> {
  await chmod(dir, 0o750);
  for (const ent of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, ent.name);
    if (ent.isDirectory()) {
      await normaliseModes(p);
    } else if (ent.isFile()) {
      const st = await lstat(p);
      await chmod(p, st.mode & 0o111 ? 0o700 : 0o600);
    }
  }
}

function escapeGlob(s: string): string {
  return s.replace(/[*?[\\]/g, (c) => "\\" + c);
}

function patternLines(text: string): string[] {
  return text.split("\n").map((l) => (l.endsWith("\r") ? l.slice(0, -1) : l)).filter((l) => !l.startsWith("#") && l.trim() !== "");
}

/**
 * Rewrites a `.sourceignore` line scoped to `domain` as an equivalent root-scoped line: a pattern
 * without `/` matches any component below its directory (`d/**\/p`), one with `/` is anchored there.
 */
export function rootScopedPattern(line: string, domain: readonly string[]): string {
  if (domain.length === 0) return line;
  const neg = line.startsWith("!");
  const body = neg ? line.slice(1) : line;
  const core = body.endsWith("/") ? body.slice(0, -1) : body;
  const prefix = domain.map(escapeGlob).join("/");
  const scoped = core.includes("/") ? `${prefix}/${body.replace(/^\/+/, "")}` : `${prefix}/**/${body}`;
  return (neg ? "!" : "") + scoped;
}

async function findSourceIgnores(root: string, parts: string[], out: string[]): Promise<void> {
  const dir = join(root, ...parts);
  const ents = await readdir(dir, { withFileTypes: true });
  ents.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const here = ents.find((e) => e.name === ".sourceignore" && e.isFile());
  if (here) {
    const text = await readFile(join(dir, here.name), "utf8");
    for (const l of patternLines(text)) out.push(rootScopedPattern(l, parts));
  }
  for (const e of ents) if (e.isDirectory() && e.name !== ".git") await findSourceIgnores(root, [...parts, e.name], out);
}

/**
 * The ignore lines source-controller applies to an extracted layer (spec §3.7): every
 * `.sourceignore` (scoped to its directory, `.git` not descended) then `spec.ignore`; VCS patterns
 * first; the default exclusions only when those give no pattern at all.
 */
export async function sourceControllerIgnore(srcDir: string, ignore?: string | null): Promise<string[]> {
  const patterns: string[] = [];
  await findSourceIgnores(srcDir, [], patterns);
  if (ignore) patterns.push(...patternLines(ignore));
  return patterns.length > 0 ? [...VCS_IGNORE_PATTERNS, ...patterns] : [...VCS_IGNORE_PATTERNS, ...DEFAULT_SOURCE_IGNORE_PATTERNS];
}
