import { describe, expect, test } from "bun:test";
import { generateKeyPairSync } from "node:crypto";
import type { Descriptor } from "../../../../src/core/content/store.ts";
import { MemoryStore } from "../../../../src/core/content/memory-store.ts";
import { encodeIndex, encodeManifest } from "../../../../src/core/oci/manifest.ts";
import { OCI_INDEX, OCI_MANIFEST } from "../../../../src/core/oci/media-types.ts";
import { signArtifact } from "../../../../src/core/sign/attach.ts";
import { referrersTag } from "../../../../src/core/sign/legacy.ts";
import { createKeySigner } from "../../../../src/core/sign/signer.ts";
import { signatureStatuses } from "../../../../src/core/sign/status.ts";

const enc = (s: string) => new TextEncoder().encode(s);

async function artifact(store: MemoryStore, n: number): Promise<Descriptor> {
  const config = await store.add("application/vnd.cncf.flux.config.v1+json", enc("{}"));
  const layer = await store.add("application/vnd.cncf.flux.content.v1.tar+gzip", enc(`layer ${n}`));
  const m = await store.add(OCI_MANIFEST, encodeManifest({ schemaVersion: 2, mediaType: OCI_MANIFEST, config, layers: [layer] }));
  await store.tag(m, `v${n}`);
  return m;
}

/** A MemoryStore that counts reads, to show which statuses cost requests. */
class CountingStore extends MemoryStore {
  resolves: string[] = [];
  override async resolve(reference: string): Promise<Descriptor> {
    this.resolves.push(reference);
    return super.resolve(reference);
  }
}

describe("signatureStatuses", () => {
  const key = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const other = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const signer = createKeySigner(key.privateKey);

  test("presence: .sig tag needs no read; a referrers index counts only when it holds a signature", async () => {
    const store = new CountingStore();
    const [a, b, c, d] = [await artifact(store, 1), await artifact(store, 2), await artifact(store, 3), await artifact(store, 4)];
    await signArtifact(store, a, "example.com/app", signer, { format: "legacy" });
    await signArtifact(store, b, "example.com/app", signer, { format: "bundle" });
    // c has a referrers index holding only an SBOM-like referrer: not a signature.
    const sbom = await store.add(OCI_MANIFEST, encodeManifest({ schemaVersion: 2, mediaType: OCI_MANIFEST, artifactType: "application/spdx+json", config: a, layers: [], subject: c } as never));
    const ix = await store.add(OCI_INDEX, encodeIndex({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [{ ...sbom, artifactType: "application/spdx+json" }] }));
    await store.tag(ix, referrersTag(c.digest));
    store.resolves = [];
    const st = await signatureStatuses(store, [a.digest, b.digest, c.digest, d.digest, a.digest]);
    expect(Object.fromEntries([...st].map(([k, v]) => [k, v]))).toEqual({ [a.digest]: "present", [b.digest]: "present", [c.digest]: "absent", [d.digest]: "absent" });
    // Only the two referrers indexes were read; the legacy and unsigned digests cost nothing.
    expect(store.resolves.sort()).toEqual([referrersTag(b.digest), referrersTag(c.digest)].sort());
  });

  test("with keys: verified, invalid (other key), unsigned", async () => {
    const store = new MemoryStore();
    const [a, b, c] = [await artifact(store, 1), await artifact(store, 2), await artifact(store, 3)];
    await signArtifact(store, a, "example.com/app", signer, { format: "bundle" });
    await signArtifact(store, b, "example.com/app", createKeySigner(other.privateKey), { format: "legacy" });
    const st = await signatureStatuses(store, [a.digest, b.digest, c.digest], { keys: [key.publicKey] });
    expect([st.get(a.digest), st.get(b.digest), st.get(c.digest)]).toEqual(["verified", "invalid", "unsigned"]);
    const both = await signatureStatuses(store, [b.digest], { keys: [key.publicKey, other.publicKey] });
    expect(both.get(b.digest)).toBe("verified");
  });

  test("a target with a referrers API is asked only when the repository shows no fallback tag", async () => {
    const store = new MemoryStore() as MemoryStore & { referrers(digest: string): Promise<Descriptor[]> };
    const a = await artifact(store, 1);
    const asked: string[] = [];
    store.referrers = async (digest) => {
      asked.push(digest);
      return [{ mediaType: OCI_MANIFEST, digest: "sha256:" + "0".repeat(64), size: 1, artifactType: "application/vnd.dev.sigstore.bundle.v0.3+json" }];
    };
    expect((await signatureStatuses(store, [a.digest])).get(a.digest)).toBe("present");
    expect(asked).toEqual([a.digest]);
    const b = await artifact(store, 2);
    await signArtifact(store, b, "example.com/app", signer, { format: "bundle" });
    // Memory targets have no referrers API of their own: the bundle went to the fallback tag, so the API is not asked for a.
    store.referrers = async (digest) => {
      asked.push(digest);
      return [];
    };
    asked.length = 0;
    const st = await signatureStatuses(store, [a.digest, b.digest]);
    expect(asked).toEqual([]);
    expect(st.get(a.digest)).toBe("absent");
  });
});
