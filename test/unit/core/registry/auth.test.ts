import { describe, expect, test } from "bun:test";
import {
  mergeScopes,
  parseTokenResponse,
  parseWwwAuthenticate,
  pickChallenge,
  repositoryScope,
  scopesCover,
  TokenCache,
} from "../../../../src/core/registry/auth.ts";

describe("parseWwwAuthenticate", () => {
  const cases: { name: string; input: string | string[]; want: unknown }[] = [
    {
      name: "docker hub bearer",
      input: 'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/alpine:pull"',
      want: [
        {
          scheme: "bearer",
          params: { realm: "https://auth.docker.io/token", service: "registry.docker.io", scope: "repository:library/alpine:pull" },
        },
      ],
    },
    { name: "basic with realm", input: 'Basic realm="Registry Realm"', want: [{ scheme: "basic", params: { realm: "Registry Realm" } }] },
    { name: "scheme only", input: "Basic", want: [{ scheme: "basic", params: {} }] },
    {
      name: "quoted comma in scope with two actions",
      input: 'Bearer realm="https://r/t",scope="repository:a/b:pull,push",error="insufficient_scope"',
      want: [{ scheme: "bearer", params: { realm: "https://r/t", scope: "repository:a/b:pull,push", error: "insufficient_scope" } }],
    },
    {
      name: "two challenges in one value",
      input: 'Basic realm="x", Bearer realm="https://t/token",service="s"',
      want: [
        { scheme: "basic", params: { realm: "x" } },
        { scheme: "bearer", params: { realm: "https://t/token", service: "s" } },
      ],
    },
    {
      name: "two header lines",
      input: ['Negotiate', 'Bearer realm="https://t"'],
      want: [
        { scheme: "negotiate", params: {} },
        { scheme: "bearer", params: { realm: "https://t" } },
      ],
    },
    {
      name: "case-insensitive scheme and names, spaces around =",
      input: 'BEARER Realm = "https://t" , Service=reg',
      want: [{ scheme: "bearer", params: { realm: "https://t", service: "reg" } }],
    },
    {
      name: "escaped quote and backslash",
      input: 'Basic realm="say \\"hi\\" \\\\ there"',
      want: [{ scheme: "basic", params: { realm: 'say "hi" \\ there' } }],
    },
    {
      name: "empty list elements",
      input: ',, Bearer realm="https://t",,service="s" ,',
      want: [{ scheme: "bearer", params: { realm: "https://t", service: "s" } }],
    },
    { name: "token68", input: "Negotiate YWJjZA==, Basic realm=\"r\"", want: [
      { scheme: "negotiate", params: {}, token68: "YWJjZA==" },
      { scheme: "basic", params: { realm: "r" } },
    ] },
    { name: "unterminated quote keeps what it read", input: 'Bearer realm="https://t', want: [{ scheme: "bearer", params: { realm: "https://t" } }] },
    { name: "empty", input: "", want: [] },
  ];
  for (const c of cases) {
    test(c.name, () => {
      expect(parseWwwAuthenticate(c.input)).toEqual(c.want as never);
    });
  }
  test("undefined header", () => expect(parseWwwAuthenticate(undefined)).toEqual([]));
});

describe("pickChallenge", () => {
  test("prefers the first basic or bearer", () => {
    const chs = parseWwwAuthenticate(['Negotiate', 'Bearer realm="a"', 'Basic realm="b"']);
    expect(pickChallenge(chs)?.scheme).toBe("bearer");
  });
  test("falls back to the first challenge", () => {
    expect(pickChallenge(parseWwwAuthenticate("Digest realm=x, Negotiate"))?.scheme).toBe("digest");
  });
  test("none", () => expect(pickChallenge([])).toBeUndefined());
});

describe("scopes", () => {
  test("repositoryScope", () => expect(repositoryScope("org/app", "push,pull")).toBe("repository:org/app:push,pull"));
  test("merge unions actions per resource and keeps order", () => {
    expect(mergeScopes(["repository:a:pull", "repository:b:pull"], ["repository:a:pull,push"])).toEqual([
      "repository:a:push,pull",
      "repository:b:pull",
    ]);
  });
  test("merge splits space-joined scopes", () => {
    expect(mergeScopes(["repository:a:pull repository:a:delete"])).toEqual(["repository:a:pull,delete"]);
  });
  test("cover", () => {
    expect(scopesCover(["repository:a:push,pull"], ["repository:a:pull"])).toBe(true);
    expect(scopesCover(["repository:a:pull"], ["repository:a:push,pull"])).toBe(false);
    expect(scopesCover(["repository:a:push,pull"], ["repository:b:pull"])).toBe(false);
    expect(scopesCover(["repository:a:pull"], [])).toBe(true);
  });
});

describe("parseTokenResponse", () => {
  test("token with expiry", () =>
    expect(parseTokenResponse('{"token":"t1","expires_in":300}')).toEqual({ token: "t1", expiresIn: 300 }));
  test("access_token and refresh token", () =>
    expect(parseTokenResponse('{"access_token":"a","refresh_token":"r"}')).toEqual({ token: "a", expiresIn: 60, refreshToken: "r" }));
  test("no token", () => expect(parseTokenResponse('{"expires_in":3}')).toBeUndefined());
  test("not JSON", () => expect(parseTokenResponse("<html>")).toBeUndefined());
});

describe("TokenCache", () => {
  test("wider token serves narrower scope, expires with margin", () => {
    let now = 1_000_000;
    const c = new TokenCache(() => now);
    c.set("r", ["repository:a:push,pull"], "T", 60);
    expect(c.get("r", ["repository:a:pull"])).toBe("T");
    expect(c.get("r", ["repository:a:push,pull"])).toBe("T");
    expect(c.get("r", ["repository:b:pull"])).toBeUndefined();
    expect(c.get("other", ["repository:a:pull"])).toBeUndefined();
    now += 49_000;
    expect(c.get("r", ["repository:a:pull"])).toBe("T");
    now += 2_000;
    expect(c.get("r", ["repository:a:pull"])).toBeUndefined();
  });
  test("invalidate", () => {
    const c = new TokenCache();
    c.set("r", ["repository:a:pull"], "T", 300);
    c.invalidate("r", "T");
    expect(c.get("r", ["repository:a:pull"])).toBeUndefined();
  });
});
