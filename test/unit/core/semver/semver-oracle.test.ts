import { describe, expect, test } from "bun:test";
import vectors from "./oracle/masterminds-vectors.json";
import { compareVersions, formatVersion, tryParseVersion } from "../../../../src/core/semver/version.ts";
import { satisfies, tryParseConstraint } from "../../../../src/core/semver/constraint.ts";
import { resolveTag } from "../../../../src/core/semver/resolve.ts";

// Answers recorded from the Go library itself (see oracle/README.md).
describe("agrees with Masterminds/semver (recorded Go answers)", () => {
  const parsed = vectors.versions.map((v) => tryParseVersion(v.in, { loose: true }));

  test(`parses ${vectors.versions.length} versions like NewVersion and fluxcd ParseVersion`, () => {
    const mismatches: string[] = [];
    vectors.versions.forEach((v, i) => {
      const loose = parsed[i] ? formatVersion(parsed[i]!) : null;
      const f = tryParseVersion(v.in);
      const flux = f ? formatVersion(f) : null;
      if (loose !== v.loose || flux !== v.flux) mismatches.push(`${JSON.stringify(v.in)}: ${loose}/${flux} want ${v.loose}/${v.flux}`);
    });
    expect(mismatches).toEqual([]);
  });

  test("orders every pair like Version.Compare", () => {
    const mismatches: string[] = [];
    vectors.compare.forEach((row, i) => {
      [...row].forEach((want, j) => {
        const a = parsed[i];
        const b = parsed[j];
        if (!a || !b) return;
        const d = compareVersions(a, b);
        const got = d < 0 ? "-" : d > 0 ? "+" : "0";
        if (got !== want) mismatches.push(`${a.original} vs ${b.original}: ${got} want ${want}`);
      });
    });
    expect(mismatches).toEqual([]);
  });

  test(`parses and checks ${vectors.constraints.length} constraints like NewConstraint/Check`, () => {
    const mismatches: string[] = [];
    for (const c of vectors.constraints) {
      const got = tryParseConstraint(c.in);
      if ("err" in c) {
        if (got !== c.err) mismatches.push(`${JSON.stringify(c.in)}: ${JSON.stringify(got)} want error ${c.err}`);
        continue;
      }
      if (typeof got === "string") {
        mismatches.push(`${JSON.stringify(c.in)}: error ${got}, want success`);
        continue;
      }
      const checks = parsed.map((v) => (v ? (satisfies(v, got) ? "1" : "0") : "-")).join("");
      if (checks !== c.checks) {
        const k = [...checks].findIndex((ch, i) => ch !== c.checks![i]);
        mismatches.push(`${JSON.stringify(c.in)} on ${vectors.versions[k]!.in}: ${checks[k]} want ${c.checks![k]}`);
      }
    }
    expect(mismatches).toEqual([]);
  });

  test(`picks the same tag as sort.Sort(sort.Reverse(Collection)) among equal versions (${vectors.ties.length} lists)`, () => {
    const mismatches: string[] = [];
    for (const t of vectors.ties) {
      const got = resolveTag(t.tags, ">=0.0.0-0").tag;
      if (got !== t.winner) mismatches.push(`${t.tags.join(",")}: ${got} want ${t.winner}`);
    }
    expect(mismatches).toEqual([]);
  });
});
