import { describe, expect, test } from "bun:test";
import {
  filterTagsForList,
  isCosignTag,
  isSignatureOrReferrerTag,
  sortTags,
} from "../../../../src/core/semver/tags.ts";
import { CoreError } from "../../../../src/core/errors.ts";

const hex = "0123456789abcdef".repeat(4);
const tags = [
  "latest", "v1.9.0", "v1.10.0", "1.10.0", "1.2", "1.2.3.4", "2.0.0-rc.1", "01.2.0", "main",
  `sha256-${hex}.sig`, `sha256-${hex}.att`, `sha256-${hex}.sbom`, `sha256-${hex}`, "v1.10.0+b", "1.0.0_meta",
];

function message(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    if (e instanceof CoreError) return `${e.code}: ${e.message}`;
    throw e;
  }
  return "no error";
}

describe("filterTagsForList (flux list artifacts)", () => {
  const cases: [string, Parameters<typeof filterTagsForList>[1], string[]][] = [
    ["no filter hides only cosign tags", {}, tags.filter((t) => !/\.(sig|att|sbom)$/.test(t))],
    ["hide none", { hide: "none" }, tags],
    ["hide signatures and referrers", { hide: "signatures" }, tags.filter((t) => !t.startsWith("sha256-"))],
    ["semver needs three dot parts, parses v and zero padding", { semver: "*" }, ["v1.9.0", "v1.10.0", "1.10.0", "01.2.0", "v1.10.0+b"]],
    ["semver with prerelease", { semver: ">=2.0.0-0" }, ["2.0.0-rc.1"]],
    ["semver range", { semver: ">=1.9 <1.10" }, ["v1.9.0"]],
    ["regex is unanchored", { regex: "10" }, ["v1.10.0", "1.10.0", "v1.10.0+b"]],
    ["regex anchored by the user", { regex: "^v" }, ["v1.9.0", "v1.10.0", "v1.10.0+b"]],
    ["semver AND regex", { semver: "1.x", regex: "^1" }, ["1.10.0"]],
    ["RE2 classes", { regex: "^\\d+\\.\\d+$" }, ["1.2"]],
    ["`_` is never semver here", { semver: "*", regex: "_" }, []],
  ];
  for (const [name, opts, want] of cases) {
    test(name, () => {
      expect(filterTagsForList(tags, opts)).toEqual(want);
    });
  }

  test("bad constraint, bad regex, and the order flux checks them in", () => {
    expect(message(() => filterTagsForList(tags, { semver: "~>" }))).toBe(
      `USAGE: semver '~>' parse error: improper constraint: "~>"`,
    );
    expect(message(() => filterTagsForList(tags, { regex: "[" }))).toBe(
      "USAGE: regex '[' parse error: error parsing regexp: missing closing ]: `[`",
    );
    expect(message(() => filterTagsForList(tags, { regex: "(?=x)" }))).toBe(
      "USAGE: regex '(?=x)' parse error: error parsing regexp: invalid or unsupported Perl syntax: `(?=`",
    );
    expect(message(() => filterTagsForList([], { semver: "nope", regex: "(" }))).toStartWith("USAGE: semver 'nope'");
  });
});

describe("sortTags", () => {
  test("flux: descending byte order", () => {
    expect(sortTags(["v1.9.0", "v1.10.0", "latest", "1.0.0", "V2"], "flux")).toEqual(["v1.9.0", "v1.10.0", "latest", "V2", "1.0.0"]);
  });
  test("semver: versions by precedence, equal versions bare first, then the rest descending", () => {
    expect(
      sortTags(["latest", "v1.9.0", "main", "v1.10.0", "1.10.0", "2.0.0-rc.1", "1.2", "2.0.0", "1.10.0+b"], "semver"),
    ).toEqual(["2.0.0", "2.0.0-rc.1", "1.10.0", "1.10.0+b", "v1.10.0", "v1.9.0", "main", "latest", "1.2"]);
  });
  test("default is semver and the input is not mutated", () => {
    const input = ["1.0.0", "2.0.0"];
    expect(sortTags(input)).toEqual(["2.0.0", "1.0.0"]);
    expect(input).toEqual(["1.0.0", "2.0.0"]);
  });
});

describe("signature and referrer tags", () => {
  const cases: [string, boolean, boolean][] = [
    [`sha256-${hex}.sig`, true, true],
    [`sha256-${hex}.att`, true, true],
    [`sha256-${hex}.sbom`, true, true],
    ["anything.sig", true, true],
    [`sha256-${hex}`, false, true],
    [`sha256-${hex}.intoto.v1`, false, true],
    [`sha256-${hex.slice(1)}`, false, false],
    [`sha256-${hex.toUpperCase()}`, false, false],
    [`sha512-${hex}`, false, false],
    ["1.0.0", false, false],
    ["signature", false, false],
  ];
  for (const [tag, cosign, any] of cases) {
    test(`${tag}: cosign ${cosign}, signature-or-referrer ${any}`, () => {
      expect(isCosignTag(tag)).toBe(cosign);
      expect(isSignatureOrReferrerTag(tag)).toBe(any);
    });
  }
});
