import { describe, expect, test } from "bun:test";
import npmSemver from "semver";
import {
  compareVersions,
  formatVersion,
  makeVersion,
  parseVersion,
  tryParseVersion,
} from "../../../../src/core/semver/version.ts";
import { isCoreError } from "../../../../src/core/errors.ts";

describe("parseVersion", () => {
  // [input, loose result, flux-tag result] (null = rejected)
  const cases: [string, string | null, string | null][] = [
    ["1.2.3", "1.2.3", "1.2.3"],
    ["v1.2.3", "1.2.3", "1.2.3"],
    ["V1.2.3", null, null],
    ["1.2", "1.2.0", null],
    ["1", "1.0.0", null],
    ["v2", "2.0.0", null],
    ["01.02.03", "1.2.3", "1.2.3"],
    ["v2025.02.03-rc.1", "2025.2.3-rc.1", "2025.2.3-rc.1"],
    ["1.2.3.4", null, null],
    ["1.2-rc.1.2", "1.2.0-rc.1.2", "1.2.0-rc.1.2"],
    ["1.2.3-rc.1", "1.2.3-rc.1", "1.2.3-rc.1"],
    ["1.2.3-rc.01", null, null],
    ["1.2.3-0", "1.2.3-0", "1.2.3-0"],
    ["1.2.3+build.01", "1.2.3+build.01", "1.2.3+build.01"],
    ["1.2.3-beta+exp.sha.5114f85", "1.2.3-beta+exp.sha.5114f85", "1.2.3-beta+exp.sha.5114f85"],
    ["1.2.3_build", null, null],
    ["1.2.3+", null, null],
    ["1.2.3-", null, null],
    ["1.2.3-a..b", null, null],
    ["latest", null, null],
    ["", null, null],
    [" 1.2.3", null, null],
    ["1.2.3\n", null, null],
    ["18446744073709551615.0.0", "18446744073709551615.0.0", "18446744073709551615.0.0"],
    ["18446744073709551616.0.0", null, null],
  ];
  for (const [s, loose, flux] of cases) {
    test(`${JSON.stringify(s)} → loose ${loose}, tag ${flux}`, () => {
      const l = tryParseVersion(s, { loose: true });
      const f = tryParseVersion(s);
      expect(l ? formatVersion(l) : null).toBe(loose);
      expect(f ? formatVersion(f) : null).toBe(flux);
      if (l) expect(l.original).toBe(s);
    });
  }

  test("parseVersion throws USAGE naming the input", () => {
    let err: unknown;
    try {
      parseVersion("1.2");
    } catch (e) {
      err = e;
    }
    expect(isCoreError(err, "USAGE")).toBe(true);
    expect((err as Error).message).toBe("'1.2' is not a semantic version: invalid semantic version");
    expect(formatVersion(parseVersion("1.2", { loose: true }))).toBe("1.2.0");
  });

  test("fields", () => {
    const v = parseVersion("v10.20.30-rc.1+b.7");
    expect([v.major, v.minor, v.patch, v.prerelease, v.metadata, v.original]).toEqual([10n, 20n, 30n, "rc.1", "b.7", "v10.20.30-rc.1+b.7"]);
    expect(makeVersion(1n, 2n, 3n, "a", "b").original).toBe("1.2.3-a+b");
  });
});

describe("compareVersions", () => {
  const ordered = [
    "1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta", "1.0.0-beta.2", "1.0.0-beta.11",
    "1.0.0-rc.1", "1.0.0", "1.0.1", "1.1.0", "2.0.0-0", "2.0.0", "10.0.0",
  ];
  test("semver.org precedence example, ascending", () => {
    const vs = ordered.map((s) => parseVersion(s));
    for (let i = 0; i + 1 < vs.length; i++) {
      expect(compareVersions(vs[i]!, vs[i + 1]!)).toBe(-1);
      expect(compareVersions(vs[i + 1]!, vs[i]!)).toBe(1);
    }
  });
  test.each([
    ["1.0.0", "v1.0.0", 0],
    ["1.0.0+a", "1.0.0+b", 0],
    ["01.0.0", "1.0.0", 0],
    ["1.0.0-1", "1.0.0-a", -1],
    ["1.0.0-A", "1.0.0-a", -1],
    ["1.0.0-99999999999999999999", "1.0.0-a", -1], // too big for uint64: compared as text, and "9" < "a"
    ["1.0.0-18446744073709551615", "1.0.0-9", 1],
    ["18446744073709551615.0.0", "18446744073709551614.0.0", 1],
  ] as const)("%s vs %s = %d", (a, b, want) => {
    expect(compareVersions(parseVersion(a), parseVersion(b))).toBe(want);
  });

  // node-semver is the reference wherever both define the order: valid strict semver below 2^53.
  test("agrees with node-semver's compare on 2000 seeded strict versions", () => {
    let s = 7;
    const rand = (n: number) => {
      s = (s * 1103515245 + 12345) % 2147483648;
      return s % n;
    };
    const ids = ["alpha", "beta", "rc", "0", "1", "2", "10", "x-y", "A"];
    const gen = () => {
      let v = `${rand(3)}.${rand(3)}.${rand(3)}`;
      if (rand(2)) v += "-" + Array.from({ length: 1 + rand(3) }, () => ids[rand(ids.length)]).join(".");
      if (rand(4) === 0) v += "+meta." + rand(9);
      return v;
    };
    for (let i = 0; i < 2000; i++) {
      const a = gen();
      const b = gen();
      expect(compareVersions(parseVersion(a), parseVersion(b))).toBe(npmSemver.compare(a, b));
    }
  });

  test("where node-semver differs: it rejects what Flux accepts", () => {
    expect(npmSemver.valid("01.2.3")).toBeNull();
    expect(tryParseVersion("01.2.3")).toBeDefined();
    expect(npmSemver.valid("9007199254740993.0.0")).toBeNull();
    expect(tryParseVersion("9007199254740993.0.0")?.major).toBe(9007199254740993n);
    expect(npmSemver.valid("=v1.2.3", { loose: true })).toBe("1.2.3");
    expect(tryParseVersion("=v1.2.3", { loose: true })).toBeUndefined();
  });
});
