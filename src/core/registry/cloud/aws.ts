/**
 * AWS (spec §4.5): ECR `GetAuthorizationToken`, signed with SigV4, using credentials from the
 * environment, IRSA (web identity → STS), EKS Pod Identity / ECS (container credentials endpoint)
 * or EC2 instance metadata (IMDSv2), in that order.
 */
import { createHash, createHmac } from "node:crypto";
import { cloudCall, hostOf, trimSlash, type CloudContext, type CloudToken } from "./index.ts";

/** ECR private registry hosts; group 2 is the region, group 3 the partition's domain. */
export const ECR_REGISTRY_PATTERN =
  /^([0-9+]*)\.dkr[.-]ecr(?:-fips)?\.([^/.]*)\.(amazonaws\.com[.cn]*|amazonaws\.eu|sc2s\.sgov\.gov|c2s\.ic\.gov|cloud\.adc-e\.uk|csp\.hci\.ic\.gov|on\.aws)$/;
/** ECR Public's registry host (its API lives in us-east-1). */
export const ECR_PUBLIC_HOST = "public.ecr.aws";

/** AWS credentials. */
export interface AwsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

/** A request to sign. `headers` are all signed; `host` and `x-amz-date` are added. */
export interface SigV4Request {
  method: string;
  url: string;
  headers: Record<string, string>;
  body: string;
  region: string;
  service: string;
  credentials: AwsCredentials;
  /** Signing time. */
  date: Date;
}

const hex = (data: string) => createHash("sha256").update(data, "utf8").digest("hex");
const hmac = (key: string | Buffer, data: string) => createHmac("sha256", key).update(data, "utf8").digest();
/** RFC 3986 encoding, as SigV4 wants it (encodeURIComponent leaves !'()* alone). */
const rfc3986 = (s: string) => encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

/** Headers of `req` plus `host`, `x-amz-date`, `x-amz-security-token` and `authorization` (AWS Signature Version 4). */
export function signV4(req: SigV4Request): Record<string, string> {
  const u = new URL(req.url);
  const amzDate = req.date.toISOString().replace(/[-:]/g, "").replace(/\.\d{3}/, "");
  const day = amzDate.slice(0, 8);
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers)) headers[k.toLowerCase()] = v;
  headers.host = u.host;
  headers["x-amz-date"] = amzDate;
  if (req.credentials.sessionToken) headers["x-amz-security-token"] = req.credentials.sessionToken;
  const names = Object.keys(headers).sort();
  const canonicalHeaders = names.map((n) => `${n}:${headers[n]!.trim().replace(/\s+/g, " ")}\n`).join("");
  const query = [...u.searchParams.entries()]
    .map(([k, v]) => [rfc3986(k), rfc3986(v)] as const)
    .sort((a, b) => (a[0] === b[0] ? (a[1] < b[1] ? -1 : 1) : a[0] < b[0] ? -1 : 1))
    .map(([k, v]) => `${k}=${v}`)
    .join("&");
  const path = u.pathname.split("/").map((s) => rfc3986(decodeURIComponent(s))).join("/") || "/";
  const signed = names.join(";");
  const canonical = [req.method, path, query, canonicalHeaders, signed, hex(req.body)].join("\n");
  const scope = `${day}/${req.region}/${req.service}/aws4_request`;
  const toSign = ["AWS4-HMAC-SHA256", amzDate, scope, hex(canonical)].join("\n");
  const key = hmac(hmac(hmac(hmac(`AWS4${req.credentials.secretAccessKey}`, day), req.region), req.service), "aws4_request");
  const signature = createHmac("sha256", key).update(toSign, "utf8").digest("hex");
  headers.authorization = `AWS4-HMAC-SHA256 Credential=${req.credentials.accessKeyId}/${scope}, SignedHeaders=${signed}, Signature=${signature}`;
  return headers;
}

function xmlField(xml: string, name: string): string | undefined {
  return new RegExp(`<${name}>([^<]*)</${name}>`).exec(xml)?.[1];
}

async function webIdentityCredentials(ctx: CloudContext, region: string): Promise<AwsCredentials> {
  const env = ctx.env;
  const token = (await ctx.readFile(env.AWS_WEB_IDENTITY_TOKEN_FILE!)).trim();
  const base = trimSlash(ctx.endpoints?.sts ?? env.AWS_ENDPOINT_URL_STS ?? `https://sts.${region}.amazonaws.com`);
  const form = new URLSearchParams({
    Action: "AssumeRoleWithWebIdentity",
    Version: "2011-06-15",
    RoleArn: env.AWS_ROLE_ARN!,
    RoleSessionName: env.AWS_ROLE_SESSION_NAME ?? `berth-${(ctx.now ?? Date.now)()}`,
    WebIdentityToken: token,
  });
  const res = await cloudCall(ctx, "STS AssumeRoleWithWebIdentity", `${base}/`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: form.toString(),
  });
  const xml = await res.text();
  const accessKeyId = xmlField(xml, "AccessKeyId");
  const secretAccessKey = xmlField(xml, "SecretAccessKey");
  if (!accessKeyId || !secretAccessKey) throw new Error("STS AssumeRoleWithWebIdentity response has no credentials");
  const sessionToken = xmlField(xml, "SessionToken");
  return { accessKeyId, secretAccessKey, ...(sessionToken ? { sessionToken } : {}) };
}

function fromCredentialJSON(j: Record<string, unknown>, what: string): AwsCredentials {
  if (typeof j.AccessKeyId !== "string" || typeof j.SecretAccessKey !== "string") throw new Error(`${what} response has no credentials`);
  return { accessKeyId: j.AccessKeyId, secretAccessKey: j.SecretAccessKey, ...(typeof j.Token === "string" && j.Token ? { sessionToken: j.Token } : {}) };
}

async function containerCredentials(ctx: CloudContext): Promise<AwsCredentials> {
  const env = ctx.env;
  const url = env.AWS_CONTAINER_CREDENTIALS_FULL_URI ?? `http://169.254.170.2${env.AWS_CONTAINER_CREDENTIALS_RELATIVE_URI}`;
  let auth = env.AWS_CONTAINER_AUTHORIZATION_TOKEN;
  if (env.AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE) auth = (await ctx.readFile(env.AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE)).trim();
  const res = await cloudCall(ctx, "container credentials request", url, { headers: auth ? { authorization: auth } : {} }, 5_000);
  return fromCredentialJSON((await res.json()) as Record<string, unknown>, "container credentials");
}

async function imdsCredentials(ctx: CloudContext): Promise<AwsCredentials> {
  const base = trimSlash(ctx.endpoints?.awsIMDS ?? ctx.env.AWS_EC2_METADATA_SERVICE_ENDPOINT ?? "http://169.254.169.254");
  const tokenRes = await cloudCall(ctx, "EC2 metadata token request", `${base}/latest/api/token`, {
    method: "PUT",
    headers: { "x-aws-ec2-metadata-token-ttl-seconds": "300" },
  }, 3_000);
  const headers = { "x-aws-ec2-metadata-token": await tokenRes.text() };
  const rolesRes = await cloudCall(ctx, "EC2 metadata role request", `${base}/latest/meta-data/iam/security-credentials/`, { headers }, 3_000);
  const role = (await rolesRes.text()).split("\n")[0]?.trim();
  if (!role) throw new Error("the EC2 instance has no IAM role");
  const res = await cloudCall(ctx, "EC2 metadata credentials request", `${base}/latest/meta-data/iam/security-credentials/${encodeURIComponent(role)}`, { headers }, 3_000);
  return fromCredentialJSON((await res.json()) as Record<string, unknown>, "EC2 metadata credentials");
}

/** The controller's AWS credentials, looked up like the AWS SDK's default chain (minus profiles). */
export async function awsCredentials(ctx: CloudContext, region: string): Promise<AwsCredentials> {
  const env = ctx.env;
  if (env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY) {
    return { accessKeyId: env.AWS_ACCESS_KEY_ID, secretAccessKey: env.AWS_SECRET_ACCESS_KEY, ...(env.AWS_SESSION_TOKEN ? { sessionToken: env.AWS_SESSION_TOKEN } : {}) };
  }
  if (env.AWS_WEB_IDENTITY_TOKEN_FILE && env.AWS_ROLE_ARN) return webIdentityCredentials(ctx, region);
  if (env.AWS_CONTAINER_CREDENTIALS_FULL_URI || env.AWS_CONTAINER_CREDENTIALS_RELATIVE_URI) return containerCredentials(ctx);
  if (env.AWS_EC2_METADATA_DISABLED === "true") {
    throw new Error("no AWS credentials: set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or use IRSA or EKS Pod Identity (AWS_WEB_IDENTITY_TOKEN_FILE/AWS_ROLE_ARN or AWS_CONTAINER_CREDENTIALS_FULL_URI)");
  }
  return imdsCredentials(ctx);
}

/** Registry login for an ECR or ECR Public host. */
export async function awsExchange(registry: string, ctx: CloudContext): Promise<CloudToken> {
  const host = hostOf(registry);
  const isPublic = host === ECR_PUBLIC_HOST;
  const m = ECR_REGISTRY_PATTERN.exec(host);
  if (!isPublic && !m) throw new Error(`invalid AWS registry: '${registry}'. must match ${ECR_REGISTRY_PATTERN.source}`);
  const region = isPublic ? "us-east-1" : m![2]!;
  const credentials = await awsCredentials(ctx, region);
  const base = isPublic
    ? (ctx.endpoints?.ecrPublic ?? "https://api.ecr-public.us-east-1.amazonaws.com")
    : (ctx.endpoints?.ecr ?? ctx.env.AWS_ENDPOINT_URL_ECR ?? ctx.env.AWS_ENDPOINT_URL ?? `https://api.ecr.${region}.${m![3]}`);
  const url = `${trimSlash(base)}/`;
  const body = "{}";
  const headers = signV4({
    method: "POST",
    url,
    headers: {
      "content-type": "application/x-amz-json-1.1",
      "x-amz-target": isPublic ? "SpencerFrontendService.GetAuthorizationToken" : "AmazonEC2ContainerRegistry_V20150921.GetAuthorizationToken",
    },
    body,
    region,
    service: isPublic ? "ecr-public" : "ecr",
    credentials,
    date: new Date((ctx.now ?? Date.now)()),
  });
  delete headers.host; // fetch sets it; a second copy would be rejected
  const res = await cloudCall(ctx, "ECR GetAuthorizationToken", url, { method: "POST", headers, body });
  const j = (await res.json()) as { authorizationData?: unknown };
  const data = (Array.isArray(j.authorizationData) ? j.authorizationData[0] : j.authorizationData) as { authorizationToken?: unknown; expiresAt?: unknown } | undefined;
  if (typeof data?.authorizationToken !== "string") throw new Error("ECR GetAuthorizationToken response has no authorizationToken");
  const decoded = Buffer.from(data.authorizationToken, "base64").toString("utf8");
  const i = decoded.indexOf(":");
  if (i < 0) throw new Error("ECR authorization token is not base64 of user:password");
  const expiresAt = typeof data.expiresAt === "number" ? data.expiresAt * 1000 : (ctx.now ?? Date.now)() + 3_600_000;
  return { username: decoded.slice(0, i), password: decoded.slice(i + 1), expiresAt };
}
