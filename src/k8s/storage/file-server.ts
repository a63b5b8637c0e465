/**
 * The artifact HTTP server (spec §6.1): serves the storage root read-only at the paths
 * `status.artifact.url` names, like source-controller's `http.FileServer` on `--storage-addr`, with
 * these deliberate differences: no directory listings (every directory is 404 except `/`, which
 * answers 200 for the stock readiness probe), names are checked segment by segment (a `..`, `.`, an
 * encoded `/` or `\`, a NUL or a malformed escape is 400), and symlinks are followed only when they
 * resolve inside the root (`latest.tar.gz` does; anything else is 404). Built on `node:http` so it
 * runs under Node as well as Bun.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { createReadStream } from "node:fs";
import { open, realpath } from "node:fs/promises";
import { hostname as osHostname } from "node:os";
import { join, resolve, sep } from "node:path";
import { artifactURL } from "./urls.ts";

/** Options of `ArtifactFileServer`. */
export interface FileServerOptions {
  /** Storage root to serve (`--storage-path`). Required. */
  root: string;
  /**
   * Host[:port] (optionally with a scheme) put in URLs (`--storage-adv-addr`). Default: derived
   * from the bound address with `advertisedAddressFor`.
   */
  advertisedAddress?: string;
}

/** Outcome of mapping a request target onto the storage root. */
export type ResolvedTarget =
  | { kind: "index" }
  | { kind: "file"; segments: string[] }
  | { kind: "bad"; reason: string }
  | { kind: "not-found" };

/**
 * Maps a raw request target (`req.url`) to path segments below the root, without touching the
 * filesystem. Only origin-form targets (`/…`) are accepted.
 */
export function resolveRequestTarget(rawUrl: string): ResolvedTarget {
  const end = rawUrl.search(/[?#]/);
  const raw = end === -1 ? rawUrl : rawUrl.slice(0, end);
  if (!raw.startsWith("/")) return { kind: "bad", reason: "request target must start with /" };
  if (raw === "/") return { kind: "index" };
  const parts = raw.slice(1).split("/");
  // A trailing slash names a directory, and directories are never listed.
  if (parts[parts.length - 1] === "") return { kind: "not-found" };
  const segments: string[] = [];
  for (const p of parts) {
    let s: string;
    try {
      s = decodeURIComponent(p);
    } catch {
      return { kind: "bad", reason: "malformed percent-encoding" };
    }
    if (s === "" || s === "." || s === ".." || /[/\\\0]/.test(s)) return { kind: "bad", reason: `invalid path segment ${JSON.stringify(s)}` };
    segments.push(s);
  }
  return { kind: "file", segments };
}

/**
 * The address to advertise when `--storage-adv-addr` is empty (spec §6.1): an empty host becomes
 * `localhost`, `0.0.0.0` (or `::`) the machine's hostname; the port is kept. A non-empty `adv` wins.
 */
export function advertisedAddressFor(storageAddr: string, adv?: string, hostname: string = osHostname()): string {
  if (adv) return adv;
  const i = storageAddr.lastIndexOf(":");
  const host = i === -1 ? storageAddr : storageAddr.slice(0, i);
  const port = i === -1 ? "" : storageAddr.slice(i);
  const h = host === "" ? "localhost" : host === "0.0.0.0" || host === "::" || host === "[::]" ? hostname : host;
  return `${h}${port}`;
}

function sniffType(head: Uint8Array, n: number): string {
  if (n >= 2 && head[0] === 0x1f && head[1] === 0x8b) return "application/x-gzip";
  return "application/octet-stream";
}

/** Parses a single `bytes=` range against `size`; undefined = serve everything, null = unsatisfiable. */
function parseRange(h: string | undefined, size: number): { start: number; end: number } | undefined | null {
  if (!h) return undefined;
  const m = /^bytes=(\d*)-(\d*)$/.exec(h.trim());
  // Multiple or malformed ranges are ignored: a full 200 is always a valid answer.
  if (!m || (m[1] === "" && m[2] === "")) return undefined;
  if (m[1] === "") {
    const n = Number(m[2]);
    if (n === 0) return null;
    return { start: Math.max(0, size - n), end: size - 1 };
  }
  const start = Number(m[1]);
  const end = m[2] === "" ? size - 1 : Math.min(Number(m[2]), size - 1);
  if (start >= size || end < start) return null;
  return { start, end };
}

function within(root: string, p: string): boolean {
  return p === root || p.startsWith(root.endsWith(sep) ? root : root + sep);
}

/** source-controller's artifact file server on `node:http`. */
export class ArtifactFileServer {
  /** The underlying server, for callers that need events. */
  readonly server: Server;
  private readonly root: string;
  private realRoot: Promise<string> | undefined;
  private adv: string | undefined;

  constructor(opts: FileServerOptions) {
    this.root = resolve(opts.root);
    this.adv = opts.advertisedAddress;
    this.server = createServer((req, res) => {
      this.handle(req, res).catch(() => {
        if (!res.headersSent) send(res, 500, "internal error\n", req.method === "HEAD");
        else res.destroy();
      });
    });
  }

  /** Binds (default `:9090` on all interfaces); resolves with the bound address. */
  listen(port = 9090, host?: string): Promise<AddressInfo> {
    return new Promise((ok, ko) => {
      this.server.once("error", ko);
      this.server.listen(port, host, () => {
        this.server.off("error", ko);
        const a = this.server.address() as AddressInfo;
        this.adv ??= advertisedAddressFor(`${host ?? ""}:${a.port}`);
        ok(a);
      });
    });
  }

  /** Stops accepting, lets running downloads finish for up to `graceMs` (default 5000, as upstream), then cuts them. */
  close(graceMs = 5000): Promise<void> {
    return new Promise((ok) => {
      const t = setTimeout(() => this.server.closeAllConnections(), graceMs);
      this.server.close(() => {
        clearTimeout(t);
        ok();
      });
      this.server.closeIdleConnections();
    });
  }

  /** The advertised address in use (after `listen` when it was derived). */
  get advertisedAddress(): string {
    return this.adv ?? "localhost:9090";
  }

  /** `status.artifact.url` for an artifact (or storage-relative path) served here. */
  url(artifact: { path: string } | string): string {
    return artifactURL(this.advertisedAddress, typeof artifact === "string" ? artifact : artifact.path);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const head = req.method === "HEAD";
    if (req.method !== "GET" && !head) {
      res.setHeader("Allow", "GET, HEAD");
      return send(res, 405, "method not allowed\n", false);
    }
    const t = resolveRequestTarget(req.url ?? "");
    if (t.kind === "bad") return send(res, 400, `bad request: ${t.reason}\n`, head);
    if (t.kind === "not-found") return send(res, 404, "404 page not found\n", head);
    if (t.kind === "index") return send(res, 200, "ok\n", head);

    this.realRoot ??= realpath(this.root);
    const root = await this.realRoot;
    let real: string;
    try {
      real = await realpath(join(root, ...t.segments));
    } catch {
      return send(res, 404, "404 page not found\n", head);
    }
    if (!within(root, real) || real === root) return send(res, 404, "404 page not found\n", head);

    const fh = await open(real, "r").catch(() => undefined);
    if (!fh) return send(res, 404, "404 page not found\n", head);
    try {
      const st = await fh.stat();
      if (!st.isFile()) return send(res, 404, "404 page not found\n", head);
      const lastModified = new Date(Math.floor(st.mtimeMs / 1000) * 1000);
      const ims = req.headers["if-modified-since"];
      if (ims && !req.headers.range) {
        const since = Date.parse(ims);
        if (!Number.isNaN(since) && lastModified.getTime() <= since) {
          res.writeHead(304, { "Last-Modified": lastModified.toUTCString() });
          res.end();
          return;
        }
      }
      const probe = new Uint8Array(2);
      const { bytesRead } = await fh.read(probe, 0, 2, 0);
      res.setHeader("Content-Type", sniffType(probe, bytesRead));
      res.setHeader("Last-Modified", lastModified.toUTCString());
      res.setHeader("Accept-Ranges", "bytes");
      res.setHeader("X-Content-Type-Options", "nosniff");
      const range = parseRange(typeof req.headers.range === "string" ? req.headers.range : undefined, st.size);
      if (range === null) {
        res.setHeader("Content-Range", `bytes */${st.size}`);
        return send(res, 416, "invalid range\n", head);
      }
      const start = range?.start ?? 0;
      const end = range?.end ?? st.size - 1;
      const length = st.size === 0 ? 0 : end - start + 1;
      if (range) res.setHeader("Content-Range", `bytes ${start}-${end}/${st.size}`);
      res.writeHead(range ? 206 : 200, { "Content-Length": String(length) });
      if (head || length === 0) {
        res.end();
        return;
      }
      // The open handle keeps serving the same inode even if GC or a new artifact replaces the name.
      const stream = createReadStream("", { fd: fh.fd, start, end, autoClose: false });
      await new Promise<void>((ok) => {
        const done = () => ok();
        stream.once("error", () => {
          res.destroy();
          done();
        });
        res.once("close", () => {
          stream.destroy();
          done();
        });
        stream.pipe(res);
      });
    } finally {
      await fh.close().catch(() => {});
    }
  }
}

function send(res: ServerResponse, status: number, body: string, head: boolean): void {
  const buf = Buffer.from(body);
  res.writeHead(status, { "Content-Type": "text/plain; charset=utf-8", "Content-Length": String(buf.byteLength), "X-Content-Type-Options": "nosniff" });
  res.end(head ? undefined : buf);
}
