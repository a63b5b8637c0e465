/**
 * How the controller reaches one OCIRepository's registry (spec §4): credentials from `secretRef`
 * and the service account's imagePullSecrets, TLS from `certSecretRef`, a proxy from
 * `proxySecretRef`, `insecure`, and cloud `provider` token exchanges.
 *
 * Differences from source-controller, on purpose or for now:
 * - A keychain with no matching entry is anonymous; the controller's own Docker config and the
 *   ambient cloud keychains are not consulted (spec §4.1 allows this).
 * - `insecure: true` together with `certSecretRef` keeps TLS verification on; plain HTTP is then
 *   only tried for loopback and private hosts (the core has no "HTTP allowed but verify TLS" switch).
 * - The proxy is not used for loopback registries (the core transport always bypasses them), nor for
 *   cloud token calls.
 * - Cloud tokens are fetched when the access is built, so a host that does not fit the provider is
 *   reported as `failed to get credential from <provider>: …` (AuthenticationFailed).
 */
import { createHash, X509Certificate } from "node:crypto";
import { readFile } from "node:fs/promises";
import { createSecureContext } from "node:tls";
import { CoreError, isCoreError, proxyFromEnv, staticCredentials, type Credential, type CredentialProvider, type RegistryClientOptions } from "../../core/index.ts";
import type { OCIRepository } from "../api/ocirepository.ts";
import { kubeStatusOf, type KubeClient } from "../client/kube.ts";
import { cloudCredentials, CloudTokenCache, type CloudEndpoints, type CloudProviderName } from "../../core/index.ts";

/** Registry client options for one object, and a key identifying them. */
export interface RegistryAccess {
  /** Options for `createRegistryClient` (never logged: they may hold passwords and keys). */
  options: RegistryClientOptions;
  /**
   * Objects whose keys are equal may share one registry client (connections, tokens, look-ups).
   * Secret material enters the key only as a hash.
   */
  key: string;
}

/** Options of `registryAccessFor`; every field optional. */
export interface RegistryAccessOptions {
  signal?: AbortSignal;
  /**
   * Environment for the cloud providers: credentials (`AWS_*`, `AZURE_*`), token files and endpoint
   * overrides (`AWS_ENDPOINT_URL_ECR`, `AWS_EC2_METADATA_SERVICE_ENDPOINT`, `GCE_METADATA_HOST`, …).
   * Default `{}` (no ambient credentials; metadata servers at their well-known addresses).
   */
  env?: Record<string, string | undefined>;
  /** HTTP client for cloud token exchanges. Default global `fetch`. */
  fetch?: typeof fetch;
  /** Reads token files named by the environment. Default node:fs `readFile` (UTF-8). */
  readFile?: (path: string) => Promise<string>;
  /** Cloud endpoint overrides (local stand-ins in tests, private endpoints). Default: from `env`, else the public ones. */
  cloudEndpoints?: CloudEndpoints;
  /** Cloud token cache. Default: one cache shared by the process. */
  tokenCache?: CloudTokenCache;
  /** The `ObjectLevelWorkloadIdentity` feature gate. Default false. */
  objectLevelWorkloadIdentity?: boolean;
  /** Warnings (deprecated secret keys). Never given secret values. Default: none. */
  log?: (msg: string) => void;
}

type Obj = Record<string, any>;

const DEFAULT_TOKEN_CACHE = new CloudTokenCache();

/** The stall source-controller reports for `serviceAccountName` + cloud provider without the gate (spec §2.3). */
export const FEATURE_GATE_MESSAGE =
  "to use spec.serviceAccountName for provider authentication please enable the ObjectLevelWorkloadIdentity feature gate in the controller";

const sha256 = (s: string) => createHash("sha256").update(s).digest("hex");

/** A step error whose text is wrapped by the caller; never carries secret values. */
class StepError extends Error {}

/** The API server's own text of a failed request (`secrets "x" not found`), without our request prefix. */
function apiMessage(e: unknown): string {
  const m = e instanceof Error ? e.message : String(e);
  return /HTTP \d+: (.*)$/s.exec(m)?.[1] ?? m;
}

async function getSecret(kube: KubeClient, ns: string, name: string, style: "wrap" | "not-found", signal?: AbortSignal): Promise<Obj> {
  try {
    return await kube.get(`/api/v1/namespaces/${encodeURIComponent(ns)}/secrets/${encodeURIComponent(name)}`, signal);
  } catch (e) {
    if (isCoreError(e, "CANCELLED")) throw e;
    if (style === "not-found" && kubeStatusOf(e) === 404) throw new StepError(`secret '${ns}/${name}' not found`);
    throw new StepError(`failed to get secret '${ns}/${name}': ${apiMessage(e)}`);
  }
}

function secretValue(secret: Obj, key: string): string | undefined {
  const v = secret.data?.[key];
  return typeof v === "string" ? Buffer.from(v, "base64").toString("utf8") : undefined;
}

/** One `auths` entry of a pull secret, keyed the way the Kubernetes keychain matches registries. */
export interface KeychainEntry {
  /** Normalised key (`host[:port][/path]`); also the sort key. */
  key: string;
  labels: string[];
  port: string;
  path: string;
  credential: Credential;
}

function splitTarget(s: string): { labels: string[]; port: string; path: string } | undefined {
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(s) ? s : `https://${s}`;
  let u: URL;
  try {
    u = new URL(withScheme);
  } catch {
    return undefined;
  }
  let path = u.pathname;
  for (const p of ["/v2/", "/v1/"]) if (path.startsWith(p)) path = path.slice(p.length);
  path = path.replace(/^\/+/, "").replace(/\/+$/, "");
  return { labels: u.hostname.split("."), port: u.port, path };
}

function labelMatches(pattern: string, label: string): boolean {
  if (!pattern.includes("*")) return pattern === label;
  const re = new RegExp(`^${pattern.split("*").map((x) => x.replace(/[.+?^${}()|[\]\\]/g, "\\$&")).join("[^.]*")}$`);
  return re.test(label);
}

function entryCredential(raw: unknown): Credential | undefined {
  if (!raw || typeof raw !== "object") return undefined;
  const r = raw as Record<string, unknown>;
  const str = (v: unknown) => (typeof v === "string" && v !== "" ? v : undefined);
  let username = str(r.username);
  let password = str(r.password);
  const auth = str(r.auth);
  if (auth) {
    // Std or unpadded base64 both decode here; `auth` overrides username/password as in kubelet.
    const decoded = Buffer.from(auth, "base64").toString("utf8");
    const i = decoded.indexOf(":");
    if (i >= 0) {
      username = decoded.slice(0, i);
      password = decoded.slice(i + 1);
    }
  }
  const registryToken = str(r.registrytoken);
  const identityToken = str(r.identitytoken);
  if (registryToken) return { kind: "bearer", token: registryToken };
  if (identityToken) return { kind: "identity", identityToken, ...(username ? { username } : {}) };
  if (username || password) return { kind: "basic", username: username ?? "", password: password ?? "" };
  return undefined;
}

/**
 * The keychain entries of one pull secret (spec §4.1): only `kubernetes.io/dockerconfigjson`
 * (`.dockerconfigjson`, `{"auths":{…}}`) and `kubernetes.io/dockercfg` (`.dockercfg`, a bare map)
 * count; other types contribute nothing. Entries are sorted longest key first (reverse lexicographic).
 * Throws StepError on invalid JSON, naming the secret but never quoting its content.
 */
export function keychainEntries(secret: Obj): KeychainEntry[] {
  const ref = `${secret.metadata?.namespace}/${secret.metadata?.name}`;
  let text: string | undefined;
  let wrapped = false;
  let dataKey = "";
  if (secret.type === "kubernetes.io/dockerconfigjson") {
    dataKey = ".dockerconfigjson";
    wrapped = true;
  } else if (secret.type === "kubernetes.io/dockercfg") {
    dataKey = ".dockercfg";
  } else {
    return [];
  }
  text = secretValue(secret, dataKey);
  if (text === undefined) return [];
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    // JSON.parse messages quote the input, which is secret.
    throw new StepError(`secret '${ref}' has invalid JSON in '${dataKey}'`);
  }
  const auths = wrapped ? (parsed as Obj | null)?.auths : parsed;
  if (!auths || typeof auths !== "object") return [];
  const out: KeychainEntry[] = [];
  for (const [k, v] of Object.entries(auths as Obj)) {
    const t = splitTarget(k);
    const credential = entryCredential(v);
    if (!t || !credential) continue;
    const host = t.labels.join(".") + (t.port ? `:${t.port}` : "");
    out.push({ key: t.path ? `${host}/${t.path}` : host, ...t, credential });
  }
  return out.sort((a, b) => (a.key < b.key ? 1 : a.key > b.key ? -1 : 0));
}

/** The first entry (secrets in order, keys longest first) matching `registry/repository`. */
export function matchKeychain(keychains: KeychainEntry[][], registry: string, repository: string): Credential | undefined {
  const target = splitTarget(`${registry}/${repository}`);
  if (!target) return undefined;
  for (const entries of keychains) {
    for (const e of entries) {
      if (e.labels.length !== target.labels.length || e.port !== target.port) continue;
      if (!e.labels.every((l, i) => labelMatches(l, target.labels[i]!))) continue;
      if (!target.path.startsWith(e.path)) continue;
      return e.credential;
    }
  }
  return undefined;
}

/** Pull secrets of `secretRef` and the service account, in that order (spec §4.1). */
async function pullSecrets(kube: KubeClient, obj: OCIRepository, signal?: AbortSignal): Promise<Obj[]> {
  const ns = obj.metadata.namespace;
  const out: Obj[] = [];
  const ref = obj.spec.secretRef?.name;
  if (ref) out.push(await getSecret(kube, ns, ref, "wrap", signal));
  const sa = obj.spec.serviceAccountName;
  if (sa) {
    let account: Obj;
    try {
      account = await kube.get(`/api/v1/namespaces/${encodeURIComponent(ns)}/serviceaccounts/${encodeURIComponent(sa)}`, signal);
    } catch (e) {
      if (isCoreError(e, "CANCELLED")) throw e;
      if (kubeStatusOf(e) === 404) throw new StepError(`serviceaccount '${ns}/${sa}' not found`);
      throw new StepError(`failed to get serviceaccount '${ns}/${sa}': ${apiMessage(e)}`);
    }
    for (const ips of (account.imagePullSecrets ?? []) as Obj[]) {
      if (typeof ips?.name !== "string" || !ips.name) continue;
      try {
        out.push(await getSecret(kube, ns, ips.name, "not-found", signal));
      } catch (e) {
        if (!(e instanceof StepError)) throw e;
        throw new StepError(`failed to get image pull secret for serviceaccount '${ns}/${sa}': ${e.message}`);
      }
    }
  }
  return out;
}

/** `proxySecretRef` → proxy URL (spec §4.4). */
async function proxyFromSecret(kube: KubeClient, ns: string, name: string, signal?: AbortSignal): Promise<string> {
  const secret = await getSecret(kube, ns, name, "not-found", signal);
  const address = secretValue(secret, "address");
  if (address === undefined) throw new StepError(`secret '${ns}/${name}': key 'address' not found`);
  if (address === "") throw new StepError(`secret '${ns}/${name}': proxy address is empty`);
  if (address.length > 2048) throw new StepError(`secret '${ns}/${name}': proxy address is longer than 2048 characters`);
  let u: URL;
  try {
    u = new URL(address);
  } catch {
    throw new StepError(`secret '${ns}/${name}': invalid proxy address`);
  }
  const scheme = u.protocol.replace(/:$/, "");
  if (!["http", "https", "socks5"].includes(scheme)) {
    throw new StepError(`proxy URL must use one of the supported schemes (http, https, socks5), got '${scheme}'`);
  }
  if (scheme === "socks5") throw new StepError("socks5 proxies are not supported by berth; use an http or https proxy");
  const username = secretValue(secret, "username");
  const password = secretValue(secret, "password");
  if (username) {
    u.username = encodeURIComponent(username);
    if (password) u.password = encodeURIComponent(password);
  }
  return u.href;
}

/** `certSecretRef` → PEM material (spec §4.3); new keys win over the deprecated `certFile`/`keyFile`/`caFile`. */
async function tlsFromSecret(
  kube: KubeClient,
  ns: string,
  name: string,
  signal: AbortSignal | undefined,
  log: ((m: string) => void) | undefined,
): Promise<{ ca?: string; cert?: string; key?: string }> {
  const secret = await getSecret(kube, ns, name, "not-found", signal);
  const pick = (key: string, legacy: string) => {
    const v = secretValue(secret, key);
    if (v !== undefined) return v;
    const old = secretValue(secret, legacy);
    if (old !== undefined) log?.(`secret '${ns}/${name}': '${legacy}' is deprecated, use '${key}'`);
    return old;
  };
  const cert = pick("tls.crt", "certFile");
  const key = pick("tls.key", "keyFile");
  const ca = pick("ca.crt", "caFile");
  if (cert && !key) throw new StepError(`secret '${ns}/${name}' contains 'tls.crt' but missing 'tls.key'`);
  if (key && !cert) throw new StepError(`secret '${ns}/${name}' contains 'tls.key' but missing 'tls.crt'`);
  if (!ca && !(cert && key)) throw new StepError(`secret '${ns}/${name}' must contain either 'ca.crt' or both 'tls.crt' and 'tls.key'`);
  if (cert && key) {
    try {
      createSecureContext({ cert, key });
    } catch (e) {
      throw new StepError(`failed to parse TLS certificate and key: ${(e as Error).message}`);
    }
  }
  if (ca) {
    try {
      new X509Certificate(ca);
    } catch {
      throw new StepError("failed to parse CA certificate");
    }
  }
  return { ...(ca ? { ca } : {}), ...(cert && key ? { cert, key } : {}) };
}

const AUTH_HINT = "check the secrets and service account the OCIRepository references";

function authFailed(message: string, cause: unknown): CoreError {
  return new CoreError({ code: "AUTH_FAILED", message, cause, details: { hint: AUTH_HINT } });
}

/** `host[:port]` of an `oci://` URL. */
function registryHost(url: string): string {
  return url.replace(/^oci:\/\//, "").split("/")[0]!;
}

/**
 * The registry access of `obj`, in source-controller's order: keychain, proxy, cloud provider (only
 * when the keychain is anonymous), TLS. Throws CoreError `AUTH_FAILED` with the spec's messages
 * (`failed to get credential: …`, `failed to get proxy address: …`,
 * `failed to get credential from <provider>: …`, `failed to generate transport for '<url>': …`),
 * and `USAGE` (a stall) for `serviceAccountName` with a cloud provider while the
 * ObjectLevelWorkloadIdentity gate is off.
 */
export async function registryAccessFor(kube: KubeClient, obj: OCIRepository, opts: RegistryAccessOptions = {}): Promise<RegistryAccess> {
  const { signal } = opts;
  const ns = obj.metadata.namespace;
  const wrap = async <T>(prefix: string, f: () => Promise<T>): Promise<T> => {
    try {
      return await f();
    } catch (e) {
      if (e instanceof StepError) throw authFailed(`${prefix}${e.message}`, e);
      throw e;
    }
  };
  const material: Record<string, unknown> = { insecure: obj.spec.insecure === true };
  const options: RegistryClientOptions = {};

  const keychains = await wrap("failed to get credential: ", async () => (await pullSecrets(kube, obj, signal)).map(keychainEntries));
  if (keychains.length > 0) {
    material.keychain = keychains.map((es) => es.map((e) => [e.key, e.credential]));
    options.credentials = { get: async (registry, repository) => matchKeychain(keychains, registry, repository) } satisfies CredentialProvider;
  }

  const proxyName = obj.spec.proxySecretRef?.name;
  if (proxyName) {
    const proxy = await wrap("failed to get proxy address: ", () => proxyFromSecret(kube, ns, proxyName, signal));
    material.proxy = proxy;
    options.proxy = { https: proxy, http: proxy };
  } else {
    // Without a proxy secret, the controller's own environment decides, as Go's ProxyFromEnvironment does upstream.
    const fromEnv = proxyFromEnv(opts.env ?? {});
    if (fromEnv.https || fromEnv.http) {
      material.proxy = fromEnv;
      options.proxy = fromEnv;
    }
  }

  const provider = obj.spec.provider;
  if (keychains.length === 0 && provider && provider !== "generic") {
    if (obj.spec.serviceAccountName) {
      if (!opts.objectLevelWorkloadIdentity) {
        throw new CoreError({ code: "USAGE", message: FEATURE_GATE_MESSAGE, details: { hint: "stalled (FeatureGateDisabled): remove spec.serviceAccountName or enable the gate" } });
      }
      throw authFailed(`failed to get credential from ${provider}: object-level workload identity (spec.serviceAccountName) is not supported by berth yet`, undefined);
    }
    const cred = await cloudCredentials(provider as CloudProviderName, {
      env: opts.env ?? {},
      ...(opts.fetch ? { fetch: opts.fetch } : {}),
      readFile: opts.readFile ?? ((p) => readFile(p, "utf8")),
      ...(opts.cloudEndpoints ? { endpoints: opts.cloudEndpoints } : {}),
      cache: opts.tokenCache ?? DEFAULT_TOKEN_CACHE,
      ...(signal ? { signal } : {}),
      hint: AUTH_HINT,
    }).get(registryHost(obj.spec.url));
    material.cloud = [provider, cred.username, cred.password];
    options.credentials = staticCredentials(cred);
  }

  const certName = obj.spec.certSecretRef?.name;
  if (certName) {
    const tls = await wrap(`failed to generate transport for '${obj.spec.url}': `, () => tlsFromSecret(kube, ns, certName, signal, opts.log));
    Object.assign(options, tls);
    material.tls = tls;
  } else if (obj.spec.insecure === true) {
    options.insecure = true;
  }
  return { options, key: `access:sha256:${sha256(JSON.stringify(material))}` };
}
