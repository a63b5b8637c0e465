/**
 * The Promote screen over the core's planPromote/promoteArtifact: a tag move in one repository, and
 * a copy to another repository that carries the signatures along, verified first when keys are
 * configured (`berth ui --verify-key`).
 */
import { afterEach, beforeEach, expect, test } from "bun:test";
import { cleanup, render } from "ink-testing-library";
import { createKeySigner, findSignatures, generateKeyPair, loadPrivateKey, loadPublicKey, MemoryStore, signArtifact } from "../../../src/core/index.ts";
import App from "../../../src/tui/app.tsx";
import type { TuiServices } from "../../../src/tui/services.ts";
import { corePromotion, driveApp, sampleRepo } from "./fixtures.ts";


let services: TuiServices;
let store: MemoryStore;
let other: MemoryStore;
let digests: Record<string, string>;
const pair = generateKeyPair("pw");
const LONG = 30_000;

beforeEach(async () => {
  ({ services, store, digests } = await sampleRepo());
  other = new MemoryStore("oci://mem/other");
  // v1.1.0 carries a real cosign (legacy) signature in the source repository.
  await signArtifact(store, await store.resolve("v1.1.0"), "mem/app", createKeySigner(loadPrivateKey(pair.privateKeyPem, "pw")), { format: "legacy" });
  services = { ...services, open: async (ref) => (ref.kind === "registry" && ref.repository.endsWith("other") ? other : store) };
}, LONG);
afterEach(() => cleanup());

function start(svc: TuiServices, columns = 110) {
  const r = render(<App services={svc} initial={[{ kind: "repos" }, { kind: "tags", repo: "oci://mem/app" }]} color={false} size={{ columns, rows: 24 }} />);
  return driveApp(r, 1500);
}

async function toOther(ui: ReturnType<typeof start>) {
  await ui.until((f) => f.includes("main@sha1:2222"), "tags");
  await ui.press("p");
  await ui.until((f) => f.includes("TARGET TAG"), "pick");
  await ui.press("n");
  await ui.until((f) => f.includes("oci://repo:tag):"), "prompt");
  await ui.press("oci://mem/other:prod", "\r");
}


test("to another repository: verified with --verify-key, copied with its signature, the tag created there", async () => {
  const ui = start({ ...services, promotion: corePromotion([loadPublicKey(pair.publicKeyPem)]) });
  await toOther(ui);
  let f = await ui.until((f) => f.includes("Promote v1.1.0 to oci://mem/other:prod?"), "review");
  expect(f).toContain(`oci://mem/other:prod: new tag → ${digests.v2!.slice(0, 19)} (v1.1.0)`);
  expect(f).toMatch(/✔ signature verified \(legacy from /);
  expect(f).toContain("another repository: the digest is copied with its signatures");
  expect(f).not.toContain("d for the full diff");
  await expect(other.resolve("prod")).rejects.toThrow();
  await ui.press("y");
  f = await ui.until((f) => f.includes("✔ promoted: oci://mem/other:prod now points at"), "done");
  expect(f).toContain(`signatures: sha256-${digests.v2!.slice(7, 19)}….sig copied`);
  expect(f).not.toContain("the tag does not exist yet");
  expect((await other.resolve("prod")).digest).toBe(digests.v2!);
  const found = await findSignatures(other, digests.v2!);
  expect(found.legacy.length).toBe(1);
}, LONG);

test("a signature that does not verify with the configured key stops the promotion before anything is written", async () => {
  const wrong = generateKeyPair("x");
  const ui = start({ ...services, promotion: corePromotion([loadPublicKey(wrong.publicKeyPem)]) });
  await toOther(ui);
  const f = await ui.until((f) => f.includes("failed:"), "failure");
  expect(f).toContain("✗ promote v1.1.0 → oci://mem/other:prod failed:");
  expect(await other.tags()).toEqual([]);
}, LONG);

test("in the same repository only the tag moves; a digest target is refused", async () => {
  const ui = start(services, 320);
  await ui.until((f) => f.includes("main@sha1:2222"), "tags");
  await ui.press("p");
  await ui.until((f) => f.includes("TARGET TAG"), "pick");
  await ui.press("n");
  await ui.until((f) => f.includes("oci://repo:tag):"), "prompt");
  await ui.press(`oci://mem/other@${digests.v1}`, "\r");
  let f = await ui.until((f) => f.includes("failed:"), "refused");
  expect(f).toContain("must name a tag");
  await ui.press("\x1b");
  await ui.until((f) => f.includes("TARGET TAG"), "pick again");
  await ui.press("n");
  await ui.press("candidate", "\r");
  f = await ui.until((f) => f.includes("Promote v1.1.0 to candidate?"), "review");
  expect(f).not.toContain("another repository");
  await ui.press("y");
  f = await ui.until((f) => f.includes("✔ promoted: candidate now points at"), "done");
  expect(f).not.toContain("signatures:");
  expect((await store.resolve("candidate")).digest).toBe(digests.v2!);
  expect(await other.tags()).toEqual([]);
}, LONG);
