/** GCP (spec §4.5): an OAuth2 access token of the instance's service account, as `oauth2accesstoken`. */
import { cloudCall, hostOf, trimSlash, type CloudContext, type CloudToken } from "./index.ts";

/** Hosts of Container Registry and Artifact Registry. */
export const GCP_REGISTRY_PATTERN = /^(((.+\.)?gcr\.io)|(.+-docker\.pkg\.dev)|(docker\.s3nsregistry\.fr))$/;

/** The username GCP registries expect with an access token. */
export const GCP_USERNAME = "oauth2accesstoken";

/** Registry login for a GCR/GAR host from the GCE/GKE metadata server. */
export async function gcpExchange(registry: string, ctx: CloudContext): Promise<CloudToken> {
  if (!GCP_REGISTRY_PATTERN.test(hostOf(registry))) {
    throw new Error(`invalid GCP registry: '${registry}'. must match ${GCP_REGISTRY_PATTERN.source}`);
  }
  const base = trimSlash(ctx.endpoints?.gcpMetadata ?? (ctx.env.GCE_METADATA_HOST ? `http://${ctx.env.GCE_METADATA_HOST}` : "http://metadata.google.internal"));
  const res = await cloudCall(ctx, "GCP metadata token request", `${base}/computeMetadata/v1/instance/service-accounts/default/token`, {
    headers: { "Metadata-Flavor": "Google" },
  });
  const body = (await res.json()) as { access_token?: unknown; expires_in?: unknown };
  if (typeof body.access_token !== "string" || !body.access_token) throw new Error("GCP metadata token response has no access_token");
  const now = (ctx.now ?? Date.now)();
  const ttl = typeof body.expires_in === "number" ? body.expires_in : 3600;
  return { username: GCP_USERNAME, password: body.access_token, expiresAt: now + ttl * 1000 };
}
