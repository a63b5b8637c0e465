/**
 * The registry client against a real CNCF Distribution 2.8 registry (plain, htpasswd, token, TLS,
 * mTLS), plus small local HTTP stand-ins for failures a healthy registry cannot be made to show
 * (corrupted bodies, dropped connections, 429, cross-origin redirects); their test names say so.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect, createServer, type Server, type Socket } from "node:net";
import type { Content, Descriptor } from "../../src/core/content/store.ts";
import { CoreError, isCoreError } from "../../src/core/errors.ts";
import { digestOf, readAll } from "../../src/core/oci/digest.ts";
import { OCI_EMPTY, OCI_INDEX, OCI_MANIFEST } from "../../src/core/oci/media-types.ts";
import type { ProgressEvent } from "../../src/core/progress.ts";
import {
  createDockerConfigProvider,
  createRegistryClient,
  parseCredsFlag,
  staticCredentials,
  type RegistryClientOptions,
  type RegistryRepository,
} from "../../src/core/registry/index.ts";
import { cranePath } from "../harness/peers.ts";
import { startRegistry, type RegistryServer } from "../harness/registry.ts";
import { runOk } from "../harness/run.ts";

const MiB = 1 << 20;
const fastRetry = { maxAttempts: 3, baseDelayMs: 5, maxDelayMs: 20, maxTotalMs: 10_000 };

function blobOf(size: number, seed = 1): { bytes: Uint8Array; desc: Descriptor } {
  const bytes = new Uint8Array(size);
  let x = seed * 2654435761;
  for (let i = 0; i < size; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    bytes[i] = x >>> 24;
  }
  return { bytes, desc: { mediaType: "application/octet-stream", digest: digestOf(bytes), size } };
}

function manifestOf(layers: Descriptor[], extra: Record<string, unknown> = {}): { bytes: Uint8Array; desc: Descriptor } {
  const config = { mediaType: OCI_EMPTY, digest: digestOf("{}"), size: 2 };
  const bytes = new TextEncoder().encode(JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, config, layers, ...extra }));
  return { bytes, desc: { mediaType: OCI_MANIFEST, digest: digestOf(bytes), size: bytes.byteLength } };
}

const EMPTY = { bytes: new TextEncoder().encode("{}"), desc: { mediaType: OCI_EMPTY, digest: digestOf("{}"), size: 2 } };

/** Pushes the empty config, the layers and the manifest under `tag`. */
async function pushImage(repo: RegistryRepository, tag: string, layers: { bytes: Uint8Array; desc: Descriptor }[], extra = {}) {
  await repo.push(EMPTY.desc, EMPTY.bytes);
  for (const l of layers) await repo.push(l.desc, l.bytes);
  const m = manifestOf(
    layers.map((l) => l.desc),
    extra,
  );
  await repo.pushReference(m.desc, m.bytes, tag);
  return m;
}

async function collect(c: Content): Promise<Uint8Array> {
  return readAll(c, 64 * MiB);
}

async function caught(p: Promise<unknown>): Promise<CoreError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof CoreError) return e;
    throw e;
  }
  throw new Error("expected a CoreError, got success");
}

async function* pieces(bytes: Uint8Array, size: number): Content {
  for (let i = 0; i < bytes.byteLength; i += size) yield bytes.slice(i, i + size);
}

describe("plain registry", () => {
  let reg: RegistryServer;
  beforeAll(async () => {
    reg = await startRegistry();
  });
  afterAll(() => reg.stop());
  const client = (o: RegistryClientOptions = {}) => createRegistryClient({ retry: fastRetry, ...o });

  test("monolithic blob push: POST + one PUT, then fetch round-trips", async () => {
    const c = client();
    const repo = c.repository({ registry: reg.host, repository: "mono/app" });
    const b = blobOf(300_000);
    await repo.push(b.desc, b.bytes);
    const s = c.stats().byKind;
    expect(s["POST upload"]).toBe(1);
    expect(s["PUT upload"]).toBe(1);
    expect(s["PATCH upload"]).toBeUndefined();
    expect(await repo.exists(b.desc)).toBe(true);
    expect(digestOf(await collect(await repo.fetch(b.desc))) as string).toBe(b.desc.digest);
    // A second push is skipped after the HEAD.
    await repo.push(b.desc, b.bytes);
    expect(c.stats().byKind["POST upload"]).toBe(1);
    await c.close();
  });

  test("chunked push of 12 MiB from an odd-sized stream: 12 PATCHes with Content-Range, progress events", async () => {
    const events: ProgressEvent[] = [];
    const c = client({ chunkSize: MiB, onProgress: (e) => events.push(e) });
    const repo = c.repository({ registry: reg.host, repository: "chunked/app" });
    const b = blobOf(12 * MiB, 7);
    await repo.push(b.desc, pieces(b.bytes, 77_777));
    const s = c.stats().byKind;
    expect(s["PATCH upload"]).toBe(12);
    expect(s["PUT upload"]).toBe(1);
    const advanced = events.filter((e) => e.kind === "advance").reduce((n, e) => n + (e.kind === "advance" ? e.bytes : 0), 0);
    expect(advanced).toBe(12 * MiB);
    expect(events[0]).toEqual({ kind: "start", id: b.desc.digest, label: b.desc.digest.slice(7, 19), total: 12 * MiB });
    expect(events.at(-1)).toEqual({ kind: "done", id: b.desc.digest });
    const back = await collect(await repo.fetch(b.desc));
    expect(back.byteLength).toBe(12 * MiB);
    expect(digestOf(back) as string).toBe(b.desc.digest);
    await c.close();
  });

  test("a wrong descriptor is refused before the commit, for both upload paths", async () => {
    const c = client({ chunkSize: 64 * 1024 });
    const repo = c.repository({ registry: reg.host, repository: "wrong/app" });
    for (const size of [1000, 200_000]) {
      const b = blobOf(size, 3);
      const lie = { ...b.desc, digest: blobOf(size, 4).desc.digest };
      const e = await caught(repo.push(lie, b.bytes));
      expect(e.code).toBe("DIGEST_MISMATCH");
      expect(await repo.exists(lie)).toBe(false);
      const short = await caught(repo.push({ ...b.desc, size: size - 1 }, pieces(b.bytes, 999)));
      expect(short.code).toBe("DIGEST_MISMATCH");
    }
    // The one-chunk blobs are refused before any session opens; the chunked ones cancel theirs.
    expect(c.stats().byKind["POST upload"]).toBe(2);
    expect(c.stats().byKind["DELETE upload"]).toBe(2);
    expect(c.stats().byKind["PUT upload"]).toBeUndefined();
    await c.close();
  });

  test("cross-repository mount: 201 → true, unknown blob → false", async () => {
    const c = client();
    const from = c.repository({ registry: reg.host, repository: "mount/src" });
    const to = c.repository({ registry: reg.host, repository: "mount/dst" });
    const b = blobOf(50_000, 11);
    await from.push(b.desc, b.bytes);
    expect(await to.exists(b.desc)).toBe(false);
    expect(await to.mount(b.desc, "mount/src")).toBe(true);
    expect(await to.exists(b.desc)).toBe(true);
    expect(c.stats().byKind["PUT upload"]).toBe(1);
    const missing = blobOf(10, 12);
    expect(await to.mount(missing.desc, "mount/src")).toBe(false);
    await c.close();
  });

  test("manifest by tag and digest; resolve uses HEAD only; fetchManifest returns exact bytes", async () => {
    const c = client();
    const repo = c.repository({ registry: reg.host, repository: "manifests/app" });
    const layer = blobOf(1000, 21);
    const m = await pushImage(repo, "v1", [layer]);
    const before = c.stats().byKind["GET manifest"] ?? 0;
    expect(await repo.resolve("v1")).toEqual(m.desc);
    expect(await repo.resolve(m.desc.digest)).toEqual(m.desc);
    expect(c.stats().byKind["GET manifest"] ?? 0).toBe(before);
    const got = await repo.fetchManifest("v1");
    expect(got.descriptor).toEqual(m.desc);
    expect(new TextDecoder().decode(got.bytes)).toBe(new TextDecoder().decode(m.bytes));
    // Push by digest (untagged), then fetch it through the Target interface.
    const m2 = manifestOf([layer.desc], { annotations: { a: "b" } });
    await repo.push(m2.desc, m2.bytes);
    expect(await collect(await repo.fetch(m2.desc))).toEqual(m2.bytes);
    expect((await caught(repo.resolve("nope"))).code).toBe("NOT_FOUND");
    const unknownRepo = c.repository({ registry: reg.host, repository: "does/not/exist" });
    const nf = await caught(unknownRepo.fetchManifest("latest"));
    expect(nf.code).toBe("NOT_FOUND");
    expect(nf.message).toStartWith(`fetch manifest ${reg.host}/does/not/exist:latest: not found (HTTP 404) (`);
    await c.close();
  });

  test("tag copies the manifest and skips when the tag already points at it", async () => {
    const c = client();
    const repo = c.repository({ registry: reg.host, repository: "tag/app" });
    const m = await pushImage(repo, "src", [blobOf(10, 31)]);
    await repo.tag(m.desc, "copy");
    expect((await repo.resolve("copy")).digest).toBe(m.desc.digest);
    const puts = c.stats().byKind["PUT manifest"];
    await repo.tag(m.desc, "copy");
    expect(c.stats().byKind["PUT manifest"]).toBe(puts);
    await c.close();
  });

  test("tags: every tag listed (distribution 2.8 ignores n and sends no Link; paging is tested on a stand-in below)", async () => {
    const c = client({ tagPageSize: 2 });
    const repo = c.repository({ registry: reg.host, repository: "paged/app" });
    const m = await pushImage(repo, "t1", [blobOf(10, 41)]);
    for (const t of ["t2", "t3", "t4", "t5"]) await repo.pushReference(m.desc, m.bytes, t);
    const tags = await repo.tags();
    expect([...tags].sort()).toEqual(["t1", "t2", "t3", "t4", "t5"]);
    expect(c.stats().byKind["GET tags"]).toBe(1);
    await c.close();
  });

  test("delete a manifest by digest", async () => {
    const c = client();
    const repo = c.repository({ registry: reg.host, repository: "delete/app" });
    const m = await pushImage(repo, "gone", [blobOf(10, 51)]);
    await repo.delete(m.desc);
    expect((await caught(repo.resolve(m.desc.digest))).code).toBe("NOT_FOUND");
    expect((await caught(repo.resolve("gone"))).code).toBe("NOT_FOUND");
    await c.close();
  });

  test("referrers: distribution 2.8 has no API (404), so the sha256-<hex> tag index is read", async () => {
    const c = client();
    const repo = c.repository({ registry: reg.host, repository: "referrers/app" });
    const subject = await pushImage(repo, "subject", [blobOf(10, 61)]);
    expect(await repo.referrers(subject.desc.digest)).toEqual([]);
    const sig = await pushImage(repo, "sig", [blobOf(10, 62)], { artifactType: "application/vnd.test.sig", subject: subject.desc });
    const entry = { ...sig.desc, artifactType: "application/vnd.test.sig" };
    const index = new TextEncoder().encode(JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [entry] }));
    await repo.pushReference({ mediaType: OCI_INDEX, digest: digestOf(index), size: index.byteLength }, index, subject.desc.digest.replace(":", "-"));
    expect(await repo.referrers(subject.desc.digest)).toEqual([entry]);
    expect(await repo.referrers(subject.desc.digest, "application/vnd.test.sig")).toEqual([entry]);
    expect(await repo.referrers(subject.desc.digest, "application/other")).toEqual([]);
    await c.close();
  });

  test("an aborted signal gives CANCELLED, before a request and in the middle of a blob stream", async () => {
    const c = client();
    const repo = c.repository({ registry: reg.host, repository: "abort/app" });
    const ac = new AbortController();
    ac.abort("user pressed ctrl-c");
    expect((await caught(repo.resolve("x", { signal: ac.signal }))).code).toBe("CANCELLED");

    const b = blobOf(8 * MiB, 13);
    await repo.push(b.desc, b.bytes);
    const mid = new AbortController();
    const stream = await repo.fetch(b.desc, { signal: mid.signal });
    let got = 0;
    const e = await caught(
      (async () => {
        for await (const chunk of stream) {
          got += chunk.byteLength;
          mid.abort();
        }
      })(),
    );
    expect(e.code).toBe("CANCELLED");
    expect(got).toBeLessThan(8 * MiB);
    await c.close();
  });
});

describe("htpasswd registry", () => {
  let reg: RegistryServer;
  beforeAll(async () => {
    reg = await startRegistry({ auth: "htpasswd" });
  });
  afterAll(() => reg.stop());

  test("right password pushes; Basic is sent after the first challenge without more 401s", async () => {
    const c = createRegistryClient({ credentials: staticCredentials({ kind: "basic", username: reg.username!, password: reg.password! }) });
    const repo = c.repository({ registry: reg.host, repository: "basic/app" });
    const m = await pushImage(repo, "v1", [blobOf(1000, 71)]);
    expect((await repo.resolve("v1")).digest).toBe(m.desc.digest);
    expect(c.stats().tokens).toBe(0);
    await c.ping(reg.host);
    await c.close();
  });

  test("wrong password → AUTH_FAILED with a hint", async () => {
    const c = createRegistryClient({ credentials: staticCredentials({ kind: "basic", username: reg.username!, password: "wrong" }) });
    const e = await caught(c.repository({ registry: reg.host, repository: "basic/app" }).resolve("v1"));
    expect(e.code).toBe("AUTH_FAILED");
    expect(e.details.hint).toBe(`check --creds or run docker login ${reg.host}`);
    expect((await caught(c.ping(reg.host))).code).toBe("AUTH_FAILED");
    await c.close();
  });

  test("anonymous → AUTH_FAILED", async () => {
    const c = createRegistryClient();
    const e = await caught(c.repository({ registry: reg.host, repository: "basic/app" }).tags());
    expect(e.code).toBe("AUTH_FAILED");
    expect(e.details.hint).toBe(`no credentials were found for ${reg.host}: pass --creds, or run docker login ${reg.host}`);
    await c.close();
  });

  test("a wrong password from a docker config file: the hint names that file", async () => {
    const dir = mkdtempSync(join(tmpdir(), "berth-docker-config-"));
    try {
      const file = join(dir, "config.json");
      writeFileSync(file, JSON.stringify({ auths: { [reg.host]: { auth: Buffer.from(`${reg.username}:wrong`).toString("base64") } } }));
      const c = createRegistryClient({ credentials: createDockerConfigProvider({ env: { DOCKER_CONFIG: dir }, homeDir: dir }) });
      const e = await caught(c.repository({ registry: reg.host, repository: "basic/app" }).resolve("v1"));
      expect(e.code).toBe("AUTH_FAILED");
      expect(e.details.hint).toBe(`the registry refused the credentials from ${file}: fix them, or run docker login ${reg.host}`);
      expect(JSON.stringify({ m: e.message, d: e.details })).not.toContain("wrong");
      await c.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("token registry", () => {
  let reg: RegistryServer;
  beforeAll(async () => {
    reg = await startRegistry({ auth: "token" });
  });
  afterAll(() => reg.stop());

  test("one token per scope for a whole push and the reads after it", async () => {
    const c = createRegistryClient({ credentials: staticCredentials({ kind: "basic", username: reg.username!, password: reg.password! }) });
    const issuedBefore = reg.tokenServer!.issued;
    const repo = c.repository({ registry: reg.host, repository: "token/app" });
    const layer = blobOf(2 * MiB, 81);
    const m = await pushImage(repo, "v1", [layer]);
    expect(await repo.resolve("v1")).toEqual(m.desc);
    expect(digestOf(await collect(await repo.fetch(layer.desc))) as string).toBe(layer.desc.digest);
    expect(await repo.tags()).toEqual(["v1"]);
    expect(c.stats().tokens).toBe(1);
    expect(reg.tokenServer!.issued - issuedBefore).toBe(1);
    // A read-only client of another repository needs its own (pull) token, once.
    const other = c.repository({ registry: reg.host, repository: "token/other" });
    await caught(other.resolve("x"));
    await caught(other.resolve("y"));
    expect(c.stats().tokens).toBe(2);
    const last = reg.tokenServer!.requests.at(-1)!;
    expect(last.scopes).toEqual(["repository:token/other:pull"]);
    expect(last.account).toBe(reg.username!);
    await c.close();
  });

  test("mount asks for pull on the source repository in the same token", async () => {
    const c = createRegistryClient({ credentials: staticCredentials({ kind: "basic", username: reg.username!, password: reg.password! }) });
    const src = c.repository({ registry: reg.host, repository: "token/src" });
    const b = blobOf(1000, 82);
    await src.push(b.desc, b.bytes);
    const dst = c.repository({ registry: reg.host, repository: "token/dst" });
    expect(await dst.mount(b.desc, "token/src")).toBe(true);
    expect(reg.tokenServer!.requests.at(-1)!.scopes).toEqual(["repository:token/dst:push,pull", "repository:token/src:pull"]);
    await c.close();
  });

  test("expires_in is honoured: a 2 s token is fetched again after it lapses", async () => {
    const short = await startRegistry({ auth: "token", tokenExpiresInSeconds: 2 });
    try {
      const c = createRegistryClient({ credentials: staticCredentials({ kind: "basic", username: short.username!, password: short.password! }) });
      const repo = c.repository({ registry: short.host, repository: "expiry/app" });
      await caught(repo.resolve("a"));
      await caught(repo.resolve("b"));
      expect(c.stats().tokens).toBe(1);
      await Bun.sleep(1100); // past expires_in minus the client's safety margin (half the lifetime for short tokens)
      await caught(repo.resolve("c"));
      expect(c.stats().tokens).toBe(2);
      expect(short.tokenServer!.issued).toBe(2);
      await c.close();
    } finally {
      await short.stop();
    }
  });

  test("wrong password → AUTH_FAILED from the token server", async () => {
    const c = createRegistryClient({ credentials: staticCredentials(parseCredsFlag(`${reg.username}:nope`)) });
    const e = await caught(c.repository({ registry: reg.host, repository: "token/app" }).resolve("v1"));
    expect(e.code).toBe("AUTH_FAILED");
    expect(e.message).toContain("token server");
    expect(e.details.hint).toBe(`the registry refused the credentials from --creds: fix them, or run docker login ${reg.host}`);
    expect((await caught(c.ping(reg.host))).code).toBe("AUTH_FAILED");
    await c.close();
    const good = createRegistryClient({ credentials: staticCredentials({ kind: "basic", username: reg.username!, password: reg.password! }) });
    await good.ping(reg.host);
    expect(good.stats().tokens).toBe(1);
    await good.close();
  });
});

describe("interop with crane (oracle), credentials from a docker config file", () => {
  let reg: RegistryServer;
  let dir = "";
  beforeAll(async () => {
    // htpasswd, not token: crane 0.22 refuses a token realm on a loopback address.
    reg = await startRegistry({ auth: "htpasswd" });
    dir = mkdtempSync(join(tmpdir(), "berth-docker-config-"));
    const auth = Buffer.from(`${reg.username}:${reg.password}`).toString("base64");
    writeFileSync(join(dir, "config.json"), JSON.stringify({ auths: { [reg.host]: { auth } } }));
  });
  afterAll(async () => {
    await reg.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  const crane = async (...args: string[]) => (await runOk([cranePath(), ...args, "--insecure"], { env: { DOCKER_CONFIG: dir } })).stdout;

  test("berth pushes, crane sees the same digest, bytes and tags; crane copies, berth reads and verifies", async () => {
    const credentials = createDockerConfigProvider({ env: { DOCKER_CONFIG: dir }, homeDir: join(dir, "no-home") });
    const c = createRegistryClient({ credentials, chunkSize: MiB });
    const repo = c.repository({ registry: reg.host, repository: "interop/app" });
    const layer = blobOf(3 * MiB + 5, 121);
    const m = await pushImage(repo, "v1", [layer]);
    expect((await crane("digest", `${reg.host}/interop/app:v1`)).trim()).toBe(m.desc.digest);
    expect(await crane("manifest", `${reg.host}/interop/app:v1`)).toBe(new TextDecoder().decode(m.bytes));
    expect((await crane("ls", `${reg.host}/interop/app`)).trim().split("\n")).toEqual(["v1"]);
    const blobSum = await runOk(["sh", "-c", `"$0" blob --insecure "$1" | sha256sum`, cranePath(), `${reg.host}/interop/app@${layer.desc.digest}`], {
      env: { DOCKER_CONFIG: dir },
    });
    expect("sha256:" + blobSum.stdout.split(" ")[0]).toBe(layer.desc.digest);

    await crane("copy", `${reg.host}/interop/app:v1`, `${reg.host}/interop/copy:v2`);
    const copy = c.repository({ registry: reg.host, repository: "interop/copy" });
    expect(await copy.resolve("v2")).toEqual(m.desc);
    expect(digestOf(await collect(await copy.fetch(layer.desc))) as string).toBe(layer.desc.digest);
    await c.close();
  });
});

describe("TLS", () => {
  let tls: RegistryServer;
  let mtls: RegistryServer;
  beforeAll(async () => {
    [tls, mtls] = await Promise.all([startRegistry({ tls: "tls" }), startRegistry({ tls: "mtls" })]);
  });
  afterAll(() => Promise.all([tls.stop(), mtls.stop()]));

  test("custom CA is trusted; without it → AUTH_FAILED with a --ca-file hint; --insecure skips verification", async () => {
    const ca = readFileSync(tls.caFile!, "utf8");
    const good = createRegistryClient({ ca });
    const m = await pushImage(good.repository({ registry: tls.host, repository: "tls/app" }), "v1", [blobOf(100, 91)]);
    await good.close();

    const noCa = createRegistryClient({ retry: fastRetry });
    const e = await caught(noCa.repository({ registry: tls.host, repository: "tls/app" }).resolve("v1"));
    expect(e.code).toBe("AUTH_FAILED");
    expect(e.details.hint).toContain("--ca-file");
    await noCa.close();

    const insecure = createRegistryClient({ insecure: true });
    expect((await insecure.repository({ registry: tls.host, repository: "tls/app" }).resolve("v1")).digest).toBe(m.desc.digest);
    await insecure.close();
  });

  test("mTLS: client certificate accepted; without one → AUTH_FAILED", async () => {
    const ca = readFileSync(mtls.caFile!, "utf8");
    const cert = readFileSync(mtls.clientCertFile!, "utf8");
    const key = readFileSync(mtls.clientKeyFile!, "utf8");
    const good = createRegistryClient({ ca, cert, key });
    await pushImage(good.repository({ registry: mtls.host, repository: "mtls/app" }), "v1", [blobOf(100, 92)]);
    expect(await good.repository({ registry: mtls.host, repository: "mtls/app" }).tags()).toEqual(["v1"]);
    await good.close();

    const noCert = createRegistryClient({ ca, retry: fastRetry });
    const e = await caught(noCert.repository({ registry: mtls.host, repository: "mtls/app" }).resolve("v1"));
    expect(e.code).toBe("AUTH_FAILED");
    await noCert.close();
  });
});

/** A local HTTP/1.1 server written on raw sockets, so tests can misbehave at byte level. */
interface RawRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  /** Body as latin1 text. */
  body: string;
}
type RawHandler = (req: RawRequest, sock: Socket) => void;

async function rawServer(handler: RawHandler): Promise<{ host: string; requests: RawRequest[]; close(): Promise<void> }> {
  const requests: RawRequest[] = [];
  const server: Server = createServer((sock) => {
    let buf = "";
    sock.on("error", () => {});
    sock.on("data", (d) => {
      if (buf === "" && d[0] === 0x16) {
        sock.destroy(); // a TLS ClientHello: the client's https attempt on a loopback host
        return;
      }
      buf += d.toString("latin1");
      for (;;) {
        const end = buf.indexOf("\r\n\r\n");
        if (end < 0) return;
        const head = buf.slice(0, end).split("\r\n");
        buf = buf.slice(end + 4);
        const [method, path] = head[0]!.split(" ") as [string, string];
        if (!/^[A-Z]+$/.test(method ?? "")) {
          sock.destroy(); // a TLS ClientHello from the https attempt
          return;
        }
        const headers: Record<string, string> = {};
        for (const line of head.slice(1)) {
          const i = line.indexOf(":");
          headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
        }
        const length = Number(headers["content-length"] ?? 0);
        if (buf.length < length) {
          // Body not complete yet: put the head back and wait for more data.
          buf = head.join("\r\n") + "\r\n\r\n" + buf;
          return;
        }
        const req = { method, path, headers, body: buf.slice(0, length) };
        buf = buf.slice(length);
        requests.push(req);
        handler(req, sock);
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as { port: number }).port;
  return {
    host: `127.0.0.1:${port}`,
    requests,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

function respond(sock: Socket, status: number, headers: Record<string, string>, body: Uint8Array | string = ""): void {
  const b = typeof body === "string" ? Buffer.from(body) : Buffer.from(body);
  const lines = [`HTTP/1.1 ${status} X`, `content-length: ${b.byteLength}`, ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`)];
  sock.write(lines.join("\r\n") + "\r\n\r\n");
  sock.write(b);
}

describe("misbehaving servers (local stand-ins, not a real registry)", () => {
  test("stand-in: corrupted blob and manifest bodies → DIGEST_MISMATCH", async () => {
    const b = blobOf(5000, 101);
    const corrupt = b.bytes.slice();
    corrupt[100] = corrupt[100]! ^ 0xff;
    const m = manifestOf([b.desc]);
    const srv = await rawServer((req, sock) => {
      if (req.path === "/v2/") return respond(sock, 200, {});
      if (req.path.includes("/blobs/")) return respond(sock, 200, {}, corrupt);
      if (req.path.includes("/manifests/")) return respond(sock, 200, { "content-type": OCI_MANIFEST }, manifestOf([]).bytes);
      respond(sock, 404, {});
    });
    const c = createRegistryClient({ retry: fastRetry });
    const repo = c.repository({ registry: srv.host, repository: "bad/app" });
    const e = await caught(collect(await repo.fetch(b.desc)));
    expect(e.code).toBe("DIGEST_MISMATCH");
    expect(e.message).toContain(b.desc.digest);
    expect((await caught(repo.fetchManifest(m.desc.digest))).code).toBe("DIGEST_MISMATCH");
    expect((await caught(repo.fetch({ ...b.desc, size: 4000 }))).code).toBe("DIGEST_MISMATCH");
    await c.close();
    await srv.close();
  });

  test("stand-in: connection dropped mid-body every time → REGISTRY_UNAVAILABLE after maxAttempts, resumed with Range", async () => {
    const b = blobOf(10_000, 102);
    const srv = await rawServer((req, sock) => {
      if (req.path === "/v2/") return respond(sock, 200, {});
      const from = Number(/bytes=(\d+)-/.exec(req.headers.range ?? "")?.[1] ?? 0);
      const status = from > 0 ? 206 : 200;
      const extra: Record<string, string> = from > 0 ? { "content-range": `bytes ${from}-${b.bytes.length - 1}/${b.bytes.length}` } : {};
      const rest = b.bytes.subarray(from);
      sock.write(
        [`HTTP/1.1 ${status} X`, `content-length: ${rest.byteLength}`, ...Object.entries(extra).map(([k, v]) => `${k}: ${v}`)].join("\r\n") +
          "\r\n\r\n",
      );
      sock.write(rest.subarray(0, 1000));
      setTimeout(() => sock.destroy(), 20);
    });
    const c = createRegistryClient({ retry: fastRetry });
    const repo = c.repository({ registry: srv.host, repository: "drop/app" });
    const e = await caught(collect(await repo.fetch(b.desc)));
    expect(e.code).toBe("REGISTRY_UNAVAILABLE");
    expect(e.message).toContain("after 3 attempts");
    const gets = srv.requests.filter((r) => r.path.includes("/blobs/"));
    expect(gets.length).toBe(3);
    expect(gets.map((r) => r.headers.range)).toEqual([undefined, "bytes=1000-", "bytes=2000-"]);
    await c.close();
    await srv.close();
  });

  test("stand-in: one dropped connection mid-body is resumed and the blob verifies", async () => {
    const b = blobOf(10_000, 103);
    let n = 0;
    const srv = await rawServer((req, sock) => {
      if (req.path === "/v2/") return respond(sock, 200, {});
      if (n++ === 0) {
        sock.write(`HTTP/1.1 200 X\r\ncontent-length: ${b.bytes.length}\r\n\r\n`);
        sock.write(b.bytes.subarray(0, 4321));
        setTimeout(() => sock.destroy(), 20);
        return;
      }
      // This server ignores Range: the client must skip what it already has.
      respond(sock, 200, {}, b.bytes);
    });
    const c = createRegistryClient({ retry: fastRetry });
    const got = await collect(await c.repository({ registry: srv.host, repository: "drop/app" }).fetch(b.desc));
    expect(digestOf(got) as string).toBe(b.desc.digest);
    await c.close();
    await srv.close();
  });

  test("stand-in: 429 with Retry-After is honoured, and a too-long Retry-After fails at once", async () => {
    const m = manifestOf([]);
    let calls = 0;
    const srv = await rawServer((req, sock) => {
      if (req.path === "/v2/") return respond(sock, 200, {});
      if (req.path.endsWith("/slow")) return respond(sock, 429, { "retry-after": "3600" }, '{"errors":[{"code":"TOOMANYREQUESTS","message":"slow down"}]}');
      if (calls++ === 0) return respond(sock, 429, { "retry-after": "1" });
      respond(sock, 200, { "content-type": OCI_MANIFEST }, m.bytes);
    });
    const c = createRegistryClient({ retry: { ...fastRetry, maxTotalMs: 60_000 } });
    const repo = c.repository({ registry: srv.host, repository: "rate/app" });
    const t0 = performance.now();
    const got = await repo.fetchManifest("v1");
    const elapsed = performance.now() - t0;
    expect(got.descriptor.digest).toBe(m.desc.digest);
    expect(elapsed).toBeGreaterThanOrEqual(950); // the server asked for 1 s; our own backoff is 5 ms
    const t1 = performance.now();
    const e = await caught(repo.fetchManifest("slow"));
    expect(performance.now() - t1).toBeLessThan(1000);
    expect(e.code).toBe("REGISTRY_UNAVAILABLE");
    expect(e.details.retryAfter).toBe(3600);
    expect(e.details.registryCode).toBe("TOOMANYREQUESTS");
    await c.close();
    await srv.close();
  });

  test("stand-in: 503 is retried up to maxAttempts", async () => {
    const srv = await rawServer((req, sock) => {
      if (req.path === "/v2/") return respond(sock, 200, {});
      respond(sock, 503, {});
    });
    const c = createRegistryClient({ retry: fastRetry });
    const e = await caught(c.repository({ registry: srv.host, repository: "down/app" }).tags());
    expect(e.code).toBe("REGISTRY_UNAVAILABLE");
    expect(srv.requests.filter((r) => r.path.includes("tags")).length).toBe(3);
    await c.close();
    await srv.close();
  });

  test("stand-in: a PATCH whose answer is lost is resent, the 416 resynced from the upload status, and the blob commits", async () => {
    const chunk = 64 * 1024;
    const b = blobOf(3 * chunk + 123, 105);
    const stored: Buffer[] = [];
    let size = 0;
    let dropped = false;
    let committed = "";
    const srv = await rawServer((req, sock) => {
      if (req.path === "/v2/") return respond(sock, 200, {});
      if (req.method === "HEAD") return respond(sock, 404, {});
      if (req.method === "POST") return respond(sock, 202, { location: "/v2/resync/app/blobs/uploads/u1?_state=s0" });
      if (req.method === "GET") return respond(sock, 204, { range: `0-${size - 1}`, location: `/v2/resync/app/blobs/uploads/u1?_state=s${size}` });
      if (req.method === "PATCH") {
        const [start] = req.headers["content-range"]!.split("-").map(Number) as [number];
        if (start !== size) return respond(sock, 416, { range: `0-${size - 1}` });
        stored.push(Buffer.from(req.body, "latin1"));
        size += req.body.length;
        if (size > chunk && !dropped) {
          dropped = true; // the bytes landed, but the client never hears so
          sock.destroy();
          return;
        }
        return respond(sock, 202, { location: `/v2/resync/app/blobs/uploads/u1?_state=s${size}`, range: `0-${size - 1}` });
      }
      if (req.method === "PUT") {
        committed = new URL(req.path, "http://x").searchParams.get("digest") ?? "";
        return respond(sock, 201, {});
      }
      respond(sock, 405, {});
    });
    const c = createRegistryClient({ chunkSize: chunk, retry: fastRetry });
    await c.repository({ registry: srv.host, repository: "resync/app" }).push(b.desc, b.bytes);
    expect(dropped).toBe(true);
    expect(digestOf(Buffer.concat(stored)) as string).toBe(b.desc.digest);
    expect(committed).toBe(b.desc.digest);
    const s = c.stats().byKind;
    expect(s["PATCH upload"]).toBe(5); // 4 chunks + the resent one
    expect(s["GET upload"]).toBe(1);
    await c.close();
    await srv.close();
  });

  test("stand-in: resolve falls back to GET when HEAD lacks Docker-Content-Digest or answers 405", async () => {
    const m = manifestOf([blobOf(10, 106).desc]);
    const srv = await rawServer((req, sock) => {
      if (req.path === "/v2/") return respond(sock, 200, {});
      if (req.method === "HEAD" && req.path.endsWith("/nodigest")) {
        // HEAD: headers only, with the length the GET body would have.
        sock.write(`HTTP/1.1 200 X\r\ncontent-type: ${OCI_MANIFEST}\r\ncontent-length: ${m.bytes.byteLength}\r\n\r\n`);
        return;
      }
      if (req.method === "HEAD") return respond(sock, 405, {});
      respond(sock, 200, { "content-type": OCI_MANIFEST, "docker-content-digest": m.desc.digest }, m.bytes);
    });
    const c = createRegistryClient({ retry: fastRetry });
    const repo = c.repository({ registry: srv.host, repository: "head/app" });
    expect(await repo.resolve("nodigest")).toEqual(m.desc);
    expect(await repo.resolve("v1")).toEqual(m.desc);
    expect(c.stats().byKind["HEAD manifest"]).toBe(2);
    expect(c.stats().byKind["GET manifest"]).toBe(2);
    await c.close();
    await srv.close();
  });

  test("stand-in: referrers API with Link pages, filtered client-side unless OCI-Filters-Applied", async () => {
    const subject = "sha256:" + "5".repeat(64);
    const d = (n: number, artifactType: string) => ({ mediaType: OCI_MANIFEST, digest: "sha256:" + String(n).repeat(64), size: 100, artifactType });
    const page1 = [d(1, "application/sig"), d(2, "application/sbom")];
    const page2 = [d(3, "application/sig")];
    const index = (manifests: unknown[]) => JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests });
    const srv = await rawServer((req, sock) => {
      if (req.path === "/v2/") return respond(sock, 200, {});
      const u = new URL(req.path, "http://x");
      if (u.searchParams.get("artifactType") === "application/sbom") {
        return respond(sock, 200, { "content-type": OCI_INDEX, "oci-filters-applied": "artifactType" }, index([page1[1]]));
      }
      if (u.searchParams.get("page") === "2") return respond(sock, 200, { "content-type": OCI_INDEX }, index(page2));
      respond(sock, 200, { "content-type": OCI_INDEX, link: `<${u.pathname}?page=2>; rel="next"` }, index(page1));
    });
    const c = createRegistryClient({ retry: fastRetry });
    const repo = c.repository({ registry: srv.host, repository: "refs/app" });
    expect(await repo.referrers(subject)).toEqual([...page1, ...page2]);
    expect(await repo.referrers(subject, "application/sbom")).toEqual([page1[1]!]);
    // This stand-in ignores the filter on the paged listing, so the client filters.
    expect(await repo.referrers(subject, "application/sig")).toEqual([page1[0]!, page2[0]!]);
    expect(srv.requests.filter((r) => r.path.includes("/referrers/")).map((r) => r.path)[0]).toBe(`/v2/refs/app/referrers/${subject}`);
    await c.close();
    await srv.close();
  });

  test("stand-in: tags paginated by n with relative Link headers", async () => {
    const all = Array.from({ length: 7 }, (_, i) => `v${i}`);
    const srv = await rawServer((req, sock) => {
      if (req.path === "/v2/") return respond(sock, 200, {});
      const u = new URL(req.path, "http://x");
      const n = Number(u.searchParams.get("n"));
      const last = u.searchParams.get("last");
      const start = last ? all.indexOf(last) + 1 : 0;
      const page = all.slice(start, start + n);
      const more = start + n < all.length;
      respond(
        sock,
        200,
        { "content-type": "application/json", ...(more ? { link: `</v2/page/app/tags/list?n=${n}&last=${page.at(-1)}>; rel="next"` } : {}) },
        JSON.stringify({ name: "page/app", tags: page }),
      );
    });
    const c = createRegistryClient({ tagPageSize: 3 });
    expect(await c.repository({ registry: srv.host, repository: "page/app" }).tags()).toEqual(all);
    expect(srv.requests.filter((r) => r.path.includes("tags")).map((r) => r.path)).toEqual([
      "/v2/page/app/tags/list?n=3",
      "/v2/page/app/tags/list?n=3&last=v2",
      "/v2/page/app/tags/list?n=3&last=v5",
    ]);
    await c.close();
    await srv.close();
  });

  test("stand-in: blob redirect to another origin drops Authorization", async () => {
    const b = blobOf(2000, 104);
    const storage = await rawServer((_req, sock) => respond(sock, 200, {}, b.bytes));
    const srv = await rawServer((req, sock) => {
      if (req.path === "/v2/") return respond(sock, 200, {});
      respond(sock, 307, { location: `http://${storage.host}/bucket/blob?sig=abc` });
    });
    const c = createRegistryClient({ credentials: staticCredentials({ kind: "bearer", token: "secret-token" }) });
    const got = await collect(await c.repository({ registry: srv.host, repository: "redir/app" }).fetch(b.desc));
    expect(digestOf(got) as string).toBe(b.desc.digest);
    const regReq = srv.requests.find((r) => r.path.includes("/blobs/"))!;
    expect(regReq.headers.authorization).toBe("Bearer secret-token");
    expect(storage.requests.length).toBe(1);
    expect(storage.requests[0]!.path).toBe("/bucket/blob?sig=abc");
    expect(storage.requests[0]!.headers.authorization).toBeUndefined();
    await c.close();
    await srv.close();
    await storage.close();
  });

  test("stand-in token server: identity token POSTed as an OAuth2 refresh grant; 401 insufficient_scope widens the scope once", async () => {
    const tokenCalls: { method: string; params: URLSearchParams; auth?: string }[] = [];
    let host = "";
    const srv = await rawServer((req, sock) => {
      const challenge = (scope?: string) =>
        `Bearer realm="http://${host}/token",service="stand-in"${scope ? `,scope="${scope}",error="insufficient_scope"` : ""}`;
      if (req.path === "/token" && req.method === "POST") {
        const params = new URLSearchParams(req.body);
        tokenCalls.push({ method: "POST", params });
        return respond(sock, 200, { "content-type": "application/json" }, JSON.stringify({ access_token: `T:${params.get("scope")}`, expires_in: 300 }));
      }
      if (req.path.startsWith("/token?")) {
        const params = new URL(req.path, "http://x").searchParams;
        tokenCalls.push({ method: "GET", params, ...(req.headers.authorization ? { auth: req.headers.authorization } : {}) });
        return respond(sock, 200, { "content-type": "application/json" }, JSON.stringify({ token: `T:${params.getAll("scope").join(" ")}` }));
      }
      if (req.path === "/v2/") return respond(sock, 401, { "www-authenticate": challenge() });
      // This stand-in wants push rights to list tags, so a pull token earns a 401 naming the wider scope.
      const want = "repository:scope/app:push,pull";
      if (req.headers.authorization !== `Bearer T:${want}`) return respond(sock, 401, { "www-authenticate": challenge(want) });
      respond(sock, 200, { "content-type": "application/json" }, JSON.stringify({ name: "scope/app", tags: ["ok"] }));
    });
    host = srv.host;
    const c = createRegistryClient({ credentials: staticCredentials({ kind: "identity", identityToken: "refresh-xyz" }) });
    expect(await c.repository({ registry: srv.host, repository: "scope/app" }).tags()).toEqual(["ok"]);
    expect(tokenCalls.map((t) => [t.method, t.params.get("grant_type"), t.params.get("refresh_token"), t.params.get("service"), t.params.get("scope")])).toEqual([
      ["POST", "refresh_token", "refresh-xyz", "stand-in", "repository:scope/app:pull"],
      ["POST", "refresh_token", "refresh-xyz", "stand-in", "repository:scope/app:push,pull"],
    ]);
    expect(c.stats().tokens).toBe(2);
    // The widened token is cached: a second listing costs no token.
    await c.repository({ registry: srv.host, repository: "scope/app" }).tags();
    expect(c.stats().tokens).toBe(2);
    await c.close();

    const basicClient = createRegistryClient({ credentials: staticCredentials({ kind: "basic", username: "u", password: "p" }) });
    await basicClient.repository({ registry: srv.host, repository: "scope/app" }).tags();
    const gets = tokenCalls.filter((t) => t.method === "GET");
    expect(gets.length).toBe(2);
    expect(gets[0]!.auth).toBe("Basic " + Buffer.from("u:p").toString("base64"));
    await basicClient.close();
    await srv.close();
  });

  test("stand-in CONNECT proxy: requests to a non-loopback name go through it; HTTPS to a plain-HTTP registry → USAGE hint", async () => {
    const reg = await startRegistry();
    const connects: string[] = [];
    const sockets = new Set<Socket>();
    const proxy = createServer((client) => {
      sockets.add(client);
      client.once("data", (d) => {
        client.pause(); // hold back a request body until the upstream is connected; pipe() resumes
        const line = d.toString("latin1").split("\r\n")[0]!;
        connects.push(line);
        // Every CONNECT goes to the real registry, whatever name it asks for.
        const [h, p] = reg.host.split(":") as [string, string];
        const upstream = connect(Number(p), h, () => {
          // CONNECT (https) is tunnelled; an absolute-form request (http) is forwarded as it came.
          if (line.startsWith("CONNECT ")) client.write("HTTP/1.1 200 Connection Established\r\n\r\n");
          else upstream.write(d);
          upstream.pipe(client);
          client.pipe(upstream);
        });
        sockets.add(upstream);
        upstream.on("error", () => client.destroy());
        client.on("error", () => upstream.destroy());
        client.on("close", () => upstream.destroy());
        upstream.on("close", () => client.destroy());
      });
    });
    await new Promise<void>((r) => proxy.listen(0, "127.0.0.1", r));
    const proxyUrl = `http://127.0.0.1:${(proxy.address() as { port: number }).port}`;
    const name = `registry.berth.invalid:${reg.host.split(":")[1]}`;
    try {
      const c = createRegistryClient({ insecure: true, proxy: { https: proxyUrl, http: proxyUrl } });
      const repo = c.repository({ registry: name, repository: "proxied/app" });
      const m = await pushImage(repo, "v1", [blobOf(100, 111)]);
      expect((await repo.resolve("v1")).digest).toBe(m.desc.digest);
      expect(connects.length).toBeGreaterThan(0);
      // The https probe tunnels with CONNECT; plain-HTTP requests go to the proxy in absolute form.
      expect(connects[0]).toBe(`CONNECT ${name} HTTP/1.1`);
      expect(connects.slice(1).every((l) => l.includes(`http://${name}/v2/`))).toBe(true);
      await c.close();

      const strict = createRegistryClient({ proxy: { https: proxyUrl }, retry: fastRetry });
      const e = await caught(strict.repository({ registry: name, repository: "proxied/app" }).resolve("v1"));
      expect(e.code).toBe("USAGE");
      expect(e.details.hint).toContain("--insecure-registry");
      await strict.close();

      const bypass = createRegistryClient({ proxy: { https: proxyUrl, http: proxyUrl, noProxy: "berth.invalid" }, insecure: true, retry: fastRetry });
      const before = connects.length;
      expect((await caught(bypass.repository({ registry: name, repository: "proxied/app" }).resolve("v1"))).code).toBe("REGISTRY_UNAVAILABLE");
      expect(connects.length).toBe(before);
      await bypass.close();
    } finally {
      for (const sock of sockets) sock.destroy();
      await new Promise<void>((r) => proxy.close(() => r()));
      await reg.stop();
    }
  });

  test("nothing listening → REGISTRY_UNAVAILABLE", async () => {
    const srv = await rawServer(() => {});
    const host = srv.host;
    await srv.close();
    const c = createRegistryClient({ retry: fastRetry });
    const e = await caught(c.repository({ registry: host, repository: "x/y" }).resolve("v1"));
    expect(e.code).toBe("REGISTRY_UNAVAILABLE");
    expect(isCoreError(e)).toBe(true);
    await c.close();
  });
});
