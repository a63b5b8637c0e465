import { randomBytes } from "node:crypto";
import { closeSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { generateCerts, selfSignedCert, type TestCerts } from "./certs.ts";
import { freePort } from "./free-port.ts";
import { runOk } from "./run.ts";
import { startTokenServer, type Authorize, type TokenServer } from "./token-server.ts";
import { exitOf, killWatched, processRoot, WATCHDOG } from "./process.ts";

/** The CNCF Distribution binary shipped by Debian's `docker-registry` package. */
export const REGISTRY_BIN = "/usr/bin/docker-registry";

/** How clients must authenticate to a test registry. */
export type RegistryAuth = "none" | "htpasswd" | "token";
/** Transport of a test registry: plain HTTP, HTTPS, or HTTPS that requires a client certificate. */
export type RegistryTls = "none" | "tls" | "mtls";

/** Options for {@link startRegistry}. */
export interface RegistryOptions {
  /** Default "none". */
  auth?: RegistryAuth;
  /** Default "none". */
  tls?: RegistryTls;
  /** Allow DELETE of manifests and blobs (`storage.delete.enabled`). Default true. */
  deleteEnabled?: boolean;
  /** User for htpasswd/token auth. Default "berth". */
  username?: string;
  /** Password for htpasswd/token auth. Default: random per registry. */
  password?: string;
  /** Token auth only: access policy of the token server. Default: every requested action is granted. */
  authorize?: Authorize;
  /** Token auth only: token lifetime in seconds. Default 300. */
  tokenExpiresInSeconds?: number;
  /** Certificates to serve with. Default: one throwaway PKI shared by all registries of this process. */
  certs?: TestCerts;
  /** How long to wait for `/v2/` to answer, in ms. Default 20_000. */
  readyTimeoutMs?: number;
}

/** Defaults used by {@link startRegistry}. */
export const DEFAULT_REGISTRY_OPTIONS = {
  auth: "none",
  tls: "none",
  deleteEnabled: true,
  username: "berth",
  readyTimeoutMs: 20_000,
} as const satisfies RegistryOptions;

/** A running `docker-registry serve` on 127.0.0.1, owned by the test that started it. */
export interface RegistryServer {
  /** `127.0.0.1:PORT`, the registry part of a reference. */
  host: string;
  /** `http://127.0.0.1:PORT` or `https://127.0.0.1:PORT` (no trailing slash). */
  url: string;
  scheme: "http" | "https";
  auth: RegistryAuth;
  tls: RegistryTls;
  /** CA that signed the server (and client) certificate; set when `tls` is not "none". */
  caFile?: string;
  /** Client certificate and key signed by the CA; set when `tls` is not "none" (required by "mtls"). */
  clientCertFile?: string;
  clientKeyFile?: string;
  /**
   * Directory in the docker/containers `certs.d` layout (`ca.crt`, `client.cert`, `client.key`), for
   * `skopeo --*-cert-dir`; set when `tls` is not "none".
   */
  certDir?: string;
  /** Credentials; set when `auth` is not "none". */
  username?: string;
  password?: string;
  /** The token server, when `auth` is "token": its `requests` tell how many tokens clients fetched. */
  tokenServer?: TokenServer;
  /** `auth.token.service` (the `service` a token must be asked for); set when `auth` is "token". */
  service?: string;
  /** Root of the registry's filesystem storage. */
  dataDir: string;
  /** The registry's own log (level warn) so far. */
  logs(): string;
  /** Kills the registry (and its token server) and removes its temp dir. Safe to call twice. */
  stop(): Promise<void>;
}

let sharedCerts: Promise<TestCerts> | undefined;
function defaultCerts(): Promise<TestCerts> {
  if (!sharedCerts) {
    const dir = join(processRoot("berth-harness-"), "pki");
    mkdirSync(dir);
    sharedCerts = generateCerts({ dir });
  }
  return sharedCerts;
}

let sharedSigner: Promise<{ cert: string; key: string }> | undefined;
function tokenSigner(): Promise<{ cert: string; key: string }> {
  if (!sharedSigner) sharedSigner = defaultCerts().then((c) => selfSignedCert(c.dir, "token-signer", "berth test token signer"));
  return sharedSigner;
}

function missingTool(): Error {
  return new Error(
    `${REGISTRY_BIN} not found: integration tests need Debian's docker-registry package (run scripts/setup)`,
  );
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Starts CNCF Distribution 2.8 on a free loopback port with filesystem storage in a temp dir, in the
 * requested auth and TLS set-up, and resolves once `GET /v2/` answers (200, or 401 when auth is on).
 * Throws with the registry's log when it exits or does not answer in time. Many may run at once: each
 * has its own port, temp dir and (for token auth) token server.
 */
export async function startRegistry(opts: RegistryOptions = {}): Promise<RegistryServer> {
  if (!existsSync(REGISTRY_BIN)) throw missingTool();
  const auth = opts.auth ?? DEFAULT_REGISTRY_OPTIONS.auth;
  const tls = opts.tls ?? DEFAULT_REGISTRY_OPTIONS.tls;
  const username = opts.username ?? DEFAULT_REGISTRY_OPTIONS.username;
  const password = opts.password ?? randomBytes(12).toString("base64url");
  const dir = mkdtempSync(join(processRoot("berth-harness-"), "registry-"));
  const dataDir = join(dir, "data");
  mkdirSync(dataDir);
  const logFile = join(dir, "registry.log");
  let tokenServer: TokenServer | undefined;
  try {
    const config: Record<string, unknown> = {
      version: 0.1,
      log: { level: "warn", accesslog: { disabled: true } },
      storage: {
        filesystem: { rootdirectory: dataDir },
        delete: { enabled: opts.deleteEnabled ?? DEFAULT_REGISTRY_OPTIONS.deleteEnabled },
        maintenance: { uploadpurging: { enabled: false } },
      },
    };
    const http: Record<string, unknown> = {
      secret: randomBytes(16).toString("hex"),
      headers: { "X-Content-Type-Options": ["nosniff"] },
    };
    let certs: TestCerts | undefined;
    let certDir: string | undefined;
    if (tls !== "none") {
      certs = opts.certs ?? (await defaultCerts());
      http.tls = {
        certificate: certs.serverCert,
        key: certs.serverKey,
        ...(tls === "mtls" ? { clientcas: [certs.caCert] } : {}),
      };
      certDir = join(dir, "certs.d");
      mkdirSync(certDir);
      copyFileSync(certs.caCert, join(certDir, "ca.crt"));
      copyFileSync(certs.clientCert, join(certDir, "client.cert"));
      copyFileSync(certs.clientKey, join(certDir, "client.key"));
    }
    const service = "berth-test-registry";
    if (auth === "htpasswd") {
      const htpasswdFile = join(dir, "htpasswd");
      const res = await runOk(["htpasswd", "-Bbn", username, password]);
      writeFileSync(htpasswdFile, res.stdout);
      config.auth = { htpasswd: { realm: "berth-test", path: htpasswdFile } };
    } else if (auth === "token") {
      const signer = await tokenSigner();
      tokenServer = startTokenServer({
        keyFile: signer.key,
        username,
        password,
        authorize: opts.authorize,
        expiresInSeconds: opts.tokenExpiresInSeconds,
      });
      config.auth = {
        token: { realm: tokenServer.realm, service, issuer: tokenServer.issuer, rootcertbundle: signer.cert },
      };
    }
    const configFile = join(dir, "config.yml");
    const scheme = tls === "none" ? "http" : "https";
    const fetchTls = certs
      ? { ca: readFileSync(certs.caCert, "utf8"), cert: readFileSync(certs.clientCert, "utf8"), key: readFileSync(certs.clientKey, "utf8") }
      : undefined;

    // The port may be taken between freePort() and the registry's bind; try again on a fresh one.
    for (let attempt = 1; ; attempt++) {
      const port = await freePort();
      http.addr = `127.0.0.1:${port}`;
      config.http = http;
      // JSON is valid YAML, and distribution reads its config as YAML.
      writeFileSync(configFile, JSON.stringify(config, null, 2));
      const logFd = openSync(logFile, "w");
      const env: Record<string, string> = {};
      for (const [k, v] of Object.entries(process.env)) {
        // REGISTRY_* variables override the config file; keep the caller's environment out of it.
        if (v !== undefined && !k.startsWith("REGISTRY_")) env[k] = v;
      }
      const pidFile = join(dir, "registry.pid");
      rmSync(pidFile, { force: true });
      const proc = Bun.spawn(["/bin/sh", "-c", WATCHDOG, "watchdog", pidFile, REGISTRY_BIN, "serve", configFile], {
        stdin: "pipe",
        stdout: logFd,
        stderr: logFd,
        env,
      });
      closeSync(logFd);
      const kill = async () => {
        await killWatched(proc, pidFile);
        void proc.stdin.end();
      };
      const url = `${scheme}://127.0.0.1:${port}`;
      const ready = await waitReady(url, proc, fetchTls, opts.readyTimeoutMs ?? DEFAULT_REGISTRY_OPTIONS.readyTimeoutMs);
      if (ready !== "ok") {
        await kill();
        const log = readFileSync(logFile, "utf8");
        if (ready === "exited" && /address already in use/.test(log) && attempt < 5) continue;
        throw new Error(`docker-registry (${auth}/${tls}) ${ready === "exited" ? "exited" : "did not answer /v2/ in time"}:\n${log}`);
      }
      let stopped = false;
      const server: RegistryServer = {
        host: `127.0.0.1:${port}`,
        url,
        scheme,
        auth,
        tls,
        dataDir,
        logs: () => (existsSync(logFile) ? readFileSync(logFile, "utf8") : ""),
        stop: async () => {
          if (stopped) return;
          stopped = true;
          // Closing the watchdog's stdin makes it SIGTERM the registry.
          void proc.stdin.end();
          const exited = await Promise.race([exitOf(proc).then(() => true), sleep(3000).then(() => false)]);
          if (!exited) await kill();
          await tokenServer?.stop();
          rmSync(dir, { recursive: true, force: true });
        },
      };
      if (certs) {
        server.caFile = certs.caCert;
        server.clientCertFile = certs.clientCert;
        server.clientKeyFile = certs.clientKey;
        server.certDir = certDir;
      }
      if (auth !== "none") {
        server.username = username;
        server.password = password;
      }
      if (tokenServer) {
        server.tokenServer = tokenServer;
        server.service = service;
      }
      return server;
    }
  } catch (err) {
    await tokenServer?.stop();
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}

type FetchTls = { ca: string; cert: string; key: string } | undefined;

async function waitReady(
  url: string,
  proc: { pid: number; exited: Promise<number> },
  tls: FetchTls,
  timeoutMs: number,
): Promise<"ok" | "exited" | "timeout"> {
  let exited = false;
  void exitOf(proc).then(() => {
    exited = true;
  });
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (exited) return "exited";
    try {
      const res = await fetch(`${url}/v2/`, { tls, signal: AbortSignal.timeout(1000) } as RequestInit);
      await res.arrayBuffer();
      if (res.status === 200 || res.status === 401) return "ok";
    } catch {
      // not listening yet
    }
    await sleep(25);
  }
  return exited ? "exited" : "timeout";
}

/**
 * `fetch` init (Bun's `tls` option) that trusts the harness CA and, unless `clientCert` is false,
 * presents the harness client certificate; empty for plain-HTTP registries.
 */
export function registryFetchInit(reg: RegistryServer, opts: { clientCert?: boolean } = {}): RequestInit {
  if (!reg.caFile) return {};
  const ca = readFileSync(reg.caFile, "utf8");
  if (opts.clientCert === false) return { tls: { ca } } as RequestInit;
  return {
    tls: { ca, cert: readFileSync(reg.clientCertFile!, "utf8"), key: readFileSync(reg.clientKeyFile!, "utf8") },
  } as RequestInit;
}
