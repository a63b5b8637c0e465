/** Pure helpers for the HTTP headers and host rules the registry client depends on. */
import { isIP } from "node:net";
import { fail } from "../errors.ts";

/**
 * The next-page URL of a `Link` header: the first `<…>` URL, resolved against the request URL.
 * `rel` is not checked, as ggcr does not (registries send only `rel="next"`). Undefined when there
 * is no header. A malformed header is a broken registry answer: UNSUPPORTED, quoting the header.
 */
export function parseLink(header: string | undefined, requestUrl: URL | string): URL | undefined {
  if (header === undefined || header.trim() === "") return undefined;
  const open = header.indexOf("<");
  if (open < 0) fail("UNSUPPORTED", `failed to parse Link header: missing '<' in ${JSON.stringify(header)}`);
  const close = header.indexOf(">", open + 1);
  if (close < 0) fail("UNSUPPORTED", `failed to parse Link header: missing '>' in ${JSON.stringify(header)}`);
  try {
    return new URL(header.slice(open + 1, close), requestUrl);
  } catch {
    return fail("UNSUPPORTED", `failed to parse Link header: bad URL in ${JSON.stringify(header)}`);
  }
}

/**
 * Retry-After as milliseconds to wait: delta-seconds or an HTTP date (RFC 9110 §10.2.3). A date in
 * the past gives 0; anything unreadable gives undefined (then our own backoff applies).
 */
export function parseRetryAfter(value: string | undefined, now: number = Date.now()): number | undefined {
  if (value === undefined) return undefined;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  if (!/[a-z]/i.test(v)) return undefined;
  const t = Date.parse(v);
  if (Number.isNaN(t)) return undefined;
  return Math.max(0, t - now);
}

/** Resolves a `Location` header against the request URL; relative values keep their own query. */
export function resolveLocation(location: string | undefined, requestUrl: URL | string): URL {
  if (location === undefined || location === "") fail("UNSUPPORTED", "registry answered without the required Location header");
  try {
    return new URL(location, requestUrl);
  } catch {
    return fail("UNSUPPORTED", `registry sent an invalid Location header ${JSON.stringify(location)}`);
  }
}

/** Adds query parameters to a URL, keeping the ones it has (upload `Location`s carry state there). */
export function withQuery(url: URL, params: Record<string, string>): URL {
  const u = new URL(url);
  for (const [k, v] of Object.entries(params)) u.searchParams.append(k, v);
  return u;
}

/** Host part of `host[:port]`, without IPv6 brackets. */
export function hostname(hostPort: string): string {
  if (hostPort.startsWith("[")) {
    const end = hostPort.indexOf("]");
    return end > 0 ? hostPort.slice(1, end) : hostPort;
  }
  const colons = hostPort.split(":").length - 1;
  if (colons === 1) return hostPort.slice(0, hostPort.indexOf(":"));
  return hostPort;
}

/** Whether a host name or IP literal is loopback (localhost, *.localhost, 127/8, ::1). */
export function isLoopbackHost(host: string): boolean {
  const h = hostname(host).toLowerCase();
  if (h === "localhost" || h.endsWith(".localhost")) return true;
  if (isIP(h) === 4) return h.startsWith("127.");
  if (isIP(h) === 6) return h === "::1" || h === "0:0:0:0:0:0:0:1";
  return false;
}

/** Whether an IP literal is loopback, RFC 1918 private, or link-local. Host names are not resolved. */
export function isPrivateAddress(host: string): boolean {
  const h = hostname(host).toLowerCase();
  if (isLoopbackHost(h) && isIP(h) !== 0) return true;
  if (isIP(h) === 4) {
    const [a, b] = h.split(".").map(Number) as [number, number];
    return a === 10 || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168) || (a === 169 && b === 254) || a === 0;
  }
  if (isIP(h) === 6) return h.startsWith("fe80:") || h.startsWith("fc") || h.startsWith("fd");
  return false;
}

/**
 * Registries that may be spoken to over plain HTTP without --insecure-registry: loopback hosts and
 * private IP literals, as ggcr/Flux allow (spec §5.5). HTTPS is still tried first for them.
 */
export function isHttpCapable(registry: string): boolean {
  return isLoopbackHost(registry) || isPrivateAddress(registry);
}

/**
 * NO_PROXY matching as curl and Go do it: `*` matches all; entries are host names (matching the
 * host and its subdomains, with or without a leading dot), IP literals, or `host:port`.
 * Loopback hosts are never proxied.
 */
export function bypassesProxy(hostPort: string, noProxy: string | undefined): boolean {
  if (isLoopbackHost(hostPort)) return true;
  if (!noProxy) return false;
  const host = hostname(hostPort).toLowerCase();
  const port = hostPort.startsWith("[") ? hostPort.slice(hostPort.indexOf("]") + 2) : hostPort.includes(":") && isIP(hostPort) !== 6 ? hostPort.split(":")[1] : "";
  for (let entry of noProxy.split(",")) {
    entry = entry.trim().toLowerCase();
    if (!entry) continue;
    if (entry === "*") return true;
    let entryPort = "";
    const m = /^(.*):(\d+)$/.exec(entry);
    if (m && isIP(entry) !== 6) {
      entry = m[1]!;
      entryPort = m[2]!;
    }
    if (entryPort && entryPort !== port) continue;
    entry = entry.replace(/^\*?\./, "");
    if (host === entry || host.endsWith("." + entry)) return true;
  }
  return false;
}
