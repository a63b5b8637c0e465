import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { KubeClient, kubeStatusOf, loadKubeConnection } from "../../../../src/k8s/client/kube.ts";
import { Informer } from "../../../../src/k8s/watch/informer.ts";
import { parseGoDuration } from "../../../../src/core/duration.ts";
import { splitKey } from "../../../../src/k8s/controller/reconciler.ts";
import { isCoreError } from "../../../../src/core/index.ts";

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "berth-kube-unit-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("loadKubeConnection", () => {
  test("reads the current context: server, inline CA, client cert file relative to the kubeconfig, token file, namespace", async () => {
    writeFileSync(join(dir, "client.crt"), "CERT");
    writeFileSync(join(dir, "token"), "tok-123\n");
    const cfg = {
      apiVersion: "v1",
      kind: "Config",
      "current-context": "b",
      clusters: [
        { name: "c1", cluster: { server: "https://one:6443" } },
        { name: "c2", cluster: { server: "https://two:6443/", "certificate-authority-data": Buffer.from("CA-PEM").toString("base64") } },
      ],
      users: [{ name: "u2", user: { "client-certificate": "client.crt", "client-key-data": Buffer.from("KEY").toString("base64"), tokenFile: join(dir, "token") } }],
      contexts: [
        { name: "a", context: { cluster: "c1", user: "u2" } },
        { name: "b", context: { cluster: "c2", user: "u2", namespace: "apps" } },
      ],
    };
    const file = join(dir, "config");
    writeFileSync(file, JSON.stringify(cfg));
    const c = await loadKubeConnection({ path: file });
    expect(c).toEqual({ server: "https://two:6443", ca: "CA-PEM", cert: "CERT", key: "KEY", token: "tok-123", tokenFile: join(dir, "token"), insecure: false, namespace: "apps" });
    expect((await loadKubeConnection({ path: file, context: "a" })).server).toBe("https://one:6443");
  });

  test("a missing explicit kubeconfig is a USAGE error; no kubeconfig and no cluster env too", async () => {
    const e1 = await loadKubeConnection({ path: join(dir, "nope") }).catch((e) => e);
    expect(isCoreError(e1, "USAGE")).toBe(true);
    const e2 = await loadKubeConnection({ env: { HOME: join(dir, "no-home") } }).catch((e) => e);
    expect(isCoreError(e2, "USAGE")).toBe(true);
    expect((e2 as Error).message).toContain("not running in a cluster");
  });
});

describe("parseGoDuration / splitKey", () => {
  test("Go durations", () => {
    expect(parseGoDuration("10m")).toBe(600_000);
    expect(parseGoDuration("1h30m5s")).toBe(5_405_000);
    expect(parseGoDuration("250ms")).toBe(250);
    expect(() => parseGoDuration("10")).toThrow();
    expect(() => parseGoDuration("m")).toThrow();
    expect(splitKey("ns/a.b")).toEqual({ namespace: "ns", name: "a.b" });
  });
});

/** A fake API server over plain HTTP: a list and watch script per test. */
function fakeApi(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<{ server: Server; url: string }> {
  const server = createServer(handler);
  return new Promise((ok) => server.listen(0, "127.0.0.1", () => ok({ server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` })));
}

describe("KubeClient", () => {
  test("maps HTTP errors to CoreError codes and keeps the status", async () => {
    const { server, url } = await fakeApi((req, res) => {
      const code = Number(req.url!.split("/")[1]);
      res.writeHead(code, { "content-type": "application/json" });
      res.end(JSON.stringify({ kind: "Status", message: `said ${code}` }));
    });
    const k = new KubeClient({ server: url, token: "t" });
    try {
      for (const [status, code] of [[404, "NOT_FOUND"], [403, "AUTH_FAILED"], [409, "INTERNAL"], [503, "REGISTRY_UNAVAILABLE"]] as const) {
        const e = await k.get(`/${status}`).catch((x) => x);
        expect(isCoreError(e, code)).toBe(true);
        expect(kubeStatusOf(e)).toBe(status);
        expect((e as Error).message).toContain(`said ${status}`);
      }
    } finally {
      await k.close();
      server.close();
    }
  });

  test("watch splits JSON lines across chunks, sends the token and resourceVersion, and reports 410", async () => {
    let seen: { auth?: string; url?: string } = {};
    const { server, url } = await fakeApi((req, res) => {
      seen = { auth: req.headers.authorization, url: req.url };
      res.writeHead(200, { "content-type": "application/json" });
      const a = JSON.stringify({ type: "ADDED", object: { metadata: { name: "a", resourceVersion: "11" } } });
      const b = JSON.stringify({ type: "ERROR", object: { kind: "Status", code: 410, message: "too old resource version" } });
      res.write(a.slice(0, 10));
      setTimeout(() => res.end(`${a.slice(10)}\n${b}\n`), 20);
    });
    const k = new KubeClient({ server: url, token: "secret" });
    const got: string[] = [];
    try {
      const err = await (async () => {
        for await (const ev of k.watch("/things", "10")) got.push(`${ev.type} ${ev.object.metadata.name}`);
      })().catch((e) => e);
      expect(got).toEqual(["ADDED a"]);
      expect(kubeStatusOf(err)).toBe(410);
      expect(seen.auth).toBe("Bearer secret");
      expect(seen.url).toContain("watch=1");
      expect(seen.url).toContain("resourceVersion=10");
    } finally {
      await k.close();
      server.close();
    }
  });
});

/**
 * A stand-in API server that accepts only the bearer tokens in `valid` (401 otherwise) and records
 * each request's token, method and body.
 */
async function standInTokenApi(valid: Set<string>) {
  const seen: { token: string; method: string; body: string }[] = [];
  const api = await fakeApi((req, res) => {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      const token = (req.headers.authorization ?? "").replace(/^Bearer /, "");
      seen.push({ token, method: req.method!, body });
      const ok = valid.has(token);
      res.writeHead(ok ? 200 : 401, { "content-type": "application/json" });
      res.end(JSON.stringify(ok ? { token } : { kind: "Status", code: 401, message: "Unauthorized" }));
    });
  });
  return { ...api, seen };
}

describe("KubeClient token file (rotated service-account tokens)", () => {
  test("a 401 re-reads the token file and sends the request once more, body included", async () => {
    const file = join(dir, "sa-token-401");
    writeFileSync(file, "old-token\n");
    const valid = new Set(["old-token"]);
    const { server, url, seen } = await standInTokenApi(valid);
    const k = new KubeClient({ server: url, token: "old-token", tokenFile: file });
    try {
      expect(await k.get("/a")).toEqual({ token: "old-token" });
      // Rotation: the kubelet writes a new token and the server stops accepting the old one.
      writeFileSync(file, "new-token\n");
      valid.clear();
      valid.add("new-token");
      expect(await k.mergePatch("/b", { spec: { x: 1 } })).toEqual({ token: "new-token" });
      expect(await k.get("/c")).toEqual({ token: "new-token" });
      expect(seen.map((s) => `${s.method} ${s.token} ${s.body}`)).toEqual([
        "GET old-token ",
        'PATCH old-token {"spec":{"x":1}}',
        'PATCH new-token {"spec":{"x":1}}',
        "GET new-token ",
      ]);
    } finally {
      await k.close();
      server.close();
    }
  });

  test("a 401 with the same token in the file is reported, not retried; without a token file neither", async () => {
    const file = join(dir, "sa-token-same");
    writeFileSync(file, "revoked\n");
    const { server, url, seen } = await standInTokenApi(new Set());
    const withFile = new KubeClient({ server: url, token: "revoked", tokenFile: file });
    const withoutFile = new KubeClient({ server: url, token: "static" });
    try {
      const e1 = await withFile.get("/x").catch((e) => e);
      expect(isCoreError(e1, "AUTH_FAILED")).toBe(true);
      expect(kubeStatusOf(e1)).toBe(401);
      const e2 = await withoutFile.get("/y").catch((e) => e);
      expect(kubeStatusOf(e2)).toBe(401);
      expect(seen.map((s) => s.token)).toEqual(["revoked", "static"]);
    } finally {
      await withFile.close();
      await withoutFile.close();
      server.close();
    }
  });

  test("the file is re-read once the token is older than tokenMaxAgeMs, and not before", async () => {
    const file = join(dir, "sa-token-age");
    writeFileSync(file, "t1\n");
    const { server, url, seen } = await standInTokenApi(new Set(["t1", "t2", "t3"]));
    const fresh = new KubeClient({ server: url, token: "t1", tokenFile: file });
    const aging = new KubeClient({ server: url, token: "t1", tokenFile: file }, { tokenMaxAgeMs: 50 });
    try {
      writeFileSync(file, "t2\n");
      await fresh.get("/default-age");
      await Bun.sleep(80);
      await aging.get("/aged");
      writeFileSync(file, "t3\n");
      await aging.get("/young");
      await Bun.sleep(80);
      await aging.get("/aged-again");
      // A vanished file keeps the token in hand.
      rmSync(file);
      await Bun.sleep(80);
      await aging.get("/file-gone");
      expect(seen.map((s) => s.token)).toEqual(["t1", "t2", "t2", "t3", "t3"]);
    } finally {
      await fresh.close();
      await aging.close();
      server.close();
    }
  });
});

describe("Informer", () => {
  test("lists, watches from the list's resourceVersion, and relists after a 410", async () => {
    const requests: string[] = [];
    let lists = 0;
    const { server, url } = await fakeApi((req, res) => {
      requests.push(req.url!);
      res.writeHead(200, { "content-type": "application/json" });
      if (!req.url!.includes("watch=1")) {
        lists++;
        res.end(JSON.stringify({ metadata: { resourceVersion: `${lists * 100}` }, items: [{ metadata: { name: `item${lists}`, resourceVersion: "1" } }] }));
        return;
      }
      if (lists === 1) {
        res.end(
          `${JSON.stringify({ type: "MODIFIED", object: { metadata: { name: "item1", resourceVersion: "101" } } })}\n` +
            `${JSON.stringify({ type: "ERROR", object: { code: 410, message: "gone" } })}\n`,
        );
        return;
      }
      // Second watch: hold the stream open until the test stops the informer.
      res.write(`${JSON.stringify({ type: "BOOKMARK", object: { metadata: { resourceVersion: "250" } } })}\n`);
    });
    const k = new KubeClient({ server: url });
    const events: string[] = [];
    const inf = new Informer(k, { path: "/things", onEvent: (t, o) => events.push(`${t} ${o.metadata.name}`), backoffMs: 10 });
    const stop = inf.start();
    try {
      const deadline = Date.now() + 5000;
      while (requests.length < 4 && Date.now() < deadline) await Bun.sleep(10);
      expect(events).toEqual(["ADDED item1", "MODIFIED item1", "ADDED item2"]);
      expect(requests[0]).toBe("/things");
      expect(requests[1]).toContain("resourceVersion=100&");
      expect(requests[2]).toBe("/things");
      expect(requests[3]).toContain("resourceVersion=200&");
      expect(inf.synced).toBe(true);
    } finally {
      await stop();
      await k.close();
      server.closeAllConnections();
      server.close();
    }
  });

  test("a list's start and end are reported in order with its objects and with a watch that fails at once", async () => {
    let lists = 0;
    let watches = 0;
    const { server, url } = await fakeApi((req, res) => {
      if (!req.url!.includes("watch=1")) {
        lists++;
        res.writeHead(200, { "content-type": "application/json" });
        const items = lists === 1 ? [{ metadata: { name: "a", resourceVersion: "1" } }, { metadata: { name: "b", resourceVersion: "2" } }] : [{ metadata: { name: "b", resourceVersion: "3" } }];
        res.end(JSON.stringify({ metadata: { resourceVersion: `${lists * 10}` }, items }));
        return;
      }
      watches++;
      if (watches === 1) {
        res.writeHead(500, { "content-type": "application/json" });
        res.end(JSON.stringify({ kind: "Status", code: 500, message: "etcd unavailable" }));
        return;
      }
      res.writeHead(200, { "content-type": "application/json" });
      res.write(`${JSON.stringify({ type: "MODIFIED", object: { metadata: { name: "b", resourceVersion: "4" } } })}\n`);
    });
    const k = new KubeClient({ server: url });
    const log: string[] = [];
    const inf = new Informer(k, {
      path: "/things",
      onEvent: (t, o) => log.push(`${t} ${o.metadata.name}`),
      onError: () => log.push("error"),
      onListStart: () => log.push("listStart"),
      onListed: () => log.push("listed"),
      backoffMs: 10,
    });
    const stop = inf.start();
    try {
      const deadline = Date.now() + 5000;
      while (!log.includes("MODIFIED b") && Date.now() < deadline) await Bun.sleep(10);
      expect(log).toEqual(["listStart", "ADDED a", "ADDED b", "listed", "error", "listStart", "ADDED b", "listed", "MODIFIED b"]);
    } finally {
      await stop();
      await k.close();
      server.closeAllConnections();
      server.close();
    }
  });
});
