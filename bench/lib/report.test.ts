import { expect, test } from "bun:test";
import { formatTable, summarize, type Row } from "./report.ts";

const sample = (seconds: number, rss: number | null = null) => ({ seconds, maxRssBytes: rss, cpuSeconds: seconds / 2 });

test("ratios divide each row's median by the baseline of its operation", () => {
  const rows: Row[] = [
    { op: "push", tool: "berth", method: "m", likeForLike: true, baseline: true, samples: [sample(2), sample(4), sample(3)] },
    { op: "push", tool: "oras", method: "m", likeForLike: true, samples: [sample(6), sample(9), sample(30)] },
    { op: "pull", tool: "berth", method: "m", likeForLike: true, baseline: true, samples: [sample(1, 5 * 1048576), sample(1, 7 * 1048576)] },
    { op: "pull", tool: "crane", method: "m", likeForLike: false, samples: [sample(0.5)] },
    { op: "pull", tool: "oras", method: "m", likeForLike: true, samples: [], error: "oras not found" },
  ];
  const s = summarize(rows);
  expect(s[0]!.medianSeconds).toBe(3);
  expect(s[0]!.ratioToBerth).toBe(1);
  expect(s[1]!.medianSeconds).toBe(9);
  expect(s[1]!.ratioToBerth).toBe(3);
  expect(s[1]!.minSeconds).toBe(6);
  expect(s[1]!.maxSeconds).toBe(30);
  expect(s[2]!.peakRssBytes).toBe(7 * 1048576);
  expect(s[3]!.ratioToBerth).toBe(0.5);
  expect(s[4]!.medianSeconds).toBeNull();
  expect(s[4]!.error).toBe("oras not found");

  const table = formatTable(s);
  expect(table).toContain("3.00x");
  expect(table).toContain("0.50x");
  expect(table).toMatch(/pull\s+crane\*/);
  expect(table).toMatch(/pull\s+oras\s+NOT RUN: oras not found/);
});

test("no baseline, no ratio", () => {
  const s = summarize([{ op: "list", tool: "crane", method: "ls", likeForLike: false, samples: [sample(1)] }]);
  expect(s[0]!.ratioToBerth).toBeNull();
});
