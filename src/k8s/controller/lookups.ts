/**
 * Shared registry look-ups (berth's addition to source-controller's behaviour): objects that would
 * ask a registry the same question — same registry access, repository and effective ref — share
 * one answer. Concurrent reconciles join one in-flight request, and a successful answer is reused
 * for a short time, so a hundred OCIRepositories on one tag cost one HEAD per window instead of a
 * hundred. Failures are never reused: each waiting reconcile gets the error, the next one retries.
 */

/** Options of `SharedLookups`. */
export interface SharedLookupsOptions {
  /** Upper bound of any entry's reuse time in ms. Default 300_000 (5 min). */
  maxTTLMs?: number;
  /** Entries kept at most; the oldest are dropped first. Default 10_000. */
  maxEntries?: number;
  /** Clock in ms. Default `Date.now`. */
  now?: () => number;
}

/** Documented defaults of `SharedLookupsOptions`. */
export const DEFAULT_SHARED_LOOKUPS_OPTIONS = { maxTTLMs: 300_000, maxEntries: 10_000 } as const;

/** One call's wishes. */
export interface LookupRequest {
  /**
   * How long this caller accepts an old answer, in ms (the reconciler passes half the object's
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
