import { describe, expect, test } from "bun:test";
import {
  canonicalRef,
  checkDigest,
  contentConfigChanged,
  resourceVersionAtLeast,
  validateRepositoryURL,
  verificationDue,
} from "../../../../src/k8s/controller/reconciler.ts";
import type { OCIRepository } from "../../../../src/k8s/api/ocirepository.ts";

const HEX = "a".repeat(64);

describe("validateRepositoryURL (spec §3.5.4)", () => {
  test("canonical registry and repository", () => {
    expect(validateRepositoryURL("oci://ghcr.io/stefanprodan/manifests/podinfo")).toEqual({ registry: "ghcr.io", repository: "stefanprodan/manifests/podinfo" });
    expect(validateRepositoryURL("oci://127.0.0.1:5000/apps/x")).toEqual({ registry: "127.0.0.1:5000", repository: "apps/x" });
    expect(validateRepositoryURL("oci://localhost/apps/x")).toEqual({ registry: "localhost", repository: "apps/x" });
    expect(validateRepositoryURL("oci://docker.io/nginx")).toEqual({ registry: "index.docker.io", repository: "library/nginx" });
    expect(validateRepositoryURL("oci://nginx")).toEqual({ registry: "index.docker.io", repository: "library/nginx" });
    expect(validateRepositoryURL("oci://org/app")).toEqual({ registry: "index.docker.io", repository: "org/app" });
  });

  test("rejections carry go-containerregistry's reasons", () => {
    expect(() => validateRepositoryURL("https://ghcr.io/x")).toThrow("URL must be in format 'oci://<domain>/<org>/<repo>'");
    expect(() => validateRepositoryURL("oci://ghcr.io/Org/app")).toThrow("repository can only contain the characters `abcdefghijklmnopqrstuvwxyz0123456789_-./`: Org/app");
    expect(() => validateRepositoryURL("oci://ghcr.io/org/app:v1")).toThrow("repository can only contain the characters `abcdefghijklmnopqrstuvwxyz0123456789_-./`: org/app:v1");
    expect(() => validateRepositoryURL(`oci://ghcr.io/org/app@sha256:${HEX}`)).toThrow("repository can only contain");
    expect(() => validateRepositoryURL("oci://ghcr.io/")).toThrow("repository must be between 1 and 255 characters in length: ");
    expect(() => validateRepositoryURL("oci://bad_host.io/x")).toThrow("registries must be valid RFC 3986 URI authorities: bad_host.io");
  });
});

describe("checkDigest", () => {
  test("accepts sha256 with 64 hex digits, rejects others with ggcr's messages", () => {
    expect(() => checkDigest(`sha256:${HEX}`)).not.toThrow();
    expect(() => checkDigest("latest")).toThrow('cannot parse hash: "latest"');
    expect(() => checkDigest(`sha256:${"A".repeat(64)}`)).toThrow("found non-hex character in hash: A");
    expect(() => checkDigest(`sha512:${HEX}`)).toThrow('unsupported hash: "sha512"');
    expect(() => checkDigest("sha256:abc")).toThrow("wrong number of hex digits for sha256: abc");
  });
});

test("canonicalRef has no oci:// and uses : for tags, @ for digests", () => {
  const r = { registry: "index.docker.io", repository: "library/nginx" };
  expect(canonicalRef(r, { tag: "1.0" })).toBe("index.docker.io/library/nginx:1.0");
  expect(canonicalRef(r, { digest: `sha256:${HEX}` })).toBe(`index.docker.io/library/nginx@sha256:${HEX}`);
});

describe("contentConfigChanged (spec §3.5.8)", () => {
  test("ignore: absent equals absent, absent differs from empty", () => {
    expect(contentConfigChanged({}, {})).toBe(false);
    expect(contentConfigChanged({ ignore: "" }, {})).toBe(true);
    expect(contentConfigChanged({}, { observedIgnore: "" })).toBe(true);
    expect(contentConfigChanged({ ignore: "*.md" }, { observedIgnore: "*.md" })).toBe(false);
    expect(contentConfigChanged({ ignore: "*.md" }, { observedIgnore: "*.txt" })).toBe(true);
  });
  test("layerSelector: absent vs present differ; fields compared; empty operation differs from extract", () => {
    expect(contentConfigChanged({ layerSelector: {} }, {})).toBe(true);
    expect(contentConfigChanged({}, { observedLayerSelector: {} })).toBe(true);
    expect(contentConfigChanged({ layerSelector: { mediaType: "a" } }, { observedLayerSelector: { mediaType: "a" } })).toBe(false);
    expect(contentConfigChanged({ layerSelector: { mediaType: "a" } }, { observedLayerSelector: { mediaType: "b" } })).toBe(true);
    expect(contentConfigChanged({ layerSelector: { mediaType: "a" } }, { observedLayerSelector: { mediaType: "a", operation: "extract" } })).toBe(true);
    expect(contentConfigChanged({ layerSelector: { operation: "copy" } }, { observedLayerSelector: { operation: "copy" } })).toBe(false);
  });
});

describe("verificationDue (spec §3.5.7, §5.5)", () => {
  const rev = `v1@sha256:${HEX}`;
  const art = { digest: "sha256:x", path: "p", url: "u", revision: rev, lastUpdateTime: "t" };
  const sv = (status: "True" | "False", gen: number) => [{ type: "SourceVerified", status, reason: "r", message: "m", lastTransitionTime: "t", observedGeneration: gen }];
  const obj = (over: Partial<OCIRepository["status"]>, verify = true, generation = 2) =>
    ({
      metadata: { name: "x", namespace: "n", generation },
      spec: { url: "oci://a.io/b", interval: "1m", ...(verify ? { verify: { provider: "cosign" } } : {}) },
      status: over,
    }) as unknown as OCIRepository;
  test("never without spec.verify", () => {
    expect(verificationDue(obj({}, false), rev)).toBe(false);
  });
  test("new revision or no artifact", () => {
    expect(verificationDue(obj({ conditions: sv("True", 2) }), rev)).toBe(true);
    expect(verificationDue(obj({ artifact: { ...art, revision: "v0@sha256:b" }, conditions: sv("True", 2) }), rev)).toBe(true);
  });
  test("generation drift, absent or False condition", () => {
    expect(verificationDue(obj({ artifact: art, conditions: sv("True", 1) }), rev)).toBe(true);
    expect(verificationDue(obj({ artifact: art }), rev)).toBe(true);
    expect(verificationDue(obj({ artifact: art, conditions: sv("False", 2) }), rev)).toBe(true);
  });
  test("same digest, same generation, verified: not repeated", () => {
    expect(verificationDue(obj({ artifact: art, conditions: sv("True", 2) }), rev)).toBe(false);
  });
});

describe("resourceVersionAtLeast", () => {
  test("compares etcd's integer resourceVersions numerically; anything else is not known to be newer", () => {
    expect(resourceVersionAtLeast("10", "9")).toBe(true);
    expect(resourceVersionAtLeast("9", "10")).toBe(false);
    expect(resourceVersionAtLeast("123", "123")).toBe(true);
    expect(resourceVersionAtLeast("99999999999999999999", "99999999999999999998")).toBe(true);
    expect(resourceVersionAtLeast("abc", "1")).toBe(false);
    expect(resourceVersionAtLeast(undefined, "1")).toBe(false);
    expect(resourceVersionAtLeast("2", "x")).toBe(false);
  });
});
