/**
 * Where keyless signing takes its OIDC identity token from, decided without reading it: kept apart
 * from signing.ts so the UI can name the source before it loads any signing code.
 */

/** Where keyless signing found its identity token (for messages; never the token itself). */
export type TokenSource = "--identity-token" | "SIGSTORE_ID_TOKEN" | "GitHub Actions";

/**
 * cosign's order: `--identity-token`, else SIGSTORE_ID_TOKEN, else GitHub Actions' ambient token
 * (ACTIONS_ID_TOKEN_REQUEST_URL and _TOKEN both set). Undefined when there is none.
 */
export function identityTokenSource(flag: string | undefined, env: NodeJS.ProcessEnv): TokenSource | undefined {
  if (flag) return "--identity-token";
  if (env.SIGSTORE_ID_TOKEN) return "SIGSTORE_ID_TOKEN";
  if (env.ACTIONS_ID_TOKEN_REQUEST_URL && env.ACTIONS_ID_TOKEN_REQUEST_TOKEN) return "GitHub Actions";
  return undefined;
}
