import { createHash, createPrivateKey, createPublicKey, randomUUID, sign, type KeyObject } from "node:crypto";
import { readFileSync } from "node:fs";

/** One request the token server answered, kept so tests can assert how many tokens a command needed. */
export interface TokenRequest {
  method: "GET" | "POST";
  /** `service` parameter as sent. */
  service: string | null;
  /** Every scope asked for, as sent (`repository:name:pull,push`), in order. */
  scopes: string[];
  /** User name from Basic auth or the OAuth2 form; null when none was sent. */
  account: string | null;
  /** True when a token was issued, false when the request was refused (401/400). */
  granted: boolean;
  /** HTTP status returned. */
  status: number;
}

/** Decides which actions `account` gets on one requested scope; return [] to grant none. */
export type Authorize = (account: string, scope: ParsedScope) => string[];

/** A scope string split into its parts (`type:name:actions`, the name may itself contain colons). */
export interface ParsedScope {
  type: string;
  name: string;
  actions: string[];
}

/** Options for {@link startTokenServer}. */
export interface TokenServerOptions {
  /** PEM private key (EC P-256) used to sign tokens; its certificate goes into the registry's rootcertbundle. */
  keyFile: string;
  /** The only accepted user. */
  username: string;
  /** Its password. */
  password: string;
  /** `iss` claim; must equal the registry's `auth.token.issuer`. Default "berth-test-token-issuer". */
  issuer?: string;
  /** Token lifetime in seconds (`expires_in`, and `exp` - `nbf`). Default 300. */
  expiresInSeconds?: number;
  /** Access policy. Default: the user gets every action it asks for; anonymous requests are refused. */
  authorize?: Authorize;
}

/** Defaults used by {@link startTokenServer}. */
export const DEFAULT_TOKEN_SERVER_OPTIONS = {
  issuer: "berth-test-token-issuer",
  expiresInSeconds: 300,
} as const;

/** A running token server (docker token protocol) on 127.0.0.1. */
export interface TokenServer {
  /** URL to use as the registry's `auth.token.realm`. */
  realm: string;
  issuer: string;
  /** `kid` header of the tokens it signs (the libtrust id of its key). */
  kid: string;
  /** Requests served so far, oldest first. */
  readonly requests: readonly TokenRequest[];
  /** Number of tokens issued (refused requests are not counted). */
  readonly issued: number;
  /** Forgets the recorded requests. */
  reset(): void;
  stop(): Promise<void>;
}

/** Splits `repository:org/app:pull,push` into its parts; null when it has fewer than three fields. */
export function parseScope(scope: string): ParsedScope | null {
  const first = scope.indexOf(":");
  const last = scope.lastIndexOf(":");
  if (first < 0 || last === first) return null;
  const actions = scope.slice(last + 1).split(",").filter((a) => a !== "");
  return { type: scope.slice(0, first), name: scope.slice(first + 1, last), actions };
}

/**
 * The key id distribution 2.8 looks a trusted key up by when a JWT carries `kid` but no `x5c`:
 * libtrust's fingerprint, i.e. SHA-256 of the PKIX DER public key, cut to 240 bits, base32 without
 * padding, in 12 colon-separated groups of four.
 */
export function libtrustKeyId(publicKey: KeyObject): string {
  const der = publicKey.export({ type: "spki", format: "der" });
  const b32 = base32(createHash("sha256").update(der).digest().subarray(0, 30));
  return b32.match(/.{1,4}/g)!.join(":");
}

function base32(bytes: Uint8Array): string {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  let out = "";
  let value = 0;
  let bits = 0;
  for (const b of bytes) {
    value = (value << 8) | b;
    bits += 8;
    while (bits >= 5) {
      out += alphabet[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += alphabet[(value << (5 - bits)) & 31];
  return out;
}

const b64url = (data: string | Uint8Array) => Buffer.from(data).toString("base64url");

function basicCredentials(header: string | null): { user: string; pass: string } | null {
  if (!header?.toLowerCase().startsWith("basic ")) return null;
  const decoded = Buffer.from(header.slice(6).trim(), "base64").toString("utf8");
  const colon = decoded.indexOf(":");
  if (colon < 0) return null;
  return { user: decoded.slice(0, colon), pass: decoded.slice(colon + 1) };
}

/**
 * Encodes and signs a JWT with ES256 (`privateKey` must be an EC P-256 key). Exported so tests can
 * forge tokens (another key, another audience) and check that the registry refuses them.
 */
export function signToken(privateKey: KeyObject, kid: string, claims: Record<string, unknown>): string {
  const header = { typ: "JWT", alg: "ES256", kid };
  const signingInput = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
  // JWS wants the raw r||s signature, not the DER encoding node produces by default.
  const sig = sign("sha256", Buffer.from(signingInput), { key: privateKey, dsaEncoding: "ieee-p1363" });
  return `${signingInput}.${b64url(sig)}`;
}

/**
 * Starts a token server of the docker token protocol on a free loopback port.
 *
 * `GET <realm>?service=S&scope=A&scope=B` with Basic auth, and the OAuth2 form
 * `POST <realm>` (`grant_type=password`), both answer `{token, access_token, expires_in, issued_at}`
 * with an ES256 JWT whose header `kid` is the libtrust key id of the signing key, which is how
 * distribution 2.8 matches it against the certificate in `auth.token.rootcertbundle`. Wrong or
 * missing credentials get 401.
 */
export function startTokenServer(opts: TokenServerOptions): TokenServer {
  const issuer = opts.issuer ?? DEFAULT_TOKEN_SERVER_OPTIONS.issuer;
  const ttl = opts.expiresInSeconds ?? DEFAULT_TOKEN_SERVER_OPTIONS.expiresInSeconds;
  const authorize: Authorize = opts.authorize ?? ((_account, scope) => scope.actions);
  const privateKey = createPrivateKey(readFileSync(opts.keyFile));
  const kid = libtrustKeyId(createPublicKey(privateKey));
  const requests: TokenRequest[] = [];

  const issue = (account: string, service: string | null, scopes: string[]) => {
    const now = Math.floor(Date.now() / 1000);
    const access = scopes
      .map(parseScope)
      .filter((s): s is ParsedScope => s !== null)
      .map((s) => ({ type: s.type, name: s.name, actions: authorize(account, s) }));
    const claims = {
      iss: issuer,
      sub: account,
      aud: service ?? "",
      exp: now + ttl,
      // Clock skew between this process and the registry is nil, but a second of slack keeps nbf safe.
      nbf: now - 1,
      iat: now,
      jti: randomUUID(),
      access,
    };
    const token = signToken(privateKey, kid, claims);
    return { token, access_token: token, expires_in: ttl, issued_at: new Date(now * 1000).toISOString() };
  };

  const handle = async (req: Request): Promise<Response> => {
    const url = new URL(req.url);
    if (url.pathname !== "/token") return new Response("not found\n", { status: 404 });
    let service: string | null;
    let scopes: string[];
    let creds: { user: string; pass: string } | null;
    let method: "GET" | "POST";
    if (req.method === "GET") {
      method = "GET";
      service = url.searchParams.get("service");
      scopes = url.searchParams.getAll("scope").flatMap((s) => s.split(" ")).filter((s) => s !== "");
      creds = basicCredentials(req.headers.get("authorization"));
    } else if (req.method === "POST") {
      method = "POST";
      const form = new URLSearchParams(await req.text());
      service = form.get("service");
      scopes = (form.get("scope") ?? "").split(" ").filter((s) => s !== "");
      const grant = form.get("grant_type");
      if (grant !== "password") {
        requests.push({ method, service, scopes, account: form.get("username"), granted: false, status: 400 });
        return Response.json({ error: "unsupported_grant_type" }, { status: 400 });
      }
      const user = form.get("username");
      creds = user === null ? null : { user, pass: form.get("password") ?? "" };
    } else {
      return new Response("method not allowed\n", { status: 405 });
    }
    if (creds === null || creds.user !== opts.username || creds.pass !== opts.password) {
      requests.push({ method, service, scopes, account: creds?.user ?? null, granted: false, status: 401 });
      return Response.json(
        { errors: [{ code: "UNAUTHORIZED", message: "invalid username or password" }] },
        { status: 401, headers: { "www-authenticate": 'Basic realm="berth-test-token"' } },
      );
    }
    requests.push({ method, service, scopes, account: creds.user, granted: true, status: 200 });
    return Response.json(issue(creds.user, service, scopes));
  };

  const server = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: handle });
  return {
    realm: `http://127.0.0.1:${server.port}/token`,
    issuer,
    kid,
    get requests() {
      return requests;
    },
    get issued() {
      return requests.filter((r) => r.granted).length;
    },
    reset: () => {
      requests.length = 0;
    },
    stop: async () => {
      await server.stop(true);
    },
  };
}
