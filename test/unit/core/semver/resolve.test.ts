import { describe, expect, test } from "bun:test";
import { HELM_CHART_LAYER_MEDIA_TYPE, resolveTag } from "../../../../src/core/semver/resolve.ts";
import { satisfies } from "../../../../src/core/semver/constraint.ts";
import { compareVersions, parseVersion } from "../../../../src/core/semver/version.ts";
import { CoreError, isCoreError } from "../../../../src/core/errors.ts";
import { prng } from "../../../fixtures/prng.ts";

function error(f: () => unknown): CoreError {
  try {
    f();
  } catch (e) {
    if (e instanceof CoreError) return e;
    throw e;
  }
  throw new Error("expected a CoreError");
}

const podinfo = ["6.12.0", "6.13.0", "6.14.1", "6.14.1.sig", "latest", "main-abc123", "6.15.0-rc.1"];

describe("resolveTag", () => {
  // [tags, constraint, options, expected tag]
  const cases: [string[], string, Parameters<typeof resolveTag>[2], string][] = [
    [podinfo, "*", {}, "6.14.1"],
    [podinfo, ">=6.13.0", {}, "6.14.1"],
    [podinfo, "<6.14.0", {}, "6.13.0"],
    [podinfo, "~6.12", {}, "6.12.0"],
    [podinfo, ">=6.0.0-0", {}, "6.15.0-rc.1"],
    [podinfo, "6.14.x", {}, "6.14.1"],
    [["v1.0.0", "v1.1.0", "v1.10.0", "v1.9.0"], "^1", {}, "v1.10.0"],
    [["1.0.0", "v1.0.0"], "1.0.0", {}, "1.0.0"],
    [["v1.0.0", "1.0.0"], "1.0.0", {}, "v1.0.0"], // equal versions: listing order decides
    [["1.0.0+b", "1.0.0+a"], "*", {}, "1.0.0+b"],
    [["1.0.0", "1.0.1-rc.1", "1.0.1"], "~1.0", {}, "1.0.1"],
    [["01.02.03", "1.2.2"], ">=1.2", {}, "01.02.03"],
    [["2.0", "1.9.0"], "*", {}, "1.9.0"], // two parts is not a tag version
    [["1.2.3.4", "1.2.3"], "*", {}, "1.2.3"],
    [["1.2-rc.1.2", "1.1.0"], ">=0.0.0-0", {}, "1.2-rc.1.2"], // two dots anywhere pass Flux's gate
    [["1.0.0_build.1", "0.9.0"], "*", { layerMediaType: HELM_CHART_LAYER_MEDIA_TYPE }, "1.0.0_build.1"],
    [["1.0.0_build.1", "0.9.0"], "*", {}, "0.9.0"], // `_` is not semver without the Helm media type
    [["1.0.0-rc.1_b2", "1.0.0-rc.1"], ">=1.0.0-0", { layerMediaType: HELM_CHART_LAYER_MEDIA_TYPE }, "1.0.0-rc.1_b2"],
    [["1.0.0", "2.0.0", "3.0.0"], "*", { filter: "^[12]\\." }, "2.0.0"],
    [["1.0.0-rc.1", "1.0.0-beta.2", "1.0.0"], ">=1.0.0-0", { filter: "-rc" }, "1.0.0-rc.1"], // prereleases only
    [["app-1.0.0", "1.5.0"], "*", { filter: "1" }, "1.5.0"],
  ];
  for (const [tags, c, opts, want] of cases) {
    test(`${JSON.stringify(c)} ${JSON.stringify(opts)} over ${tags.join(",")} → ${want}`, () => {
      const r = resolveTag(tags, c, opts);
      expect(r.tag).toBe(want);
      expect(r.candidates[0]).toBe(want);
      expect(r.considered).toBe(tags.length);
      expect(r.candidates.length + r.skipped.length).toBe(tags.length);
    });
  }

  test("reports candidates best first and why each other tag was skipped", () => {
    const r = resolveTag(podinfo, ">=6.13.0");
    expect(r).toEqual({
      tag: "6.14.1",
      version: "6.14.1",
      considered: 7,
      candidates: ["6.14.1", "6.13.0"],
      skipped: [
        { tag: "6.12.0", reason: "out-of-range" },
        { tag: "6.14.1.sig", reason: "not-semver" },
        { tag: "latest", reason: "not-semver" },
        { tag: "main-abc123", reason: "not-semver" },
        { tag: "6.15.0-rc.1", reason: "prerelease" },
      ],
    });
  });

  test("version is canonical; helm tag keeps `_`", () => {
    const r = resolveTag(["v1.0.0_abc"], "*", { layerMediaType: HELM_CHART_LAYER_MEDIA_TYPE });
    expect([r.tag, r.version]).toEqual(["v1.0.0_abc", "1.0.0+abc"]);
  });

  test("a prerelease outside the range is out-of-range, not prerelease", () => {
    const r = resolveTag(["1.0.0", "0.5.0-rc.1"], ">=1.0.0");
    expect(r.skipped).toEqual([{ tag: "0.5.0-rc.1", reason: "out-of-range" }]);
  });

  test("no match: NO_MATCHING_VERSION with counts and a hint", () => {
    const e = error(() => resolveTag(podinfo, ">=7.0.0"));
    expect(e.code).toBe("NO_MATCHING_VERSION");
    expect(e.message).toBe("no match found for semver: >=7.0.0 (7 tags considered: 3 not semver, 4 out of range)");
    const p = error(() => resolveTag(["1.1.0-rc.1", "1.2.0-rc.2"], ">=1.0.0"));
    expect(p.message).toBe(
      "no match found for semver: >=1.0.0 (2 tags considered: 2 prereleases the constraint excludes)",
    );
    expect(p.details.hint).toContain(">=1.0.0-0");
    const f = error(() => resolveTag(["1.0.0"], "*", { filter: "^v" }));
    expect(f.message).toBe("no match found for semver: * (1 tag considered: 1 rejected by the filter)");
    expect(error(() => resolveTag([], "*")).message).toBe("no match found for semver: * (the repository has no tags)");
  });

  test("bad filter fails before a bad constraint, with Go's regexp error", () => {
    const e = error(() => resolveTag(["1.0.0"], "nope", { filter: "(" }));
    expect(e.code).toBe("USAGE");
    expect(e.message).toBe("error parsing regexp: missing closing ): `(`");
    const t = error(() => resolveTag(["1.0.0"], "*", { filter: "a\\" }));
    expect(t.message).toBe("error parsing regexp: trailing backslash at end of expression: ``");
  });

  test("bad constraint fails even with no tags", () => {
    const e = error(() => resolveTag([], ">=1.0.0 <"));
    expect(isCoreError(e, "USAGE")).toBe(true);
    expect(e.message).toBe(`semver '>=1.0.0 <' parse error: improper constraint: ">=1.0.0 <"`);
  });
});

// fast-check is not installed; a seeded xorshift keeps failures reproducible.
function rng(seed: number) {
  const next = prng(seed);
  return () => next() / 2 ** 32;
}

describe("resolveTag properties (seeded random)", () => {
  const seed = 20261128;
  const r = rng(seed);
  const pick = <T,>(a: readonly T[]): T => a[Math.floor(r() * a.length)]!;
  const num = () => String(pick([0, 0, 1, 1, 2, 3, 10, 11]));
  const tag = () => {
    const kind = r();
    if (kind < 0.1) return pick(["latest", "main", "sha256-" + "a".repeat(64) + ".sig", "1.2", "x.y.z"]);
    let t = (r() < 0.3 ? "v" : "") + num() + "." + num() + "." + num();
    if (r() < 0.3) t += "-" + pick(["rc.1", "rc.2", "alpha", "0", "beta.10"]);
    if (r() < 0.1) t += "+" + pick(["b1", "b2"]);
    return t;
  };
  const ops = ["", "=", "!=", ">", "<", ">=", "<=", "~", "^"];
  const bound = () => {
    let b = num();
    if (r() < 0.8) b += "." + pick([num(), "x"]);
    if (r() < 0.6) b += "." + pick([num(), "x"]);
    if (r() < 0.2) b += "-0";
    return b;
  };
  const constraint = () => {
    let c = pick(ops) + bound();
    if (r() < 0.4) c += pick([", ", " "]) + pick(ops) + bound();
    if (r() < 0.2) c += " || " + pick(ops) + bound();
    return c;
  };

  test(`winner satisfies the constraint and no matching tag is greater (seed ${seed}, 3000 runs)`, () => {
    let matched = 0;
    for (let run = 0; run < 3000; run++) {
      const tags = Array.from({ length: 1 + Math.floor(r() * 25) }, tag);
      const c = constraint();
      let res;
      try {
        res = resolveTag(tags, c);
      } catch (e) {
        expect(isCoreError(e, "NO_MATCHING_VERSION")).toBe(true);
        // then truly nothing matches
        for (const t of tags) {
          const v = t.split(".").length >= 3 ? (() => { try { return parseVersion(t); } catch { return undefined; } })() : undefined;
          if (v) expect(satisfies(v, c)).toBe(false);
        }
        continue;
      }
      matched++;
      const win = parseVersion(res.tag);
      expect(satisfies(win, c)).toBe(true);
      expect(tags).toContain(res.tag);
      for (const t of res.candidates) {
        const v = parseVersion(t);
        expect(satisfies(v, c)).toBe(true);
        expect(compareVersions(v, win)).toBeLessThanOrEqual(0);
      }
      for (let i = 1; i < res.candidates.length; i++) {
        expect(compareVersions(parseVersion(res.candidates[i - 1]!), parseVersion(res.candidates[i]!))).toBeGreaterThanOrEqual(0);
      }
      // every matching tag is a candidate; every other tag is skipped
      expect(res.candidates.length + res.skipped.length).toBe(tags.length);
      const firstEqual = tags.find((t) => res.candidates.includes(t) && compareVersions(parseVersion(t), win) === 0);
      expect(res.tag).toBe(firstEqual!);
    }
    expect(matched).toBeGreaterThan(500); // the generator must actually exercise the success path
  });
});
