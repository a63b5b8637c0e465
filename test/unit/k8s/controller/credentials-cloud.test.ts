import { afterEach, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { KubeClient } from "../../../../src/k8s/client/kube.ts";
import type { OCIRepository } from "../../../../src/k8s/api/ocirepository.ts";
import { registryAccessFor, type RegistryAccessOptions } from "../../../../src/k8s/controller/credentials.ts";
import { CloudTokenCache } from "../../../../src/core/registry/cloud/index.ts";
import { signV4 } from "../../../../src/core/registry/cloud/aws.ts";
import { coreFailure as failure } from "../../../fixtures/core-error.ts";

const noKube = { get: () => Promise.reject(new Error("no API calls expected")) } as unknown as KubeClient;
const repo = (url: string, provider: "aws" | "azure" | "gcp"): OCIRepository =>
  ({ apiVersion: "source.toolkit.fluxcd.io/v1", kind: "OCIRepository", metadata: { name: "app", namespace: "apps" }, spec: { url, interval: "1m", provider } }) as OCIRepository;

interface Seen {
  method: string;
  path: string;
  headers: Headers;
  body: string;
}
const servers: { stop(force?: boolean): void }[] = [];
const dirs: string[] = [];
afterEach(() => {
  for (const s of servers.splice(0)) s.stop(true);
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A local HTTP stand-in for a cloud endpoint; records requests and answers with `handler`. */
function standIn(handler: (req: Seen) => Response | Promise<Response>): { url: string; seen: Seen[] } {
  const seen: Seen[] = [];
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(req) {
      const u = new URL(req.url);
      const s = { method: req.method, path: u.pathname + u.search, headers: req.headers, body: await req.text() };
      seen.push(s);
      return handler(s);
    },
  });
  servers.push(server);
  return { url: `http://127.0.0.1:${server.port}`, seen };
}

async function access(url: string, provider: "aws" | "azure" | "gcp", opts: RegistryAccessOptions) {
  const a = await registryAccessFor(noKube, repo(url, provider), { tokenCache: new CloudTokenCache(), ...opts });
  const [registry, ...rest] = url.replace("oci://", "").split("/");
  return { access: a, cred: await a.options.credentials?.get(registry!, rest.join("/")) };
}

const jwt = (claims: Record<string, unknown>) => `e30.${Buffer.from(JSON.stringify(claims)).toString("base64url")}.sig`;

describe("gcp (cloud endpoints are local stand-ins)", () => {
  test("metadata-server stand-in: access token as oauth2accesstoken; cached for the next object", async () => {
    const md = standIn((r) =>
      r.headers.get("metadata-flavor") === "Google" ? Response.json({ access_token: "ya29.stand-in", expires_in: 3599, token_type: "Bearer" }) : new Response("no header", { status: 403 }),
    );
    const tokenCache = new CloudTokenCache();
    const env = { GCE_METADATA_HOST: md.url.replace("http://", "") };
    const url = "oci://europe-docker.pkg.dev/proj/repo/app";
    const a = await registryAccessFor(noKube, repo(url, "gcp"), { env, tokenCache });
    expect(await a.options.credentials!.get("europe-docker.pkg.dev", "proj/repo/app")).toEqual({ kind: "basic", username: "oauth2accesstoken", password: "ya29.stand-in" });
    expect(md.seen.map((s) => s.path)).toEqual(["/computeMetadata/v1/instance/service-accounts/default/token"]);
    expect(a.key).not.toContain("ya29");
    const b = await registryAccessFor(noKube, repo(url, "gcp"), { env, tokenCache });
    expect(b.key).toBe(a.key);
    expect(md.seen).toHaveLength(1);
  });

  test("metadata-server stand-in answering 404 → failed to get credential from gcp", async () => {
    const md = standIn(() => new Response("not here", { status: 404 }));
    const e = await failure(access("oci://gcr.io/proj/app", "gcp", { cloudEndpoints: { gcpMetadata: md.url } }));
    expect(e.code).toBe("AUTH_FAILED");
    expect(e.message).toBe("failed to get credential from gcp: GCP metadata token request: HTTP 404: not here");
  });
});

describe("azure (cloud endpoints are local stand-ins)", () => {
  test("IMDS and ACR exchange stand-ins: managed identity token → refresh token with the zero username", async () => {
    const exp = Math.floor(Date.now() / 1000) + 3 * 3600;
    const refresh = jwt({ exp });
    const imds = standIn((r) => (r.headers.get("metadata") === "true" ? Response.json({ access_token: "entra-from-imds", expires_in: "3599" }) : new Response("", { status: 400 })));
    const acr = standIn((r) => {
      const f = new URLSearchParams(r.body);
      const ok = f.get("grant_type") === "access_token" && f.get("service") === "myreg.azurecr.io" && f.get("access_token") === "entra-from-imds";
      return ok ? Response.json({ refresh_token: refresh }) : new Response("bad exchange", { status: 400 });
    });
    const { cred } = await access("oci://myreg.azurecr.io/apps/app", "azure", {
      env: { AZURE_CLIENT_ID: "cid" },
      cloudEndpoints: { azureIMDS: imds.url, acrExchange: `${acr.url}/oauth2/exchange` },
    });
    expect(cred).toEqual({ kind: "basic", username: "00000000-0000-0000-0000-000000000000", password: refresh });
    const q = new URLSearchParams(imds.seen[0]!.path.split("?")[1]);
    expect(q.get("resource")).toBe("https://containerregistry.azure.net/");
    expect(q.get("client_id")).toBe("cid");
    expect(acr.seen[0]!.path).toBe("/oauth2/exchange");
  });

  test("Entra stand-in: workload identity federation with the projected token file", async () => {
    const dir = mkdtempSync(join(tmpdir(), "berth-azwi-"));
    dirs.push(dir);
    writeFileSync(join(dir, "token"), "projected-sa-token\n");
    const entra = standIn((r) => {
      const f = new URLSearchParams(r.body);
      const ok =
        r.path === "/tenant-1/oauth2/v2.0/token" &&
        f.get("client_assertion") === "projected-sa-token" &&
        f.get("client_id") === "cid" &&
        f.get("scope") === "https://containerregistry.azure.net/.default" &&
        f.get("grant_type") === "client_credentials";
      return ok ? Response.json({ access_token: "entra-wi" }) : new Response("bad", { status: 400 });
    });
    const acr = standIn((r) => {
      const f = new URLSearchParams(r.body);
      return f.get("access_token") === "entra-wi" && f.get("tenant") === "tenant-1" ? Response.json({ refresh_token: "opaque-refresh" }) : new Response("bad", { status: 401 });
    });
    const { cred } = await access("oci://myreg.azurecr.io/app", "azure", {
      env: { AZURE_CLIENT_ID: "cid", AZURE_TENANT_ID: "tenant-1", AZURE_FEDERATED_TOKEN_FILE: join(dir, "token"), AZURE_AUTHORITY_HOST: entra.url },
      cloudEndpoints: { acrExchange: `${acr.url}/oauth2/exchange` },
    });
    expect(cred).toMatchObject({ username: "00000000-0000-0000-0000-000000000000", password: "opaque-refresh" });
    expect(entra.seen).toHaveLength(1);
  });

  test("a non-ACR host is rejected before any call", async () => {
    const e = await failure(access("oci://registry.example.com/app", "azure", {}));
    expect(e.message).toStartWith("failed to get credential from azure: invalid Azure registry: 'registry.example.com'");
  });
});

describe("aws (cloud endpoints are local stand-ins)", () => {
  test("SigV4 reproduces AWS's documented example signature", () => {
    const h = signV4({
      method: "GET",
      url: "https://iam.amazonaws.com/?Action=ListUsers&Version=2010-05-08",
      headers: { "Content-Type": "application/x-www-form-urlencoded; charset=utf-8" },
      body: "",
      region: "us-east-1",
      service: "iam",
      credentials: { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY" },
      date: new Date("2015-08-30T12:36:00Z"),
    });
    expect(h.authorization).toBe(
      "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7",
    );
  });

  const ecrStandIn = () =>
    standIn((r) => {
      if (r.headers.get("x-amz-target") !== "AmazonEC2ContainerRegistry_V20150921.GetAuthorizationToken") return new Response("bad target", { status: 400 });
      return Response.json({ authorizationData: [{ authorizationToken: Buffer.from("AWS:ecr-password").toString("base64"), expiresAt: Date.now() / 1000 + 43200, proxyEndpoint: "https://x" }] });
    });

  test("IMDSv2 and ECR stand-ins: instance role credentials → signed GetAuthorizationToken → AWS user", async () => {
    const imds = standIn((r) => {
      if (r.method === "PUT" && r.path === "/latest/api/token") return new Response("imds-session");
      if (r.headers.get("x-aws-ec2-metadata-token") !== "imds-session") return new Response("", { status: 401 });
      if (r.path === "/latest/meta-data/iam/security-credentials/") return new Response("node-role\n");
      if (r.path === "/latest/meta-data/iam/security-credentials/node-role")
        return Response.json({ AccessKeyId: "ASIAROLE", SecretAccessKey: "role-secret", Token: "role-session", Expiration: "2099-01-01T00:00:00Z" });
      return new Response("", { status: 404 });
    });
    const ecr = ecrStandIn();
    const { cred } = await access("oci://123456789012.dkr.ecr.us-west-2.amazonaws.com/apps/app", "aws", { env: { AWS_EC2_METADATA_SERVICE_ENDPOINT: imds.url, AWS_ENDPOINT_URL_ECR: ecr.url } });
    expect(cred).toEqual({ kind: "basic", username: "AWS", password: "ecr-password" });
    const req = ecr.seen[0]!;
    expect(req.method).toBe("POST");
    expect(req.headers.get("authorization")).toMatch(/^AWS4-HMAC-SHA256 Credential=ASIAROLE\/\d{8}\/us-west-2\/ecr\/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-security-token;x-amz-target, Signature=[0-9a-f]{64}$/);
    expect(req.headers.get("x-amz-security-token")).toBe("role-session");
    expect(req.headers.get("content-type")).toBe("application/x-amz-json-1.1");
  });

  test("STS stand-in: IRSA web identity token → AssumeRoleWithWebIdentity → ECR", async () => {
    const dir = mkdtempSync(join(tmpdir(), "berth-irsa-"));
    dirs.push(dir);
    writeFileSync(join(dir, "token"), "irsa-jwt");
    const sts = standIn((r) => {
      const f = new URLSearchParams(r.body);
      if (f.get("Action") !== "AssumeRoleWithWebIdentity" || f.get("WebIdentityToken") !== "irsa-jwt" || f.get("RoleArn") !== "arn:aws:iam::1:role/flux") return new Response("<Error/>", { status: 400 });
      return new Response(
        "<AssumeRoleWithWebIdentityResponse><AssumeRoleWithWebIdentityResult><Credentials><AccessKeyId>ASIAIRSA</AccessKeyId><SecretAccessKey>irsa-secret</SecretAccessKey><SessionToken>irsa-session</SessionToken></Credentials></AssumeRoleWithWebIdentityResult></AssumeRoleWithWebIdentityResponse>",
        { headers: { "content-type": "text/xml" } },
      );
    });
    const ecr = ecrStandIn();
    const { cred } = await access("oci://123456789012.dkr.ecr.eu-central-1.amazonaws.com/app", "aws", {
      env: { AWS_WEB_IDENTITY_TOKEN_FILE: join(dir, "token"), AWS_ROLE_ARN: "arn:aws:iam::1:role/flux", AWS_ENDPOINT_URL_STS: sts.url, AWS_ENDPOINT_URL_ECR: ecr.url },
    });
    expect(cred).toMatchObject({ username: "AWS", password: "ecr-password" });
    expect(ecr.seen[0]!.headers.get("authorization")).toContain("Credential=ASIAIRSA/");
    expect(ecr.seen[0]!.headers.get("authorization")).toContain("/eu-central-1/ecr/aws4_request");
  });

  test("ECR stand-in refusing with 403 → AUTH_FAILED naming the call, without the secret key", async () => {
    const ecr = standIn(() => Response.json({ __type: "AccessDeniedException", message: "not authorized" }, { status: 403 }));
    const e = await failure(
      access("oci://123456789012.dkr.ecr.us-east-1.amazonaws.com/app", "aws", { env: { AWS_ACCESS_KEY_ID: "AKIAENV", AWS_SECRET_ACCESS_KEY: "env-secret-key" }, cloudEndpoints: { ecr: ecr.url } }),
    );
    expect(e.code).toBe("AUTH_FAILED");
    expect(e.message).toStartWith("failed to get credential from aws: ECR GetAuthorizationToken: HTTP 403: ");
    expect(e.message).toContain("AccessDeniedException");
    expect(e.message).not.toContain("env-secret-key");
  });

  test("a non-ECR host is rejected with the pattern", async () => {
    const e = await failure(access("oci://ghcr.io/org/app", "aws", { env: { AWS_ACCESS_KEY_ID: "a", AWS_SECRET_ACCESS_KEY: "b" } }));
    expect(e.message).toStartWith("failed to get credential from aws: invalid AWS registry: 'ghcr.io'. must match ");
  });
});

describe("CloudTokenCache", () => {
  test("reuses a token until 80% of its lifetime, capped at maxAge; failures are not kept", async () => {
    let now = 1_000_000;
    const cache = new CloudTokenCache({ now: () => now, maxAgeMs: 3_600_000 });
    let calls = 0;
    const fetchToken = async () => ({ username: "u", password: `p${++calls}`, expiresAt: now + 1000_000 });
    expect((await cache.get("k", fetchToken)).password).toBe("p1");
    now += 799_000;
    expect((await cache.get("k", fetchToken)).password).toBe("p1");
    now += 2_000;
    expect((await cache.get("k", fetchToken)).password).toBe("p2");
    const long = async () => ({ username: "u", password: `long${++calls}`, expiresAt: now + 10 * 3_600_000 });
    expect((await cache.get("long", long)).password).toBe("long3");
    now += 3_600_001;
    expect((await cache.get("long", long)).password).toBe("long4");
    await expect(cache.get("bad", () => Promise.reject(new Error("down")))).rejects.toThrow("down");
    expect((await cache.get("bad", fetchToken)).password).toBe("p5");
  });
});
