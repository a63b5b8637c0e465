import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ArtifactStore, type StoredArtifact } from "../../../../src/k8s/storage/artifact-store.ts";
import { ArtifactFileServer, advertisedAddressFor, resolveRequestTarget } from "../../../../src/k8s/storage/file-server.ts";
import { extractTarGz, verifyStream } from "../../../../src/core/index.ts";

let tmp: string;
let root: string;
let store: ArtifactStore;
let server: ArtifactFileServer;
let port: number;
let artifact: StoredArtifact;
let src: string;

/** A raw HTTP request whose path goes on the wire exactly as given (fetch would normalise `..`). */
function raw(path: string, method = "GET", headers: Record<string, string> = {}): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }> {
  return new Promise((ok, ko) => {
    // Only for paths fetch would normalise (traversal cases). Artifact requests use fetch: through Bun's
    // node:http client, requests to this server intermittently hung or failed (about 1 run in 60).
    const req = request({ host: "127.0.0.1", port, path, method, headers, agent: false }, (res) => {
      const parts: Buffer[] = [];
      res.on("data", (c: Buffer) => parts.push(c));
      res.on("end", () => ok({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(parts) }));
      res.on("error", ko);
    });
    req.on("error", ko);
    req.end();
  });
}

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), "berth-fileserver-"));
  root = join(tmp, "data");
  mkdirSync(root);
  writeFileSync(join(tmp, "secret.txt"), "outside the root");
  src = join(tmp, "layer");
  mkdirSync(join(src, "deploy"), { recursive: true });
  writeFileSync(join(src, "kustomization.yaml"), "resources:\n  - deploy/app.yaml\n");
  writeFileSync(join(src, "deploy/app.yaml"), "kind: ConfigMap\n" + "data: x\n".repeat(5000));
  server = new ArtifactFileServer({ root });
  port = (await server.listen(0, "127.0.0.1")).port;
  store = new ArtifactStore({ root, advertisedAddress: server.advertisedAddress });
  artifact = await store.archiveDir(src, store.newArtifact("OCIRepository", "apps", "podinfo", "sha256:0123abcd.tar.gz", "latest@sha256:0123abcd"));
  await store.symlinkLatest(artifact);
  // A symlink inside the root that points outside must not be followed.
  symlinkSync(join(tmp, "secret.txt"), join(root, "ocirepository/apps/podinfo/escape.txt"));
});
afterAll(async () => {
  await server.close(100);
  rmSync(tmp, { recursive: true, force: true });
});

describe("serving artifacts", () => {
  test("the advertised address derives from the bound port and URLs match status.artifact.url", () => {
    expect(server.advertisedAddress).toBe(`127.0.0.1:${port}`);
    expect(artifact.url).toBe(`http://127.0.0.1:${port}/ocirepository/apps/podinfo/sha256:0123abcd.tar.gz`);
    expect(server.url(artifact)).toBe(artifact.url);
  });

  test("GET returns the stored bytes with Content-Length and a gzip Content-Type", async () => {
    const res = await fetch(artifact.url);
    expect(res.status).toBe(200);
    const body = new Uint8Array(await res.arrayBuffer());
    const onDisk = readFileSync(store.localPath(artifact));
    expect(Buffer.from(body).equals(onDisk)).toBe(true);
    expect(res.headers.get("content-length")).toBe(String(onDisk.byteLength));
    expect(res.headers.get("content-type")).toBe("application/x-gzip");
    expect(res.headers.get("last-modified")).not.toBeNull();
  });

  test("HEAD has the headers and no body", async () => {
    const res = await fetch(`http://127.0.0.1:${port}/ocirepository/apps/podinfo/sha256:0123abcd.tar.gz`, { method: "HEAD" });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-length")).toBe(String(artifact.size));
    expect((await res.arrayBuffer()).byteLength).toBe(0);
  });

  test("latest.tar.gz serves the newest artifact", async () => {
    const res = await fetch(`http://127.0.0.1:${port}/ocirepository/apps/podinfo/latest.tar.gz`);
    expect(res.status).toBe(200);
    const got = "sha256:" + createHash("sha256").update(new Uint8Array(await res.arrayBuffer())).digest("hex");
    expect(got).toBe(artifact.digest);
  });

  test("a single byte range is honoured; an unsatisfiable one is 416", async () => {
    const onDisk = readFileSync(store.localPath(artifact));
    const url = `http://127.0.0.1:${port}/ocirepository/apps/podinfo/sha256:0123abcd.tar.gz`;
    const res = await fetch(url, { headers: { Range: "bytes=2-9" } });
    expect(res.status).toBe(206);
    expect(res.headers.get("content-range")).toBe(`bytes 2-9/${onDisk.byteLength}`);
    expect(Buffer.from(await res.arrayBuffer()).equals(onDisk.subarray(2, 10))).toBe(true);
    const bad = await fetch(url, { headers: { Range: `bytes=${onDisk.byteLength}-` } });
    await bad.arrayBuffer();
    expect(bad.status).toBe(416);
  });

  test("If-Modified-Since at or after the file's mtime is 304", async () => {
    const first = await fetch(`http://127.0.0.1:${port}/ocirepository/apps/podinfo/sha256:0123abcd.tar.gz`, { method: "HEAD" });
    const lm = String(first.headers.get("last-modified"));
    const url = `http://127.0.0.1:${port}/ocirepository/apps/podinfo/sha256:0123abcd.tar.gz`;
    const res = await fetch(url, { headers: { "If-Modified-Since": lm } });
    expect(res.status).toBe(304);
    expect((await res.arrayBuffer()).byteLength).toBe(0);
    const older = new Date(Date.parse(lm) - 1000).toUTCString();
    const again = await fetch(url, { headers: { "If-Modified-Since": older } });
    await again.arrayBuffer();
    expect(again.status).toBe(200);
  });

  test("a download in progress completes with the old bytes when GC removes the file mid-way", async () => {
    const big = new Uint8Array(8 * 1024 * 1024).map((_, i) => (i * 31) & 0xff);
    const a = await store.store(store.newArtifact("OCIRepository", "apps", "gc", "sha256:big.tar.gz", "r"), (async function* () {
      yield big;
    })());
    const body = await new Promise<Buffer>((ok, ko) => {
      const req = request({ host: "127.0.0.1", port, path: "/ocirepository/apps/gc/sha256:big.tar.gz" }, (res) => {
        const parts: Buffer[] = [];
        let removed = false;
        res.on("data", (c: Buffer) => {
          parts.push(c);
          if (!removed) {
            removed = true;
            res.pause();
            store.removeAll("OCIRepository", "apps", "gc").then(() => res.resume(), ko);
          }
        });
        res.on("end", () => ok(Buffer.concat(parts)));
        res.on("error", ko);
      });
      req.on("error", ko);
      req.end();
    });
    expect(await store.exists(a)).toBe(false);
    expect(body.byteLength).toBe(big.byteLength);
    expect("sha256:" + createHash("sha256").update(body).digest("hex")).toBe(a.digest);
  });

  test("other methods are 405", async () => {
    const res = await raw("/ocirepository/apps/podinfo/sha256:0123abcd.tar.gz", "PUT");
    expect(res.status).toBe(405);
    expect(res.headers.allow).toBe("GET, HEAD");
  });
});

describe("no listing, no traversal", () => {
  test.each([
    ["/", 200],
    ["/ocirepository", 404],
    ["/ocirepository/", 404],
    ["/ocirepository/apps/podinfo/", 404],
    ["/ocirepository/apps/podinfo/missing.tar.gz", 404],
    ["/ocirepository/apps/podinfo/escape.txt", 404],
    ["/../secret.txt", 400],
    ["/ocirepository/../../secret.txt", 400],
    ["/ocirepository/apps/podinfo/../../../../secret.txt", 400],
    ["/%2e%2e/secret.txt", 400],
    ["/ocirepository/%2E%2E/%2e%2e/%2e%2e/secret.txt", 400],
    ["/..%2fsecret.txt", 400],
    ["/%2Fetc%2Fpasswd", 400],
    ["//etc/passwd", 400],
    ["/ocirepository/./apps/podinfo/latest.tar.gz", 400],
    ["/..%5csecret.txt", 400],
    ["/%00", 400],
    ["/%zz", 400],
    [`http://127.0.0.1/etc/passwd`, 400],
  ])("%s -> %d", async (path, status) => {
    const res = await raw(path);
    expect(res.status).toBe(status);
    expect(res.body.toString()).not.toContain("outside the root");
  });

  test("resolveRequestTarget keeps the query out and decodes segments", () => {
    expect(resolveRequestTarget("/ocirepository/a/b/sha256%3Aab.tar.gz?x=../../y")).toEqual({
      kind: "file",
      segments: ["ocirepository", "a", "b", "sha256:ab.tar.gz"],
    });
  });
});

describe("advertisedAddressFor", () => {
  test.each([
    [":9090", undefined, "localhost:9090"],
    ["0.0.0.0:9090", undefined, "pod-1:9090"],
    ["[::]:9090", undefined, "pod-1:9090"],
    ["10.0.0.5:9090", undefined, "10.0.0.5:9090"],
    [":9090", "source-controller.flux-system.svc.cluster.local.", "source-controller.flux-system.svc.cluster.local."],
  ])("%p adv=%p -> %p", (addr, adv, want) => {
    expect(advertisedAddressFor(addr, adv, "pod-1")).toBe(want);
  });
});

describe("consumer (kustomize-controller's download path)", () => {
  test("GET status.artifact.url, check sha256 against artifact.digest, untar with extractTarGz", async () => {
    const res = await fetch(artifact.url);
    expect(res.status).toBe(200);
    const dest = join(tmp, "consumer");
    mkdirSync(dest);
    const body = res.body as unknown as AsyncIterable<Uint8Array>;
    const r = await extractTarGz(verifyStream(body, { digest: artifact.digest, size: artifact.size ?? -1 }), dest);
    expect(r.files).toBe(2);
    expect(readFileSync(join(dest, "kustomization.yaml"), "utf8")).toBe(readFileSync(join(src, "kustomization.yaml"), "utf8"));
    expect(readFileSync(join(dest, "deploy/app.yaml"), "utf8")).toBe(readFileSync(join(src, "deploy/app.yaml"), "utf8"));
  });

  test("a tampered file fails the consumer's digest check", async () => {
    const a = await store.store(store.newArtifact("OCIRepository", "apps", "t", "sha256:t.tar.gz", "r"), (async function* () {
      yield readFileSync(store.localPath(artifact));
    })());
    const bytes = readFileSync(store.localPath(a));
    bytes[bytes.byteLength - 1] = bytes[bytes.byteLength - 1]! ^ 0xff;
    writeFileSync(store.localPath(a), bytes);
    const res = await fetch(a.url);
    const dest = join(tmp, "consumer-tampered");
    mkdirSync(dest);
    let code = "none";
    try {
      await extractTarGz(verifyStream(res.body as unknown as AsyncIterable<Uint8Array>, { digest: a.digest, size: a.size ?? -1 }), dest);
    } catch (e) {
      code = (e as { code?: string }).code ?? String(e);
    }
    expect(code).toBe("DIGEST_MISMATCH");
  });
});
