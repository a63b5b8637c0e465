import { expect, test } from "bun:test";
import { createFileHistory, registriesFromDockerConfig, type TextFiles } from "../../../src/tui/local-state.ts";

function memFiles(initial: Record<string, string> = {}): TextFiles & { data: Record<string, string> } {
  const data = { ...initial };
  return {
    data,
    read: async (p) => {
      if (!(p in data)) throw new Error("ENOENT");
      return data[p]!;
    },
    write: async (p, t) => {
      data[p] = t;
    },
  };
}

test("history: newest first, deduplicated, capped; missing or corrupt files are empty", async () => {
  const files = memFiles();
  const h = createFileHistory({ path: "/h.json", files, max: 3 });
  expect(await h.load()).toEqual([]);
  for (const u of ["oci://a/x", "oci://b/y", "oci://a/x", "oci://c/z", "oci://d/w"]) await h.add(u);
  expect(await h.load()).toEqual(["oci://d/w", "oci://c/z", "oci://a/x"]);
  expect(JSON.parse(files.data["/h.json"]!)).toEqual(["oci://d/w", "oci://c/z", "oci://a/x"]);
  files.data["/h.json"] = "{not json";
  expect(await h.load()).toEqual([]);
});

test("history: a failed write does not throw", async () => {
  const h = createFileHistory({ path: "/h.json", files: { read: async () => "[]", write: async () => Promise.reject(new Error("EROFS")) } });
  await h.add("oci://a/x");
});

test("docker config: auths and credHelpers keys, normalised", () => {
  const cfg = JSON.stringify({
    auths: { "https://index.docker.io/v1/": {}, "ghcr.io": { auth: "x" }, "localhost:5000": {} },
    credHelpers: { "123.dkr.ecr.eu-west-1.amazonaws.com": "ecr-login", "ghcr.io": "gh" },
  });
  expect(registriesFromDockerConfig(cfg)).toEqual(["123.dkr.ecr.eu-west-1.amazonaws.com", "docker.io", "ghcr.io", "localhost:5000"]);
  expect(registriesFromDockerConfig("")).toEqual([]);
  expect(registriesFromDockerConfig("[1]")).toEqual([]);
});
