import { describe, expect, test } from "bun:test";
import type { ErrorCode } from "../../../../src/core/errors.ts";
import {
  classifyNetworkError,
  codeForRegistryCode,
  httpError,
  isRetryableNetworkError,
  networkError,
  parseErrorBody,
} from "../../../../src/core/registry/errors.ts";
import { backoffDelay, DEFAULT_RETRY } from "../../../../src/core/registry/transport.ts";

const enc = (o: unknown) => new TextEncoder().encode(JSON.stringify(o));
const ctx = { op: "fetch manifest", registry: "ghcr.io", repository: "org/app", reference: "1.0" };

describe("parseErrorBody", () => {
  test("distribution shape", () =>
    expect(parseErrorBody(enc({ errors: [{ code: "MANIFEST_UNKNOWN", message: "manifest unknown", detail: { Tag: "1.0" } }] }))).toEqual([
      { code: "MANIFEST_UNKNOWN", message: "manifest unknown", detail: { Tag: "1.0" } },
    ]));
  test("html", () => expect(parseErrorBody("<html>502 Bad Gateway</html>")).toEqual([]));
  test("entries without code are skipped", () => expect(parseErrorBody(enc({ errors: [{ message: "x" }, { code: "DENIED" }] }))).toEqual([
    { code: "DENIED", message: "" },
  ]));
  test("empty / undefined", () => {
    expect(parseErrorBody("")).toEqual([]);
    expect(parseErrorBody(undefined)).toEqual([]);
    expect(parseErrorBody(enc({ errors: "nope" }))).toEqual([]);
  });
});

describe("httpError", () => {
  const cases: { name: string; status: number; body?: unknown; method?: string; want: ErrorCode; msg?: string }[] = [
    { name: "401 with UNAUTHORIZED", status: 401, body: { errors: [{ code: "UNAUTHORIZED", message: "authentication required" }] }, want: "AUTH_FAILED",
      msg: "fetch manifest ghcr.io/org/app:1.0: authentication required (HTTP 401) (UNAUTHORIZED: authentication required)" },
    { name: "403 DENIED", status: 403, body: { errors: [{ code: "DENIED", message: "no" }] }, want: "AUTH_FAILED" },
    { name: "403 without body", status: 403, want: "AUTH_FAILED" },
    { name: "404 MANIFEST_UNKNOWN", status: 404, body: { errors: [{ code: "MANIFEST_UNKNOWN", message: "manifest unknown" }] }, want: "NOT_FOUND",
      msg: "fetch manifest ghcr.io/org/app:1.0: not found (HTTP 404) (MANIFEST_UNKNOWN: manifest unknown)" },
    { name: "404 NAME_UNKNOWN", status: 404, body: { errors: [{ code: "NAME_UNKNOWN", message: "repository name not known" }] }, want: "NOT_FOUND" },
    { name: "404 HEAD", status: 404, method: "HEAD", want: "NOT_FOUND", msg: "fetch manifest ghcr.io/org/app:1.0: not found (HTTP 404)" },
    { name: "400 MANIFEST_INVALID", status: 400, body: { errors: [{ code: "MANIFEST_INVALID", message: "manifest invalid" }] }, want: "MANIFEST_INVALID" },
    { name: "400 DIGEST_INVALID", status: 400, body: { errors: [{ code: "DIGEST_INVALID", message: "d" }] }, want: "MANIFEST_INVALID" },
    { name: "400 MANIFEST_BLOB_UNKNOWN", status: 400, body: { errors: [{ code: "MANIFEST_BLOB_UNKNOWN", message: "b" }] }, want: "MANIFEST_INVALID" },
    { name: "400 NAME_INVALID", status: 400, body: { errors: [{ code: "NAME_INVALID", message: "n" }] }, want: "REF_INVALID" },
    { name: "400 SIZE_INVALID", status: 400, body: { errors: [{ code: "SIZE_INVALID", message: "s" }] }, want: "DIGEST_MISMATCH" },
    { name: "429 TOOMANYREQUESTS", status: 429, body: { errors: [{ code: "TOOMANYREQUESTS", message: "slow down" }] }, want: "REGISTRY_UNAVAILABLE" },
    { name: "503 html", status: 503, body: "<html>", want: "REGISTRY_UNAVAILABLE" },
    { name: "408", status: 408, want: "REGISTRY_UNAVAILABLE" },
    { name: "405 UNSUPPORTED", status: 405, body: { errors: [{ code: "UNSUPPORTED", message: "The operation is unsupported." }] }, want: "UNSUPPORTED" },
    { name: "405 plain", status: 405, want: "UNSUPPORTED" },
    { name: "413", status: 413, want: "SIZE_EXCEEDED" },
    { name: "unknown code falls back to status", status: 404, body: { errors: [{ code: "WEIRD", message: "w" }] }, want: "NOT_FOUND" },
    { name: "first known code wins", status: 400, body: { errors: [{ code: "WEIRD" }, { code: "BLOB_UNKNOWN", message: "b" }] }, want: "NOT_FOUND" },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const body = c.body === undefined ? undefined : typeof c.body === "string" ? new TextEncoder().encode(c.body) : enc(c.body);
      const e = httpError({ ...ctx, status: c.status, method: c.method ?? "GET", ...(body ? { body } : {}) });
      expect(e.code).toBe(c.want);
      expect(e.details.status).toBe(c.status);
      if (c.msg) expect(e.message).toBe(c.msg);
      if (c.want === "AUTH_FAILED") expect(e.details.hint).toBe("check --creds or run docker login ghcr.io");
    });
  }
  test("digest reference uses @", () => {
    const d = "sha256:" + "a".repeat(64);
    expect(httpError({ ...ctx, reference: d, status: 404, method: "GET" }).message).toStartWith(`fetch manifest ghcr.io/org/app@${d}: `);
  });
  test("an auth hint names where the refused credential came from, or that there was none", () => {
    const hint = (credential?: { from?: string } | null) => httpError({ ...ctx, status: 401, method: "GET", ...(credential !== undefined ? { credential } : {}) }).details.hint;
    expect(hint(null)).toBe("no credentials were found for ghcr.io: pass --creds, or run docker login ghcr.io");
    expect(hint({ from: "docker-credential-gh (credHelpers in /h/.docker/config.json)" })).toBe(
      "the registry refused the credentials from docker-credential-gh (credHelpers in /h/.docker/config.json): fix them, or run docker login ghcr.io",
    );
    expect(hint({})).toBe("check --creds or run docker login ghcr.io");
    expect(hint()).toBe("check --creds or run docker login ghcr.io");
    // Only auth failures get it.
    expect(httpError({ ...ctx, status: 404, method: "GET", credential: null }).details.hint).toBeUndefined();
  });
  test("retryAfter kept", () => expect(httpError({ ...ctx, status: 429, method: "GET", retryAfter: 7 }).details.retryAfter).toBe(7));
  test("stage printed", () =>
    expect(httpError({ ...ctx, stage: "token server", status: 401, method: "GET" }).message).toBe(
      "fetch manifest ghcr.io/org/app:1.0: token server: authentication required (HTTP 401)",
    ));
  test("every distribution code is mapped", () => {
    for (const c of ["BLOB_UNKNOWN", "BLOB_UPLOAD_INVALID", "BLOB_UPLOAD_UNKNOWN", "DIGEST_INVALID", "MANIFEST_BLOB_UNKNOWN", "MANIFEST_INVALID",
      "MANIFEST_UNKNOWN", "NAME_INVALID", "NAME_UNKNOWN", "SIZE_INVALID", "UNAUTHORIZED", "DENIED", "UNSUPPORTED", "TOOMANYREQUESTS"]) {
      expect(codeForRegistryCode(c)).toBeDefined();
    }
  });
});

function errWith(code: string, message = "x"): Error {
  return Object.assign(new Error(message), { code });
}

describe("network errors", () => {
  const cases: [string, Error, string, ErrorCode | "", boolean][] = [
    ["reset", errWith("ECONNRESET", "read ECONNRESET"), "network", "REGISTRY_UNAVAILABLE", true],
    ["refused", errWith("ECONNREFUSED", "connect ECONNREFUSED 127.0.0.1:1"), "network", "REGISTRY_UNAVAILABLE", true],
    ["undici socket wrapped", Object.assign(new Error("fetch failed"), { cause: errWith("UND_ERR_SOCKET", "other side closed") }), "network", "REGISTRY_UNAVAILABLE", true],
    ["dns", errWith("ENOTFOUND", "getaddrinfo ENOTFOUND nope.invalid"), "network", "REGISTRY_UNAVAILABLE", false],
    ["self-signed", errWith("DEPTH_ZERO_SELF_SIGNED_CERT", "self signed certificate"), "tls-trust", "AUTH_FAILED", false],
    ["unknown CA", errWith("UNABLE_TO_VERIFY_LEAF_SIGNATURE", "unable to verify the first certificate"), "tls-trust", "AUTH_FAILED", false],
    ["plain http", errWith("ERR_SSL_WRONG_VERSION_NUMBER", "error:0A00010B:SSL routines::wrong version number"), "plain-http", "USAGE", false],
    ["plain http (BoringSSL)", errWith("ERR_SSL_WRONG_VERSION_NUMBER", "error:100000f7:SSL routines:OPENSSL_internal:WRONG_VERSION_NUMBER"), "plain-http", "USAGE", false],
    ["client cert refused (BoringSSL)", errWith("ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE", "error:10000412:SSL routines:OPENSSL_internal:SSLV3_ALERT_BAD_CERTIFICATE"), "tls-client", "AUTH_FAILED", false],
    ["client cert required (OpenSSL)", errWith("ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED", "tlsv13 alert certificate required"), "tls-client", "AUTH_FAILED", false],
    ["abort", Object.assign(new Error("aborted"), { name: "AbortError" }), "cancelled", "CANCELLED", false],
  ];
  for (const [name, e, kind, code, retry] of cases) {
    test(name, () => {
      expect(classifyNetworkError(e)).toBe(kind as never);
      expect(isRetryableNetworkError(e)).toBe(retry);
      const ce = networkError(e, ctx, 3);
      expect(ce.code).toBe(code as ErrorCode);
      expect(ce.message).toStartWith("fetch manifest ghcr.io/org/app:1.0: ");
    });
  }
  test("tls hint", () => expect(networkError(errWith("SELF_SIGNED_CERT_IN_CHAIN"), ctx).details.hint).toContain("--ca-file"));
  test("plain http hint", () => expect(networkError(errWith("", "wrong version number"), ctx).details.hint).toContain("--insecure-registry"));
  test("attempts in message", () => expect(networkError(errWith("ECONNRESET"), ctx, 5).message).toContain("after 5 attempts"));
});

describe("backoffDelay", () => {
  test("doubles, capped, jittered to 50-100%", () => {
    const r = { ...DEFAULT_RETRY, baseDelayMs: 100, maxDelayMs: 1000 };
    expect(backoffDelay(1, r, undefined, () => 0)).toBe(50);
    expect(backoffDelay(1, r, undefined, () => 0.999999)).toBe(100);
    expect(backoffDelay(3, r, undefined, () => 0)).toBe(200);
    expect(backoffDelay(10, r, undefined, () => 0.999999)).toBe(1000);
  });
  test("Retry-After wins, even above the cap", () => expect(backoffDelay(1, { ...DEFAULT_RETRY, maxDelayMs: 10 }, 5000)).toBe(5000));
});
