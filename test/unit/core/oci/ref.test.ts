import { describe, expect, test } from "bun:test";
import { displayRef, isHttpCapable, parseArtifactURL, tagOf } from "../../../../src/core/oci/ref.ts";
import { CoreError } from "../../../../src/core/errors.ts";

const D = "sha256:" + "ab".repeat(32);

describe("parseArtifactURL follows flux/ggcr rules", () => {
  const ok: [string, Record<string, unknown>][] = [
    ["oci://ghcr.io/org/app:v1", { registry: "ghcr.io", repository: "org/app", tag: "v1" }],
    ["oci://ghcr.io/org/app", { registry: "ghcr.io", repository: "org/app", tag: undefined }],
    ["oci://localhost:5000/app", { registry: "localhost:5000", repository: "app" }],
    ["oci://127.0.0.1:5000/a/b/c:1.0.0-rc.1", { registry: "127.0.0.1:5000", repository: "a/b/c", tag: "1.0.0-rc.1" }],
    // ggcr: a first segment without '.' or ':' is a Docker Hub path, even "localhost".
    ["oci://localhost/app", { registry: "index.docker.io", repository: "localhost/app" }],
    ["oci://nginx", { registry: "index.docker.io", repository: "library/nginx" }],
    ["oci://docker.io/org/app:x", { registry: "index.docker.io", repository: "org/app", tag: "x" }],
    [`oci://ghcr.io/org/app@${D}`, { repository: "org/app", tag: undefined, digest: D }],
    [`oci://ghcr.io/org/app:v1@${D}`, { tag: "v1", digest: D }],
    ["oci-layout://./out:v1", { kind: "layout", path: "./out", tag: "v1" }],
    ["oci-layout:///tmp/a/b", { kind: "layout", path: "/tmp/a/b", tag: undefined }],
    [`oci-layout:///tmp/x@${D}`, { kind: "layout", path: "/tmp/x", digest: D }],
  ];
  for (const [url, want] of ok) test(url, () => expect(parseArtifactURL(url)).toMatchObject(want));

  const bad: [string, RegExp][] = [
    ["ghcr.io/org/app", /^URL must be in format 'oci:\/\/<domain>\/<org>\/<repo>'$/],
    ["https://ghcr.io/org/app", /must be in format/],
    ["oci://ghcr.io/Org/app", /invalid URL: could not parse reference: ghcr\.io\/Org\/app/],
    ["oci://ghcr.io/org/app:", /tag/],
    ["oci://ghcr.io/org/app@sha256:abc", /digest/],
    ["oci://ghcr.io/org/app@md5:" + "a".repeat(32), /digest/],
    ["oci://ghcr.io/a@b@c", /only one '@'/],
    ["oci://ghcr.io/x", /2-255/],
    ["oci://ghcr.io/org/app:" + "t".repeat(129), /tag/],
    ["oci-layout://", /missing directory/],
  ];
  for (const [url, re] of bad) {
    test(`rejects ${url.slice(0, 60)}`, () => {
      let err: unknown;
      try {
        parseArtifactURL(url);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(CoreError);
      expect((err as CoreError).code).toBe("REF_INVALID");
      expect((err as CoreError).message).toMatch(re);
    });
  }
});

test("tagOf gives latest only when neither tag nor digest is set", () => {
  expect(tagOf(parseArtifactURL("oci://ghcr.io/org/app"))).toBe("latest");
  expect(tagOf(parseArtifactURL(`oci://ghcr.io/org/app@${D}`))).toBeUndefined();
  expect(tagOf(parseArtifactURL("oci://ghcr.io/org/app:v2"))).toBe("v2");
});

test("displayRef prints the normalised name", () => {
  expect(displayRef(parseArtifactURL("oci://nginx:1"), { digest: D })).toBe(`index.docker.io/library/nginx@${D}`);
  expect(displayRef(parseArtifactURL("oci://ghcr.io/o/a:1"))).toBe("ghcr.io/o/a:1");
});

test("isHttpCapable matches ggcr's list", () => {
  for (const h of ["localhost:5000", "localhost", "a.localhost:1", "127.0.0.1:5000", "10.1.2.3", "172.16.0.1:5000", "192.168.1.1"]) expect(isHttpCapable(h)).toBe(true);
  for (const h of ["ghcr.io", "172.32.0.1", "11.0.0.1:5000", "example.com:5000"]) expect(isHttpCapable(h)).toBe(false);
});
