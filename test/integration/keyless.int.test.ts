/**
 * Keyless signing end to end: berth (from source) signs with an ephemeral key certified by a
 * stand-in Fulcio and logged in a stand-in Rekor (`@sigstore/mock`'s CA, CT log and transparency
 * log behind a loopback HTTP server), stores the signature in a real Distribution registry in both
 * formats, and verifies it offline with a trusted root built from the mock's keys. The real cosign
 * CLI (built by scripts/setup) then verifies the same signatures with `--trusted-root`.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createHash, generateKeyPairSync } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fulcioHandler, initializeCA, initializeCTLog, initializeTLog, rekorHandler } from "@sigstore/mock";
import { peerBinDir, run, startRegistry, type RegistryServer, type RunResult } from "../harness/index.ts";
import { BERTH_BIN, requireBinary } from "../e2e/berth-bin.ts";

const MAIN = join(import.meta.dir, "../../src/main.ts");
const EXAMPLE = join(import.meta.dir, "../../examples/podinfo");
const COSIGN = join(peerBinDir(), "cosign");
const ISSUER = "https://token.actions.githubusercontent.com";
const SUBJECT = "https://github.com/example/app-config/.github/workflows/release.yml@refs/heads/main";

interface MockSigstore {
  url: string;
  /** Kinds of the entries logged, in order. */
  logged: string[];
  /** Fulcio requests seen. */
  certificates: number;
  trustedRoot: Record<string, unknown>;
  stop(): void;
}

const b64 = (b: ArrayBufferView) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString("base64");
const ecKeys = (namedCurve = "P-256") => generateKeyPairSync("ec", { namedCurve });

/**
 * Real Rekor canonicalises a proposed `dsse` entry into hashes plus signature/verifier pairs before
 * logging it; the mock logs bodies as proposed, so that step is done here, as Rekor does it.
 */
function canonicalDsse(proposed: { spec: { proposedContent: { envelope: string; verifiers: string[] } } }): Record<string, unknown> {
  const { envelope, verifiers } = proposed.spec.proposedContent;
  const env = JSON.parse(envelope) as { payload: string; signatures: Array<{ sig: string }> };
  const hex = (b: Buffer | string) => createHash("sha256").update(b).digest("hex");
  return {
    apiVersion: "0.0.1",
    kind: "dsse",
    spec: {
      envelopeHash: { algorithm: "sha256", value: hex(envelope) },
      payloadHash: { algorithm: "sha256", value: hex(Buffer.from(env.payload, "base64")) },
      signatures: env.signatures.map((s) => ({ signature: s.sig, verifier: verifiers[0] })),
    },
  };
}

async function startMockSigstore(): Promise<MockSigstore> {
  const state = { logged: [] as string[], certificates: 0 };
  let route: (path: string, body: string) => Promise<{ statusCode: number; response: string | ArrayBufferView; contentType?: string }> = async () => ({
    statusCode: 503,
    response: "starting",
  });
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(req) {
      const r = await route(new URL(req.url).pathname, await req.text());
      const body = typeof r.response === "string" ? r.response : Buffer.from(r.response.buffer, r.response.byteOffset, r.response.byteLength);
      return new Response(body, { status: r.statusCode, headers: { "content-type": r.contentType ?? "text/plain" } });
    },
  });
  const url = `http://127.0.0.1:${server.port}`;
  const ctKeys = ecKeys();
  const ctlog = await initializeCTLog(ctKeys);
  const ca = await initializeCA(ecKeys("P-384"), ctlog);
  const tlogKeys = ecKeys();
  const tlog = await initializeTLog(url, tlogKeys);
  const fulcio = fulcioHandler(ca);
  const rekor = rekorHandler(tlog);
  route = async (path, body) => {
    if (path === fulcio.path) {
      state.certificates++;
      return fulcio.fn(body);
    }
    if (path === rekor.path) {
      const proposed = JSON.parse(body) as { kind: string };
      state.logged.push(proposed.kind);
      if (proposed.kind !== "dsse") return rekor.fn(body);
      const entry = await tlog.log(canonicalDsse(proposed as never));
      return { statusCode: 201, response: JSON.stringify(entry), contentType: "application/json" };
    }
    return { statusCode: 404, response: "not found" };
  };
  const tlogDer = tlogKeys.publicKey.export({ format: "der", type: "spki" });
  const start = "2020-01-01T00:00:00Z";
  const trustedRoot = {
    mediaType: "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
    tlogs: [
      {
        baseUrl: url,
        hashAlgorithm: "SHA2_256",
        publicKey: { rawBytes: b64(tlogDer), keyDetails: "PKIX_ECDSA_P256_SHA_256", validFor: { start } },
        logId: { keyId: b64(createHash("sha256").update(tlogDer).digest()) },
      },
    ],
    certificateAuthorities: [
      {
        subject: { organization: "sigstore.mock", commonName: "sigstore" },
        uri: url,
        certChain: { certificates: [{ rawBytes: b64(ca.rootCertificate) }] },
        validFor: { start },
      },
    ],
    ctlogs: [
      {
        baseUrl: "https://ctfe.sigstore.mock",
        hashAlgorithm: "SHA2_256",
        publicKey: { rawBytes: b64(ctlog.publicKey), keyDetails: "PKIX_ECDSA_P256_SHA_256", validFor: { start } },
        logId: { keyId: b64(ctlog.logID) },
      },
    ],
    timestampAuthorities: [],
  };
  return {
    url,
    get logged() {
      return state.logged;
    },
    get certificates() {
      return state.certificates;
    },
    trustedRoot,
    stop: () => server.stop(true),
  };
}

/** An unsigned JWT: the stand-in Fulcio reads its claims without checking a signature. */
function identityToken(claims: Record<string, unknown> = {}): string {
  const part = (o: unknown) => Buffer.from(JSON.stringify(o)).toString("base64url");
  return `${part({ alg: "RS256", typ: "JWT" })}.${part({ iss: ISSUER, sub: SUBJECT, aud: "sigstore", exp: Math.floor(Date.now() / 1000) + 600, ...claims })}.${Buffer.from("not-a-signature-9f3c").toString("base64url")}`;
}

let reg: RegistryServer;
let mock: MockSigstore;
let work: string;
let rootFile: string;
let n = 0;

beforeAll(async () => {
  reg = await startRegistry();
  mock = await startMockSigstore();
  work = await mkdtemp(join(tmpdir(), "berth-keyless-"));
  rootFile = join(work, "mock-trusted-root.json");
  await writeFile(rootFile, JSON.stringify(mock.trustedRoot));
});
afterAll(async () => {
  mock?.stop();
  await reg?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

function berth(args: string[], env: Record<string, string | undefined> = {}): Promise<RunResult> {
  return run([process.execPath, MAIN, ...args], {
    cwd: work,
    env: { HOME: work, SIGSTORE_ID_TOKEN: undefined, ACTIONS_ID_TOKEN_REQUEST_URL: undefined, ACTIONS_ID_TOKEN_REQUEST_TOKEN: undefined, ...env },
    timeoutMs: 120_000,
  });
}
function cosign(args: string[]): Promise<RunResult> {
  return run([COSIGN, ...args], { cwd: work, env: { HOME: work, TUF_ROOT: join(work, "tuf") }, timeoutMs: 120_000 });
}

/** Pushes a fresh artifact and returns its oci:// URL and digest. */
async function freshArtifact(): Promise<{ url: string; ref: string; digest: string }> {
  const ref = `${reg.host}/keyless/app${++n}:v1`;
  const r = await berth(["push", "artifact", `oci://${ref}`, "-f", EXAMPLE, "--source=https://example.com/cfg", `--revision=main@sha1:${String(n).repeat(40).slice(0, 40)}`, "-o", "json"]);
  expect(r.code).toBe(0);
  return { url: `oci://${ref}`, ref, digest: JSON.parse(r.stdout).digest };
}

async function manifest(repo: string, reference: string): Promise<{ json: Record<string, unknown>; status: number }> {
  const res = await fetch(`${reg.url}/v2/${repo}/manifests/${reference}`, {
    headers: { accept: "application/vnd.oci.image.manifest.v1+json,application/vnd.oci.image.index.v1+json" },
  });
  return { status: res.status, json: res.status === 200 ? ((await res.json()) as Record<string, unknown>) : {} };
}
async function blob(repo: string, digest: string): Promise<Uint8Array> {
  return new Uint8Array(await (await fetch(`${reg.url}/v2/${repo}/blobs/${digest}`)).arrayBuffer());
}

const identityFlags = (subject = SUBJECT, issuer = ISSUER) => ["--certificate-identity", subject, "--certificate-oidc-issuer", issuer];
const mockFlags = () => ["--fulcio-url", mock.url, "--rekor-url", mock.url, "--trusted-root", rootFile];

describe("keyless signing (stand-in for public Fulcio/Rekor)", () => {
  test("bundle format: Fulcio certificate + Rekor dsse entry in a v0.3 bundle referrer; berth verifies it with the mock's trusted root", async () => {
    const a = await freshArtifact();
    const token = identityToken();
    const before = mock.logged.length;
    const s = await berth(["sign", "artifact", a.url, "--identity-token", token, ...mockFlags(), "-o", "json"]);
    expect(s.stderr).toBe("");
    expect(s.code).toBe(0);
    const out = JSON.parse(s.stdout);
    expect(out).toMatchObject({ digest: a.digest, format: "bundle", pushed: true, identity: { subject: SUBJECT, issuer: ISSUER } });
    expect(mock.logged.slice(before)).toEqual(["dsse"]);
    // The bundle as stored: certificate (leaf only), one dsse 0.0.1 entry with promise and proof, DSSE without keyid.
    const repo = a.ref.slice(reg.host.length + 1, a.ref.lastIndexOf(":"));
    const m = await manifest(repo, out.signature);
    const layer = (m.json.layers as Array<{ digest: string; mediaType: string }>)[0]!;
    expect(layer.mediaType).toBe("application/vnd.dev.sigstore.bundle.v0.3+json");
    const bundle = JSON.parse(new TextDecoder().decode(await blob(repo, layer.digest)));
    expect(Object.keys(bundle.verificationMaterial).sort()).toEqual(["certificate", "tlogEntries"]);
    const e = bundle.verificationMaterial.tlogEntries[0];
    expect(e.kindVersion).toEqual({ kind: "dsse", version: "0.0.1" });
    expect(e.inclusionPromise.signedEntryTimestamp).toBeTruthy();
    expect(e.inclusionProof.checkpoint.envelope).toContain(mock.url.slice("http://".length));
    expect(bundle.dsseEnvelope.signatures).toEqual([{ sig: expect.any(String) }]);

    const v = await berth(["verify", "artifact", a.url, "--trusted-root", rootFile, ...identityFlags(), "-o", "json"]);
    expect(v.code).toBe(0);
    const vj = JSON.parse(v.stdout);
    expect(vj.signatures).toHaveLength(1);
    expect(vj.signatures[0]).toMatchObject({ format: "bundle", key: "certificate", identity: { subject: SUBJECT, issuer: ISSUER } });
    expect(Date.parse(vj.signatures[0].signedAt)).toBeGreaterThan(Date.now() - 10 * 60_000);
    // Another identity, another issuer, or the public-good root (which does not trust the mock CA) all fail.
    expect((await berth(["verify", "artifact", a.url, "--trusted-root", rootFile, ...identityFlags("https://github.com/evil/x")])).code).toBe(7);
    expect((await berth(["verify", "artifact", a.url, "--trusted-root", rootFile, ...identityFlags(SUBJECT, "https://accounts.google.com")])).code).toBe(7);
    expect((await berth(["verify", "artifact", a.url, ...identityFlags()])).code).toBe(7);
  }, 240_000);

  test("legacy format with SIGSTORE_ID_TOKEN: certificate, chain and Rekor SET annotations; hashedrekord entry; berth verifies it", async () => {
    const a = await freshArtifact();
    const before = mock.logged.length;
    const s = await berth(["sign", "artifact", a.url, "--format", "legacy", ...mockFlags(), "-a", "env=prod", "-q"], { SIGSTORE_ID_TOKEN: identityToken() });
    expect(s.stderr).toBe("");
    expect(s.code).toBe(0);
    expect(mock.logged.slice(before)).toEqual(["hashedrekord"]);
    const repo = a.ref.slice(reg.host.length + 1, a.ref.lastIndexOf(":"));
    const m = await manifest(repo, `${a.digest.replace(":", "-")}.sig`);
    expect(m.status).toBe(200);
    const ann = (m.json.layers as Array<{ annotations: Record<string, string> }>)[0]!.annotations;
    expect(ann["dev.sigstore.cosign/certificate"]).toStartWith("-----BEGIN CERTIFICATE-----");
    expect(ann["dev.sigstore.cosign/chain"]).toStartWith("-----BEGIN CERTIFICATE-----");
    const set = JSON.parse(ann["dev.sigstore.cosign/bundle"]!);
    expect(Object.keys(set)).toEqual(["SignedEntryTimestamp", "Payload"]);
    const body = JSON.parse(Buffer.from(set.Payload.body, "base64").toString());
    expect(body.spec.signature.content).toBe(ann["dev.cosignproject.cosign/signature"]);

    const v = await berth(["verify", "artifact", a.url, "--trusted-root", rootFile, ...identityFlags(), "-a", "env=prod", "-o", "json"]);
    expect(v.code).toBe(0);
    expect(JSON.parse(v.stdout).signatures[0]).toMatchObject({ format: "legacy", annotations: { env: "prod" }, identity: { subject: SUBJECT } });
    expect((await berth(["verify", "artifact", a.url, "--trusted-root", rootFile, ...identityFlags(), "-a", "env=dev"])).code).toBe(7);
  }, 240_000);

  test("GitHub Actions ambient token: fetched with the request token and audience sigstore", async () => {
    const requestToken = "gha-request-token-5d1e";
    const seen: string[] = [];
    const gha = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      fetch(req) {
        const u = new URL(req.url);
        seen.push(u.searchParams.get("audience") ?? "");
        if (req.headers.get("authorization") !== `bearer ${requestToken}`) return new Response("denied", { status: 403 });
        return Response.json({ value: identityToken() });
      },
    });
    try {
      const a = await freshArtifact();
      const env = { ACTIONS_ID_TOKEN_REQUEST_URL: `http://127.0.0.1:${gha.port}/token?api-version=2.0`, ACTIONS_ID_TOKEN_REQUEST_TOKEN: requestToken };
      const s = await berth(["sign", "artifact", a.url, ...mockFlags(), "-o", "json"], env);
      expect(s.code).toBe(0);
      expect(seen).toEqual(["sigstore"]);
      expect((await berth(["verify", "artifact", a.url, "--trusted-root", rootFile, ...identityFlags()])).code).toBe(0);
      // A refused request token fails without printing it.
      const bad = await berth(["sign", "artifact", a.url, ...mockFlags()], { ...env, ACTIONS_ID_TOKEN_REQUEST_TOKEN: "wrong-request-token-77aa" });
      expect(bad.code).not.toBe(0);
      expect(bad.stderr).toContain("403");
      expect(bad.stderr).not.toContain("wrong-request-token-77aa");
    } finally {
      gha.stop(true);
    }
  }, 240_000);

  test("the new signature is checked before anything is pushed: a trusted root that does not know the mock fails the signing", async () => {
    const a = await freshArtifact();
    const token = identityToken();
    const pgi = join(import.meta.dir, "../../../shared/vectors/cosign/sigstore-js/trusted_root.prod.json");
    const s = await berth(["sign", "artifact", a.url, "--identity-token", token, "--fulcio-url", mock.url, "--rekor-url", mock.url, "--trusted-root", pgi]);
    expect(s.code).toBe(7);
    expect(s.stderr).toContain("the new bundle");
    expect(s.stderr).not.toContain(token);
    const repo = a.ref.slice(reg.host.length + 1, a.ref.lastIndexOf(":"));
    expect((await manifest(repo, a.digest.replace(":", "-"))).status).toBe(404);
    // Without a token there is nothing to sign with.
    const none = await berth(["sign", "artifact", a.url, ...mockFlags()]);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain("identity token");
    const typo = await berth(["sign", "artifact", a.url, "--identity-token", "no-such-file-or-token-63a1", ...mockFlags()]);
    expect(typo.code).toBe(2);
    expect(typo.stderr).toContain("neither a readable file nor a JWT");
    expect(typo.stderr).not.toContain("no-such-file-or-token-63a1");
  }, 240_000);
});

test("the compiled binary signs keyless in both formats and verifies (stand-in for public Fulcio/Rekor)", async () => {
  requireBinary();
  const bin = (args: string[], env: Record<string, string> = {}) =>
    run(["env", "-i", `HOME=${work}`, ...Object.entries(env).map(([k, v]) => `${k}=${v}`), BERTH_BIN, ...args], { cwd: work, timeoutMs: 120_000 });
  for (const format of ["bundle", "legacy"]) {
    const a = await freshArtifact();
    // bundle: token from the environment; legacy: from a file named by --identity-token.
    const tokenFile = join(work, `token-${format}`);
    await writeFile(tokenFile, `${identityToken()}\n`);
    const s =
      format === "bundle"
        ? await bin(["sign", "artifact", a.url, "--format", format, ...mockFlags(), "-o", "json"], { SIGSTORE_ID_TOKEN: identityToken() })
        : await bin(["sign", "artifact", a.url, "--format", format, "--identity-token", tokenFile, ...mockFlags(), "-o", "json"]);
    expect(s.stderr).toBe("");
    expect(s.code).toBe(0);
    expect(JSON.parse(s.stdout)).toMatchObject({ format, digest: a.digest, identity: { subject: SUBJECT } });
    const v = await bin(["verify", "artifact", a.url, "--trusted-root", rootFile, ...identityFlags(), "-o", "json"]);
    expect(v.code).toBe(0);
    expect(JSON.parse(v.stdout).signatures[0].format).toBe(format);
  }
}, 240_000);

describe("cosign verifies berth's keyless signatures with --trusted-root (stand-in for public Fulcio/Rekor)", () => {
  const INSECURE = ["--allow-insecure-registry", "--allow-http-registry"];
  for (const format of ["bundle", "legacy"] as const) {
    test(`${format} format`, async () => {
      if (!existsSync(COSIGN)) throw new Error(`cosign not found at ${COSIGN}: run scripts/setup to build it`);
      const a = await freshArtifact();
      expect((await berth(["sign", "artifact", a.url, "--format", format, "--identity-token", identityToken(), ...mockFlags(), "-q"])).code).toBe(0);
      const ok = await cosign(["verify", "--trusted-root", rootFile, ...identityFlags(), ...INSECURE, a.ref]);
      if (ok.code !== 0) console.error(`cosign verify (${format}):\n${ok.stderr}`);
      expect(ok.code).toBe(0);
      expect(ok.stderr).toContain("transparency log was verified offline");
      expect(ok.stderr).toContain("code-signing certificate was verified using trusted certificate authority certificates");
      expect(JSON.parse(ok.stdout)[0].critical.image["docker-manifest-digest"]).toBe(a.digest);
      const wrong = await cosign(["verify", "--trusted-root", rootFile, ...identityFlags("https://github.com/evil/x"), ...INSECURE, a.ref]);
      expect(wrong.code).not.toBe(0);
    }, 240_000);
  }
});

describe("push --sign and tag --sign keyless (stand-in for public Fulcio/Rekor)", () => {
  const NO_TOKEN = { SIGSTORE_ID_TOKEN: undefined, ACTIONS_ID_TOKEN_REQUEST_URL: undefined, ACTIONS_ID_TOKEN_REQUEST_TOKEN: undefined };
  const pushArgs = (ref: string, rev: string) => ["push", "artifact", `oci://${ref}`, "-f", EXAMPLE, "--source=https://example.com/cfg", `--revision=main@sha1:${rev.repeat(40).slice(0, 40)}`];
  const repoOf = (ref: string) => ref.slice(reg.host.length + 1, ref.lastIndexOf(":"));

  test("push --sign without --key: bundle signature with the certificate identity; verify -o json reports identity, Rekor time and log index", async () => {
    const ref = `${reg.host}/keyless/pushed${++n}:v1`;
    const before = { logged: mock.logged.length, certs: mock.certificates };
    const t0 = Math.floor(Date.now() / 1000);
    const p = await berth([...pushArgs(ref, "a"), "--sign", "--identity-token", identityToken(), ...mockFlags(), "-o", "json"]);
    expect(p.stderr).toBe("");
    expect(p.code).toBe(0);
    const out = JSON.parse(p.stdout);
    expect(out.signature).toMatchObject({ digest: out.digest, format: "bundle", pushed: true, identity: { subject: SUBJECT, issuer: ISSUER } });
    expect(mock.certificates - before.certs).toBe(1);
    expect(mock.logged.slice(before.logged)).toEqual(["dsse"]);
    // The log entry as stored in the bundle is what verify must report.
    const m = await manifest(repoOf(ref), out.signature.signature);
    const bundle = JSON.parse(new TextDecoder().decode(await blob(repoOf(ref), (m.json.layers as Array<{ digest: string }>)[0]!.digest)));
    const entry = bundle.verificationMaterial.tlogEntries[0];
    const v = await berth(["verify", "artifact", `oci://${ref}`, "--trusted-root", rootFile, ...identityFlags(), "-o", "json"]);
    expect(v.code).toBe(0);
    const sig = JSON.parse(v.stdout).signatures[0];
    expect(sig).toMatchObject({ format: "bundle", key: "certificate", keyFile: null, identity: { subject: SUBJECT, issuer: ISSUER }, source: `referrer ${out.signature.signature}` });
    expect(sig.logIndex).toBe(Number(entry.logIndex));
    expect(Date.parse(sig.signedAt) / 1000).toBe(Number(entry.integratedTime));
    expect(Number(entry.integratedTime)).toBeGreaterThanOrEqual(t0 - 5);
    // The human line says the same.
    const h = await berth(["verify", "artifact", `oci://${ref}`, "--trusted-root", rootFile, ...identityFlags()]);
    expect(h.code).toBe(0);
    expect(h.stderr).toContain(`signed by identity ${SUBJECT} (issuer ${ISSUER}), at ${sig.signedAt} (Rekor integrated time, log index ${entry.logIndex})`);
  }, 240_000);

  test("push --sign --sign-format legacy with SIGSTORE_ID_TOKEN: verify reports the hashedrekord entry's log index", async () => {
    const ref = `${reg.host}/keyless/pushed${++n}:v1`;
    const p = await berth([...pushArgs(ref, "b"), "--sign", "--sign-format", "legacy", ...mockFlags()], { SIGSTORE_ID_TOKEN: identityToken() });
    expect(p.code).toBe(0);
    expect(p.stderr).toContain(`✔ certificate issued to ${SUBJECT}`);
    expect(p.stderr).toContain(`✔ artifact signed keyless as ${SUBJECT} (issuer ${ISSUER}): legacy signature sha256:`);
    const digest = /@(sha256:[a-f0-9]{64})/.exec(p.stderr)![1]!;
    const m = await manifest(repoOf(ref), `${digest.replace(":", "-")}.sig`);
    const set = JSON.parse((m.json.layers as Array<{ annotations: Record<string, string> }>)[0]!.annotations["dev.sigstore.cosign/bundle"]!);
    const v = await berth(["verify", "artifact", `oci://${ref}`, "--trusted-root", rootFile, ...identityFlags(), "-o", "json"]);
    expect(v.code).toBe(0);
    const sig = JSON.parse(v.stdout).signatures[0];
    expect(sig).toMatchObject({ format: "legacy", identity: { subject: SUBJECT, issuer: ISSUER }, logIndex: set.Payload.logIndex });
    expect(Date.parse(sig.signedAt) / 1000).toBe(set.Payload.integratedTime);
  }, 240_000);

  test("tag --sign without --key signs the digest the new tag points at; verify through the new tag", async () => {
    const a = await freshArtifact();
    const t = await berth(["tag", "artifact", a.url, "--tag", "production", "--sign", ...mockFlags(), "-o", "json"], { SIGSTORE_ID_TOKEN: identityToken() });
    expect(t.stderr).toBe("");
    expect(t.code).toBe(0);
    const tj = JSON.parse(t.stdout);
    expect(tj.digest).toBe(a.digest);
    expect(tj.signature).toMatchObject({ digest: a.digest, format: "bundle", pushed: true, identity: { subject: SUBJECT, issuer: ISSUER } });
    const prod = a.url.replace(/:v1$/, ":production");
    const v = await berth(["verify", "artifact", prod, "--trusted-root", rootFile, ...identityFlags(), "-o", "json"]);
    expect(v.code).toBe(0);
    expect(JSON.parse(v.stdout)).toMatchObject({ digest: a.digest, signatures: [{ source: `referrer ${tj.signature.signature}`, identity: { subject: SUBJECT } }] });
  }, 240_000);

  test("a missing identity token fails push --sign and tag --sign with nothing pushed and no Fulcio request", async () => {
    const ref = `${reg.host}/keyless/never${++n}:v1`;
    const certs = mock.certificates;
    const p = await berth([...pushArgs(ref, "c"), "--sign", ...mockFlags()], NO_TOKEN);
    expect(p.code).toBe(2);
    expect(p.stderr).toContain("keyless signing needs an OIDC identity token");
    expect(p.stderr).not.toContain("pushing artifact");
    expect((await manifest(repoOf(ref), "v1")).status).toBe(404);
    const a = await freshArtifact();
    const t = await berth(["tag", "artifact", a.url, "--tag", "never", "--sign", ...mockFlags()], NO_TOKEN);
    expect(t.code).toBe(2);
    expect(t.stderr).toContain("keyless signing needs an OIDC identity token");
    expect((await manifest(repoOf(a.ref), "never")).status).toBe(404);
    expect(mock.certificates).toBe(certs);
    // A token Fulcio would refuse (unverified email) also fails before anything is pushed.
    const bad = await berth([...pushArgs(ref, "c"), "--sign", "--identity-token", identityToken({ email: "me@example.com", email_verified: false }), ...mockFlags()], NO_TOKEN);
    expect(bad.code).toBe(2);
    expect((await manifest(repoOf(ref), "v1")).status).toBe(404);
    // Keyless flags need --sign, and exclude --key.
    expect((await berth([...pushArgs(ref, "c"), "--identity-token", identityToken()], NO_TOKEN)).code).toBe(2);
    const both = await berth([...pushArgs(ref, "c"), "--sign", "--key", "cosign.key", "--fulcio-url", mock.url], NO_TOKEN);
    expect(both.code).toBe(2);
    expect(both.stderr).toContain("exclude each other");
    expect((await manifest(repoOf(ref), "v1")).status).toBe(404);
  }, 240_000);
});

test("list artifacts: a keyless SIGNED column (stand-in for public Fulcio/Rekor) shows verified, invalid and unsigned per tag", async () => {
  const repo = `${reg.host}/keyless/listed${++n}`;
  const push = (tag: string, rev: string, sign: string[] = []) =>
    berth(["push", "artifact", `oci://${repo}:${tag}`, "-f", EXAMPLE, "--source=https://example.com/cfg", `--revision=main@sha1:${rev.repeat(40)}`, ...sign]);
  expect((await push("v1.0.0", "1", ["--sign", "--identity-token", identityToken(), ...mockFlags()])).code).toBe(0);
  expect((await push("v2.0.0", "2", ["--sign", "--sign-format", "legacy", "--identity-token", identityToken({ sub: "https://github.com/evil/x" }), ...mockFlags()])).code).toBe(0);
  expect((await push("v3.0.0", "3")).code).toBe(0);
  const column = (table: string) => {
    const [head, ...rows] = table.trimEnd().split("\n");
    const i = head!.split("\t").map((c) => c.trim()).indexOf("SIGNED");
    expect(i).toBeGreaterThan(0);
    return Object.fromEntries(rows.map((l) => l.split("\t").map((c) => c.trim())).map((c) => [c[0]!.slice(c[0]!.lastIndexOf(":") + 1), c[i]]));
  };
  const good = await berth(["list", "artifacts", `oci://${repo}`, "--trusted-root", rootFile, ...identityFlags()]);
  expect(good.stderr).toBe("");
  expect(good.code).toBe(0);
  expect(column(good.stdout)).toEqual({ "v3.0.0": "unsigned", "v2.0.0": "invalid", "v1.0.0": "verified" });
  // The other identity's signature verifies with a regexp that accepts it, and the first one no longer does.
  const evil = await berth(["list", "artifacts", `oci://${repo}`, "--trusted-root", rootFile, "--certificate-identity-regexp", "^https://github.com/evil/", "--certificate-oidc-issuer", ISSUER, "-o", "json"]);
  expect(evil.code).toBe(0);
  expect(Object.fromEntries((JSON.parse(evil.stdout) as Array<{ tag: string; signed: string }>).map((r) => [r.tag, r.signed]))).toEqual({ "v3.0.0": "unsigned", "v2.0.0": "verified", "v1.0.0": "invalid" });
  // The embedded public-good root does not trust the stand-in CA.
  const pgi = await berth(["list", "artifacts", `oci://${repo}`, ...identityFlags(), "-o", "json"]);
  expect((JSON.parse(pgi.stdout) as Array<{ signed: string }>).map((r) => r.signed)).toEqual(["unsigned", "invalid", "invalid"]);
  expect((await berth(["list", "artifacts", `oci://${repo}`, "--trusted-root", rootFile])).code).toBe(2);
  expect((await berth(["list", "artifacts", `oci://${repo}`, "--certificate-identity-regexp", "(", "--certificate-oidc-issuer", ISSUER])).code).toBe(2);
}, 240_000);
