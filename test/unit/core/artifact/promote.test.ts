import { describe, expect, test } from "bun:test";
import { generateKeyPairSync } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MemoryStore } from "../../../../src/core/content/memory-store.ts";
import { pushArtifact } from "../../../../src/core/artifact/push.ts";
import { planPromote, promoteArtifact } from "../../../../src/core/artifact/promote.ts";
import { signArtifact } from "../../../../src/core/sign/attach.ts";
import { createKeySigner } from "../../../../src/core/sign/signer.ts";
import { findLegacySignatures, findSignatures } from "../../../../src/core/sign/referrers.ts";
import { verifySignatures } from "../../../../src/core/sign/verifier.ts";
import { signatureTag } from "../../../../src/core/sign/legacy.ts";
import { isCoreError } from "../../../../src/core/errors.ts";

const key = () => generateKeyPairSync("ec", { namedCurve: "P-256" });

async function pushFiles(store: MemoryStore, tag: string, files: Record<string, string>): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), "berth-promote-unit-"));
  try {
    for (const [n, t] of Object.entries(files)) writeFileSync(join(dir, n), t);
    return (await pushArtifact(dir, store, tag, { now: new Date(0) })).descriptor.digest;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe("planPromote + promoteArtifact across repositories", () => {
  test("copies by digest with legacy and bundle signatures, merging the destination's own .sig", async () => {
    const src = new MemoryStore("src");
    const dst = new MemoryStore("dst");
    const digest = await pushFiles(src, "staging", { "cm.yaml": "kind: ConfigMap\nmetadata:\n  name: a\ndata:\n  v: '2'\n" });
    const old = await pushFiles(dst, "production", { "cm.yaml": "kind: ConfigMap\nmetadata:\n  name: a\ndata:\n  v: '1'\n" });
    expect(old).not.toBe(digest);
    const k1 = key();
    const k2 = key();
    const subject = await src.resolve("staging");
    await signArtifact(src, subject, "src", createKeySigner(k1.privateKey), { format: "legacy" });
    await signArtifact(src, subject, "src", createKeySigner(k1.privateKey), { format: "bundle" });
    // The destination already holds another signature of the same digest (signed there by someone else).
    await signArtifact(dst, subject, "dst", createKeySigner(k2.privateKey), { format: "legacy" });

    const plan = await planPromote({ target: src, reference: "staging", label: "src:staging" }, { target: dst, reference: "production", label: "dst:production" }, { verify: { keys: [k1.publicKey] } });
    expect(plan.source.descriptor.digest).toBe(digest);
    expect(plan.target.descriptor?.digest).toBe(old);
    expect(plan.upToDate).toBe(false);
    expect(plan.verified?.verified.map((v) => v.format)).toEqual(["bundle"]);
    expect(plan.diff?.equal).toBe(false);
    expect(plan.diff?.a.manifestDigest).toBe(old);
    expect(plan.diff?.b.manifestDigest).toBe(digest);
    expect(plan.diff?.changes?.equal).toBe(false);

    const res = await promoteArtifact(plan, src, dst);
    expect((await dst.resolve("production")).digest).toBe(digest);
    expect(res.legacyTags).toEqual([{ tag: signatureTag(digest), outcome: "merged" }]);
    expect(res.referrers.length).toBe(1);
    const found = await findSignatures(dst, digest);
    expect(found.bundles.length).toBe(1);
    expect(verifySignatures(found.bundles, digest, { keys: [k1.publicKey] }).verified.length).toBe(1);
    // Both keys' legacy signatures are in the destination's .sig image now.
    const legacy = await findLegacySignatures(dst, digest);
    expect(legacy.length).toBe(2);
    expect(verifySignatures(legacy, digest, { keys: [k1.publicKey] }).verified.length).toBe(1);
    expect(verifySignatures(legacy, digest, { keys: [k2.publicKey] }).verified.length).toBe(1);

    const again = await planPromote({ target: src, reference: digest, label: "src" }, { target: dst, reference: "production", label: "dst" });
    expect(again.upToDate).toBe(true);
    expect(again.diff).toBeUndefined();
    const second = await promoteArtifact(again, src, dst);
    expect(second.legacyTags).toEqual([{ tag: signatureTag(digest), outcome: "present" }]);
  });

  test("a new destination tag has no diff; --verify with the wrong key refuses before writing", async () => {
    const src = new MemoryStore("src");
    const dst = new MemoryStore("dst");
    await pushFiles(src, "staging", { "a.yaml": "a: 1\n" });
    const subject = await src.resolve("staging");
    await signArtifact(src, subject, "src", createKeySigner(key().privateKey), { format: "bundle" });
    const plan = await planPromote({ target: src, reference: "staging", label: "s" }, { target: dst, reference: "prod", label: "d" });
    expect(plan.target.descriptor).toBeUndefined();
    expect(plan.diff).toBeUndefined();
    const err = await planPromote({ target: src, reference: "staging", label: "s" }, { target: dst, reference: "prod", label: "d" }, { verify: { keys: [key().publicKey] } }).catch((e) => e);
    expect(isCoreError(err)).toBe(true);
    expect(["VERIFY_FAILED", "UNTRUSTED_SIGNER"]).toContain(err.code);
    expect(await dst.tags()).toEqual([]);
  });

  test("same repository: only the tag moves", async () => {
    const repo = new MemoryStore("repo");
    const d1 = await pushFiles(repo, "staging", { "a.yaml": "a: 2\n" });
    await pushFiles(repo, "production", { "a.yaml": "a: 1\n" });
    const plan = await planPromote({ target: repo, reference: "staging", label: "s" }, { target: repo, reference: "production", label: "p" }, { contents: false });
    expect(plan.diff?.equal).toBe(false);
    expect(plan.diff?.changes).toBeUndefined();
    const res = await promoteArtifact(plan, repo, repo, { sameRepository: true });
    expect(res.copy).toBeUndefined();
    expect((await repo.resolve("production")).digest).toBe(d1);
  });
});
