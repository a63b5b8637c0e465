/**
 * Azure (spec §4.5): an Entra token for ACR (workload identity federation, a client secret, or
 * managed identity through IMDS), exchanged at the registry's `/oauth2/exchange` for an ACR refresh
 * token, which logs in with the all-zero username.
 */
import { cloudCall, hostOf, jwtExpiry, trimSlash, type CloudContext, type CloudToken } from "./index.ts";

/** Hosts of Azure Container Registry in the public and sovereign clouds. */
export const AZURE_REGISTRY_PATTERN = /^.+\.(azurecr\.io|azurecr\.cn|azurecr\.de|azurecr\.us)$/;

/** The username ACR expects with a refresh token. */
export const ACR_USERNAME = "00000000-0000-0000-0000-000000000000";

const ACR_SCOPE = "https://containerregistry.azure.net/.default";
const ACR_RESOURCE = "https://containerregistry.azure.net/";

async function entraToken(ctx: CloudContext): Promise<string> {
  const env = ctx.env;
  const tenant = env.AZURE_TENANT_ID;
  const clientId = env.AZURE_CLIENT_ID;
  let res: Response;
  if (tenant && clientId && (env.AZURE_FEDERATED_TOKEN_FILE || env.AZURE_CLIENT_SECRET)) {
    const authority = trimSlash(ctx.endpoints?.entra ?? env.AZURE_AUTHORITY_HOST ?? "https://login.microsoftonline.com");
    const form = new URLSearchParams({ client_id: clientId, scope: ACR_SCOPE, grant_type: "client_credentials" });
    if (env.AZURE_FEDERATED_TOKEN_FILE) {
      form.set("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer");
      form.set("client_assertion", (await ctx.readFile(env.AZURE_FEDERATED_TOKEN_FILE)).trim());
    } else {
      form.set("client_secret", env.AZURE_CLIENT_SECRET!);
    }
    res = await cloudCall(ctx, "Entra token request", `${authority}/${encodeURIComponent(tenant)}/oauth2/v2.0/token`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: form.toString(),
    });
  } else {
    const base = trimSlash(ctx.endpoints?.azureIMDS ?? env.AZURE_POD_IDENTITY_AUTHORITY_HOST ?? "http://169.254.169.254");
    const q = new URLSearchParams({ "api-version": "2018-02-01", resource: ACR_RESOURCE });
    if (clientId) q.set("client_id", clientId);
    res = await cloudCall(ctx, "Azure managed identity token request", `${base}/metadata/identity/oauth2/token?${q}`, { headers: { Metadata: "true" } }, 5_000);
  }
  const body = (await res.json()) as { access_token?: unknown };
  if (typeof body.access_token !== "string" || !body.access_token) throw new Error("Entra token response has no access_token");
  return body.access_token;
}

/** Registry login for an ACR host. */
export async function azureExchange(registry: string, ctx: CloudContext): Promise<CloudToken> {
  if (!AZURE_REGISTRY_PATTERN.test(hostOf(registry))) {
    throw new Error(`invalid Azure registry: '${registry}'. must match ${AZURE_REGISTRY_PATTERN.source}`);
  }
  const accessToken = await entraToken(ctx);
  const form = new URLSearchParams({ grant_type: "access_token", service: registry, access_token: accessToken });
  if (ctx.env.AZURE_TENANT_ID) form.set("tenant", ctx.env.AZURE_TENANT_ID);
  const res = await cloudCall(ctx, "ACR token exchange", ctx.endpoints?.acrExchange ?? `https://${registry}/oauth2/exchange`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: form.toString(),
  });
  const body = (await res.json()) as { refresh_token?: unknown };
  if (typeof body.refresh_token !== "string" || !body.refresh_token) throw new Error("ACR token exchange response has no refresh_token");
  const expiresAt = jwtExpiry(body.refresh_token) ?? (ctx.now ?? Date.now)() + 3_600_000;
  return { username: ACR_USERNAME, password: body.refresh_token, expiresAt };
}
