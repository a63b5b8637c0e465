import { describe, expect, test } from "bun:test";
import { statusPatch } from "../../../../src/k8s/controller/reconciler.ts";

describe("statusPatch", () => {
  test("nulls status fields and artifact annotations that went away, keeps the rest", () => {
    const art = { path: "p", url: "u", revision: "r", digest: "d", lastUpdateTime: "t" };
    const old = {
      observedIgnore: "*.md",
      url: "http://x/latest.tar.gz",
      artifact: { ...art, metadata: { "org.opencontainers.image.source": "s", "org.opencontainers.image.revision": "v" } },
    };
    const next = { url: "http://x/latest.tar.gz", artifact: { ...art, revision: "r2", metadata: { "org.opencontainers.image.source": "s2" } } };
    expect(statusPatch(old, next)).toEqual({
      url: "http://x/latest.tar.gz",
      observedIgnore: null,
      artifact: { ...art, revision: "r2", metadata: { "org.opencontainers.image.source": "s2", "org.opencontainers.image.revision": null } },
    });
    expect(statusPatch({}, { observedGeneration: 3 })).toEqual({ observedGeneration: 3 });
    expect(statusPatch({ artifact: { ...art, metadata: { a: "1" } } }, { artifact: art })).toEqual({ artifact: { ...art, metadata: { a: null } } });
  });
});
