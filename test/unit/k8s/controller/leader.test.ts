import { describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import {
  decideLease,
  holderIdentity,
  LEADER_ELECTION_ID,
  leadershipLost,
  leaseName,
  microTime,
  nextLeaseRecord,
  validateTiming,
  DEFAULT_LEASE_TIMING,
} from "../../../../src/k8s/controller/leader.ts";

describe("lease naming", () => {
  test("no selector: the plain id; a selector appends the first 8 hex of its sha256", () => {
    expect(leaseName()).toBe("berth-controller-leader-election");
    expect(leaseName("")).toBe(LEADER_ELECTION_ID);
    const sel = "sharding.fluxcd.io/key notin (shard1)";
    const want = createHash("sha256").update(sel).digest("hex").slice(0, 8);
    expect(leaseName(sel)).toBe(`berth-controller-leader-election-${want}`);
    expect(leaseName("sharding.fluxcd.io/key=shard1")).not.toBe(leaseName(sel));
  });

  test("holder identity is hostname_<hex> and differs per call", () => {
    expect(holderIdentity("pod-1", new Uint8Array([0xde, 0xad, 0xbe, 0xef]))).toBe("pod-1_deadbeef");
    expect(holderIdentity(undefined, new Uint8Array([1]))).toBe("berth_01");
    expect(holderIdentity("h")).not.toBe(holderIdentity("h"));
    expect(holderIdentity("h")).toMatch(/^h_[0-9a-f]{16}$/);
  });
});

describe("decideLease", () => {
  const rec = { holderIdentity: "other", leaseDurationSeconds: 15, renewTime: "2020-01-01T00:00:00.000000Z" };
  test("missing lease → create; own lease → renew; empty holder → acquire", () => {
    expect(decideLease(undefined, "me", 0, 0)).toBe("create");
    expect(decideLease({ ...rec, holderIdentity: "me" }, "me", 0, 0)).toBe("renew");
    expect(decideLease({ ...rec, holderIdentity: "" }, "me", 0, 0)).toBe("acquire");
    expect(decideLease({}, "me", 0, 0)).toBe("acquire");
  });

  test("another holder is waited out for its own duration, counted from when we saw the record change", () => {
    // The record's renewTime is years old but irrelevant: only our observation time counts (clock skew).
    expect(decideLease(rec, "me", 1_000_000 + 14_999, 1_000_000)).toBe("wait");
    expect(decideLease(rec, "me", 1_000_000 + 15_000, 1_000_000)).toBe("acquire");
    expect(decideLease({ ...rec, leaseDurationSeconds: 60 }, "me", 1_000_000 + 15_000, 1_000_000)).toBe("wait");
  });
});

describe("nextLeaseRecord", () => {
  const now = new Date("2026-01-02T03:04:05.678Z");
  test("create starts at 0 transitions; acquire increments them; renew keeps acquireTime", () => {
    const c = nextLeaseRecord("create", undefined, "me", now, 35_000);
    expect(c).toEqual({ holderIdentity: "me", leaseDurationSeconds: 35, acquireTime: "2026-01-02T03:04:05.678000Z", renewTime: "2026-01-02T03:04:05.678000Z", leaseTransitions: 0 });
    const old = { holderIdentity: "other", leaseDurationSeconds: 35, acquireTime: "2025-01-01T00:00:00.000000Z", leaseTransitions: 4 };
    const a = nextLeaseRecord("acquire", old, "me", now, 2_500);
    expect(a.leaseTransitions).toBe(5);
    expect(a.leaseDurationSeconds).toBe(3);
    expect(a.acquireTime).toBe("2026-01-02T03:04:05.678000Z");
    const r = nextLeaseRecord("renew", { ...old, holderIdentity: "me" }, "me", now, 35_000);
    expect(r.acquireTime).toBe("2025-01-01T00:00:00.000000Z");
    expect(r.renewTime).toBe("2026-01-02T03:04:05.678000Z");
    expect(r.leaseTransitions).toBe(4);
  });

  test("release empties the holder with a 1s duration, keeping the transition count", () => {
    const rel = nextLeaseRecord("release", { holderIdentity: "me", leaseTransitions: 7 }, "me", now, 35_000);
    expect(rel.holderIdentity).toBe("");
    expect(rel.leaseDurationSeconds).toBe(1);
    expect(rel.leaseTransitions).toBe(7);
    expect(decideLease(rel, "next", 0, 0)).toBe("acquire");
  });
});

describe("timing", () => {
  test("leadership is lost once the renew deadline passed without a renewal", () => {
    expect(leadershipLost(10_000, 39_999, 30_000)).toBe(false);
    expect(leadershipLost(10_000, 40_000, 30_000)).toBe(true);
  });

  test("client-go's ordering: duration > deadline > 1.2 × retry", () => {
    expect(() => validateTiming(DEFAULT_LEASE_TIMING)).not.toThrow();
    expect(() => validateTiming({ leaseDurationMs: 30_000, renewDeadlineMs: 30_000, retryPeriodMs: 5_000 })).toThrow(/lease-duration/);
    expect(() => validateTiming({ leaseDurationMs: 35_000, renewDeadlineMs: 6_000, retryPeriodMs: 5_000 })).toThrow(/renew-deadline/);
    expect(() => validateTiming({ leaseDurationMs: 3_000, renewDeadlineMs: 2_000, retryPeriodMs: 0 })).toThrow(/retry-period/);
  });

  test("MicroTime has exactly six fractional digits", () => {
    expect(microTime(new Date(Date.UTC(2026, 0, 1, 0, 0, 0, 5)))).toBe("2026-01-01T00:00:00.005000Z");
  });
});
