/**
 * A repository of a registry as a `Target` (OCI distribution-spec v1.1): manifests, blobs with
 * monolithic and chunked uploads, cross-repository mount, tags with Link pagination, delete and
 * referrers (with the tag-schema fallback).
 */
import type { Content, Deleter, Descriptor, Mounter, OpOptions, ReferencePusher, Target } from "../content/store.ts";
import { bytesContent } from "../content/store.ts";
import { CoreError, fail, isCoreError } from "../errors.ts";
import { Digester, digestOf, isDigest, readAll, verifyStream } from "../oci/digest.ts";
import { isIndexType, isManifestType, MANIFEST_ACCEPT, MAX_MANIFEST_BYTES, OCI_INDEX } from "../oci/media-types.ts";
import type { ProgressSink } from "../progress.ts";
import { repositoryScope } from "./auth.ts";
import { cancelledError, formatTarget, isRetryableNetworkError, networkError, type ErrorContext } from "./errors.ts";
import { parseLink, resolveLocation, withQuery } from "./headers.ts";
import { sleep } from "../timers.ts";
import { backoffDelay, discard, header, type RegistryResponse, type Transport } from "./transport.ts";

/** A repository on a registry. */
export interface RepositoryName {
  /** Registry host[:port] as used in URLs: "ghcr.io", "127.0.0.1:5000", "index.docker.io". */
  registry: string;
  /** Repository path: "org/app". */
  repository: string;
}

/** A manifest as fetched: its descriptor (media type from Content-Type) and its exact bytes. */
export interface FetchedManifest {
  descriptor: Descriptor;
  bytes: Uint8Array;
}

/** A registry repository: every Target capability plus the registry-only ones. */
export interface RegistryRepository extends Target, ReferencePusher, Mounter, Deleter {
  readonly ref: RepositoryName;
  /**
   * GETs a manifest or index by tag or digest. The body is capped at MAX_MANIFEST_BYTES; the
   * descriptor's digest is the body's sha256, and for a digest reference it must equal it.
   */
  fetchManifest(reference: string, opts?: OpOptions): Promise<FetchedManifest>;
  /**
   * Resolves a tag or digest with HEAD, falling back to GET when HEAD gives no usable
   * Docker-Content-Digest/Content-Type/Content-Length or fails with anything but 404.
   */
  resolve(reference: string, opts?: OpOptions): Promise<Descriptor>;
  /**
   * Manifests that refer to `digest` (OCI 1.1 referrers API); when the registry answers 404, the
   * tag-schema index `sha256-<hex>` is read instead (none → []). Filtered by `artifactType` if given.
   */
  referrers(digest: string, artifactType?: string, opts?: OpOptions): Promise<Descriptor[]>;
}

/** Settings a repository takes from its client. */
export interface RepositoryOptions {
  chunkSize: number;
  tagPageSize: number;
  onProgress?: ProgressSink;
}

/** Bound of the Link chain for tags and referrers, so a looping registry cannot keep us forever. */
export const MAX_PAGES = 1000;

const PULL = "pull" as const;
const PUSH = "push,pull" as const;

function isManifestMediaType(mt: string): boolean {
  return isManifestType(mt) || isIndexType(mt);
}

/** Content-Type without parameters; falls back to the body's `mediaType` for generic types. */
function manifestMediaType(contentType: string | undefined, bytes: Uint8Array): string {
  const ct = contentType?.split(";")[0]?.trim() ?? "";
  if (ct && ct !== "application/json" && ct !== "application/octet-stream" && ct !== "text/plain") return ct;
  try {
    const mt = (JSON.parse(new TextDecoder().decode(bytes)) as { mediaType?: unknown }).mediaType;
    if (typeof mt === "string" && mt) return mt;
  } catch {
    // not JSON: the caller's manifest parser will say so
  }
  return ct || "application/octet-stream";
}

/**
 * Re-chunks a stream into pieces of exactly `size` bytes (the last may be shorter), holding at most one
 * piece. The yielded buffer is reused for the next piece: consume it before asking for the next one.
 * (Allocating a fresh 8 MiB buffer per piece let RSS grow with the blob size, as the GC frees them late.)
 */
export async function* rechunk(src: AsyncIterable<Uint8Array>, size: number): AsyncGenerator<Uint8Array> {
  const buf = new Uint8Array(size);
  let fill = 0;
  for await (const chunk of src) {
    let off = 0;
    while (off < chunk.byteLength) {
      const take = Math.min(size - fill, chunk.byteLength - off);
      buf.set(chunk.subarray(off, off + take), fill);
      fill += take;
      off += take;
      if (fill === size) {
        yield buf;
        fill = 0;
      }
    }
  }
  if (fill > 0) yield buf.subarray(0, fill);
}

/** The RegistryRepository implementation; built by RegistryClient.repository(). */
export class RemoteRepository implements RegistryRepository {
  readonly name: string;
  constructor(
    readonly ref: RepositoryName,
    private readonly t: Transport,
    private readonly o: RepositoryOptions,
  ) {
    this.name = `${ref.registry}/${ref.repository}`;
  }

  private ctx(op: string, reference?: string): ErrorContext {
    return { op, registry: this.ref.registry, repository: this.ref.repository, ...(reference ? { reference } : {}) };
  }
  private scope(actions: "pull" | "push,pull" | "push,pull,delete"): string[] {
    return [repositoryScope(this.ref.repository, actions)];
  }
  private path(rest: string): string {
    return `/v2/${this.ref.repository}/${rest}`;
  }
  private progress(e: Parameters<ProgressSink>[0]): void {
    this.o.onProgress?.(e);
  }

  async fetchManifest(reference: string, opts: OpOptions = {}): Promise<FetchedManifest> {
    const ctx = this.ctx("fetch manifest", reference);
    const res = await this.t.request({
      ctx,
      method: "GET",
      path: this.path(`manifests/${reference}`),
      headers: { accept: MANIFEST_ACCEPT.join(", ") },
      scopes: this.scope(PULL),
      kind: "manifest",
      signal: opts.signal,
      expect: [200],
    });
    const bytes = await this.readManifestBody(res, ctx);
    const digest = digestOf(bytes);
    if (isDigest(reference) && digest !== reference) {
      fail("DIGEST_MISMATCH", `${ctx.op} ${formatTarget(ctx)}: registry returned a manifest with digest ${digest}`, { digest: reference });
    }
    return { descriptor: { mediaType: manifestMediaType(header(res, "content-type"), bytes), digest, size: bytes.byteLength }, bytes };
  }

  private async readManifestBody(res: RegistryResponse, ctx: ErrorContext): Promise<Uint8Array> {
    const declared = Number(header(res, "content-length"));
    if (Number.isFinite(declared) && declared > MAX_MANIFEST_BYTES) {
      discard(res.body);
      fail("SIZE_EXCEEDED", `${ctx.op} ${formatTarget(ctx)}: manifest of ${declared} bytes exceeds the ${MAX_MANIFEST_BYTES}-byte limit`);
    }
    try {
      return await readAll(res.body as AsyncIterable<Uint8Array>, MAX_MANIFEST_BYTES, `${ctx.op} ${formatTarget(ctx)}: manifest`);
    } catch (e) {
      if (isCoreError(e)) throw e;
      throw networkError(e, ctx);
    } finally {
      discard(res.body);
    }
  }

  async resolve(reference: string, opts: OpOptions = {}): Promise<Descriptor> {
    const ctx = this.ctx("resolve", reference);
    let res: RegistryResponse | undefined;
    try {
      res = await this.t.request({
        ctx,
        method: "HEAD",
        path: this.path(`manifests/${reference}`),
        headers: { accept: MANIFEST_ACCEPT.join(", ") },
        scopes: this.scope(PULL),
        kind: "manifest",
        signal: opts.signal,
        expect: [200],
      });
    } catch (e) {
      // 404 is an answer; network trouble and cancellation would only repeat on GET.
      if (!isCoreError(e) || e.details.status === undefined || e.details.status === 404 || e.code === "REGISTRY_UNAVAILABLE") throw e;
    }
    if (res) {
      await res.body.dump().catch(() => {});
      const digest = header(res, "docker-content-digest");
      const size = Number(header(res, "content-length"));
      const ct = header(res, "content-type")?.split(";")[0]?.trim();
      const ok = digest && isDigest(digest) && (!isDigest(reference) || digest === reference) && Number.isInteger(size) && size > 0 && ct;
      if (ok && ct !== "application/json") return { mediaType: ct, digest, size };
    }
    return (await this.fetchManifest(reference, opts)).descriptor;
  }

  async fetch(desc: Descriptor, opts: OpOptions = {}): Promise<Content> {
    if (isManifestMediaType(desc.mediaType)) {
      const m = await this.fetchManifest(desc.digest, opts);
      if (m.bytes.byteLength !== desc.size) {
        fail("DIGEST_MISMATCH", `fetch manifest ${this.name}@${desc.digest}: got ${m.bytes.byteLength} bytes, descriptor declares ${desc.size}`, {
          digest: desc.digest,
        });
      }
      return bytesContent(m.bytes);
    }
    return this.fetchBlob(desc, opts);
  }

  private async openBlob(desc: Descriptor, offset: number, signal: AbortSignal | undefined): Promise<RegistryResponse> {
    return this.t.request({
      ctx: this.ctx("fetch blob", desc.digest),
      method: "GET",
      path: this.path(`blobs/${desc.digest}`),
      headers: offset > 0 ? { range: `bytes=${offset}-` } : {},
      scopes: this.scope(PULL),
      kind: "blob",
      signal,
      followRedirects: true,
      expect: offset > 0 ? [200, 206] : [200],
    });
  }

  /**
   * Streams a blob, verified against the descriptor. A connection lost mid-body is resumed with a
   * Range request from the last byte received (or by skipping, if the server ignores Range), up to
   * the retry policy's attempts; then it fails with REGISTRY_UNAVAILABLE.
   */
  private async fetchBlob(desc: Descriptor, opts: OpOptions): Promise<Content> {
    const ctx = this.ctx("fetch blob", desc.digest);
    const first = await this.openBlob(desc, 0, opts.signal);
    const declared = header(first, "content-length");
    if (declared !== undefined && desc.size >= 0 && Number(declared) !== desc.size) {
      discard(first.body);
      fail("DIGEST_MISMATCH", `${ctx.op} ${formatTarget(ctx)}: registry sends ${declared} bytes, descriptor declares ${desc.size}`, {
        digest: desc.digest,
      });
    }
    const t = this.t;
    const self = this;
    async function* resumable(): AsyncGenerator<Uint8Array> {
      let res = first;
      let received = 0;
      let failures = 0;
      let skip = 0;
      try {
        for (;;) {
          try {
            for await (const chunk of res.body as AsyncIterable<Uint8Array>) {
              let c = chunk;
              if (skip > 0) {
                const drop = Math.min(skip, c.byteLength);
                skip -= drop;
                c = c.subarray(drop);
                if (c.byteLength === 0) continue;
              }
              received += c.byteLength;
              yield c;
            }
            return;
          } catch (e) {
            if (isCoreError(e)) throw e;
            if (opts.signal?.aborted) throw cancelledError(ctx, e);
            if (!isRetryableNetworkError(e)) throw networkError(e, ctx, failures + 1);
            failures++;
            if (failures >= t.opts.retry.maxAttempts) throw networkError(e, ctx, failures);
            discard(res.body);
            try {
              await sleep(backoffDelay(failures, t.opts.retry, undefined, t.opts.random), opts.signal);
            } catch (abort) {
              throw cancelledError(ctx, abort);
            }
            res = await self.openBlob(desc, received, opts.signal);
            const range = header(res, "content-range");
            if (res.status === 206 && !range?.startsWith(`bytes ${received}-`)) {
              fail("REGISTRY_UNAVAILABLE", `${ctx.op} ${formatTarget(ctx)}: registry resumed at the wrong offset (${range})`);
            }
            skip = res.status === 200 ? received : 0;
          }
        }
      } finally {
        discard(res.body);
      }
    }
    return verifyStream(resumable(), desc, `${ctx.op} ${formatTarget(ctx)}`);
  }

  async exists(desc: Descriptor, opts: OpOptions = {}): Promise<boolean> {
    return this.existsWith(desc, this.scope(PULL), opts);
  }

  private async existsWith(desc: Descriptor, scopes: string[], opts: OpOptions): Promise<boolean> {
    const kind = isManifestMediaType(desc.mediaType) ? "manifests" : "blobs";
    const res = await this.t.request({
      ctx: this.ctx(kind === "blobs" ? "check blob" : "check manifest", desc.digest),
      method: "HEAD",
      path: this.path(`${kind}/${desc.digest}`),
      headers: kind === "manifests" ? { accept: MANIFEST_ACCEPT.join(", ") } : {},
      scopes,
      kind: kind === "blobs" ? "blob" : "manifest",
      signal: opts.signal,
      expect: [200, 404],
    });
    await res.body.dump().catch(() => {});
    return res.status === 200;
  }

  async push(desc: Descriptor, content: Content | Uint8Array, opts: OpOptions = {}): Promise<void> {
    if (isManifestMediaType(desc.mediaType)) {
      const bytes = await this.manifestBytes(desc, content, this.ctx("push manifest", desc.digest));
      await this.putManifest(desc, bytes, desc.digest, opts);
      return;
    }
    await this.pushBlob(desc, content, opts);
  }

  async pushReference(desc: Descriptor, content: Uint8Array, tag: string, opts: OpOptions = {}): Promise<void> {
    const bytes = await this.manifestBytes(desc, content, this.ctx("push manifest", tag));
    await this.putManifest(desc, bytes, tag, opts);
  }

  private async manifestBytes(desc: Descriptor, content: Content | Uint8Array, ctx: ErrorContext): Promise<Uint8Array> {
    const bytes = content instanceof Uint8Array ? content : await readAll(content, MAX_MANIFEST_BYTES, `${ctx.op} ${formatTarget(ctx)}`);
    const digest = digestOf(bytes);
    if (digest !== desc.digest || bytes.byteLength !== desc.size) {
      fail("DIGEST_MISMATCH", `${ctx.op} ${formatTarget(ctx)}: content is ${digest} (${bytes.byteLength} bytes), descriptor says ${desc.digest} (${desc.size} bytes)`, {
        digest: desc.digest,
      });
    }
    return bytes;
  }

  private async putManifest(desc: Descriptor, bytes: Uint8Array, reference: string, opts: OpOptions): Promise<void> {
    const res = await this.t.request({
      ctx: this.ctx("push manifest", reference),
      method: "PUT",
      path: this.path(`manifests/${reference}`),
      headers: { "content-type": desc.mediaType },
      body: bytes,
      scopes: this.scope(PUSH),
      kind: "manifest",
      signal: opts.signal,
      expect: [200, 201, 202, 204],
    });
    await res.body.dump().catch(() => {});
  }

  /**
   * Uploads a blob unless it exists: POST, then one PUT with the body when it fits in a chunk,
   * otherwise PATCHes of `chunkSize` bytes with Content-Range and a final empty PUT. At most one
   * chunk is held in memory, so every request body can be sent again on a retry. The digest and
   * size are checked before the commit, so a wrong descriptor never lands in the registry.
   */
  private async pushBlob(desc: Descriptor, content: Content | Uint8Array, opts: OpOptions): Promise<void> {
    const ctx = this.ctx("push blob", desc.digest);
    const label = `${desc.digest.slice(7, 19)}`;
    this.progress({ kind: "start", id: desc.digest, label, total: desc.size });
    // Asking for push,pull already here makes a whole push cost one token.
    if (await this.existsWith(desc, this.scope(PUSH), opts)) {
      this.progress({ kind: "done", id: desc.digest, skipped: true });
      return;
    }
    const source: Content = content instanceof Uint8Array ? bytesContent(content) : content;
    const mismatch = (what: string): never =>
      fail("DIGEST_MISMATCH", `${ctx.op} ${formatTarget(ctx)}: ${what}`, { digest: desc.digest });
    // A blob that fits in one chunk is read and checked before the upload session is opened.
    let whole: Uint8Array | undefined;
    if (desc.size <= this.o.chunkSize) {
      let bytes: Uint8Array;
      try {
        bytes = content instanceof Uint8Array ? content : await readAll(source, this.o.chunkSize + 1, `${ctx.op} ${formatTarget(ctx)}`);
      } catch (e) {
        if (isCoreError(e, "SIZE_EXCEEDED")) mismatch(`content is larger than the ${desc.size} bytes its descriptor declares`);
        throw e;
      }
      if (bytes.byteLength !== desc.size) mismatch(`content is ${bytes.byteLength} bytes, descriptor declares ${desc.size}`);
      const got = digestOf(bytes);
      if (got !== desc.digest) mismatch(`content digest is ${got}`);
      whole = bytes;
    }
    const started = await this.t.request({
      ctx,
      method: "POST",
      path: this.path("blobs/uploads/"),
      scopes: this.scope(PUSH),
      kind: "upload",
      signal: opts.signal,
      expect: [202],
    });
    await started.body.dump().catch(() => {});
    let location = resolveLocation(header(started, "location"), started.url);
    // A registry may demand bigger chunks (OCI-Chunk-Min-Length); never smaller than ours.
    const minChunk = Number(header(started, "oci-chunk-min-length"));
    const chunkSize = Number.isInteger(minChunk) && minChunk > this.o.chunkSize ? minChunk : this.o.chunkSize;

    if (whole) {
      const bytes = whole;
      const res = await this.t.request({
        ctx,
        method: "PUT",
        path: withQuery(location, { digest: desc.digest }),
        headers: { "content-type": "application/octet-stream" },
        body: bytes,
        scopes: this.scope(PUSH),
        kind: "upload",
        signal: opts.signal,
        expect: [201, 204],
      });
      await res.body.dump().catch(() => {});
      this.progress({ kind: "advance", id: desc.digest, bytes: bytes.byteLength });
      this.progress({ kind: "done", id: desc.digest });
      return;
    }

    const d = new Digester();
    let offset = 0;
    for await (const chunk of rechunk(source, chunkSize)) {
      d.update(chunk);
      if (d.size > desc.size) await this.abandon(location, mismatch, `content is larger than the ${desc.size} bytes its descriptor declares`);
      location = await this.patchChunk(location, chunk, offset, ctx, opts);
      offset += chunk.byteLength;
      this.progress({ kind: "advance", id: desc.digest, bytes: chunk.byteLength });
    }
    if (d.size !== desc.size) await this.abandon(location, mismatch, `content is ${d.size} bytes, descriptor declares ${desc.size}`);
    const got = d.digest();
    if (got !== desc.digest) await this.abandon(location, mismatch, `content digest is ${got}`);
    const res = await this.t.request({
      ctx,
      method: "PUT",
      path: withQuery(location, { digest: desc.digest }),
      scopes: this.scope(PUSH),
      kind: "upload",
      signal: opts.signal,
      expect: [201, 204],
    });
    await res.body.dump().catch(() => {});
    this.progress({ kind: "done", id: desc.digest });
  }

  /**
   * Sends one chunk and returns the next Location. A 416 means the registry holds a different
   * offset than we think, typically because a retried PATCH had partly (or wholly) landed before
   * its connection broke; the upload status (`GET <location>` → `Range: 0-<last>`) then says how
   * much of this chunk it has, and only the rest is sent.
   */
  private async patchChunk(location: URL, chunk: Uint8Array, offset: number, ctx: ErrorContext, opts: OpOptions): Promise<URL> {
    let have = 0;
    for (let resyncs = 0; have < chunk.byteLength; ) {
      const res = await this.t.request({
        ctx,
        method: "PATCH",
        path: location,
        headers: {
          "content-type": "application/octet-stream",
          "content-range": `${offset + have}-${offset + chunk.byteLength - 1}`,
        },
        body: have === 0 ? chunk : chunk.subarray(have),
        scopes: this.scope(PUSH),
        kind: "upload",
        signal: opts.signal,
        expect: [202, 204, 201, 416],
      });
      await res.body.dump().catch(() => {});
      if (res.status !== 416) return resolveLocation(header(res, "location") ?? location.href, res.url);
      if (++resyncs > 3) fail("REGISTRY_UNAVAILABLE", `${ctx.op} ${formatTarget(ctx)}: registry keeps refusing chunk at offset ${offset + have} (HTTP 416)`);
      const status = await this.uploadStatus(location, ctx, opts);
      location = status.location;
      const next = status.size - offset;
      if (next < 0 || next > chunk.byteLength) {
        fail("REGISTRY_UNAVAILABLE", `${ctx.op} ${formatTarget(ctx)}: upload is at offset ${status.size}, outside the chunk at ${offset}; push again`);
      }
      have = next;
    }
    return location;
  }

  /** `GET <upload location>`: bytes received so far (from `Range: 0-<last>`) and the current Location. */
  private async uploadStatus(location: URL, ctx: ErrorContext, opts: OpOptions): Promise<{ size: number; location: URL }> {
    const res = await this.t.request({
      ctx: { ...ctx, stage: "upload status" },
      method: "GET",
      path: location,
      scopes: this.scope(PUSH),
      kind: "upload",
      signal: opts.signal,
      expect: [204, 200],
    });
    await res.body.dump().catch(() => {});
    const m = /^(?:bytes=)?0-(-?\d+)$/.exec(header(res, "range")?.trim() ?? "");
    if (!m) fail("REGISTRY_UNAVAILABLE", `${ctx.op} ${formatTarget(ctx)}: upload status has no usable Range header`);
    return { size: Number(m[1]) + 1, location: resolveLocation(header(res, "location") ?? location.href, res.url) };
  }

  /** Cancels an upload session (best effort, so the registry frees it now), then throws. */
  private async abandon(location: URL, mismatch: (what: string) => never, what: string): Promise<never> {
    try {
      const res = await this.t.request({
        ctx: this.ctx("cancel upload"),
        method: "DELETE",
        path: location,
        scopes: this.scope(PUSH),
        kind: "upload",
        expect: [200, 202, 204, 404],
      });
      await res.body.dump().catch(() => {});
    } catch {
      // the mismatch is the error worth reporting
    }
    return mismatch(what);
  }

  async mount(desc: Descriptor, fromRepository: string, opts: OpOptions = {}): Promise<boolean> {
    const res = await this.t.request({
      ctx: this.ctx(`mount blob from ${fromRepository}`, desc.digest),
      method: "POST",
      path: this.path(`blobs/uploads/?mount=${encodeURIComponent(desc.digest)}&from=${encodeURIComponent(fromRepository)}`),
      scopes: [repositoryScope(this.ref.repository, PUSH), repositoryScope(fromRepository, PULL)],
      kind: "upload",
      signal: opts.signal,
      expect: [201, 202],
    });
    // On 202 the registry opened an upload session instead; it is left to expire, as the caller's
    // push opens its own (pushBlob checks existence first and must stand alone).
    await res.body.dump().catch(() => {});
    if (res.status === 201) {
      this.progress({ kind: "start", id: desc.digest, label: desc.digest.slice(7, 19), total: desc.size });
      this.progress({ kind: "done", id: desc.digest, skipped: true });
    }
    return res.status === 201;
  }

  async tag(desc: Descriptor, tag: string, opts: OpOptions = {}): Promise<void> {
    const ctx = this.ctx("tag", tag);
    // One push,pull token serves the HEAD, the GET and the PUT.
    let current: Descriptor | undefined;
    try {
      const res = await this.t.request({
        ctx,
        method: "HEAD",
        path: this.path(`manifests/${tag}`),
        headers: { accept: MANIFEST_ACCEPT.join(", ") },
        scopes: this.scope(PUSH),
        kind: "manifest",
        signal: opts.signal,
        expect: [200, 404],
      });
      await res.body.dump().catch(() => {});
      const d = header(res, "docker-content-digest");
      if (res.status === 200 && d) current = { mediaType: "", digest: d, size: 0 };
    } catch (e) {
      if (!isCoreError(e) || e.code === "CANCELLED") throw e;
    }
    if (current?.digest === desc.digest) return;
    const res = await this.t.request({
      ctx: this.ctx("tag", desc.digest),
      method: "GET",
      path: this.path(`manifests/${desc.digest}`),
      headers: { accept: MANIFEST_ACCEPT.join(", ") },
      scopes: this.scope(PUSH),
      kind: "manifest",
      signal: opts.signal,
      expect: [200],
    });
    const bytes = await this.readManifestBody(res, ctx);
    if (digestOf(bytes) !== desc.digest) fail("DIGEST_MISMATCH", `${ctx.op} ${formatTarget(ctx)}: registry returned a different manifest for ${desc.digest}`);
    // The PUT copies the GET's Content-Type, as crane does, so the stored type never changes.
    await this.putManifest({ ...desc, mediaType: manifestMediaType(header(res, "content-type"), bytes) }, bytes, tag, opts);
  }

  async tags(opts: OpOptions = {}): Promise<string[]> {
    const ctx = this.ctx("list tags");
    const out: string[] = [];
    let next: URL | string | undefined = this.path(`tags/list?n=${this.o.tagPageSize}`);
    for (let page = 0; next !== undefined; page++) {
      if (page >= MAX_PAGES) fail("UNSUPPORTED", `${ctx.op} ${formatTarget(ctx)}: more than ${MAX_PAGES} pages of tags`);
      const res: RegistryResponse = await this.t.request({
        ctx,
        method: "GET",
        path: next,
        scopes: this.scope(PULL),
        kind: "tags",
        signal: opts.signal,
        expect: [200],
      });
      const body = await this.readManifestBody(res, ctx);
      let tags: unknown;
      try {
        tags = (JSON.parse(new TextDecoder().decode(body)) as { tags?: unknown }).tags;
      } catch {
        fail("UNSUPPORTED", `${ctx.op} ${formatTarget(ctx)}: registry sent a tag list that is not JSON`);
      }
      if (Array.isArray(tags)) for (const t of tags) if (typeof t === "string") out.push(t);
      next = parseLink(header(res, "link"), res.url);
    }
    return out;
  }

  async delete(desc: Descriptor, opts: OpOptions = {}): Promise<void> {
    const kind = isManifestMediaType(desc.mediaType) ? "manifests" : "blobs";
    const res = await this.t.request({
      ctx: this.ctx(kind === "blobs" ? "delete blob" : "delete manifest", desc.digest),
      method: "DELETE",
      path: this.path(`${kind}/${desc.digest}`),
      scopes: this.scope("push,pull,delete"),
      kind: kind === "blobs" ? "blob" : "manifest",
      signal: opts.signal,
      expect: [200, 202, 204],
    });
    await res.body.dump().catch(() => {});
  }

  async referrers(digest: string, artifactType?: string, opts: OpOptions = {}): Promise<Descriptor[]> {
    const ctx = this.ctx("list referrers", digest);
    if (!isDigest(digest)) fail("REF_INVALID", `${ctx.op} ${formatTarget(ctx)}: not a sha256 digest`);
    const filter = (list: Descriptor[]) => (artifactType ? list.filter((d) => d.artifactType === artifactType) : list);
    const out: Descriptor[] = [];
    let next: URL | string | undefined = this.path(`referrers/${digest}${artifactType ? `?artifactType=${encodeURIComponent(artifactType)}` : ""}`);
    for (let page = 0; next !== undefined; page++) {
      if (page >= MAX_PAGES) fail("UNSUPPORTED", `${ctx.op} ${formatTarget(ctx)}: more than ${MAX_PAGES} pages of referrers`);
      const res: RegistryResponse = await this.t.request({
        ctx,
        method: "GET",
        path: next,
        headers: { accept: OCI_INDEX },
        scopes: this.scope(PULL),
        kind: "referrers",
        signal: opts.signal,
        expect: page === 0 ? [200, 404] : [200],
      });
      if (res.status === 404) {
        await res.body.dump().catch(() => {});
        return filter(await this.referrersFromTag(digest, opts));
      }
      const list = indexManifests(await this.readManifestBody(res, ctx), ctx);
      out.push(...(header(res, "oci-filters-applied")?.includes("artifactType") ? list : filter(list)));
      next = parseLink(header(res, "link"), res.url);
    }
    return out;
  }

  private async referrersFromTag(digest: string, opts: OpOptions): Promise<Descriptor[]> {
    const tag = digest.replace(":", "-");
    try {
      const m = await this.fetchManifest(tag, opts);
      return indexManifests(m.bytes, this.ctx("list referrers", tag));
    } catch (e) {
      if (isCoreError(e, "NOT_FOUND")) return [];
      throw e;
    }
  }
}

function indexManifests(bytes: Uint8Array, ctx: ErrorContext): Descriptor[] {
  try {
    const j = JSON.parse(new TextDecoder().decode(bytes)) as { manifests?: unknown };
    if (!Array.isArray(j.manifests)) return [];
    return j.manifests.filter(
      (m): m is Descriptor => !!m && typeof m === "object" && typeof (m as Descriptor).digest === "string" && typeof (m as Descriptor).mediaType === "string",
    );
  } catch (e) {
    throw new CoreError({ code: "MANIFEST_INVALID", message: `${ctx.op} ${formatTarget(ctx)}: referrers index is not JSON`, cause: e });
  }
}
