import { expect, test } from "bun:test";
import { highlightYamlLine, isYaml } from "../../../../src/tui/render/yaml.ts";

const roles = (line: string) => highlightYamlLine(line).filter((s) => s.role).map((s) => `${s.role}:${s.text}`);

test.each([
  ["apiVersion: apps/v1", ["key:apiVersion", "string:apps/v1"]],
  ["  replicas: 3 # scaled", ["key:replicas", "number:3", "comment:# scaled"]],
  ["# a comment", ["comment:# a comment"]],
  ["---", ["marker:---"]],
  ['    - name: "web"', ["key:name", 'string:"web"']],
  ["  - ghcr.io/x:1.0 # pinned", ["string:ghcr.io/x:1.0", "comment:# pinned"]],
  ["  url: http://x#frag", ["key:url", "string:http://x#frag"]],
  ["  script: |", ["key:script", "marker:|"]],
  ["  enabled: true", ["key:enabled", "number:true"]],
])("%s", (line, want) => {
  expect(roles(line)).toEqual(want);
  expect(highlightYamlLine(line).map((s) => s.text).join("")).toBe(line);
});

test("never throws and keeps the text for odd input", () => {
  for (const l of ["", "   ", "{{ .Values.x }}", "key: 'unterminated", ": no key", "\t- tab"]) {
    expect(highlightYamlLine(l).map((s) => s.text).join("")).toBe(l);
  }
  expect(isYaml("a/b.YML")).toBe(true);
  expect(isYaml("a/b.json")).toBe(false);
});
