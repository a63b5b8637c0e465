import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { isCoreError } from "../../../../src/core/errors.ts";
import {
  createDockerConfigProvider,
  parseCredsFlag,
  registryKey,
  staticCredentials,
  type HelperRunner,
} from "../../../../src/core/registry/credentials.ts";

const b64 = (s: string) => Buffer.from(s).toString("base64");

/** An in-memory file system for the config lookup. */
function files(map: Record<string, unknown>) {
  const reads: string[] = [];
  return {
    reads,
    readFile: async (p: string) => {
      reads.push(p);
      const v = map[p];
      return v === undefined ? undefined : typeof v === "string" ? v : JSON.stringify(v);
    },
  };
}

const noHelper: HelperRunner = async (program) => {
  throw new Error(`unexpected helper ${program}`);
};

describe("parseCredsFlag", () => {
  test("user:pass", () => expect(parseCredsFlag("u:p")).toEqual({ kind: "basic", username: "u", password: "p", from: "--creds" }));
  test("split at first colon", () => expect(parseCredsFlag("u:p:q")).toEqual({ kind: "basic", username: "u", password: "p:q", from: "--creds" }));
  test("token without colon", () => expect(parseCredsFlag("ghp_abc")).toEqual({ kind: "bearer", token: "ghp_abc", from: "--creds" }));
  test("empty password", () => expect(parseCredsFlag("u:")).toEqual({ kind: "basic", username: "u", password: "", from: "--creds" }));
  test("empty is unset", () => {
    expect(parseCredsFlag("")).toBeUndefined();
    expect(parseCredsFlag(undefined)).toBeUndefined();
  });
  test("staticCredentials", async () => {
    const p = staticCredentials({ kind: "bearer", token: "t" });
    expect(await p.get("a", "b")).toEqual({ kind: "bearer", token: "t" });
  });
});

describe("registryKey", () => {
  test("docker hub", () => {
    expect(registryKey("index.docker.io")).toBe("https://index.docker.io/v1/");
    expect(registryKey("docker.io")).toBe("https://index.docker.io/v1/");
  });
  test("others", () => expect(registryKey("ghcr.io")).toBe("ghcr.io"));
});

describe("docker config file choice", () => {
  const home = "/home/u";
  const cfg = (user: string) => ({ auths: { "ghcr.io": { auth: b64(`${user}:pw`) } } });
  // want: the user in the chosen file; from: that file, which the credential names for error hints.
  const cases: { name: string; env: Record<string, string>; fs: Record<string, unknown>; want?: string; from?: string }[] = [
    { name: "~/.docker/config.json", env: {}, fs: { "/home/u/.docker/config.json": cfg("home") }, want: "home", from: "/home/u/.docker/config.json" },
    {
      name: "~/.docker exists and DOCKER_CONFIG set: DOCKER_CONFIG wins",
      env: { DOCKER_CONFIG: "/dc" },
      fs: { "/home/u/.docker/config.json": cfg("home"), "/dc/config.json": cfg("dc") },
      want: "dc",
      from: "/dc/config.json",
    },
    {
      name: "~/.docker exists, DOCKER_CONFIG has none: anonymous (docker/cli loads an empty config)",
      env: { DOCKER_CONFIG: "/dc", REGISTRY_AUTH_FILE: "/ra.json" },
      fs: { "/home/u/.docker/config.json": cfg("home"), "/ra.json": cfg("ra") },
      want: undefined,
    },
    { name: "only DOCKER_CONFIG", env: { DOCKER_CONFIG: "/dc" }, fs: { "/dc/config.json": cfg("dc") }, want: "dc", from: "/dc/config.json" },
    {
      name: "REGISTRY_AUTH_FILE",
      env: { DOCKER_CONFIG: "/dc", REGISTRY_AUTH_FILE: "/ra.json", XDG_RUNTIME_DIR: "/run/u" },
      fs: { "/ra.json": cfg("ra"), "/run/u/containers/auth.json": cfg("xdg") },
      want: "ra",
      from: "/ra.json",
    },
    { name: "XDG_RUNTIME_DIR", env: { XDG_RUNTIME_DIR: "/run/u" }, fs: { "/run/u/containers/auth.json": cfg("xdg") }, want: "xdg", from: "/run/u/containers/auth.json" },
    { name: "nothing: anonymous", env: { XDG_RUNTIME_DIR: "/run/u" }, fs: {}, want: undefined },
  ];
  for (const c of cases) {
    test(c.name, async () => {
      const f = files(c.fs);
      const p = createDockerConfigProvider({ env: c.env, homeDir: home, readFile: f.readFile, runHelper: noHelper });
      const got = await p.get("ghcr.io", "org/app");
      expect(got).toEqual(c.want === undefined ? undefined : { kind: "basic", username: c.want, password: "pw", from: c.from });
    });
  }
});

describe("docker config lookup", () => {
  const path = "/home/u/.docker/config.json";
  const provider = (config: unknown, runHelper: HelperRunner = noHelper) =>
    createDockerConfigProvider({ env: {}, homeDir: "/home/u", readFile: files({ [path]: config }).readFile, runHelper });

  test("full repository key wins over host key", async () => {
    const p = provider({ auths: { "ghcr.io/org/app": { auth: b64("repo:1") }, "ghcr.io": { auth: b64("host:2") } } });
    expect(await p.get("ghcr.io", "org/app")).toEqual({ kind: "basic", username: "repo", password: "1", from: path });
    expect(await p.get("ghcr.io", "org/other")).toEqual({ kind: "basic", username: "host", password: "2", from: path });
  });
  test("hostname match strips scheme and path", async () => {
    const p = provider({ auths: { "https://ghcr.io/v1/": { username: "u", password: "p" } } });
    expect(await p.get("ghcr.io", "x")).toEqual({ kind: "basic", username: "u", password: "p", from: path });
  });
  test("password containing a colon", async () => {
    const p = provider({ auths: { "ghcr.io": { auth: b64("u:p:with:colons") } } });
    expect(await p.get("ghcr.io", "x")).toEqual({ kind: "basic", username: "u", password: "p:with:colons", from: path });
  });
  test("docker hub key", async () => {
    const p = provider({ auths: { "https://index.docker.io/v1/": { auth: b64("hub:pw") } } });
    expect(await p.get("index.docker.io", "library/alpine")).toEqual({ kind: "basic", username: "hub", password: "pw", from: path });
  });
  test("identitytoken", async () => {
    const p = provider({ auths: { "r.io": { username: "00000000-0000-0000-0000-000000000000", identitytoken: "refresh" } } });
    expect(await p.get("r.io", "x")).toEqual({ kind: "identity", identityToken: "refresh", username: "00000000-0000-0000-0000-000000000000", from: path });
  });
  test("registrytoken", async () => {
    const p = provider({ auths: { "r.io": { registrytoken: "rt", auth: b64("u:p") } } });
    expect(await p.get("r.io", "x")).toEqual({ kind: "bearer", token: "rt", from: path });
  });
  test("empty entry is anonymous", async () => {
    const p = provider({ auths: { "r.io": {} } });
    expect(await p.get("r.io", "x")).toBeUndefined();
  });
  test("bad base64 auth", async () => {
    const p = provider({ auths: { "r.io": { auth: b64("nocolon") } } });
    const e = await p.get("r.io", "x").catch((x: unknown) => x);
    expect(isCoreError(e, "AUTH_FAILED")).toBe(true);
  });
  test("invalid JSON", async () => {
    const p = provider("{not json");
    const e = await p.get("r.io", "x").catch((x: unknown) => x);
    expect(isCoreError(e, "AUTH_FAILED")).toBe(true);
    expect((e as Error).message).toContain(path);
  });

  test("credHelpers for the host key, with the key on stdin", async () => {
    const calls: [string, string[], string][] = [];
    const run: HelperRunner = async (program, args, stdin) => {
      calls.push([program, args, stdin]);
      if (stdin === "ghcr.io") return { code: 0, stdout: JSON.stringify({ ServerURL: "ghcr.io", Username: "hu", Secret: "hs" }), stderr: "" };
      return { code: 1, stdout: "credentials not found in native keychain\n", stderr: "" };
    };
    const p = provider({ credHelpers: { "ghcr.io": "gh" }, credsStore: "desktop", auths: {} }, run);
    expect(await p.get("ghcr.io", "org/app")).toEqual({ kind: "basic", username: "hu", password: "hs", from: `docker-credential-gh (credHelpers in ${path})` });
    // key 1 (full name) goes to credsStore, key 2 (host) to its credHelper
    expect(calls).toEqual([
      ["docker-credential-desktop", ["get"], "ghcr.io/org/app"],
      ["docker-credential-gh", ["get"], "ghcr.io"],
    ]);
  });
  test("helper <token> username means identity token", async () => {
    const run: HelperRunner = async () => ({ code: 0, stdout: '{"Username":"<token>","Secret":"rt"}', stderr: "" });
    const p = provider({ credsStore: "x" }, run);
    expect(await p.get("r.io", "a")).toEqual({ kind: "identity", identityToken: "rt", from: `docker-credential-x (credsStore in ${path})` });
  });
  test("helper not found → anonymous", async () => {
    const run: HelperRunner = async () => ({ code: 1, stdout: "credentials not found in native keychain", stderr: "" });
    expect(await provider({ credsStore: "x" }, run).get("r.io", "a")).toBeUndefined();
  });
  test("helper failure aborts", async () => {
    const run: HelperRunner = async () => ({ code: 3, stdout: "keychain locked", stderr: "" });
    const e = await provider({ credsStore: "x" }, run).get("r.io", "a").catch((x: unknown) => x);
    expect(isCoreError(e, "AUTH_FAILED")).toBe(true);
    expect((e as Error).message).toContain("keychain locked");
  });
  test("helper missing", async () => {
    const run: HelperRunner = async () => {
      throw Object.assign(new Error("spawn docker-credential-x ENOENT"), { code: "ENOENT" });
    };
    const e = await provider({ credsStore: "x" }, run).get("r.io", "a").catch((x: unknown) => x);
    expect(isCoreError(e, "AUTH_FAILED")).toBe(true);
    expect((e as CoreErrorLike).details.hint).toContain("install docker-credential-x");
  });
  test("helper answer keeps the file's registrytoken", async () => {
    const run: HelperRunner = async () => ({ code: 1, stdout: "credentials not found in native keychain", stderr: "" });
    const p = provider({ credsStore: "x", auths: { "r.io": { registrytoken: "rt" } } }, run);
    expect(await p.get("r.io", "a")).toEqual({ kind: "bearer", token: "rt", from: path });
  });
  test("answers are cached per repository", async () => {
    let n = 0;
    const run: HelperRunner = async () => {
      n++;
      return { code: 0, stdout: '{"Username":"u","Secret":"s"}', stderr: "" };
    };
    const p = provider({ credsStore: "x" }, run);
    await p.get("r.io", "a");
    await p.get("r.io", "a");
    expect(n).toBe(1);
  });
});

interface CoreErrorLike {
  details: { hint?: string };
}

describe("real credential helper", () => {
  let dir = "";
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "berth-cred-helper-"));
    mkdirSync(join(dir, "bin"));
    const script = join(dir, "bin", "docker-credential-test");
    // Reads the server URL from stdin (no newline) and answers per the docker-credential-helpers protocol.
    writeFileSync(
      script,
      `#!/bin/sh
[ "$1" = get ] || { echo "unsupported $1"; exit 2; }
url=$(cat)
echo "$url" >> "${dir}/calls"
case "$url" in
  reg.test) printf '{"ServerURL":"reg.test","Username":"alice","Secret":"s3cret"}' ;;
  tok.test) printf '{"ServerURL":"tok.test","Username":"<token>","Secret":"refresh-1"}' ;;
  broken.test) echo "boom"; exit 7 ;;
  *) echo "credentials not found in native keychain"; exit 1 ;;
esac
`,
    );
    chmodSync(script, 0o755);
    mkdirSync(join(dir, "home", ".docker"), { recursive: true });
    writeFileSync(join(dir, "home", ".docker", "config.json"), JSON.stringify({ credsStore: "test" }));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const provider = () =>
    createDockerConfigProvider({ env: { PATH: `${join(dir, "bin")}:/usr/bin:/bin` }, homeDir: join(dir, "home") });

  test("password", async () => expect(await provider().get("reg.test", "a/b")).toEqual({ kind: "basic", username: "alice", password: "s3cret", from: `docker-credential-test (credsStore in ${join(dir, "home", ".docker", "config.json")})` }));
  test("identity token", async () => expect(await provider().get("tok.test", "a")).toEqual({ kind: "identity", identityToken: "refresh-1", from: `docker-credential-test (credsStore in ${join(dir, "home", ".docker", "config.json")})` }));
  test("not found", async () => expect(await provider().get("none.test", "a")).toBeUndefined());
  test("failure", async () => {
    const e = await provider().get("broken.test", "a").catch((x: unknown) => x);
    expect(isCoreError(e, "AUTH_FAILED")).toBe(true);
    expect((e as Error).message).toContain("exit 7");
    expect((e as Error).message).toContain("boom");
  });
  test("helper missing from PATH", async () => {
    const p = createDockerConfigProvider({ env: { PATH: "/nonexistent" }, homeDir: join(dir, "home") });
    const e = await p.get("reg.test", "a").catch((x: unknown) => x);
    expect(isCoreError(e, "AUTH_FAILED")).toBe(true);
  });
});

test("an unreadable docker config is an AUTH_FAILED error naming the file, not a crash", async () => {
  const dir = mkdtempSync(join(tmpdir(), "berth-dockercfg-"));
  try {
    // A directory where config.json should be fails to read for root too (EISDIR), as EACCES does for users.
    mkdirSync(join(dir, "config.json"));
    const e = await createDockerConfigProvider({ env: { DOCKER_CONFIG: dir }, homeDir: join(dir, "home") })
      .get("reg.test", "a")
      .catch((x: unknown) => x);
    expect(isCoreError(e, "AUTH_FAILED")).toBe(true);
    expect((e as Error).message).toBe(`cannot read docker config ${join(dir, "config.json")}: EISDIR`);
    expect((e as { details: { hint?: string } }).details.hint).toContain("DOCKER_CONFIG");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
