import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createHash, generateKeyPairSync } from "node:crypto";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  cranePath,
  dockerRef,
  orasPath,
  registryFetchInit,
  run,
  signToken,
  skopeoCopy,
  skopeoInspectRaw,
  startRegistry,
  writeOciImageLayout,
  type RegistryAuth,
  type RegistryServer,
  type RegistryTls,
  type WrittenOciImage,
} from "../harness/index.ts";
import { exitOf } from "../harness/process.ts";

const SETUPS: ReadonlyArray<{ auth: RegistryAuth; tls: RegistryTls }> = [
  { auth: "none", tls: "none" },
  { auth: "htpasswd", tls: "none" },
  { auth: "token", tls: "none" },
  { auth: "none", tls: "tls" },
  { auth: "none", tls: "mtls" },
  { auth: "htpasswd", tls: "tls" },
  { auth: "htpasswd", tls: "mtls" },
  { auth: "token", tls: "tls" },
  { auth: "token", tls: "mtls" },
];
const T = 60_000;

const registries = new Map<string, RegistryServer>();
let workDir = "";
let image: WrittenOciImage;

const label = (s: { auth: RegistryAuth; tls: RegistryTls }) => `auth=${s.auth} tls=${s.tls}`;
const sha256 = (s: string) => `sha256:${createHash("sha256").update(s).digest("hex")}`;

beforeAll(async () => {
  workDir = mkdtempSync(join(tmpdir(), "berth-harness-test-"));
  image = writeOciImageLayout(join(workDir, "layout"), { tag: "v1", files: { "app.yaml": "kind: ConfigMap\n" } });
  // All at once: proves the harness gives each registry its own port, dir and token server.
  const started = await Promise.allSettled(SETUPS.map((s) => startRegistry(s)));
  started.forEach((r, i) => {
    if (r.status === "fulfilled") registries.set(label(SETUPS[i]!), r.value);
  });
  const failed = started.find((r) => r.status === "rejected");
  if (failed) throw (failed as PromiseRejectedResult).reason;
}, T);

afterAll(async () => {
  await Promise.all([...registries.values()].map((r) => r.stop()));
  if (workDir) rmSync(workDir, { recursive: true, force: true });
}, T);

test("registries started in parallel have distinct ports and data dirs", () => {
  expect(registries.size).toBe(SETUPS.length);
  const all = [...registries.values()];
  expect(new Set(all.map((r) => r.host)).size).toBe(all.length);
  expect(new Set(all.map((r) => r.dataDir)).size).toBe(all.length);
  for (const r of all) {
    expect(r.host).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(r.url).toBe(`${r.scheme}://${r.host}`);
    expect(r.scheme).toBe(r.tls === "none" ? "http" : "https");
  }
});

for (const setup of SETUPS) {
  describe(label(setup), () => {
    const reg = () => registries.get(label(setup))!;
    const repo = `harness/${setup.auth}-${setup.tls}`;

    test("skopeo pushes an image and inspect --raw reads back the same manifest", async () => {
      const r = reg();
      r.tokenServer?.reset();
      const copy = await skopeoCopy(`oci:${image.dir}:v1`, { ref: dockerRef(r, `${repo}:v1`), endpoint: { registry: r } });
      expect(copy.stderr).toBe("");
      expect(copy.code).toBe(0);
      if (r.tokenServer) {
        // The push is authorised by a push,pull token for this repository. skopeo's machine-wide blob-info
        // cache sometimes makes it try a cross-repository mount of a layer it saw in another repository,
        // which adds a pull scope for that repository: another test's, or an earlier run's on a registry
        // that had this port (seen in CI: "del/me" from the lifecycle test). That peer behaviour is
        // allowed as long as the extra scope is pull only; berth's own one-token-per-command rule is
        // asserted strictly in test/e2e/safety.e2e.test.ts.
        expect(r.tokenServer.issued).toBeGreaterThanOrEqual(1);
        for (const q of r.tokenServer.requests) {
          expect(q.status).toBe(200);
          expect(q.scopes[0]).toBe(`repository:${repo}:pull,push`);
          for (const extra of q.scopes.slice(1)) expect(extra).toMatch(/^repository:[a-z0-9._\/-]+:pull$/);
          expect(q.service).toBe(r.service!);
        }
        r.tokenServer.reset();
      }
      const inspect = await skopeoInspectRaw(dockerRef(r, `${repo}:v1`), { registry: r });
      expect(inspect.code).toBe(0);
      expect(inspect.stdout).toBe(Buffer.from(image.manifest).toString("utf8"));
      expect(sha256(inspect.stdout)).toBe(image.manifestDigest);
      if (r.tokenServer) {
        expect(r.tokenServer.issued).toBe(1);
        expect(r.tokenServer.requests.map((q) => q.scopes)).toEqual([[`repository:${repo}:pull`]]);
      }
      // The bytes landed in this registry's own storage dir.
      const layerHex = image.layerDigest.slice("sha256:".length);
      const blob = join(r.dataDir, "docker/registry/v2/blobs/sha256", layerHex.slice(0, 2), layerHex, "data");
      expect(existsSync(blob)).toBe(true);
    }, T);

    if (setup.auth !== "none") {
      test("a wrong password is refused", async () => {
        const r = reg();
        r.tokenServer?.reset();
        const res = await skopeoInspectRaw(dockerRef(r, `${repo}:v1`), { registry: r, creds: `${r.username}:not-the-password` });
        expect(res.code).not.toBe(0);
        expect(res.stderr).toMatch(/unauthorized|authentication required|401/i);
        if (r.tokenServer) {
          expect(r.tokenServer.issued).toBe(0);
          expect(r.tokenServer.requests.length).toBeGreaterThan(0);
          expect(r.tokenServer.requests.every((q) => q.status === 401 && q.account === r.username)).toBe(true);
        }
      }, T);

      test("no credentials are refused", async () => {
        const r = reg();
        const res = await skopeoInspectRaw(dockerRef(r, `${repo}:v1`), { registry: r, creds: null });
        expect(res.code).not.toBe(0);
        expect(res.stderr).toMatch(/unauthorized|authentication required|401/i);
      }, T);
    }

    if (setup.tls === "mtls") {
      test("a client without a client certificate is refused", async () => {
        const r = reg();
        const res = await skopeoInspectRaw(dockerRef(r, `${repo}:v1`), { registry: r, clientCert: false });
        expect(res.code).not.toBe(0);
        expect(res.stderr).toMatch(/certificate|tls/i);
        let error: unknown;
        try {
          await fetch(`${r.url}/v2/`, registryFetchInit(r, { clientCert: false }));
        } catch (err) {
          error = err;
        }
        expect(error).toBeDefined();
      }, T);
    }

    if (setup.tls !== "none") {
      test("a client that does not trust the CA is refused; one that does is served", async () => {
        const r = reg();
        const ok = await fetch(`${r.url}/v2/`, registryFetchInit(r));
        expect(ok.status).toBe(r.auth === "none" ? 200 : 401);
        let error: unknown;
        try {
          await fetch(`${r.url}/v2/`);
        } catch (err) {
          error = err;
        }
        expect(String(error)).toMatch(/certificate|self.signed|issuer|verify/i);
      }, T);
    }
  });
}

describe("token server", () => {
  const reg = () => registries.get(label({ auth: "token", tls: "none" }))!;
  const basic = (r: RegistryServer) => `Basic ${Buffer.from(`${r.username}:${r.password}`).toString("base64")}`;

  test("GET realm with Basic auth returns a token the registry accepts", async () => {
    const r = reg();
    r.tokenServer!.reset();
    const url = `${r.tokenServer!.realm}?service=${r.service}&scope=repository:harness/token-none:pull`;
    const res = await fetch(url, { headers: { authorization: basic(r) } });
    expect(res.status).toBe(200);
    const body = (await res.json()) as Record<string, unknown>;
    expect(typeof body.token).toBe("string");
    expect(body.access_token).toBe(body.token);
    expect(body.expires_in).toBe(300);
    expect(Number.isNaN(Date.parse(String(body.issued_at)))).toBe(false);
    const tags = await fetch(`${r.url}/v2/harness/token-none/tags/list`, { headers: { authorization: `Bearer ${body.token}` } });
    expect(tags.status).toBe(200);
    expect(await tags.json()).toEqual({ name: "harness/token-none", tags: ["v1"] });
    expect(r.tokenServer!.requests).toEqual([
      { method: "GET", service: r.service!, scopes: ["repository:harness/token-none:pull"], account: r.username!, granted: true, status: 200 },
    ]);
  }, T);

  test("OAuth2 POST (grant_type=password) returns a usable token", async () => {
    const r = reg();
    const form = new URLSearchParams({
      grant_type: "password",
      username: r.username!,
      password: r.password!,
      service: r.service!,
      scope: "repository:harness/token-none:pull",
      client_id: "berth-test",
    });
    const res = await fetch(r.tokenServer!.realm, { method: "POST", body: form });
    expect(res.status).toBe(200);
    const { access_token } = (await res.json()) as { access_token: string };
    const tags = await fetch(`${r.url}/v2/harness/token-none/tags/list`, { headers: { authorization: `Bearer ${access_token}` } });
    expect(tags.status).toBe(200);
  }, T);

  test("a token for another scope does not give access", async () => {
    const r = reg();
    const url = `${r.tokenServer!.realm}?service=${r.service}&scope=repository:someone/else:pull`;
    const { token } = (await (await fetch(url, { headers: { authorization: basic(r) } })).json()) as { token: string };
    const tags = await fetch(`${r.url}/v2/harness/token-none/tags/list`, { headers: { authorization: `Bearer ${token}` } });
    expect(tags.status).toBe(401);
  }, T);

  test("the registry checks the signature: a token signed by another key is refused", async () => {
    const r = reg();
    const { privateKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
    const now = Math.floor(Date.now() / 1000);
    const forged = signToken(privateKey, r.tokenServer!.kid, {
      iss: r.tokenServer!.issuer,
      sub: r.username,
      aud: r.service,
      exp: now + 300,
      nbf: now - 1,
      iat: now,
      jti: "forged",
      access: [{ type: "repository", name: "harness/token-none", actions: ["pull"] }],
    });
    const tags = await fetch(`${r.url}/v2/harness/token-none/tags/list`, { headers: { authorization: `Bearer ${forged}` } });
    expect(tags.status).toBe(401);
  }, T);
});

describe("registry lifecycle", () => {
  test("deleteEnabled controls manifest DELETE, and stop() frees the port and removes the data dir", async () => {
    const enabled = await startRegistry();
    const disabled = await startRegistry({ deleteEnabled: false });
    try {
      for (const r of [enabled, disabled]) {
        const copy = await skopeoCopy(`oci:${image.dir}:v1`, { ref: dockerRef(r, "del/me:v1"), endpoint: { registry: r } });
        expect(copy.code).toBe(0);
      }
      const del = (r: RegistryServer) => fetch(`${r.url}/v2/del/me/manifests/${image.manifestDigest}`, { method: "DELETE" });
      expect((await del(enabled)).status).toBe(202);
      expect((await del(disabled)).status).toBe(405);
    } finally {
      await disabled.stop();
    }
    const { url, dataDir } = enabled;
    expect(existsSync(dataDir)).toBe(true);
    await enabled.stop();
    expect(existsSync(dataDir)).toBe(false);
    let error: unknown;
    try {
      await fetch(`${url}/v2/`);
    } catch (err) {
      error = err;
    }
    expect(error).toBeDefined();
    await enabled.stop();
  }, T);
});

describe("peer tools built by scripts/setup", () => {
  test("crane reads the manifest skopeo pushed", async () => {
    const r = registries.get(label({ auth: "none", tls: "none" }))!;
    const res = await run([cranePath(), "manifest", "--insecure", `${r.host}/harness/none-none:v1`]);
    expect(res.stderr).toBe("");
    expect(res.code).toBe(0);
    expect(sha256(res.stdout)).toBe(image.manifestDigest);
  }, T);

  test("oras reads the manifest skopeo pushed", async () => {
    const r = registries.get(label({ auth: "none", tls: "none" }))!;
    const res = await run([orasPath(), "manifest", "fetch", "--plain-http", `${r.host}/harness/none-none:v1`]);
    expect(res.code).toBe(0);
    expect(sha256(res.stdout)).toBe(image.manifestDigest);
  }, T);
});

test("the watchdog kills a server that ignores SIGTERM once the test process's end of its stdin closes", async () => {
  const { WATCHDOG } = await import("../harness/process.ts");
  const { readFileSync } = await import("node:fs");
  const dir = mkdtempSync(join(tmpdir(), "berth-watchdog-"));
  try {
    const pidFile = join(dir, "child.pid");
    const proc = Bun.spawn(["/bin/sh", "-c", WATCHDOG, "watchdog", pidFile, "/bin/sh", "-c", 'trap "" TERM; while :; do sleep 0.1; done'], { stdin: "pipe" });
    let pid = 0;
    for (let i = 0; i < 50 && !pid; i++) {
      await Bun.sleep(50);
      pid = existsSync(pidFile) ? Number(readFileSync(pidFile, "utf8").trim()) : 0;
    }
    expect(pid).toBeGreaterThan(0);
    const alive = () => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    };
    expect(alive()).toBe(true);
    proc.stdin.end();
    await Bun.sleep(2000);
    expect(alive()).toBe(true); // SIGTERM is ignored…
    const t0 = Date.now();
    while (alive() && Date.now() - t0 < 10_000) await Bun.sleep(100);
    expect(alive()).toBe(false); // …so SIGKILL follows
    await exitOf(proc);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}, 20_000);
