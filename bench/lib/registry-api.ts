/**
 * The few distribution-API calls the benchmark makes itself (plain HTTP, no auth): reading layer
 * sizes, fanning one manifest out to many tags, and a sequential flux-style listing used as a row.
 */
import type { Sample } from "./measure.ts";

const MANIFEST_ACCEPT = [
  "application/vnd.oci.image.manifest.v1+json",
  "application/vnd.oci.image.index.v1+json",
  "application/vnd.docker.distribution.manifest.v2+json",
].join(", ");

async function ok(res: Response, what: string): Promise<Response> {
  if (!res.ok) throw new Error(`${what}: HTTP ${res.status} ${(await res.text()).slice(0, 200)}`);
  return res;
}

/** GETs a manifest; returns its bytes and content type. */
export async function getManifest(baseUrl: string, repo: string, ref: string): Promise<{ bytes: Uint8Array; type: string }> {
  const res = await ok(await fetch(`${baseUrl}/v2/${repo}/manifests/${ref}`, { headers: { Accept: MANIFEST_ACCEPT } }), `GET manifest ${repo}:${ref}`);
  return { bytes: new Uint8Array(await res.arrayBuffer()), type: res.headers.get("content-type") ?? "application/vnd.oci.image.manifest.v1+json" };
}

/** Sum of the layer sizes in an image manifest. */
export async function layerBytes(baseUrl: string, repo: string, ref: string): Promise<number> {
  const { bytes } = await getManifest(baseUrl, repo, ref);
  const m = JSON.parse(new TextDecoder().decode(bytes)) as { layers?: { size: number }[] };
  return (m.layers ?? []).reduce((a, l) => a + l.size, 0);
}

/** PUTs the manifest of `repo:from` under each of `tags`, a few at a time. */
export async function addTags(baseUrl: string, repo: string, from: string, tags: readonly string[], concurrency = 8): Promise<void> {
  const { bytes, type } = await getManifest(baseUrl, repo, from);
  let next = 0;
  const worker = async () => {
    while (next < tags.length) {
      const tag = tags[next++]!;
      const res = await fetch(`${baseUrl}/v2/${repo}/manifests/${tag}`, { method: "PUT", headers: { "Content-Type": type }, body: bytes });
      await ok(res, `PUT manifest ${repo}:${tag}`);
      await res.arrayBuffer();
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
}

/** Every tag of `repo`, following `Link` pagination. */
export async function listTags(baseUrl: string, repo: string): Promise<string[]> {
  const tags: string[] = [];
  let url: string | null = `${baseUrl}/v2/${repo}/tags/list`;
  while (url) {
    const res: Response = await ok(await fetch(url), `GET tags ${repo}`);
    tags.push(...(((await res.json()) as { tags?: string[] }).tags ?? []));
    const link = res.headers.get("link")?.match(/<([^>]+)>/)?.[1];
    url = link ? new URL(link, baseUrl).toString() : null;
  }
  return tags;
}

/**
 * What `flux list artifacts` does on the wire, in this process: list the tags, then for each tag in
 * turn GET the manifest and HEAD it for the digest. Returns the time and the number of tags seen.
 */
export async function fluxStyleList(baseUrl: string, repo: string): Promise<{ sample: Sample; tags: number }> {
  const start = performance.now();
  const tags = await listTags(baseUrl, repo);
  for (const tag of tags) {
    const m = await getManifest(baseUrl, repo, tag);
    JSON.parse(new TextDecoder().decode(m.bytes));
    const head = await ok(await fetch(`${baseUrl}/v2/${repo}/manifests/${tag}`, { method: "HEAD", headers: { Accept: MANIFEST_ACCEPT } }), `HEAD ${tag}`);
    if (!head.headers.get("docker-content-digest")) throw new Error(`HEAD ${repo}:${tag}: no Docker-Content-Digest`);
  }
  return { sample: { seconds: (performance.now() - start) / 1000, maxRssBytes: null, cpuSeconds: null }, tags: tags.length };
}
