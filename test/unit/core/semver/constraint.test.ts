import { describe, expect, test } from "bun:test";
import npmSemver from "semver";
import { parseConstraint, satisfies, tryParseConstraint } from "../../../../src/core/semver/constraint.ts";
import { isCoreError } from "../../../../src/core/errors.ts";

describe("satisfies (Masterminds semantics)", () => {
  // [constraint, version, expected]
  const cases: [string, string, boolean][] = [
    [">= 1.2, < 2", "1.2.0", true],
    [">= 1.2, < 2", "1.9.9", true],
    [">= 1.2, < 2", "2.0.0", false],
    [">=1.2.0 <2.0.0", "1.5.0", true],
    [">=1.2.0,<2.0.0", "2.0.0", false],
    ["1.x || >=3.0.0", "1.7.0", true],
    ["1.x || >=3.0.0", "2.0.0", false],
    ["1.x || >=3.0.0", "3.1.0", true],
    ["*", "0.0.0", true],
    ["*", "1.0.0-rc.1", false],
    ["x", "99.0.0", true],
    ["1.2.x", "1.2.9", true],
    ["1.2.x", "1.3.0", false],
    ["1.2", "1.2.5", true], // bare partial versions are tilde ranges
    ["1.2.3", "1.2.3+build", true],
    ["=1.2.3", "v1.2.3", true],
    ["!=1.2.3", "1.2.4", true],
    ["!=1.2.3", "1.2.3", false],
    ["!=1.x", "1.5.0", false],
    ["!=1.x", "2.0.0", true],
    [">1.2", "1.2.9", false], // dirty bound: needs 1.3+
    [">1.2", "1.3.0", true],
    [">11", "11.9.0", false],
    [">11", "12.0.0", true],
    ["<=1.2", "1.2.9", true], // dirty bound keeps all of 1.2.x
    ["<=1", "1.99.0", true],
    ["<=1", "2.0.0", false],
    ["<1.2", "1.1.9", true],
    ["<1.2", "1.2.0", false],
    ["~1.2.3", "1.2.9", true],
    ["~1.2.3", "1.3.0", false],
    ["~>1.2.3", "1.2.4", true],
    ["~1", "1.9.0", true],
    ["~1", "2.0.0", false],
    ["~0", "0.9.0", true],
    ["~0.0.0", "5.0.0", true], // special case: ~0.0.0 is >=0.0.0
    ["^1.2.3", "1.9.0", true],
    ["^1.2.3", "2.0.0", false],
    ["^0.2.3", "0.2.9", true],
    ["^0.2.3", "0.3.0", false],
    ["^0.0.3", "0.0.3", true],
    ["^0.0.3", "0.0.4", false],
    ["^0.0", "0.0.9", true],
    ["^0.0", "0.1.0", false],
    ["^0", "0.9.0", true],
    ["^0", "1.0.0", false],
    ["1.2 - 1.4.5", "1.4.5", true],
    ["1.2 - 1.4.5", "1.4.6", false],
    ["1 - 2", "2.9.9", true], // `<= 2` with a wildcard keeps 2.x
    ["1 - 2", "3.0.0", false],
    ["=>1.0.0", "1.0.0", true],
    ["=<1.0.0", "1.0.0", true],
    ["v1.x", "1.4.0", true],
    // prereleases: only when the same || group names one, but then for any version
    [">=1.0.0", "1.5.0-rc.1", false],
    [">=1.0.0-0", "1.5.0-rc.1", true],
    [">=1.0.0-0", "7.0.0-alpha", true], // node-semver says false here
    [">=1.0.0-0 <2", "1.9.0-beta", true],
    ["1.x || >=3.0.0-0", "1.5.0-rc.1", false], // the group without a prerelease stays release-only
    ["1.x || >=3.0.0-0", "3.0.0-rc.1", true],
    ["1.0.x-0", "1.0.5-rc.1", true],
    ["~1.0.0-alpha", "1.0.0-beta", true],
    [">=1.0.0-x", "1.9.0", true],
    [">=1.0.0-beta", "1.0.0-alpha", false],
    ["<= 6.1.0", "6.1.0", true],
  ];
  for (const [c, v, want] of cases) {
    test(`${JSON.stringify(c)} ${want ? "matches" : "rejects"} ${v}`, () => {
      expect(satisfies(v, c)).toBe(want);
    });
  }

  test("includePrerelease lets prereleases into every group", () => {
    expect(satisfies("1.5.0-rc.1", ">=1.0.0")).toBe(false);
    expect(satisfies("1.5.0-rc.1", ">=1.0.0", { includePrerelease: true })).toBe(true);
  });

  test("where node-semver disagrees", () => {
    // node-semver admits prereleases only of the same major.minor.patch as the bound.
    expect(npmSemver.satisfies("7.0.0-alpha", ">=1.0.0-0")).toBe(false);
    expect(satisfies("7.0.0-alpha", ">=1.0.0-0")).toBe(true);
    // node-semver's `<=1.2` is `<1.3.0-0` too, but `>1.2` differs nowhere; `!=` and commas are Masterminds-only.
    expect(npmSemver.validRange(">= 1.2, < 2")).toBeNull();
    expect(npmSemver.validRange("!=1.2.3")).toBeNull();
  });

  test("unparsable version strings never satisfy", () => {
    expect(satisfies("latest", "*")).toBe(false);
  });
});

describe("parseConstraint errors (flux's message)", () => {
  const cases: [string, string][] = [
    ["", 'improper constraint: ""'],
    ["abc", 'improper constraint: "abc"'],
    [">=1.2.3 <=", 'improper constraint: ">=1.2.3 <="'],
    ["1.2.3;2.0.0", 'improper constraint: "1.2.3;2.0.0"'],
    ["||", 'improper constraint: ""'],
    [">=1.2.3.4", 'improper constraint: ">=1.2.3.4"'],
    [">= 1.2.3-01", "constraint parser error"],
    ["1|2", "constraint parser error"],
    ["99999999999999999999", "constraint parser error"],
    [">=1.0.0\u00a0", 'improper constraint: ">=1.0.0\\u00a0"'],
    [">  =1.2.3", 'improper constraint: ">  =1.2.3"'],
  ];
  for (const [c, reason] of cases) {
    test(JSON.stringify(c), () => {
      expect(tryParseConstraint(c)).toBe(reason);
      let err: unknown;
      try {
        parseConstraint(c);
      } catch (e) {
        err = e;
      }
      expect(isCoreError(err, "USAGE")).toBe(true);
      expect((err as Error).message).toBe(`semver '${c}' parse error: ${reason}`);
    });
  }

  test("accepted spellings", () => {
    for (const c of ["\t>=1.0.0\n", "> 1.2.3", "1.2.3 2.0.0", ">=01.2.3", "~01.02", "x.x.x", "*-0", "1.2.3 - 2"]) {
      expect(typeof tryParseConstraint(c)).toBe("object");
    }
  });
});
