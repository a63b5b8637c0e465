import { expect, test } from "bun:test";
import { combine, exec, median, type Exec } from "./measure.ts";

test("median of odd, even and empty lists", () => {
  expect(median([3, 1, 2])).toBe(2);
  expect(median([4, 1, 3, 2])).toBe(2.5);
  expect(median([])).toBeNaN();
});

test("combine adds times and CPU and keeps the largest RSS", () => {
  const e = (seconds: number, rss: number | null, cpu: number | null): Exec => ({ code: 0, seconds, maxRssBytes: rss, cpuSeconds: cpu, stdout: "", stderr: "" });
  const s = combine([["a", e(1, 10, 0.5)], ["b", e(2, 30, 0.25)], ["b", e(0.5, 20, 0.25)]]);
  expect(s.seconds).toBe(3.5);
  expect(s.maxRssBytes).toBe(30);
  expect(s.cpuSeconds).toBe(1);
  expect(s.parts).toEqual({ a: 1, b: 2.5 });
  expect(combine([["a", e(1, null, null)]]).cpuSeconds).toBeNull();
});

test("exec reports the command's own peak RSS, not the benchmark's", async () => {
  // Grow this process well past what a small command uses: the reading must not inherit it.
  const ballast = new Uint8Array(200 * 1024 * 1024).fill(1);
  const small = await exec(["true"]);
  expect(small.maxRssBytes).not.toBeNull();
  expect(small.maxRssBytes!).toBeLessThan(50 * 1024 * 1024);
  const big = await exec(["python3", "-c", "x = bytearray(120 * 1024 * 1024); x[::4096] = b'1' * len(x[::4096])"]);
  expect(big.maxRssBytes!).toBeGreaterThan(120 * 1024 * 1024);
  expect(big.maxRssBytes!).toBeLessThan(200 * 1024 * 1024);
  expect(ballast[1]).toBe(1);
});

test("exec throws with the exit code and output tail, unless check is false", async () => {
  await expect(exec(["sh", "-c", "echo boom >&2; exit 3"])).rejects.toThrow(/exited 3: boom/);
  const r = await exec(["sh", "-c", "echo out; exit 4"], { check: false });
  expect(r.code).toBe(4);
  expect(r.stdout).toBe("out\n");
  expect(r.seconds).toBeGreaterThan(0);
});
