/**
 * OIDC identity tokens for keyless signing: reading the claims Fulcio binds into the certificate,
 * and fetching GitHub Actions' ambient token. The token is a bearer secret: it is never put into an
 * error message, and its claims are read without verifying it (Fulcio verifies it).
 */
import { fail } from "../errors.ts";
import { serviceJSON, type ServiceHttpOptions } from "./service-http.ts";

/** The audience Fulcio expects in identity tokens. */
export const SIGSTORE_AUDIENCE = "sigstore";

/** The claims of an identity token that matter for signing. */
export interface TokenClaims {
  issuer: string;
  /** What Fulcio's proof of possession is over: the `email` claim when there is one, else `sub`. */
  subject: string;
}

/** Decodes a JWT's claims without verifying it. Throws USAGE, never echoing the token. */
export function tokenClaims(token: string): TokenClaims {
  const parts = token.trim().split(".");
  let claims: { iss?: unknown; sub?: unknown; email?: unknown; email_verified?: unknown } | undefined;
  if (parts.length === 3) {
    try {
      claims = JSON.parse(Buffer.from(parts[1]!, "base64url").toString("utf8"));
    } catch {
      claims = undefined;
    }
  }
  if (!claims || typeof claims !== "object") fail("USAGE", "the identity token is not a JWT (three base64url parts with JSON claims)");
  if (typeof claims.iss !== "string") fail("USAGE", "the identity token has no iss claim");
  // Fulcio certifies an email identity when the token carries one, and only a verified one.
  if (typeof claims.email === "string" && claims.email !== "") {
    if (claims.email_verified !== true) fail("USAGE", "the identity token's email is not verified by its issuer, so Fulcio would refuse it");
    return { issuer: claims.iss, subject: claims.email };
  }
  if (typeof claims.sub !== "string" || claims.sub === "") fail("USAGE", "the identity token has no sub claim");
  return { issuer: claims.iss, subject: claims.sub };
}

/**
 * Asks GitHub Actions for an identity token with audience `sigstore` (the job needs
 * `permissions: id-token: write`). `requestURL`/`requestToken` are the runner's
 * ACTIONS_ID_TOKEN_REQUEST_URL/_TOKEN.
 */
export async function fetchGitHubActionsToken(requestURL: string, requestToken: string, o: ServiceHttpOptions = {}): Promise<string> {
  let url: URL;
  try {
    url = new URL(requestURL);
  } catch {
    fail("USAGE", "ACTIONS_ID_TOKEN_REQUEST_URL is not a URL");
  }
  url.searchParams.set("audience", SIGSTORE_AUDIENCE);
  const res = (await serviceJSON("GitHub Actions OIDC", url, { method: "GET", headers: { authorization: `bearer ${requestToken}` } }, [requestToken], o)) as {
    value?: unknown;
  };
  if (typeof res?.value !== "string" || res.value === "") fail("AUTH_FAILED", "GitHub Actions returned no identity token; does the job have permissions: id-token: write?");
  return res.value;
}
