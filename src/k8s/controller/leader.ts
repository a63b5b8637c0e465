/**
 * Leader election on a coordination.k8s.io/v1 Lease, with client-go's rules: a lease is taken over
 * only when its holder has not been seen renewing it for its whole duration (measured on our own clock,
 * so clock skew between replicas does not matter), the leader renews every retry period, and a leader
 * that cannot renew within the renew deadline stops leading.
 */
import { createHash, randomBytes } from "node:crypto";
import type { KubeClient } from "../client/kube.ts";
import { kubeStatusOf } from "../client/kube.ts";
import { pause } from "../../core/index.ts";

type Obj = Record<string, any>;

/** The Lease's `spec` fields we read and write. */
export interface LeaseRecord {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions?: number;
}

/** Timing of the election (`--leader-election-*`). */
export interface LeaseTiming {
  /** How long a non-leader waits after the last seen renewal before taking over. Default 35_000. */
  leaseDurationMs: number;
  /** How long the leader keeps trying to renew before it gives up leading. Default 30_000. */
  renewDeadlineMs: number;
  /** Pause between attempts to acquire or renew. Default 5_000. */
  retryPeriodMs: number;
}

/** Upstream's defaults (35s / 30s / 5s). */
export const DEFAULT_LEASE_TIMING: LeaseTiming = { leaseDurationMs: 35_000, renewDeadlineMs: 30_000, retryPeriodMs: 5_000 };

/** client-go spreads acquire attempts by up to this factor of the retry period. */
export const RETRY_JITTER = 1.2;

/** Lease name prefix (upstream: `source-controller-leader-election`). */
export const LEADER_ELECTION_ID = "berth-controller-leader-election";

/**
 * The Lease name: shards (`--watch-label-selector`) elect separately, so the selector's hash is appended
 * as upstream does (`-<first 8 hex of sha256(selector)>`).
 */
export function leaseName(labelSelector = "", id = LEADER_ELECTION_ID): string {
  if (!labelSelector) return id;
  return `${id}-${createHash("sha256").update(labelSelector).digest("hex").slice(0, 8)}`;
}

/** `<hostname>_<random hex>`: unique per process even when two share a hostname. */
export function holderIdentity(hostname: string | undefined, random: Uint8Array = randomBytes(8)): string {
  return `${hostname || "berth"}_${Buffer.from(random).toString("hex")}`;
}

/** Throws a usage message unless lease duration > renew deadline > retry period × 1.2 (client-go's checks). */
export function validateTiming(t: LeaseTiming): void {
  if (!(t.leaseDurationMs > t.renewDeadlineMs)) throw new RangeError("--leader-election-lease-duration must be greater than --leader-election-renew-deadline");
  if (!(t.renewDeadlineMs > t.retryPeriodMs * RETRY_JITTER)) throw new RangeError("--leader-election-renew-deadline must be greater than 1.2 × --leader-election-retry-period");
  if (!(t.retryPeriodMs > 0)) throw new RangeError("--leader-election-retry-period must be positive");
}

/** What a candidate does with the lease it just read. */
export type LeaseAction = "create" | "acquire" | "renew" | "wait";

/**
 * Decides the next step. `observedAt` is when (on our clock) the record last changed as we saw it: the
 * holder is presumed alive until the record's own duration has passed since then.
 */
export function decideLease(record: LeaseRecord | undefined, identity: string, now: number, observedAt: number): LeaseAction {
  if (record === undefined) return "create";
  if (record.holderIdentity === identity) return "renew";
  if (!record.holderIdentity) return "acquire";
  const durationMs = (record.leaseDurationSeconds ?? 0) * 1000;
  return now >= observedAt + durationMs ? "acquire" : "wait";
}

/** The record to write for `action` ("create", "acquire", "renew") or for a release ("release"). */
export function nextLeaseRecord(action: Exclude<LeaseAction, "wait"> | "release", old: LeaseRecord | undefined, identity: string, now: Date, leaseDurationMs: number): LeaseRecord {
  const t = microTime(now);
  const transitions = old?.leaseTransitions ?? 0;
  const seconds = Math.max(1, Math.ceil(leaseDurationMs / 1000));
  switch (action) {
    case "create":
      return { holderIdentity: identity, leaseDurationSeconds: seconds, acquireTime: t, renewTime: t, leaseTransitions: 0 };
    case "acquire":
      return { holderIdentity: identity, leaseDurationSeconds: seconds, acquireTime: t, renewTime: t, leaseTransitions: transitions + 1 };
    case "renew":
      return { holderIdentity: identity, leaseDurationSeconds: seconds, acquireTime: old?.acquireTime ?? t, renewTime: t, leaseTransitions: transitions };
    case "release":
      // An empty holder with a 1s duration lets the next candidate take over at its next attempt.
      return { holderIdentity: "", leaseDurationSeconds: 1, acquireTime: t, renewTime: t, leaseTransitions: transitions };
  }
}

/** True once the leader has gone `renewDeadlineMs` without a successful renewal. */
export function leadershipLost(lastRenewAt: number, now: number, renewDeadlineMs: number): boolean {
  return now - lastRenewAt >= renewDeadlineMs;
}

/** A Kubernetes MicroTime (RFC 3339 with exactly six fractional digits, which the API server requires). */
export function microTime(d: Date): string {
  return d.toISOString().replace(/\.(\d{3})Z$/, ".$1000Z");
}

/** Options of `LeaderElector`. */
export interface LeaderElectorOptions extends Partial<LeaseTiming> {
  kube: KubeClient;
  namespace: string;
  name: string;
  identity: string;
  /** Called once when this process becomes the leader. */
  onStartedLeading: () => void;
  /** Called once when a leader loses the lease (not after `stop()`). */
  onStoppedLeading: () => void;
  /** Default: none. */
  log?: (msg: string, level?: "info" | "error" | "debug") => void;
  /** Default `Date.now`. */
  now?: () => number;
}

/** Campaigns for a Lease until stopped; see the module comment for the rules. */
export class LeaderElector {
  private readonly opts: LeaderElectorOptions;
  private readonly timing: LeaseTiming;
  private readonly now: () => number;
  private readonly path: string;
  private readonly ac = new AbortController();
  private observed: { key: string; at: number } | undefined;
  private current: { record: LeaseRecord; resourceVersion?: string } | undefined;
  private lastRenewAt = 0;
  private loop: Promise<void> | undefined;
  /** True while this process holds the lease. */
  leading = false;

  constructor(opts: LeaderElectorOptions) {
    this.opts = opts;
    this.timing = {
      leaseDurationMs: opts.leaseDurationMs ?? DEFAULT_LEASE_TIMING.leaseDurationMs,
      renewDeadlineMs: opts.renewDeadlineMs ?? DEFAULT_LEASE_TIMING.renewDeadlineMs,
      retryPeriodMs: opts.retryPeriodMs ?? DEFAULT_LEASE_TIMING.retryPeriodMs,
    };
    validateTiming(this.timing);
    this.now = opts.now ?? Date.now;
    this.path = `/apis/coordination.k8s.io/v1/namespaces/${encodeURIComponent(opts.namespace)}/leases/${encodeURIComponent(opts.name)}`;
  }

  /** Starts campaigning in the background. */
  start(): void {
    this.loop ??= this.run();
  }

  /** Stops campaigning and, when leading, releases the lease so a standby takes over at once. */
  async stop(release = true): Promise<void> {
    this.ac.abort();
    await this.loop;
    if (this.leading && release) {
      try {
        await this.write(nextLeaseRecord("release", this.current?.record, this.opts.identity, new Date(this.now()), this.timing.leaseDurationMs), AbortSignal.timeout(5000));
        this.opts.log?.(`released lease ${this.opts.namespace}/${this.opts.name}`);
      } catch (e) {
        this.opts.log?.(`releasing lease ${this.opts.namespace}/${this.opts.name}: ${(e as Error).message}`, "error");
      }
    }
    this.leading = false;
  }

  private async run(): Promise<void> {
    const signal = this.ac.signal;
    const t = this.timing;
    this.opts.log?.(`attempting to acquire leader lease ${this.opts.namespace}/${this.opts.name} as ${this.opts.identity}`);
    while (!signal.aborted) {
      let ok = false;
      try {
        ok = await this.tryAcquireOrRenew(AbortSignal.any([signal, AbortSignal.timeout(t.renewDeadlineMs)]));
      } catch (e) {
        if (signal.aborted) return;
        this.opts.log?.(`lease ${this.opts.namespace}/${this.opts.name}: ${(e as Error).message}`, "error");
      }
      if (signal.aborted) return;
      if (ok) {
        this.lastRenewAt = this.now();
        if (!this.leading) {
          this.leading = true;
          this.opts.log?.(`successfully acquired lease ${this.opts.namespace}/${this.opts.name}`);
          this.opts.onStartedLeading();
        }
      } else if (this.leading && leadershipLost(this.lastRenewAt, this.now(), t.renewDeadlineMs)) {
        this.leading = false;
        this.opts.log?.(`leader election lost: lease ${this.opts.namespace}/${this.opts.name} not renewed within ${t.renewDeadlineMs}ms`, "error");
        this.opts.onStoppedLeading();
        return;
      }
      // Only candidates spread their attempts; the leader renews on a steady beat.
      const wait = this.leading ? t.retryPeriodMs : t.retryPeriodMs * (1 + Math.random() * (RETRY_JITTER - 1));
      await pause(wait, signal);
    }
  }

  private async tryAcquireOrRenew(signal: AbortSignal): Promise<boolean> {
    let lease: Obj | undefined;
    try {
      lease = await this.opts.kube.get(this.path, signal);
    } catch (e) {
      if (kubeStatusOf(e) !== 404) throw e;
    }
    const record = lease?.spec as LeaseRecord | undefined;
    const now = this.now();
    const key = JSON.stringify(record ?? null);
    if (this.observed?.key !== key) this.observed = { key, at: now };
    this.current = lease ? { record: record ?? {}, resourceVersion: lease.metadata?.resourceVersion } : undefined;
    const action = decideLease(lease ? (record ?? {}) : undefined, this.opts.identity, now, this.observed.at);
    if (action === "wait") return false;
    const next = nextLeaseRecord(action, record, this.opts.identity, new Date(now), this.timing.leaseDurationMs);
    try {
      await this.write(next, signal);
    } catch (e) {
      // Someone else wrote first (409) or created it (409 on POST): we lost this round, not the election.
      if (kubeStatusOf(e) === 409) return false;
      throw e;
    }
    return true;
  }

  private async write(record: LeaseRecord, signal: AbortSignal): Promise<void> {
    const metadata: Obj = { name: this.opts.name, namespace: this.opts.namespace };
    const body = { apiVersion: "coordination.k8s.io/v1", kind: "Lease", metadata, spec: record };
    let written: Obj;
    if (this.current === undefined) {
      written = await this.opts.kube.json("POST", this.path.slice(0, this.path.lastIndexOf("/")), { body, signal });
    } else {
      // resourceVersion turns the update into a compare-and-swap against the lease we decided on.
      metadata.resourceVersion = this.current.resourceVersion;
      written = await this.opts.kube.json("PUT", this.path, { body, signal });
    }
    this.current = { record: written.spec ?? record, resourceVersion: written.metadata?.resourceVersion };
    this.observed = { key: JSON.stringify(written.spec ?? record), at: this.now() };
  }
}
