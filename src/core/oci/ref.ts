import { fail } from "../errors.ts";

/**
 * Artifact references, parsed with the flux CLI's rules (go-containerregistry `name`, non-strict):
 * `oci://host[:port]/repo[:tag|@sha256:…]`, plus `oci-layout://<path>[:tag|@sha256:…]` for a local
 * OCI image layout directory.
 */
export type ArtifactRef = RegistryRef | LayoutRef;

export interface RegistryRef {
  kind: "registry";
  /** Normalised registry host: `index.docker.io` for Docker Hub. */
  registry: string;
  /** Normalised repository: `library/x` for single-segment Docker Hub names. */
  repository: string;
  /** Tag, when the reference names one; undefined with a digest-only reference. */
  tag?: string;
  digest?: string;
  /** What followed `oci://`, as typed (flux prints this form in some lines). */
  typed: string;
}

export interface LayoutRef {
  kind: "layout";
  /** Directory of the OCI image layout, as typed (relative paths stay relative). */
  path: string;
  tag?: string;
  digest?: string;
  typed: string;
}

export const DOCKER_HUB = "index.docker.io";
const REPO_CHARS = /^[a-z0-9_.\/-]+$/;
const TAG_RE = /^[A-Za-z0-9_.-]{1,128}$/;
const DIGEST_RE = /^sha256:[a-f0-9]{64}$/;
const FORMAT_HINT = "URL must be in format 'oci://<domain>/<org>/<repo>'";

/** Parses an `oci://` or `oci-layout://` URL. Throws REF_INVALID with flux's messages. */
export function parseArtifactURL(url: string): ArtifactRef {
  if (url.startsWith("oci-layout://")) return parseLayoutRef(url);
  if (!url.startsWith("oci://")) {
    fail("REF_INVALID", FORMAT_HINT, {
      ref: url,
      hint: "prefix registry references with oci:// (e.g. oci://ghcr.io/org/app:v1) or local layouts with oci-layout://",
    });
  }
  const rest = url.slice("oci://".length);
  try {
    return parseReference(rest);
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e);
    fail("REF_INVALID", `'${url}' invalid URL: could not parse reference: ${rest} (${why})`, { ref: url });
  }
}

/** Parses `registry/repo[:tag][@digest]` without a scheme, the way ggcr's `name.ParseReference` does. */
export function parseReference(s: string): RegistryRef {
  let base = s;
  let digest: string | undefined;
  let tag: string | undefined;
  const at = s.split("@");
  if (at.length > 2) throw new Error("a reference may contain only one '@'");
  if (at.length === 2) {
    base = at[0]!;
    digest = at[1]!;
    if (!DIGEST_RE.test(digest)) throw new Error(`digest must be sha256:<64 lower-case hex>, got ${JSON.stringify(digest)}`);
  }
  const colon = base.lastIndexOf(":");
  if (colon >= 0 && !base.slice(colon + 1).includes("/")) {
    tag = base.slice(colon + 1);
    base = base.slice(0, colon);
    if (!TAG_RE.test(tag)) throw new Error(`tag ${JSON.stringify(tag)} must be 1-128 characters of [A-Za-z0-9_.-]`);
  }
  const { registry, repository } = splitRepository(base);
  return { kind: "registry", registry, repository, tag, digest, typed: s };
}

/** Splits `host/repo` into a normalised registry and repository (Docker Hub rules). */
export function splitRepository(name: string): { registry: string; repository: string } {
  if (name.length === 0) throw new Error("a repository name must be specified");
  let registry = "";
  let repo = name;
  const slash = name.indexOf("/");
  // As in ggcr: the first segment names a registry only when it contains '.' or ':'.
  // So `localhost/app` is the Docker Hub repository `localhost/app`; write `localhost:5000/app`.
  if (slash > 0) {
    const first = name.slice(0, slash);
    if (first.includes(".") || first.includes(":")) {
      registry = first;
      repo = name.slice(slash + 1);
    }
  }
  if (repo.length < 2 || repo.length > 255) throw new Error(`repository must be 2-255 characters, got ${JSON.stringify(repo)}`);
  if (!REPO_CHARS.test(repo)) {
    throw new Error(`repository can only contain the characters \`abcdefghijklmnopqrstuvwxyz0123456789_-./\`: ${repo}`);
  }
  if (registry !== "") checkRegistry(registry);
  if (registry === "" || registry === "docker.io") registry = DOCKER_HUB;
  if (registry === DOCKER_HUB && !repo.includes("/")) repo = `library/${repo}`;
  return { registry, repository: repo };
}

function checkRegistry(host: string): void {
  let u: URL;
  try {
    u = new URL(`http://${host}`);
  } catch {
    throw new Error(`registries must be valid RFC 3986 URI authorities: ${host}`);
  }
  const port = u.port ? `:${u.port}` : "";
  const rebuilt = u.hostname + port;
  if (rebuilt.toLowerCase() !== host.toLowerCase() && !(host.endsWith(":") === false && u.host.toLowerCase() === host.toLowerCase())) {
    throw new Error(`registries must be valid RFC 3986 URI authorities: ${host}`);
  }
}

function parseLayoutRef(url: string): LayoutRef {
  const rest = url.slice("oci-layout://".length);
  let path = rest;
  let tag: string | undefined;
  let digest: string | undefined;
  const at = rest.lastIndexOf("@");
  if (at >= 0 && rest.slice(at + 1).startsWith("sha256:")) {
    digest = rest.slice(at + 1);
    path = rest.slice(0, at);
    if (!DIGEST_RE.test(digest)) {
      fail("REF_INVALID", `'${url}' invalid URL: digest must be sha256:<64 lower-case hex>`, { ref: url });
    }
  }
  const colon = path.lastIndexOf(":");
  if (colon >= 0 && !path.slice(colon + 1).includes("/")) {
    tag = path.slice(colon + 1);
    path = path.slice(0, colon);
    if (!TAG_RE.test(tag)) fail("REF_INVALID", `'${url}' invalid URL: tag ${JSON.stringify(tag)} must be 1-128 characters of [A-Za-z0-9_.-]`, { ref: url });
  }
  if (path === "") {
    fail("REF_INVALID", `'${url}' invalid URL: missing directory`, { ref: url, hint: "use oci-layout://<dir>[:tag], e.g. oci-layout://./out:v1" });
  }
  return { kind: "layout", path, tag, digest, typed: rest };
}

/** `registry/repository` as flux prints it in result lines (normalised). */
export function repositoryName(r: RegistryRef): string {
  return `${r.registry}/${r.repository}`;
}

/** The tag or digest a reference names, for resolving; `latest` when it names neither. */
export function referenceOf(r: ArtifactRef): string {
  return r.digest ?? r.tag ?? "latest";
}

/** The tag a reference names, `latest` when it has neither tag nor digest (ggcr `TagStr`). */
export function tagOf(r: ArtifactRef): string | undefined {
  if (r.tag !== undefined) return r.tag;
  return r.digest === undefined ? "latest" : undefined;
}

/** Formats a reference back into a URL with the given tag or digest. */
export function formatRef(r: ArtifactRef, ref?: { tag?: string; digest?: string }): string {
  const tag = ref ? ref.tag : r.tag;
  const digest = ref ? ref.digest : r.digest;
  const base = r.kind === "registry" ? `oci://${repositoryName(r)}` : `oci-layout://${r.path}`;
  return base + (tag ? `:${tag}` : "") + (digest ? `@${digest}` : "");
}

/** Human name without scheme, normalised: `ghcr.io/org/app:v1`, `ghcr.io/org/app@sha256:…`, or the layout path. */
export function displayRef(r: ArtifactRef, ref?: { tag?: string; digest?: string }): string {
  const url = formatRef(r, ref);
  return r.kind === "registry" ? url.slice("oci://".length) : url;
}

/**
 * Registries Docker and ggcr talk plain HTTP to without being told: localhost, loopback, `*.localhost`
 * and RFC 1918 addresses (https is still tried first).
 */
export function isHttpCapable(registry: string): boolean {
  const host = registry.startsWith("[") ? registry.slice(0, registry.indexOf("]") + 1) : registry.split(":")[0]!;
  if (host === "localhost" || host.endsWith(".localhost")) return true;
  if (registry.includes("127.0.0.1") || registry.includes("::1")) return true;
  const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(host);
  if (!m) return false;
  const a = Number(m[1]);
  const b = Number(m[2]);
  return a === 10 || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168);
}
