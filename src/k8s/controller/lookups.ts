/**
 * Shared registry look-ups (berth's addition to source-controller's behaviour): objects that would
 * ask a registry the same question — same registry access, repository and effective ref — share
 * one answer. Concurrent reconciles join one in-flight request, and a successful answer is reused
 * for a short time, so a hundred OCIRepositories on one tag cost one HEAD per window instead of a
 * hundred. Failures are never reused: each waiting reconcile gets the error, the next one retries.
 */

/** Options of `SharedLookups`. */
export interface SharedLookupsOptions {
  /** Upper bound of any entry's reuse time in ms. Default 3_600_000 (1 h: intervals up to an hour cost one request each). */
  maxTTLMs?: number;
  /** Entries kept at most; the oldest are dropped first. Default 10_000. */
  maxEntries?: number;
  /** Clock in ms. Default `Date.now`. */
  now?: () => number;
}

/** Documented defaults of `SharedLookupsOptions`. */
export const DEFAULT_SHARED_LOOKUPS_OPTIONS = { maxTTLMs: 3_600_000, maxEntries: 10_000 } as const;

/** One call's wishes. */
export interface LookupRequest {
  /**
   * How long this caller accepts an old answer, in ms (the reconciler passes the object's
   * interval). An entry is reused only while younger than the smallest `ttlMs` any caller gave it,
   * so the object with the shortest interval sets the pace for all objects sharing the look-up.
   */
  ttlMs: number;
  /** Ignore a completed answer and ask again (a `reconcile.fluxcd.io/requestedAt` request). A running request is still joined. */
  fresh?: boolean;
}

/** How a `get` was answered, for tests and logs. */
export type LookupSource = "fetched" | "joined" | "cached";

interface Entry<T> {
  /** Set while the request runs. */
  inflight?: Promise<T>;
  /** Set once it succeeded. */
  value?: T;
  at: number;
  ttlMs: number;
}

/** Coalesces and briefly caches async look-ups by key. */
export class SharedLookups<T> {
  private readonly entries = new Map<string, Entry<T>>();
  private readonly maxTTLMs: number;
  private readonly maxEntries: number;
  private readonly now: () => number;
  /** Answers by source since construction. */
  readonly counts: Record<LookupSource, number> = { fetched: 0, joined: 0, cached: 0 };

  constructor(opts: SharedLookupsOptions = {}) {
    this.maxTTLMs = opts.maxTTLMs ?? DEFAULT_SHARED_LOOKUPS_OPTIONS.maxTTLMs;
    this.maxEntries = opts.maxEntries ?? DEFAULT_SHARED_LOOKUPS_OPTIONS.maxEntries;
    this.now = opts.now ?? Date.now;
  }

  /**
   * The answer for `key`: a running request's, a young enough cached one's, or `fetch()`'s.
   * Resolves to the value and how it was obtained.
   */
  async get(key: string, req: LookupRequest, fetch: () => Promise<T>): Promise<{ value: T; source: LookupSource }> {
    const ttl = Math.max(0, Math.min(req.ttlMs, this.maxTTLMs));
    const e = this.entries.get(key);
    if (e?.inflight) {
      e.ttlMs = Math.min(e.ttlMs, ttl);
      this.counts.joined++;
      return { value: await e.inflight, source: "joined" };
    }
    if (e && e.value !== undefined && !req.fresh) {
      e.ttlMs = Math.min(e.ttlMs, ttl);
      if (this.now() - e.at < e.ttlMs) {
        this.counts.cached++;
        return { value: e.value, source: "cached" };
      }
    }
    const entry: Entry<T> = { at: this.now(), ttlMs: ttl };
    const run = (async () => fetch())();
    entry.inflight = run;
    this.entries.delete(key);
    this.entries.set(key, entry);
    this.trim();
    this.counts.fetched++;
    try {
      const value = await run;
      // The answer is as old as the moment it was asked for, not when it arrived.
      entry.value = value;
      return { value, source: "fetched" };
    } catch (err) {
      if (this.entries.get(key) === entry) this.entries.delete(key);
      throw err;
    } finally {
      entry.inflight = undefined;
    }
  }

  /** Forgets every entry. */
  clear(): void {
    this.entries.clear();
  }

  /** Entries held (running or cached). */
  get size(): number {
    return this.entries.size;
  }

  private trim(): void {
    while (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next().value as string;
      this.entries.delete(oldest);
    }
  }
}

/** A stored artifact file that other objects with the same build inputs can copy instead of pulling. */
export interface SharedBuild {
  /** Absolute path of the stored file (another object's artifact). */
  file: string;
  /** `sha256:<hex>` of the file when it was stored; a copy that hashes otherwise is not used. */
  digest: string;
  /** Manifest annotations the artifact carries (`status.artifact.metadata`). */
  metadata?: Record<string, string>;
}

/**
 * Artifacts built once per build inputs (berth's addition, like `SharedLookups`): objects that pull
 * the same manifest digest with the same access, layer selector and ignore rules get byte-identical
 * tarballs (the archive is deterministic), so the first object's pull and archive serve the rest,
 * which copy its stored file. A build in progress is waited for rather than repeated.
 */
export class SharedBuilds {
  private readonly entries = new Map<string, SharedBuild>();
  private readonly inflight = new Map<string, Promise<void>>();
  private readonly maxEntries: number;

  /** `maxEntries`: builds remembered at most, the least recently used dropped first. Default 10_000. */
  constructor(opts: { maxEntries?: number } = {}) {
    this.maxEntries = opts.maxEntries ?? DEFAULT_SHARED_LOOKUPS_OPTIONS.maxEntries;
  }

  /**
   * The build of `key` when one is stored; else, when another pass is building it, waits for that
   * pass once and looks again; else claims the build: `end` must then be called when it ended,
   * stored or not. Each caller waits at most once: after a failed build one waiter claims the next
   * and the others build unclaimed (`end` does nothing), so a failing registry is not tried one
   * object after another.
   */
  async acquire(key: string): Promise<{ build: SharedBuild } | { end: () => void }> {
    let waited = false;
    for (;;) {
      const e = this.entries.get(key);
      if (e) {
        this.entries.delete(key);
        this.entries.set(key, e);
        return { build: e };
      }
      const running = this.inflight.get(key);
      if (!running) return { end: this.claim(key) };
      if (waited) return { end: () => {} };
      await running;
      waited = true;
    }
  }

  /** Claims `key` for a build that does not use a stored one; the returned function ends the claim. */
  claim(key: string): () => void {
    let end!: () => void;
    const p = new Promise<void>((r) => (end = r));
    this.inflight.set(key, p);
    return () => {
      if (this.inflight.get(key) === p) this.inflight.delete(key);
      end();
    };
  }

  /** Records a stored build of `key`. */
  remember(key: string, build: SharedBuild): void {
    this.entries.delete(key);
    this.entries.set(key, build);
    while (this.entries.size > this.maxEntries) this.entries.delete(this.entries.keys().next().value as string);
  }

  /** Forgets `key` when it still points at `file` (the file went away or did not match). */
  forget(key: string, file: string): void {
    if (this.entries.get(key)?.file === file) this.entries.delete(key);
  }

  /** Builds remembered. */
  get size(): number {
    return this.entries.size;
  }
}
