import { createHash, randomBytes } from "node:crypto";
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { parseAllDocuments, stringify } from "yaml";
import { generateCerts } from "./certs.ts";
import { freePort } from "./free-port.ts";
import { runOk } from "./run.ts";
import { exitOf, killWatched, processRoot, WATCHDOG } from "./process.ts";

/** The Kubernetes release scripts/setup builds (test/harness/kube/go.mod pins it). */
export const KUBE_VERSION = "v1.37.2";
/** The etcd release scripts/setup builds: the one that Kubernetes release pins. */
export const ETCD_VERSION = "3.7.0";

const BUILDER_DIR = join(import.meta.dir, "kube");

/** `${BERTH_CACHE:-~/.cache/berth}/bin`, where scripts/setup builds kube-apiserver and etcd. */
export function kubeBinDir(): string {
  return join(process.env.BERTH_CACHE ?? join(homedir(), ".cache", "berth"), "bin");
}

/** sha256 (hex) of test/harness/kube/go.mod and go.sum: the key scripts/setup records beside the binaries. */
export function kubeSourceHash(): string {
  const h = createHash("sha256");
  for (const f of ["go.mod", "go.sum"]) h.update(readFileSync(join(BUILDER_DIR, f)));
  return h.digest("hex");
}

/**
 * Paths of kube-apiserver and etcd. Building them takes minutes, so unlike the Go oracles this does not
 * build: it throws, naming scripts/setup, when they are missing or were built from another go.mod/go.sum.
 */
export function kubeBinaries(): { apiserver: string; etcd: string } {
  const dir = kubeBinDir();
  const apiserver = join(dir, "kube-apiserver");
  const etcd = join(dir, "etcd");
  const stamp = `${apiserver}.sha256`;
  if (!existsSync(apiserver) || !existsSync(etcd) || !existsSync(stamp)) {
    throw new Error(`kube-apiserver/etcd not found in ${dir}: run scripts/setup (builds Kubernetes ${KUBE_VERSION})`);
  }
  if (readFileSync(stamp, "utf8").trim() !== kubeSourceHash()) {
    throw new Error(`kube-apiserver in ${dir} was built from another test/harness/kube/go.mod: run scripts/setup`);
  }
  return { apiserver, etcd };
}

/** A static-token user of a test API server, besides the admin. */
export interface KubeUser {
  name: string;
  /** Groups the user is in. Default none (so RBAC denies everything not granted). */
  groups?: string[];
}

/** Options for {@link startKube}. */
export interface KubeOptions {
  /** Extra static-token users; their tokens are in {@link KubeServer.tokens}. Default none. */
  users?: KubeUser[];
  /** Extra kube-apiserver flags, appended last (so they win). Default none. */
  apiserverArgs?: string[];
  /** How long to wait for etcd's `/health` plus the API server's `/readyz`, in ms. Default 60_000. */
  readyTimeoutMs?: number;
}

/** Defaults used by {@link startKube}. */
export const DEFAULT_KUBE_OPTIONS = { readyTimeoutMs: 60_000 } as const satisfies KubeOptions;

/** A running kube-apiserver (and its own etcd) on 127.0.0.1, owned by the test that started it. */
export interface KubeServer {
  /** `https://127.0.0.1:PORT` (no trailing slash). */
  url: string;
  /** kubeconfig with one context: this server, its CA inline, the admin token. */
  kubeconfigPath: string;
  /** CA that signed the serving certificate. */
  caFile: string;
  /** Bearer token of `berth-admin`, in group `system:masters` (RBAC lets it do anything). */
  token: string;
  /** Bearer tokens of {@link KubeOptions.users}, by name. */
  tokens: Record<string, string>;
  /** `http://127.0.0.1:PORT` of the etcd holding this server's data. */
  etcdUrl: string;
  /** Milliseconds from spawning etcd to the API server answering `/readyz` with 200. */
  startupMs: number;
  /** The API server's and etcd's logs so far. */
  logs(): { apiserver: string; etcd: string };
  /** Kills the API server and etcd and removes their temp dir. Safe to call twice. */
  stop(): Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Watched {
  exited: () => boolean;
  logFile: string;
  stop(): Promise<void>;
}

/** Spawns `cmd` under the watchdog with stdout+stderr to `logFile`. */
function spawnWatched(cmd: string[], dir: string, name: string): Watched {
  const logFile = join(dir, `${name}.log`);
  const pidFile = join(dir, `${name}.pid`);
  const logFd = openSync(logFile, "w");
  const proc = Bun.spawn(["/bin/sh", "-c", WATCHDOG, "watchdog", pidFile, ...cmd], {
    stdin: "pipe",
    stdout: logFd,
    stderr: logFd,
  });
  closeSync(logFd);
  let exited = false;
  void exitOf(proc).then(() => {
    exited = true;
  });
  let stopped: Promise<void> | undefined;
  return {
    exited: () => exited,
    logFile,
    stop: () => {
      stopped ??= (async () => {
        // Closing the watchdog's stdin makes it SIGTERM the child.
        void proc.stdin.end();
        const done = await Promise.race([exitOf(proc).then(() => true), sleep(3000).then(() => false)]);
        if (done) return;
        await killWatched(proc, pidFile);
      })();
      return stopped;
    },
  };
}

const readLog = (f: string) => (existsSync(f) ? readFileSync(f, "utf8") : "");

/** Polls `probe` until it returns true; "exited" when `w` died first. */
async function waitFor(w: Watched, deadline: number, probe: () => Promise<boolean>): Promise<"ok" | "exited" | "timeout"> {
  while (Date.now() < deadline) {
    if (w.exited()) return "exited";
    try {
      if (await probe()) return "ok";
    } catch {
      // not listening yet
    }
    await sleep(50);
  }
  return w.exited() ? "exited" : "timeout";
}

/** Starts a single-member etcd with its data in `dir`, retrying on a port taken since freePort(). */
async function startEtcd(bin: string, dir: string, deadline: number): Promise<{ url: string; proc: Watched }> {
  for (let attempt = 1; ; attempt++) {
    const [client, peer] = [await freePort(), await freePort()];
    const url = `http://127.0.0.1:${client}`;
    const peerUrl = `http://127.0.0.1:${peer}`;
    const dataDir = join(dir, `etcd-data-${attempt}`);
    const proc = spawnWatched(
      [
        bin,
        "--name=berth-test",
        `--data-dir=${dataDir}`,
        `--listen-client-urls=${url}`,
        `--advertise-client-urls=${url}`,
        `--listen-peer-urls=${peerUrl}`,
        `--initial-advertise-peer-urls=${peerUrl}`,
        `--initial-cluster=berth-test=${peerUrl}`,
        // Test data is thrown away: durability is not worth an fsync per write.
        "--unsafe-no-fsync",
        "--log-level=warn",
      ],
      dir,
      "etcd",
    );
    const ready = await waitFor(proc, deadline, async () => {
      const res = await fetch(`${url}/health`, { signal: AbortSignal.timeout(1000) });
      const body = (await res.json()) as { health?: string };
      return res.status === 200 && body.health === "true";
    });
    if (ready === "ok") return { url, proc };
    await proc.stop();
    const log = readLog(proc.logFile);
    if (ready === "exited" && /address already in use/.test(log) && attempt < 5) continue;
    throw new Error(`etcd ${ready === "exited" ? "exited" : "did not report healthy in time"}:\n${log}`);
  }
}

/**
 * Starts etcd and kube-apiserver (both built by scripts/setup) on free loopback ports, each server with
 * its own temp dir, PKI, service-account key and etcd, and resolves once `/readyz` answers 200. The API
 * server authenticates static bearer tokens (an admin in `system:masters`, plus `opts.users`) and
 * authorizes with RBAC. No controller-manager runs: namespaces are not finalized, service accounts get
 * no tokens, pods are never scheduled. Throws with the servers' logs when either exits or is not ready
 * in time.
 */
export async function startKube(opts: KubeOptions = {}): Promise<KubeServer> {
  const bins = kubeBinaries();
  const dir = join(processRoot("berth-kube-"), `kube-${randomBytes(4).toString("hex")}`);
  mkdirSync(dir);
  const started = Date.now();
  const deadline = started + (opts.readyTimeoutMs ?? DEFAULT_KUBE_OPTIONS.readyTimeoutMs);
  let etcd: Watched | undefined;
  let apiserver: Watched | undefined;
  const cleanup = async () => {
    await apiserver?.stop();
    await etcd?.stop();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    // PKI and etcd are independent; overlapping them saves a few hundred ms of openssl.
    const pkiDir = join(dir, "pki");
    mkdirSync(pkiDir);
    const pki = (async () => {
      const certs = await generateCerts({ dir: pkiDir });
      const saKey = join(pkiDir, "sa.key");
      const saPub = join(pkiDir, "sa.pub");
      await runOk(["openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", saKey]);
      await runOk(["openssl", "pkey", "-in", saKey, "-pubout", "-out", saPub]);
      return { certs, saKey, saPub };
    })();
    const etcdStart = startEtcd(bins.etcd, dir, deadline);
    const [{ certs, saKey, saPub }, etcdRunning] = await Promise.all([pki, etcdStart.catch((e: unknown) => e as Error)]);
    if (etcdRunning instanceof Error) throw etcdRunning;
    etcd = etcdRunning.proc;

    const token = randomBytes(24).toString("base64url");
    const tokens: Record<string, string> = {};
    const csv = (s: string) => `"${s.replaceAll('"', '""')}"`;
    const rows = [[token, "berth-admin", "berth-admin", "system:masters"]];
    for (const u of opts.users ?? []) {
      tokens[u.name] = randomBytes(24).toString("base64url");
      rows.push([tokens[u.name]!, u.name, u.name, (u.groups ?? []).join(",")]);
    }
    const tokenFile = join(dir, "tokens.csv");
    writeFileSync(tokenFile, rows.map((r) => r.map(csv).join(",")).join("\n") + "\n");
    const ca = readFileSync(certs.caCert, "utf8");

    for (let attempt = 1; ; attempt++) {
      const port = await freePort();
      const url = `https://127.0.0.1:${port}`;
      apiserver = spawnWatched(
        [
          bins.apiserver,
          `--etcd-servers=${etcdRunning.url}`,
          "--bind-address=127.0.0.1",
          "--advertise-address=127.0.0.1",
          `--secure-port=${port}`,
          `--cert-dir=${join(dir, "apiserver-certs")}`,
          `--tls-cert-file=${certs.serverCert}`,
          `--tls-private-key-file=${certs.serverKey}`,
          `--client-ca-file=${certs.caCert}`,
          `--token-auth-file=${tokenFile}`,
          "--authorization-mode=RBAC",
          "--service-account-issuer=https://kubernetes.default.svc",
          `--service-account-key-file=${saPub}`,
          `--service-account-signing-key-file=${saKey}`,
          "--service-cluster-ip-range=10.0.0.0/24",
          // Without a controller-manager no service account exists, and this plugin would reject pods.
          "--disable-admission-plugins=ServiceAccount",
          // The `kubernetes` Service's Endpoints would hold 127.0.0.1, which Endpoints validation rejects.
          "--endpoint-reconciler-type=none",
          "--profiling=false",
          ...(opts.apiserverArgs ?? []),
        ],
        dir,
        "apiserver",
      );
      const ready = await waitFor(apiserver, deadline, async () => {
        const res = await fetch(`${url}/readyz`, {
          headers: { authorization: `Bearer ${token}` },
          tls: { ca },
          signal: AbortSignal.timeout(2000),
        } as RequestInit);
        await res.arrayBuffer();
        return res.status === 200;
      });
      if (ready !== "ok") {
        await apiserver.stop();
        const log = readLog(apiserver.logFile);
        if (ready === "exited" && /address already in use/.test(log) && attempt < 5) continue;
        throw new Error(`kube-apiserver ${ready === "exited" ? "exited" : "was not ready in time"}:\n${log}\n--- etcd:\n${readLog(etcd.logFile)}`);
      }
      const kubeconfigPath = join(dir, "kubeconfig");
      writeFileSync(
        kubeconfigPath,
        stringify({
          apiVersion: "v1",
          kind: "Config",
          clusters: [{ name: "berth-test", cluster: { server: url, "certificate-authority-data": Buffer.from(ca).toString("base64") } }],
          users: [{ name: "berth-admin", user: { token } }],
          contexts: [{ name: "berth-test", context: { cluster: "berth-test", user: "berth-admin", namespace: "default" } }],
          "current-context": "berth-test",
        }),
      );
      const apiLog = apiserver.logFile;
      const etcdLog = etcd.logFile;
      let stopping: Promise<void> | undefined;
      return {
        url,
        kubeconfigPath,
        caFile: certs.caCert,
        token,
        tokens,
        etcdUrl: etcdRunning.url,
        startupMs: Date.now() - started,
        logs: () => ({ apiserver: readLog(apiLog), etcd: readLog(etcdLog) }),
        stop: () => (stopping ??= cleanup()),
      };
    }
  } catch (err) {
    await cleanup();
    throw err;
  }
}

/** Options for {@link kubeFetch}. */
export interface KubeFetchOptions {
  method?: string;
  /** JSON-encoded unless a string. Default: no body. */
  body?: unknown;
  /** Default "application/json" when there is a body. */
  contentType?: string;
  /** Bearer token. Default: the admin token; null sends none. */
  token?: string | null;
  signal?: AbortSignal;
}

const caCache = new Map<string, string>();

/**
 * `fetch` of `path` (e.g. `/api/v1/namespaces`) on `server`, trusting its CA through Bun's `tls.ca` (Bun's
 * built-in undici would ignore a custom CA, see design §2.7) and sending a bearer token.
 */
export function kubeFetch(server: KubeServer, path: string, opts: KubeFetchOptions = {}): Promise<Response> {
  let ca = caCache.get(server.caFile);
  if (ca === undefined) {
    ca = readFileSync(server.caFile, "utf8");
    caCache.set(server.caFile, ca);
  }
  const headers: Record<string, string> = { accept: "application/json" };
  const token = opts.token === undefined ? server.token : opts.token;
  if (token !== null) headers.authorization = `Bearer ${token}`;
  let body: string | undefined;
  if (opts.body !== undefined) {
    body = typeof opts.body === "string" ? opts.body : JSON.stringify(opts.body);
    headers["content-type"] = opts.contentType ?? "application/json";
  }
  return fetch(`${server.url}${path}`, {
    method: opts.method ?? (body === undefined ? "GET" : "POST"),
    headers,
    body,
    signal: opts.signal,
    tls: { ca },
  } as RequestInit);
}

/** Like {@link kubeFetch} but returns the parsed JSON body and throws, with the body, on a non-2xx status. */
export async function kubeJson<T = Record<string, any>>(server: KubeServer, path: string, opts: KubeFetchOptions = {}): Promise<T> {
  const res = await kubeFetch(server, path, opts);
  const text = await res.text();
  if (!res.ok) throw new Error(`${opts.method ?? (opts.body === undefined ? "GET" : "POST")} ${path}: HTTP ${res.status}: ${text}`);
  return JSON.parse(text) as T;
}

interface Crd {
  metadata: { name: string };
  spec: { group: string; names: { plural: string }; versions: { name: string; served: boolean }[] };
  status?: { conditions?: { type: string; status: string }[] };
}

/**
 * Applies every CustomResourceDefinition in the YAML `files` (server-side apply, field manager
 * "berth-test", forced, so applying a changed CRD over an existing one replaces it), then waits until
 * each is Established and each served version lists (discovery lags Established by a moment). Other
 * kinds in the files are an error. Resolves to the CRD names.
 */
export async function installCRDs(server: KubeServer, files: readonly string[], timeoutMs = 30_000): Promise<string[]> {
  const crds: Crd[] = [];
  for (const file of files) {
    for (const doc of parseAllDocuments(readFileSync(file, "utf8"))) {
      if (doc.errors.length > 0) throw new Error(`${file}: ${doc.errors[0]!.message}`);
      const obj = doc.toJS() as (Crd & { kind?: string }) | null;
      if (obj === null) continue;
      if (obj.kind !== "CustomResourceDefinition") throw new Error(`${file}: expected only CustomResourceDefinitions, found ${obj.kind}`);
      crds.push(obj);
    }
  }
  const base = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions";
  for (const crd of crds) {
    await kubeJson(server, `${base}/${crd.metadata.name}?fieldManager=berth-test&force=true`, {
      method: "PATCH",
      body: crd,
      contentType: "application/apply-patch+yaml",
    });
  }
  const deadline = Date.now() + timeoutMs;
  for (const crd of crds) {
    const name = crd.metadata.name;
    const paths = crd.spec.versions.filter((v) => v.served).map((v) => `/apis/${crd.spec.group}/${v.name}/${crd.spec.names.plural}`);
    for (;;) {
      const live = await kubeJson<Crd>(server, `${base}/${name}`);
      const established = live.status?.conditions?.some((c) => c.type === "Established" && c.status === "True") ?? false;
      const served = established && (await Promise.all(paths.map(async (p) => {
        const res = await kubeFetch(server, `${p}?limit=1`);
        await res.arrayBuffer();
        return res.status === 200;
      })));
      if (served && served.every(Boolean)) break;
      if (Date.now() > deadline) throw new Error(`CRD ${name} not established and served within ${timeoutMs} ms: ${JSON.stringify(live.status)}`);
      await sleep(100);
    }
  }
  return crds.map((c) => c.metadata.name);
}
