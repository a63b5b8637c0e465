import { afterEach, expect, test } from "bun:test";
import { cloudCredentials, CloudTokenCache, isCoreError } from "../../../../src/core/index.ts";

const servers: { stop(force?: boolean): void }[] = [];
afterEach(() => {
  for (const s of servers.splice(0)) s.stop(true);
});

/** A local stand-in for the GCE metadata server; counts token requests. */
function metadataStandIn(answer: () => Response) {
  let calls = 0;
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch: (req) => {
      calls++;
      return req.headers.get("metadata-flavor") === "Google" ? answer() : new Response("no flavor", { status: 403 });
    },
  });
  servers.push(server);
  return { host: `127.0.0.1:${server.port}`, calls: () => calls };
}

test("--provider gcp (metadata server is a local stand-in): the access token becomes oauth2accesstoken's password, one exchange per host", async () => {
  const md = metadataStandIn(() => Response.json({ access_token: "ya29.stand-in", expires_in: 3599, token_type: "Bearer" }));
  const creds = cloudCredentials("gcp", { env: { GCE_METADATA_HOST: md.host }, cache: new CloudTokenCache() });
  expect(await creds.get("europe-docker.pkg.dev", "proj/repo/app")).toEqual({ kind: "basic", username: "oauth2accesstoken", password: "ya29.stand-in" });
  expect(await creds.get("europe-docker.pkg.dev", "proj/repo/other")).toEqual({ kind: "basic", username: "oauth2accesstoken", password: "ya29.stand-in" });
  expect(md.calls()).toBe(1);
});

test("--provider gcp (stand-in): a failed exchange is AUTH_FAILED naming the provider, with a hint", async () => {
  const md = metadataStandIn(() => new Response("not here", { status: 404 }));
  const e = await cloudCredentials("gcp", { env: { GCE_METADATA_HOST: md.host } })
    .get("gcr.io", "proj/app")
    .catch((x: unknown) => x);
  expect(isCoreError(e, "AUTH_FAILED")).toBe(true);
  expect((e as Error).message).toBe("failed to get credential from gcp: GCP metadata token request: HTTP 404: not here");
  expect((e as { details: { hint?: string } }).details.hint).toContain("docker login");
});

test("--provider aws for a host that is not ECR fails before any cloud call", async () => {
  const e = await cloudCredentials("aws", { env: {}, fetch: (() => Promise.reject(new Error("no call expected"))) as unknown as typeof fetch })
    .get("127.0.0.1:5000", "org/app")
    .catch((x: unknown) => x);
  expect(isCoreError(e, "AUTH_FAILED")).toBe(true);
  expect((e as Error).message).toStartWith("failed to get credential from aws: ");
  expect((e as Error).message).not.toContain("no call expected");
});
