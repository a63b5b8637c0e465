/**
 * Registry authentication, the pure half: WWW-Authenticate parsing (RFC 7235 with the quirks real
 * registries send), token scopes, token responses, and the per-client token cache. The requests
 * themselves are made by transport.ts.
 */

/** One challenge of a WWW-Authenticate header. `scheme` and parameter names are lower-cased. */
export interface Challenge {
  scheme: string;
  params: Record<string, string>;
  /** The token68 form (`Negotiate abc==`), rare for registries. */
  token68?: string;
}

const TCHAR = /[!#$%&'*+.^_`|~0-9A-Za-z-]/;
const TOKEN68_CHAR = /[A-Za-z0-9\-._~+/]/;

/**
 * Parses one or more WWW-Authenticate header values into challenges, in order. Tolerates quoted
 * values holding commas and escaped quotes, several challenges in one value, empty list elements
 * and unquoted values; skips what it cannot read instead of throwing, because a garbled challenge
 * should end in the registry's 401, not in a parser error.
 */
export function parseWwwAuthenticate(header: string | readonly string[] | undefined): Challenge[] {
  if (header === undefined) return [];
  if (typeof header !== "string") return header.flatMap((h) => parseWwwAuthenticate(h));
  const s = header;
  const out: Challenge[] = [];
  let i = 0;
  const ws = () => {
    while (i < s.length && (s[i] === " " || s[i] === "\t")) i++;
  };
  const token = (): string => {
    const start = i;
    while (i < s.length && TCHAR.test(s[i]!)) i++;
    return s.slice(start, i);
  };
  // A parameter (name = value) starts here, as opposed to the next challenge's scheme.
  const paramAhead = (): boolean => {
    const save = i;
    ws();
    const name = token();
    ws();
    let ok = name !== "" && s[i] === "=";
    if (ok) {
      // `abc==` or a trailing `abc=` is token68 padding, not a parameter.
      i++;
      ws();
      ok = i < s.length && s[i] !== "=" && s[i] !== ",";
    }
    i = save;
    return ok;
  };
  const value = (): string => {
    if (s[i] === '"') {
      i++;
      let v = "";
      while (i < s.length && s[i] !== '"') {
        if (s[i] === "\\" && i + 1 < s.length) i++;
        v += s[i];
        i++;
      }
      i++; // closing quote (or end of input for an unterminated string)
      return v;
    }
    const start = i;
    while (i < s.length && s[i] !== "," && s[i] !== " " && s[i] !== "\t") i++;
    return s.slice(start, i);
  };

  while (i < s.length) {
    while (i < s.length && (s[i] === "," || s[i] === " " || s[i] === "\t")) i++;
    if (i >= s.length) break;
    const scheme = token();
    if (scheme === "") {
      i++;
      continue;
    }
    const ch: Challenge = { scheme: scheme.toLowerCase(), params: {} };
    out.push(ch);
    ws();
    // token68: characters then '=' padding, ending the challenge (next is a comma or the end).
    if (!paramAhead()) {
      const start = i;
      while (i < s.length && TOKEN68_CHAR.test(s[i]!)) i++;
      while (i < s.length && s[i] === "=") i++;
      const t = s.slice(start, i);
      if (t) ch.token68 = t;
      ws();
      if (s[i] === ",") i++;
      continue;
    }
    for (;;) {
      ws();
      const name = token();
      ws();
      if (!name || s[i] !== "=") break;
      i++;
      ws();
      ch.params[name.toLowerCase()] = value();
      ws();
      if (s[i] !== ",") break;
      // Skip empty list elements, then decide: another parameter, or the next challenge.
      while (i < s.length && (s[i] === "," || s[i] === " " || s[i] === "\t")) i++;
      if (!paramAhead()) break;
    }
  }
  return out;
}

/**
 * Picks the challenge to answer: the first Basic or Bearer one in header order, else the first
 * (ggcr's rule, so we fail the same way on exotic schemes).
 */
export function pickChallenge(challenges: readonly Challenge[]): Challenge | undefined {
  return challenges.find((c) => c.scheme === "bearer" || c.scheme === "basic") ?? challenges[0];
}

/** Actions of a repository scope. */
export type ScopeActions = "pull" | "push,pull" | "delete" | "push,pull,delete";

/** `repository:<repo>:<actions>`, the scope string of the docker token protocol. */
export function repositoryScope(repository: string, actions: ScopeActions): string {
  return `repository:${repository}:${actions}`;
}

/**
 * Merges scope strings: scopes on the same resource get the union of their actions, so that a
 * `pull` scope and a challenge's `push,pull` for the same repository become one. Resource names may
 * contain colons (`repository:host:5000/x:pull` never happens, but `type:name:actions` splits on
 * the last colon to be safe). Output order is stable: first appearance of each resource.
 */
export function mergeScopes(...lists: ReadonlyArray<readonly string[]>): string[] {
  const byResource = new Map<string, Set<string>>();
  const plain: string[] = [];
  for (const list of lists) {
    for (const raw of list) {
      for (const scope of raw.split(" ")) {
        if (!scope) continue;
        const last = scope.lastIndexOf(":");
        if (last <= 0) {
          if (!plain.includes(scope)) plain.push(scope);
          continue;
        }
        const resource = scope.slice(0, last);
        const set = byResource.get(resource) ?? new Set<string>();
        for (const a of scope.slice(last + 1).split(",")) if (a) set.add(a);
        byResource.set(resource, set);
      }
    }
  }
  const order = ["push", "pull", "delete"];
  const rank = (a: string) => (order.includes(a) ? order.indexOf(a) : order.length);
  const out = [...byResource].map(([r, acts]) => `${r}:${[...acts].sort((a, b) => rank(a) - rank(b) || a.localeCompare(b)).join(",")}`);
  return [...out, ...plain];
}

/** Whether the scopes in `have` grant at least everything in `want`. */
export function scopesCover(have: readonly string[], want: readonly string[]): boolean {
  const merged = mergeScopes(have);
  return mergeScopes(have, want).every((s) => merged.includes(s));
}

/** A parsed token-endpoint answer. */
export interface TokenResponse {
  token: string;
  /** Seconds; the docker token spec's default of 60 when absent or nonsense. */
  expiresIn: number;
  refreshToken?: string;
}

/** Lifetime assumed when the token server sends no `expires_in` (docker token spec). */
export const DEFAULT_TOKEN_EXPIRES_IN = 60;

/** Parses a token response body (`token` or `access_token`, `expires_in`, `refresh_token`); undefined when it has no token. */
export function parseTokenResponse(body: string): TokenResponse | undefined {
  let j: Record<string, unknown>;
  try {
    j = JSON.parse(body) as Record<string, unknown>;
  } catch {
    return undefined;
  }
  if (!j || typeof j !== "object") return undefined;
  const token = typeof j.token === "string" && j.token ? j.token : typeof j.access_token === "string" ? j.access_token : "";
  if (!token) return undefined;
  const exp = typeof j.expires_in === "number" && j.expires_in > 0 ? j.expires_in : DEFAULT_TOKEN_EXPIRES_IN;
  const refresh = typeof j.refresh_token === "string" && j.refresh_token ? j.refresh_token : undefined;
  return { token, expiresIn: exp, ...(refresh ? { refreshToken: refresh } : {}) };
}

interface CachedToken {
  token: string;
  scopes: string[];
  expiresAt: number;
}

/**
 * Bearer tokens per (registry, scopes) for the life of a client. A token for wider scopes also
 * serves narrower requests (a push,pull token answers a pull), so a push followed by reads costs
 * one token. Tokens are dropped 10 s before they expire so a request never leaves with a stale one.
 */
export class TokenCache {
  private readonly entries = new Map<string, CachedToken[]>();
  constructor(private readonly now: () => number = Date.now) {}

  /** A live token whose scopes cover `scopes`, if any. */
  get(registry: string, scopes: readonly string[]): string | undefined {
    const list = this.entries.get(registry);
    if (!list) return undefined;
    const t = this.now();
    const live = list.filter((e) => e.expiresAt > t);
    if (live.length !== list.length) this.entries.set(registry, live);
    return live.find((e) => scopesCover(e.scopes, scopes))?.token;
  }

  set(registry: string, scopes: readonly string[], token: string, expiresInSeconds: number): void {
    const list = this.entries.get(registry) ?? [];
    const margin = Math.min(10, expiresInSeconds / 2);
    list.push({ token, scopes: mergeScopes(scopes), expiresAt: this.now() + (expiresInSeconds - margin) * 1000 });
    this.entries.set(registry, list);
  }

  /** Forgets a token the registry refused. */
  invalidate(registry: string, token: string): void {
    const list = this.entries.get(registry);
    if (list) this.entries.set(registry, list.filter((e) => e.token !== token));
  }
}
