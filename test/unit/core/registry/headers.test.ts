import { describe, expect, test } from "bun:test";
import { isCoreError } from "../../../../src/core/errors.ts";
import { proxyFromEnv } from "../../../../src/core/registry/client.ts";
import {
  bypassesProxy,
  hostname,
  isHttpCapable,
  isLoopbackHost,
  isPrivateAddress,
  parseLink,
  parseRetryAfter,
  resolveLocation,
  withQuery,
} from "../../../../src/core/registry/headers.ts";

describe("parseLink", () => {
  const req = "https://r.example/v2/org/app/tags/list?n=2";
  test("relative URL resolved against the request", () =>
    expect(parseLink('</v2/org/app/tags/list?n=2&last=b>; rel="next"', req)?.href).toBe(
      "https://r.example/v2/org/app/tags/list?n=2&last=b",
    ));
  test("absolute URL", () => expect(parseLink('<https://other/x?y=1>; rel="next"', req)?.href).toBe("https://other/x?y=1"));
  test("first of several links, rel ignored", () =>
    expect(parseLink('<a?p=1>; rel="prev", <b?p=3>; rel="next"', req)?.href).toBe("https://r.example/v2/org/app/tags/a?p=1"));
  test("absent or empty", () => {
    expect(parseLink(undefined, req)).toBeUndefined();
    expect(parseLink("  ", req)).toBeUndefined();
  });
  for (const bad of ['/v2/x; rel="next"', "</v2/x; rel=next"]) {
    test(`malformed ${bad}`, () => {
      let err: unknown;
      try {
        parseLink(bad, req);
      } catch (e) {
        err = e;
      }
      expect(isCoreError(err, "UNSUPPORTED")).toBe(true);
      expect((err as Error).message).toContain(bad.includes("<") ? "missing '>'" : "missing '<'");
    });
  }
});

describe("parseRetryAfter", () => {
  const now = Date.parse("2026-01-01T00:00:00Z");
  test("seconds", () => expect(parseRetryAfter("3", now)).toBe(3000));
  test("zero", () => expect(parseRetryAfter("0", now)).toBe(0));
  test("HTTP date", () => expect(parseRetryAfter("Thu, 01 Jan 2026 00:00:05 GMT", now)).toBe(5000));
  test("date in the past", () => expect(parseRetryAfter("Wed, 31 Dec 2025 23:00:00 GMT", now)).toBe(0));
  test("garbage", () => {
    expect(parseRetryAfter("soon", now)).toBeUndefined();
    expect(parseRetryAfter("-1", now)).toBeUndefined();
    expect(parseRetryAfter("1.5", now)).toBeUndefined();
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
  });
});

describe("Location", () => {
  test("relative keeps its query", () =>
    expect(resolveLocation("/v2/a/blobs/uploads/u1?_state=xyz", "https://r/v2/a/blobs/uploads/").href).toBe(
      "https://r/v2/a/blobs/uploads/u1?_state=xyz",
    ));
  test("absolute other host", () => expect(resolveLocation("https://s3.example/up?sig=1", "https://r/v2/").href).toBe("https://s3.example/up?sig=1"));
  test("missing", () => expect(() => resolveLocation(undefined, "https://r/")).toThrow("Location"));
  test("withQuery appends", () =>
    expect(withQuery(new URL("https://r/u?_state=s"), { digest: "sha256:ab" }).href).toBe("https://r/u?_state=s&digest=sha256%3Aab"));
});

describe("hosts", () => {
  test("hostname", () => {
    expect(hostname("ghcr.io")).toBe("ghcr.io");
    expect(hostname("127.0.0.1:5000")).toBe("127.0.0.1");
    expect(hostname("[::1]:5000")).toBe("::1");
  });
  const cases: [string, boolean, boolean][] = [
    ["localhost:5000", true, false],
    ["registry.localhost", true, false],
    ["127.0.0.1:5000", true, true],
    ["127.5.5.5", true, true],
    ["[::1]:5000", true, true],
    ["10.1.2.3:5000", false, true],
    ["172.16.0.1", false, true],
    ["172.32.0.1", false, false],
    ["192.168.1.1", false, true],
    ["169.254.169.254", false, true],
    ["ghcr.io", false, false],
    ["8.8.8.8", false, false],
  ];
  for (const [h, loop, priv] of cases) {
    test(`${h} loopback=${loop} private=${priv}`, () => {
      expect(isLoopbackHost(h)).toBe(loop);
      expect(isPrivateAddress(h)).toBe(priv);
      expect(isHttpCapable(h)).toBe(loop || priv);
    });
  }
});

describe("bypassesProxy", () => {
  const cases: [string, string | undefined, boolean][] = [
    ["ghcr.io", undefined, false],
    ["ghcr.io", "*", true],
    ["ghcr.io", "example.com,ghcr.io", true],
    ["pkg.ghcr.io", "ghcr.io", true],
    ["pkg.ghcr.io", ".ghcr.io", true],
    ["notghcr.io", "ghcr.io", false],
    ["r.corp:5000", "r.corp:5000", true],
    ["r.corp:5001", "r.corp:5000", false],
    ["r.corp", "R.CORP", true],
    ["localhost:5000", undefined, true],
    ["10.0.0.1:5000", "10.0.0.1", true],
  ];
  for (const [host, np, want] of cases) test(`${host} NO_PROXY=${np}`, () => expect(bypassesProxy(host, np)).toBe(want));
});

describe("proxyFromEnv", () => {
  test("upper case wins over lower case; nothing set is all undefined", () => {
    expect(proxyFromEnv({ HTTPS_PROXY: "http://a:1", https_proxy: "http://b:2", http_proxy: "http://c:3", no_proxy: "x.io" })).toEqual({ https: "http://a:1", http: "http://c:3", noProxy: "x.io" });
    expect(proxyFromEnv({})).toEqual({ https: undefined, http: undefined, noProxy: undefined });
  });
});
