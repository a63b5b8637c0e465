import { afterEach, beforeEach, expect, test } from "bun:test";
import { cleanup, render } from "ink-testing-library";
import { createKeySigner, findSignatures, generateKeyPair, loadPrivateKey, signArtifact, type MemoryStore } from "../../../src/core/index.ts";
import App from "../../../src/tui/app.tsx";
import type { SigningAccess, TuiServices } from "../../../src/tui/services.ts";
import { driveInk, sampleRepo } from "./fixtures.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const PASSWORD = "s3cret";

let services: TuiServices;
let store: MemoryStore;
let digests: Record<string, string>;
let calls: { digest: string; format: string; password?: string }[];

/** Signing through core with a real encrypted cosign key, as main wires it (password given in the UI). */
function keySigning(pem: string, needsPassword: boolean): SigningAccess {
  return {
    keyPath: "/keys/cosign.key",
    needsPassword,
    identityToken: false,
    async sign(_ref, digest, o) {
      calls.push({ digest, format: o.format, ...(o.password !== undefined ? { password: o.password } : {}) });
      const signer = createKeySigner(loadPrivateKey(pem, o.password ?? PASSWORD));
      return signArtifact(store, await store.resolve(digest), "mem/app", signer, { format: o.format });
    },
  };
}

beforeEach(async () => {
  ({ services, store, digests } = await sampleRepo());
  calls = [];
});
afterEach(() => cleanup());

function start(svc: TuiServices, initial = [{ kind: "repos" as const }, { kind: "tags" as const, repo: "oci://mem/app" }]) {
  const r = render(<App services={svc} initial={initial} color={false} size={{ columns: 80, rows: 24 }} />);
  return driveInk(r);
}

test("S on a tag signs its digest (legacy after f), asking the key's password; the result names the signature tag", async () => {
  const pair = generateKeyPair(PASSWORD);
  const ui = start({ ...services, signing: keySigning(pair.privateKeyPem, true) });
  await ui.until((f) => f.includes("main@sha1:2222"), "tags");
  await ui.press("S");
  let f = await ui.until((f) => f.includes(`digest  ${digests.v2}`), "sign screen");
  expect(f).toContain("Sign oci://mem/app:v1.1.0");
  expect(f).toContain("key     /keys/cosign.key\n        encrypted: its password is asked on y");
  expect(f).toContain("format  bundle");
  await ui.press("f");
  await ui.until((f) => f.includes("format  legacy"), "legacy");
  await ui.press("y");
  f = await ui.until((f) => f.includes("password for /keys/cosign.key:"), "password prompt");
  await ui.press(...PASSWORD);
  f = await ui.until((f) => f.includes("••••••"), "masked");
  expect(f).not.toContain(PASSWORD);
  await ui.press("\r");
  f = await ui.until((f) => f.includes("✔ signed"), "signed");
  expect(calls).toEqual([{ digest: digests.v2!, format: "legacy", password: PASSWORD }]);
  const sigTag = `sha256-${digests.v2!.slice(7)}.sig`;
  const lines = f.split("\n");
  expect(lines[lines.indexOf("tag:") + 1]).toBe(sigTag);
  expect(lines[lines.indexOf("signature:") + 1]).toMatch(/^sha256:[0-9a-f]{64}$/);
  expect(await store.tags()).toContain(sigTag);
  const found = await findSignatures(store, digests.v2!);
  expect(found.legacy.length).toBe(1);
});

test("from the Artifact screen: S signs the shown digest (bundle, no password needed)", async () => {
  const pair = generateKeyPair(PASSWORD);
  const ui = start({ ...services, signing: keySigning(pair.privateKeyPem, false) }, [{ kind: "repos" }, { kind: "tags", repo: "oci://mem/app" }, { kind: "artifact", repo: "oci://mem/app", tag: "v1.0.0" }] as never);
  await ui.until((f) => f.includes("[1 Manifest]") && f.includes("sha256:"), "artifact");
  await ui.press("S");
  await ui.until((f) => f.includes(`Sign oci://mem/app@${digests.v1}`.slice(0, 60)), "sign screen");
  await ui.press("y");
  const f = await ui.until((f) => f.includes("✔ signed"), "signed");
  expect(calls).toEqual([{ digest: digests.v1!, format: "bundle" }]);
  expect(f).toContain("format:    bundle");
  // The memory store has no referrers API: the bundle is indexed by the fallback referrers tag.
  const lines = f.split("\n");
  expect(lines[lines.indexOf("tag:") + 1]).toBe(`sha256-${digests.v1!.slice(7)}`);
  expect((await findSignatures(store, digests.v1!)).bundles.length).toBe(1);
});

test("without a key: how to configure one, and y does nothing", async () => {
  const ui = start({ ...services, signing: { needsPassword: false, identityToken: false, sign: async () => Promise.reject(new Error("must not sign")) } });
  await ui.until((f) => f.includes("main@sha1:2222"), "tags");
  await ui.press("S");
  const f = await ui.until((f) => f.includes("No signing key configured."), "help text");
  expect(f).toContain("berth ui --key cosign.key");
  expect(f).toContain("SIGSTORE_ID_TOKEN");
  expect(f).toContain("berth ui --identity-token <token|file>");
  await ui.press("y");
  await sleep(100);
  expect(calls).toEqual([]);
});

test("keyless with SIGSTORE_ID_TOKEN and no key: no password, the result names the certificate identity", async () => {
  const pair = generateKeyPair(PASSWORD);
  const keyed = keySigning(pair.privateKeyPem, false);
  const keyless: SigningAccess = {
    needsPassword: false,
    identityToken: true,
    // The keyless signer needs Fulcio and Rekor; here a key signer stands in for it behind the same seam.
    sign: async (ref, digest, o) => ({ ...(await keyed.sign(ref, digest, o)), identity: { subject: "dev@example.com", issuer: "https://accounts.example.com" } }),
  };
  const ui = start({ ...services, signing: keyless });
  await ui.until((f) => f.includes("main@sha1:2222"), "tags");
  await ui.press("S");
  let f = await ui.until((f) => f.includes("keyless  identity token from SIGSTORE_ID_TOKEN"), "keyless sign screen");
  expect(f).toContain("certificate from Fulcio");
  expect(f).not.toContain("No signing key configured.");
  await ui.press("y");
  f = await ui.until((f) => f.includes("✔ signed"), "signed");
  expect(calls).toEqual([{ digest: digests.v2!, format: "bundle" }]);
  expect(f).toContain("identity: dev@example.com (issuer https://accounts.example.com)");
  expect(f).toContain("--certificate-identity dev@example.com");
});
