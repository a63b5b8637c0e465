/**
 * Where registry credentials come from: a static value (`--creds`), or the Docker/Podman config
 * files and credential helpers, looked up the way ggcr's default keychain does (spec §5.2, §5.3).
 */
import { spawn } from "node:child_process";
import { readFile as fsReadFile } from "node:fs/promises";
import { join } from "node:path";
import { childExit } from "../child-exit.ts";
import { CoreError, fail } from "../errors.ts";

/** Credentials for one registry. */
export type Credential = (
  /** HTTP Basic, or Basic sent to the token endpoint. */
  | { kind: "basic"; username: string; password: string }
  /** Sent as `Authorization: Bearer <token>` with no exchange (`--creds <token>`, docker `registrytoken`). */
  | { kind: "bearer"; token: string }
  /** An OAuth2 refresh token exchanged at the token endpoint (docker `identitytoken`). */
  | { kind: "identity"; username?: string; identityToken: string }
) & {
  /**
   * Where the credential came from, named in the hint when the registry refuses it: `--creds`, a
   * config file path, or `docker-credential-<name> (credHelpers in <file>)`. Never the secret.
   */
  from?: string;
};

/** Finds credentials for a repository; undefined means anonymous. Implementations may cache. */
export interface CredentialProvider {
  get(registry: string, repository: string): Promise<Credential | undefined>;
}

/** A provider that answers every registry with the same credential (the `--creds` flag). */
export function staticCredentials(cred: Credential | undefined): CredentialProvider {
  return { get: async () => cred };
}

/**
 * Parses flux's `--creds`: split at the first colon into user and password; with no colon the whole
 * value is a bearer token (spec §1.4, contrary to flux's help text). Empty means "not set".
 */
export function parseCredsFlag(value: string | undefined): Credential | undefined {
  if (value === undefined || value === "") return undefined;
  const i = value.indexOf(":");
  if (i < 0) return { kind: "bearer", token: value, from: "--creds" };
  return { kind: "basic", username: value.slice(0, i), password: value.slice(i + 1), from: "--creds" };
}

/** Result of running a credential helper. */
export interface HelperResult {
  /** Exit status; non-zero is failure. */
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `program args…` with `stdin` written to it. Rejects only when the program cannot be started. */
export type HelperRunner = (program: string, args: string[], stdin: string) => Promise<HelperResult>;

/** Options of {@link createDockerConfigProvider}. */
export interface DockerConfigProviderOptions {
  /** Environment to read DOCKER_CONFIG, REGISTRY_AUTH_FILE, XDG_RUNTIME_DIR and PATH from (core never reads process.env). */
  env: Record<string, string | undefined>;
  /** The user's home directory (for `~/.docker/config.json`). */
  homeDir: string;
  /** Reads a file; resolves undefined when it does not exist. Default: node:fs. */
  readFile?: (path: string) => Promise<string | undefined>;
  /** Runs credential helpers. Default: spawn with `env` as the environment (so PATH comes from it). */
  runHelper?: HelperRunner;
}

/** docker's key for Docker Hub in `auths` and credential helpers. */
export const DOCKER_HUB_KEY = "https://index.docker.io/v1/";
const DOCKER_HUB_HOSTS = new Set(["index.docker.io", "docker.io", "registry-1.docker.io"]);

/** The `auths`/helper key of a registry: its host, or DOCKER_HUB_KEY for Docker Hub. */
export function registryKey(registry: string): string {
  return DOCKER_HUB_HOSTS.has(registry) ? DOCKER_HUB_KEY : registry;
}

/** The fields of a docker `auths` entry (or a helper answer) we use. */
interface AuthEntry {
  username?: string;
  password?: string;
  identitytoken?: string;
  registrytoken?: string;
}

interface DockerConfigFile {
  path: string;
  auths: Record<string, AuthEntry>;
  credsStore?: string;
  credHelpers: Record<string, string>;
}

const NOT_FOUND_TEXT = "credentials not found in native keychain";

async function defaultReadFile(path: string): Promise<string | undefined> {
  try {
    return await fsReadFile(path, "utf8");
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code === "ENOENT" || code === "ENOTDIR") return undefined;
    throw new CoreError({
      code: "AUTH_FAILED",
      message: `cannot read docker config ${path}: ${code ?? (e as Error).message}`,
      details: { hint: code === "EACCES" ? `make it readable (chmod 600 ${path}) or point DOCKER_CONFIG at a readable directory` : "fix or remove the file, or point DOCKER_CONFIG elsewhere" },
      cause: e,
    });
  }
}

function defaultRunner(env: Record<string, string | undefined>): HelperRunner {
  return (program, args, stdin) =>
    new Promise((resolve, reject) => {
      const cleanEnv: Record<string, string> = {};
      for (const [k, v] of Object.entries(env)) if (v !== undefined) cleanEnv[k] = v;
      const child = spawn(program, args, { env: cleanEnv, stdio: ["pipe", "pipe", "pipe"] });
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      child.stdout.on("data", (b: Buffer) => out.push(b));
      child.stderr.on("data", (b: Buffer) => err.push(b));
      child.on("error", reject);
      const ended = (s: NodeJS.ReadableStream) => new Promise<void>((r) => s.once("end", r).once("close", r));
      // Not 'close': it waits for the runtime's exit report, which Bun sometimes never delivers.
      const exited = new Promise<number>((r) => child.once("exit", (code) => r(code ?? 1)));
      Promise.all([childExit(child.pid, exited), ended(child.stdout), ended(child.stderr)]).then(
        ([code]) => resolve({ code, stdout: Buffer.concat(out).toString("utf8"), stderr: Buffer.concat(err).toString("utf8") }),
        reject,
      );
      child.stdin.on("error", () => {}); // a helper that exits before reading stdin is judged by its exit code
      child.stdin.end(stdin);
    });
}

/** Decodes one `auths` entry: the base64 `auth` field wins over `username`/`password`, as in docker/cli. */
function decodeEntry(raw: unknown, path: string, key: string): AuthEntry {
  if (!raw || typeof raw !== "object") return {};
  const r = raw as Record<string, unknown>;
  const str = (v: unknown) => (typeof v === "string" && v !== "" ? v : undefined);
  const entry: AuthEntry = {};
  const username = str(r.username);
  const password = str(r.password);
  if (username) entry.username = username;
  if (password) entry.password = password;
  const auth = str(r.auth);
  if (auth) {
    const decoded = Buffer.from(auth, "base64").toString("utf8");
    const i = decoded.indexOf(":");
    if (i < 0) {
      fail("AUTH_FAILED", `${path}: auths[${JSON.stringify(key)}].auth is not base64 of user:password`, {
        hint: `run docker login ${key} again or fix the file`,
      });
    }
    entry.username = decoded.slice(0, i);
    entry.password = decoded.slice(i + 1);
  }
  const it = str(r.identitytoken);
  const rt = str(r.registrytoken);
  if (it) entry.identitytoken = it;
  if (rt) entry.registrytoken = rt;
  return entry;
}

function parseConfig(text: string, path: string): DockerConfigFile {
  let j: Record<string, unknown>;
  try {
    j = JSON.parse(text) as Record<string, unknown>;
  } catch (e) {
    return fail("AUTH_FAILED", `cannot read credentials from ${path}: invalid JSON (${(e as Error).message})`, {
      hint: "fix or remove the file",
    });
  }
  const auths: Record<string, AuthEntry> = {};
  if (j.auths && typeof j.auths === "object") {
    for (const [k, v] of Object.entries(j.auths as Record<string, unknown>)) auths[k] = decodeEntry(v, path, k);
  }
  const credHelpers: Record<string, string> = {};
  if (j.credHelpers && typeof j.credHelpers === "object") {
    for (const [k, v] of Object.entries(j.credHelpers as Record<string, unknown>)) if (typeof v === "string" && v) credHelpers[k] = v;
  }
  const credsStore = typeof j.credsStore === "string" && j.credsStore ? j.credsStore : undefined;
  return { path, auths, credHelpers, ...(credsStore ? { credsStore } : {}) };
}

/** Host of an `auths` key once scheme and path are stripped (`https://ghcr.io/v1/` → `ghcr.io`). */
function keyHost(key: string): string {
  return key.replace(/^[a-z][a-z0-9+.-]*:\/\//i, "").split("/")[0]!;
}

function isEmpty(e: AuthEntry): boolean {
  return !e.username && !e.password && !e.identitytoken && !e.registrytoken;
}

/** AuthConfig → Credential, with docker's precedence: registry token, identity token, user/password. */
function toCredential(e: AuthEntry, from: string): Credential | undefined {
  if (e.registrytoken) return { kind: "bearer", token: e.registrytoken, from };
  if (e.identitytoken) return { kind: "identity", identityToken: e.identitytoken, ...(e.username ? { username: e.username } : {}), from };
  if (e.username || e.password) return { kind: "basic", username: e.username ?? "", password: e.password ?? "", from };
  return undefined;
}

/**
 * Docker/Podman config credentials, as ggcr's default keychain finds them (spec §5.2):
 * - file: `~/.docker/config.json` exists → `$DOCKER_CONFIG/config.json` (or that file); else
 *   `$DOCKER_CONFIG/config.json`; else `$REGISTRY_AUTH_FILE`; else `$XDG_RUNTIME_DIR/containers/auth.json`;
 *   none → anonymous;
 * - keys: `<registry>/<repository>`, then the registry (`https://index.docker.io/v1/` for Docker Hub);
 *   the first that yields credentials wins;
 * - per key: `credHelpers[key]`, else `credsStore`, else `auths` (exact key, then a key whose host matches);
 *   helpers run as `docker-credential-<name> get` with the key on stdin; "credentials not found" is anonymous.
 * The file is read once; answers are cached per repository for the provider's lifetime.
 */
export function createDockerConfigProvider(opts: DockerConfigProviderOptions): CredentialProvider {
  const readFile = opts.readFile ?? defaultReadFile;
  const runHelper = opts.runHelper ?? defaultRunner(opts.env);
  let configPromise: Promise<DockerConfigFile | undefined> | undefined;
  const answers = new Map<string, Promise<Credential | undefined>>();

  const load = async (): Promise<DockerConfigFile | undefined> => {
    const env = opts.env;
    const home = join(opts.homeDir, ".docker", "config.json");
    const candidates: string[] = [];
    const homeText = await readFile(home);
    if (homeText !== undefined) {
      if (env.DOCKER_CONFIG) {
        const text = await readFile(join(env.DOCKER_CONFIG, "config.json"));
        // docker/cli loads an empty config when $DOCKER_CONFIG has none, even though ~/.docker has one.
        return text === undefined ? undefined : parseConfig(text, join(env.DOCKER_CONFIG, "config.json"));
      }
      return parseConfig(homeText, home);
    }
    if (env.DOCKER_CONFIG) candidates.push(join(env.DOCKER_CONFIG, "config.json"));
    if (env.REGISTRY_AUTH_FILE) candidates.push(env.REGISTRY_AUTH_FILE);
    if (env.XDG_RUNTIME_DIR) candidates.push(join(env.XDG_RUNTIME_DIR, "containers", "auth.json"));
    for (const p of candidates) {
      const text = await readFile(p);
      if (text !== undefined) return parseConfig(text, p);
    }
    return undefined;
  };

  const fromHelper = async (helper: string, key: string): Promise<AuthEntry | undefined> => {
    const program = `docker-credential-${helper}`;
    let res: HelperResult;
    try {
      res = await runHelper(program, ["get"], key);
    } catch (e) {
      throw new CoreError({
        code: "AUTH_FAILED",
        message: `cannot run credential helper ${program} for ${key}: ${(e as Error).message}`,
        cause: e,
        details: { hint: `install ${program} or remove it from your docker config` },
      });
    }
    const out = res.stdout.trim();
    if (res.code !== 0) {
      if (out === NOT_FOUND_TEXT) return undefined;
      fail("AUTH_FAILED", `credential helper ${program} failed for ${key} (exit ${res.code}): ${out || res.stderr.trim()}`, {
        hint: `check ${program}, or run docker login ${key}`,
      });
    }
    let j: Record<string, unknown>;
    try {
      j = JSON.parse(out) as Record<string, unknown>;
    } catch {
      return fail("AUTH_FAILED", `credential helper ${program} printed something other than JSON for ${key}`);
    }
    const user = typeof j.Username === "string" ? j.Username : "";
    const secret = typeof j.Secret === "string" ? j.Secret : "";
    if (user === "<token>") return { identitytoken: secret };
    return { ...(user ? { username: user } : {}), ...(secret ? { password: secret } : {}) };
  };

  const fromFile = (cfg: DockerConfigFile, key: string): AuthEntry => {
    const exact = cfg.auths[key];
    if (exact) return exact;
    for (const [k, v] of Object.entries(cfg.auths)) if (keyHost(k) === key) return v;
    return {};
  };

  /** The entry for `key` and where it came from (the file, or the helper when it answered). */
  const lookupKey = async (cfg: DockerConfigFile, key: string): Promise<{ entry: AuthEntry; from: string }> => {
    const helper = cfg.credHelpers[key] ?? cfg.credsStore;
    if (!helper) return { entry: fromFile(cfg, key), from: cfg.path };
    // docker/cli's native store keeps the file entry's other fields (a registrytoken) under the helper's answer.
    const file = fromFile(cfg, key);
    const h = await fromHelper(helper, key);
    const merged: AuthEntry = { ...(file.registrytoken ? { registrytoken: file.registrytoken } : {}) };
    if (h?.username) merged.username = h.username;
    if (h?.password) merged.password = h.password;
    if (h?.identitytoken) merged.identitytoken = h.identitytoken;
    const answered = h !== undefined && !isEmpty(h) && !merged.registrytoken;
    const via = cfg.credHelpers[key] ? "credHelpers" : "credsStore";
    return { entry: merged, from: answered ? `docker-credential-${helper} (${via} in ${cfg.path})` : cfg.path };
  };

  const lookup = async (registry: string, repository: string): Promise<Credential | undefined> => {
    configPromise ??= load();
    const cfg = await configPromise;
    if (!cfg) return undefined;
    for (const key of [`${registry}/${repository}`, registryKey(registry)]) {
      const { entry, from } = await lookupKey(cfg, key);
      if (!isEmpty(entry)) return toCredential(entry, from);
    }
    return undefined;
  };

  return {
    get(registry, repository) {
      const k = `${registry}/${repository}`;
      let p = answers.get(k);
      if (!p) {
        p = lookup(registry, repository);
        answers.set(k, p);
        // A failure (helper crashed) must not be remembered: the next command may have fixed it.
        p.catch(() => answers.delete(k));
      }
      return p;
    },
  };
}
