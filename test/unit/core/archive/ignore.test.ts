import { describe, expect, test } from "bun:test";
import {
  DEFAULT_IGNORE_PATHS,
  createIgnoreMatcher,
  goMatch,
  parseIgnoreLines,
  parseSourceIgnore,
  matcherFromPatterns,
} from "../../../../src/core/archive/ignore.ts";
import { goFilepathMatch } from "../../../harness/oracles/gotar.ts";

type Case = { name: string; patterns: readonly string[]; path: string; dir?: boolean; want: boolean; domain?: string[] };

const split = (p: string) => (p === "" ? [] : p.split("/"));

const cases: Case[] = [
  // flux defaults
  { name: "default: .git dir", patterns: DEFAULT_IGNORE_PATHS, path: ".git", dir: true, want: true },
  { name: "default: file under .git", patterns: DEFAULT_IGNORE_PATHS, path: ".git/config", want: true },
  { name: "default: nested .git dir", patterns: DEFAULT_IGNORE_PATHS, path: "sub/.git/HEAD", want: true },
  { name: "default: a file named .git is kept (.git/ is dir-only)", patterns: DEFAULT_IGNORE_PATHS, path: ".git", want: false },
  { name: "default: submodule .git file kept", patterns: DEFAULT_IGNORE_PATHS, path: "sub/.git", want: false },
  { name: "default: .gitignore anywhere", patterns: DEFAULT_IGNORE_PATHS, path: "a/b/.gitignore", want: true },
  { name: "default: *.png", patterns: DEFAULT_IGNORE_PATHS, path: "img/logo.png", want: true },
  { name: "default: case-sensitive", patterns: DEFAULT_IGNORE_PATHS, path: "logo.PNG", want: false },
  { name: "default: a dir named x.png hides its files", patterns: DEFAULT_IGNORE_PATHS, path: "x.png/readme.md", want: true },
  { name: "default: *.tar.gz", patterns: DEFAULT_IGNORE_PATHS, path: "dist/app.tar.gz", want: true },
  { name: "default: *.tgz is not ignored", patterns: DEFAULT_IGNORE_PATHS, path: "artifact.tgz", want: false },
  { name: "default: yaml kept", patterns: DEFAULT_IGNORE_PATHS, path: "deploy/app.yaml", want: false },
  { name: "default: .env kept", patterns: DEFAULT_IGNORE_PATHS, path: ".env", want: false },
  { name: "the root is never matched", patterns: ["*", "**", "/"], path: "", dir: true, want: false },
  // last match wins, re-inclusion, no pruning
  { name: "negation after exclusion re-includes", patterns: ["*.yaml", "!keep.yaml"], path: "keep.yaml", want: false },
  { name: "negation after exclusion: others excluded", patterns: ["*.yaml", "!keep.yaml"], path: "x.yaml", want: true },
  { name: "exclusion after negation wins", patterns: ["!keep.yaml", "*.yaml"], path: "keep.yaml", want: true },
  { name: "dir/ excludes the dir", patterns: ["dir/", "!dir/keep.yaml"], path: "dir", dir: true, want: true },
  { name: "dir/ + !dir/keep.yaml keeps the child (no pruning)", patterns: ["dir/", "!dir/keep.yaml"], path: "dir/keep.yaml", want: false },
  { name: "dir/ + !dir/keep.yaml: siblings stay excluded", patterns: ["dir/", "!dir/keep.yaml"], path: "dir/other.yaml", want: true },
  { name: "no match = included", patterns: ["*.json"], path: "a.yaml", want: false },
  // patterns without a slash: any component
  { name: "bare name matches at depth", patterns: ["node_modules"], path: "a/node_modules/x/y.js", want: true },
  { name: "bare name matches a file too", patterns: ["node_modules"], path: "node_modules", want: true },
  { name: "dir-only bare name: file at the end does not count", patterns: ["build/"], path: "src/build", want: false },
  { name: "dir-only bare name: dir matches", patterns: ["build/"], path: "src/build", dir: true, want: true },
  { name: "dir-only bare name: content below", patterns: ["build/"], path: "build/out.txt", want: true },
  { name: "glob on a dir component", patterns: ["*.d"], path: "conf.d/x", want: true },
  // patterns with a slash: anchored
  { name: "leading slash anchors", patterns: ["/deploy"], path: "deploy", dir: true, want: true },
  { name: "anchored: content below", patterns: ["/deploy"], path: "deploy/a.yaml", want: true },
  { name: "anchored: not deeper", patterns: ["/deploy"], path: "sub/deploy", dir: true, want: false },
  { name: "inner slash anchors", patterns: ["somedir/git"], path: "somedir/git", want: true },
  { name: "inner slash: trailing components allowed", patterns: ["somedir/git"], path: "somedir/git/x", want: true },
  { name: "inner slash: not elsewhere", patterns: ["somedir/git"], path: "x/somedir/git", want: false },
  { name: "star stays in one component", patterns: ["a/*/b"], path: "a/x/b", want: true },
  { name: "star does not cross components", patterns: ["a/*/b"], path: "a/x/y/b", want: false },
  { name: "**/ prefix: zero components", patterns: ["**/x.yaml"], path: "x.yaml", want: true },
  { name: "**/ prefix: many components", patterns: ["**/x.yaml"], path: "a/b/c/x.yaml", want: true },
  { name: "**/ prefix: extra trailing components", patterns: ["**/x.yaml"], path: "a/x.yaml/c", want: true },
  { name: "**/ prefix: no match", patterns: ["**/x.yaml"], path: "a/y.yaml", want: false },
  { name: "middle **: zero components", patterns: ["a/**/b"], path: "a/b", want: true },
  { name: "middle **: many", patterns: ["a/**/b"], path: "a/x/y/b", want: true },
  { name: "middle **: no b", patterns: ["a/**/b"], path: "a/x/y/c", want: false },
  { name: "trailing **: the dir itself (not git)", patterns: ["a/**"], path: "a", dir: true, want: true },
  { name: "trailing **: contents", patterns: ["a/**"], path: "a/b/c", want: true },
  { name: "trailing **: elsewhere", patterns: ["a/**"], path: "b/a", want: false },
  { name: "/** alone never matches", patterns: ["/**"], path: "x", want: false },
  { name: "** mixed with text never matches", patterns: ["a**/b"], path: "ab/b", want: false },
  { name: "** mixed with text never matches (last part)", patterns: ["a/b**"], path: "a/bc", want: false },
  { name: "bare ** is a filepath glob: matches any name", patterns: ["**"], path: "x/y", want: true },
  { name: "anchored dir-only: dir", patterns: ["a/b/"], path: "a/b", dir: true, want: true },
  { name: "anchored dir-only: file", patterns: ["a/b/"], path: "a/b", want: false },
  { name: "anchored dir-only: below", patterns: ["a/b/"], path: "a/b/c", want: true },
  { name: "double slash is skipped", patterns: ["a//b"], path: "a/b", want: true },
  { name: "**/name/ dir-only", patterns: ["**/.sops.yaml"], path: "x/.sops.yaml", want: true },
  // glob syntax
  { name: "? matches one char", patterns: ["file?.txt"], path: "file1.txt", want: true },
  { name: "? not two", patterns: ["file?.txt"], path: "file10.txt", want: false },
  { name: "? matches one rune", patterns: ["?ber"], path: "über", want: true },
  { name: "class", patterns: ["[abc].txt"], path: "b.txt", want: true },
  { name: "negated class", patterns: ["[^abc].txt"], path: "d.txt", want: true },
  { name: "negated class excludes", patterns: ["[^abc].txt"], path: "a.txt", want: false },
  { name: "range", patterns: ["[a-c]x"], path: "bx", want: true },
  { name: "escaped star is literal", patterns: ["\\*.txt"], path: "*.txt", want: true },
  { name: "escaped star does not glob", patterns: ["\\*.txt"], path: "a.txt", want: false },
  { name: "malformed class never matches", patterns: ["[a"], path: "[a", want: false },
  { name: "trailing backslash is malformed", patterns: ["a\\"], path: "a\\", want: false },
  { name: "malformed in a later component", patterns: ["a/[b"], path: "a/[b", want: false },
  // lines
  { name: "comment lines are skipped", patterns: ["#*.yaml"], path: "a.yaml", want: false },
  { name: "escaped hash is a pattern", patterns: ["\\#x"], path: "#x", want: true },
  { name: "blank and whitespace-only lines are skipped", patterns: ["", "   ", "\t"], path: "a", want: false },
  { name: "trailing spaces trimmed", patterns: ["foo   "], path: "foo", want: true },
  { name: "escaped trailing space kept", patterns: ["foo\\ "], path: "foo ", want: true },
  { name: "escaped trailing space: not without", patterns: ["foo\\ "], path: "foo", want: false },
  { name: "leading space kept", patterns: [" foo"], path: "foo", want: false },
  { name: "bare ! never matches", patterns: ["*.yaml", "!"], path: "a.yaml", want: true },
  { name: "newline-joined values are separate lines", patterns: ["*.json\n*.yaml"], path: "a.yaml", want: true },
  { name: "CRLF lines", patterns: ["*.json\r\n*.yaml\r\n"], path: "a.yaml", want: true },
  // domain scoping
  { name: "domain: inside", patterns: ["*.yaml"], domain: ["sub"], path: "sub/a.yaml", want: true },
  { name: "domain: outside", patterns: ["*.yaml"], domain: ["sub"], path: "a.yaml", want: false },
  { name: "domain: the domain dir itself", patterns: ["*"], domain: ["sub"], path: "sub", dir: true, want: false },
  { name: "domain: anchored relative to the domain", patterns: ["/x"], domain: ["sub"], path: "sub/x", want: true },
];

describe("createIgnoreMatcher", () => {
  test.each(cases.map((c) => [c.name, c] as const))("%s", (_, c) => {
    const m = createIgnoreMatcher(c.patterns, { domain: c.domain });
    expect(m(split(c.path), c.dir ?? false)).toBe(c.want);
  });

  test("DEFAULT_IGNORE_PATHS is flux's list, in order", () => {
    expect([...DEFAULT_IGNORE_PATHS]).toEqual(
      ".git/,.gitignore,.gitmodules,.gitattributes,*.jpg,*.jpeg,*.gif,*.png,*.wmv,*.flv,*.tar.gz,*.zip".split(","),
    );
  });

  test(".sourceignore text parses like flag values, scoped to a domain", () => {
    const ps = parseSourceIgnore("# comment\n\n*.md\n!README.md\nsecrets/\n");
    expect(ps.length).toBe(3);
    const m = matcherFromPatterns([...parseIgnoreLines(DEFAULT_IGNORE_PATHS), ...ps]);
    expect(m(["docs", "a.md"], false)).toBe(true);
    expect(m(["README.md"], false)).toBe(false);
    expect(m(["secrets", "k.yaml"], false)).toBe(true);
    expect(m(["logo.png"], false)).toBe(true);
  });
});

describe("goMatch (Go filepath.Match port)", () => {
  test.each([
    ["abc", "abc", true],
    ["*", "abc", true],
    ["*c", "abc", true],
    ["a*", "a", true],
    ["a*/b", "abc/b", true],
    ["a*b*c*d*e*/f", "axbxcxdxe/f", true],
    ["a*b*c*d*e*/f", "axbxcxdxexxx/fff", false],
    ["ab[c]", "abc", true],
    ["ab[b-d]", "abc", true],
    ["ab[^c]", "abc", false],
    ["a\\*b", "a*b", true],
    ["a?b", "a☺b", true],
    ["[", "a", undefined],
    ["[^", "a", undefined],
    ["[a-", "a", undefined],
    ["a[", "a", undefined],
    ["*x", "xxx", true],
    ["[]a]", "]", undefined],
    ["[-]", "-", undefined],
    ["[x-]", "x", undefined],
    ["[\\]a]", "]", true],
    ["*/", "a", false],
  ] as const)("%p vs %p", (p, n, want) => {
    expect(goMatch(p, n)).toBe(want);
  });

  test("agrees with Go's filepath.Match on 5000 random pattern/name pairs", () => {
    let seed = 42;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    const patAlpha = ["a", "b", "c", "*", "?", "[", "]", "^", "-", "\\", "/", "ü", ".", "a", "b"];
    const nameAlpha = ["a", "b", "c", "-", "]", "[", "/", "ü", ".", "*", "\\", "^"];
    const pairs: [string, string][] = [];
    for (let i = 0; i < 5000; i++) {
      let p = "";
      let n = "";
      for (let k = rand(7); k >= 0; k--) p += patAlpha[rand(patAlpha.length)];
      for (let k = rand(7); k >= 0; k--) n += nameAlpha[rand(nameAlpha.length)];
      pairs.push([p, n]);
    }
    const want = goFilepathMatch(pairs);
    const diffs = pairs.filter(([p, n], i) => goMatch(p, n) !== want[i]).slice(0, 5);
    expect(diffs).toEqual([]);
  });
});
