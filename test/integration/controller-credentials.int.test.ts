/**
 * The controller's registry access (spec §4) end to end: a real kube-apiserver holding the Secrets
 * and ServiceAccounts, real Distribution registries (htpasswd, token, TLS, mTLS), the controller
 * running in-process, and our own small CONNECT/forward proxy for proxySecretRef.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createConnection, createServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createRegistryClient, pushArtifact, staticCredentials, type RegistryClientOptions } from "../../src/core/index.ts";
import { ocirepositoryCRD } from "../../src/k8s/index.ts";
import { loadKubeConnection } from "../../src/k8s/client/kube.ts";
import { startController, type RunningController } from "../../src/k8s/controller/controller.ts";
import { FEATURE_GATE_MESSAGE } from "../../src/k8s/controller/credentials.ts";
import { installCRDs, kubeJson, startKube, type KubeServer } from "../harness/kube.ts";
import { startRegistry, type RegistryServer } from "../harness/registry.ts";

const NS = "berth-creds";
const COLLECTION = `/apis/source.toolkit.fluxcd.io/v1/namespaces/${NS}/ocirepositories`;
const b64 = (s: string) => Buffer.from(s).toString("base64");

let kube: KubeServer;
let htpasswd: RegistryServer;
let token: RegistryServer;
let tls: RegistryServer;
let mtls: RegistryServer;
let controller: RunningController;
let work: string;
const logs: string[] = [];
const digests: Record<string, string> = {};

async function push(reg: RegistryServer, opts: RegistryClientOptions, repository: string): Promise<string> {
  const dir = mkdtempSync(join(work, "src-"));
  writeFileSync(join(dir, "cm.yaml"), `kind: ConfigMap\nmetadata:\n  name: ${repository.replace(/\W/g, "-")}\n`);
  const client = createRegistryClient(opts);
  try {
    const res = await pushArtifact(dir, client.repository({ registry: reg.host, repository }), "v1", {
      metadata: { source: "https://example.com/repo.git", revision: `main@sha1:${"b".repeat(40)}` },
    });
    return res.descriptor.digest;
  } finally {
    await client.close();
  }
}

const pem = (f: string) => readFileSync(f, "utf8");
const basicFor = (reg: RegistryServer) => staticCredentials({ kind: "basic", username: reg.username!, password: reg.password! });

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), "berth-ctl-creds-"));
  [kube, htpasswd, token, tls, mtls] = await Promise.all([
    startKube(),
    startRegistry({ auth: "htpasswd" }),
    startRegistry({ auth: "token" }),
    startRegistry({ tls: "tls" }),
    startRegistry({ tls: "mtls" }),
  ]);
  const crdFile = join(work, "crd.yaml");
  writeFileSync(crdFile, JSON.stringify(ocirepositoryCRD()));
  await installCRDs(kube, [crdFile]);
  await kubeJson(kube, "/api/v1/namespaces", { body: { apiVersion: "v1", kind: "Namespace", metadata: { name: NS } } });
  const mtlsOpts = { ca: pem(mtls.caFile!), cert: pem(mtls.clientCertFile!), key: pem(mtls.clientKeyFile!) };
  [digests.htpasswd, digests.token, digests.tls, digests.mtls, digests.proxied] = await Promise.all([
    push(htpasswd, { credentials: basicFor(htpasswd) }, "apps/private"),
    push(token, { credentials: basicFor(token) }, "apps/tokened"),
    push(tls, { ca: pem(tls.caFile!) }, "apps/tls"),
    push(mtls, mtlsOpts, "apps/mtls"),
    push(htpasswd, { credentials: basicFor(htpasswd) }, "apps/proxied"),
  ]);
  controller = await startController({
    connection: await loadKubeConnection({ path: kube.kubeconfigPath }),
    namespace: NS,
    storagePath: join(work, "storage"),
    storageAddr: "127.0.0.1:0",
    concurrent: 4,
    log: (m) => logs.push(m),
  });
}, 180_000);

afterAll(async () => {
  await controller?.stop();
  await Promise.all([kube?.stop(), htpasswd?.stop(), token?.stop(), tls?.stop(), mtls?.stop()]);
  if (work) rmSync(work, { recursive: true, force: true });
});

async function create(path: string, body: unknown): Promise<void> {
  await kubeJson(kube, `/api/v1/namespaces/${NS}/${path}`, { body });
}
function opaque(name: string, data: Record<string, string>, type = "Opaque") {
  const enc: Record<string, string> = {};
  for (const [k, v] of Object.entries(data)) enc[k] = b64(v);
  return create("secrets", { apiVersion: "v1", kind: "Secret", metadata: { name }, type, data: enc });
}
const dockerSecret = (name: string, host: string, username: string, password: string) =>
  opaque(name, { ".dockerconfigjson": JSON.stringify({ auths: { [host]: { auth: b64(`${username}:${password}`) } } }) }, "kubernetes.io/dockerconfigjson");

function ocirepo(name: string, url: string, spec: Record<string, unknown> = {}) {
  return kubeJson(kube, COLLECTION, {
    body: { apiVersion: "source.toolkit.fluxcd.io/v1", kind: "OCIRepository", metadata: { name, namespace: NS }, spec: { url, ref: { tag: "v1" }, interval: "10m", ...spec } },
  });
}

const cond = (o: Record<string, any>, type: string) => (o.status?.conditions ?? []).find((c: { type: string }) => c.type === type);

async function waitReady(name: string, status: "True" | "False", timeoutMs = 60_000): Promise<Record<string, any>> {
  const deadline = Date.now() + timeoutMs;
  let last: Record<string, any> | undefined;
  while (Date.now() < deadline) {
    const o = await kubeJson(kube, `${COLLECTION}/${name}`);
    last = o;
    if (cond(o, "Ready")?.status === status) return o;
    await Bun.sleep(150);
  }
  throw new Error(`timed out waiting for ${name} Ready=${status}; last status: ${JSON.stringify(last?.status)}\ncontroller log:\n${logs.join("\n")}`);
}

/**
 * A forward proxy for the test: answers CONNECT and absolute-URI requests, sends `registry.test` to
 * 127.0.0.1 (so a request that bypassed it could not resolve), and requires Proxy-Authorization.
 */
function startProxy(user: string, password: string): Promise<{ port: number; requests: string[]; refused: number; server: Server }> {
  const state = { port: 0, requests: [] as string[], refused: 0, server: undefined as unknown as Server };
  const want = `Basic ${b64(`${user}:${password}`)}`;
  state.server = createServer((client: Socket) => {
    let head = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf("\r\n\r\n");
      if (end < 0) return;
      client.off("data", onData);
      const lines = head.subarray(0, end).toString("latin1").split("\r\n");
      const [method, target] = lines[0]!.split(" ");
      const auth = lines.find((l) => /^proxy-authorization:/i.test(l))?.replace(/^[^:]+:\s*/, "");
      if (auth !== want) {
        state.refused++;
        client.end("HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic\r\nContent-Length: 0\r\n\r\n");
        return;
      }
      state.requests.push(`${method} ${target}`);
      const hostPort = method === "CONNECT" ? target! : new URL(target!).host;
      const [host, port] = hostPort.split(":");
      const upstream = createConnection({ host: host === "registry.test" ? "127.0.0.1" : host, port: Number(port) });
      upstream.on("error", () => client.destroy());
      client.on("error", () => upstream.destroy());
      if (method === "CONNECT") {
        upstream.once("connect", () => {
          client.write("HTTP/1.1 200 Connection Established\r\n\r\n");
          if (head.length > end + 4) upstream.write(head.subarray(end + 4));
          client.pipe(upstream).pipe(client);
        });
      } else {
        // Distribution accepts absolute-form request targets, so the bytes go through unchanged.
        upstream.write(head);
        client.pipe(upstream).pipe(client);
      }
    };
    client.on("data", onData);
    client.on("error", () => {});
  });
  return new Promise((resolve) => state.server.listen(0, "127.0.0.1", () => resolve({ ...state, port: (state.server.address() as { port: number }).port, get requests() { return state.requests; }, get refused() { return state.refused; } })));
}

describe("controller registry access against real registries", () => {
  test("secretRef (dockerconfigjson) → htpasswd and token registries → Ready", async () => {
    await dockerSecret("htpasswd-creds", htpasswd.host, htpasswd.username!, htpasswd.password!);
    await dockerSecret("token-creds", token.host, token.username!, token.password!);
    token.tokenServer!.reset();
    await ocirepo("basic", `oci://${htpasswd.host}/apps/private`, { secretRef: { name: "htpasswd-creds" }, insecure: true });
    await ocirepo("tokened", `oci://${token.host}/apps/tokened`, { secretRef: { name: "token-creds" }, insecure: true });
    const basic = await waitReady("basic", "True");
    expect(basic.status.artifact.revision).toBe(`v1@${digests.htpasswd}`);
    const tokened = await waitReady("tokened", "True");
    expect(tokened.status.artifact.revision).toBe(`v1@${digests.token}`);
    const granted = token.tokenServer!.requests.filter((r) => r.account === token.username && r.status === 200);
    expect(granted.length).toBeGreaterThan(0);
  }, 90_000);

  test("a missing secretRef → FetchFailed AuthenticationFailed, Ready=False; without secrets the registry refuses", async () => {
    await ocirepo("nosecret", `oci://${htpasswd.host}/apps/private`, { secretRef: { name: "x" }, insecure: true });
    const o = await waitReady("nosecret", "False");
    const msg = `failed to get credential: failed to get secret '${NS}/x': secrets "x" not found`;
    expect(cond(o, "FetchFailed")).toMatchObject({ status: "True", reason: "AuthenticationFailed", message: msg });
    expect(cond(o, "Ready")).toMatchObject({ reason: "AuthenticationFailed", message: msg });
    expect(cond(o, "Reconciling")).toMatchObject({ status: "True", reason: "ProgressingWithRetry" });
    await ocirepo("anonymous", `oci://${htpasswd.host}/apps/private`, { insecure: true });
    const anon = await waitReady("anonymous", "False");
    expect(cond(anon, "FetchFailed").message).toStartWith("failed to determine artifact digest: ");
    expect(anon.status.artifact).toBeUndefined();
  }, 90_000);

  test("serviceAccountName: the account's imagePullSecrets log in", async () => {
    await dockerSecret("sa-pull", htpasswd.host, htpasswd.username!, htpasswd.password!);
    await create("serviceaccounts", { apiVersion: "v1", kind: "ServiceAccount", metadata: { name: "puller" }, imagePullSecrets: [{ name: "sa-pull" }] });
    await ocirepo("via-sa", `oci://${htpasswd.host}/apps/private`, { serviceAccountName: "puller", insecure: true });
    expect((await waitReady("via-sa", "True")).status.artifact.revision).toBe(`v1@${digests.htpasswd}`);
    await ocirepo("sa-missing", `oci://${htpasswd.host}/apps/private`, { serviceAccountName: "nobody", insecure: true });
    const missing = await waitReady("sa-missing", "False");
    expect(cond(missing, "FetchFailed")).toMatchObject({ reason: "AuthenticationFailed", message: `failed to get credential: serviceaccount '${NS}/nobody' not found` });
  }, 90_000);

  test("serviceAccountName with a cloud provider is refused with the feature-gate message (no cloud call)", async () => {
    await create("serviceaccounts", { apiVersion: "v1", kind: "ServiceAccount", metadata: { name: "workload" } });
    await ocirepo("wi", "oci://123456789012.dkr.ecr.us-east-1.amazonaws.com/apps/app", { serviceAccountName: "workload", provider: "aws" });
    const o = await waitReady("wi", "False");
    expect(cond(o, "Ready")?.message).toBe(FEATURE_GATE_MESSAGE);
    expect(o.status.artifact).toBeUndefined();
    // Spec §2.3: a stall (Stalled=True FeatureGateDisabled, Ready=False with the same reason), and no FetchFailed.
    expect(cond(o, "Stalled")).toMatchObject({ status: "True", reason: "FeatureGateDisabled", message: FEATURE_GATE_MESSAGE });
    expect(cond(o, "Ready")?.reason).toBe("FeatureGateDisabled");
    expect(cond(o, "FetchFailed")).toBeUndefined();
  }, 60_000);

  test("certSecretRef: CA for the TLS registry; client certificate for the mTLS registry (new and deprecated keys)", async () => {
    await opaque("tls-ca", { "ca.crt": pem(tls.caFile!) });
    await opaque("mtls-new", { "ca.crt": pem(mtls.caFile!), "tls.crt": pem(mtls.clientCertFile!), "tls.key": pem(mtls.clientKeyFile!) }, "kubernetes.io/tls");
    await opaque("mtls-old", { caFile: pem(mtls.caFile!), certFile: pem(mtls.clientCertFile!), keyFile: pem(mtls.clientKeyFile!) });
    await opaque("mtls-ca-only", { "ca.crt": pem(mtls.caFile!) });
    await ocirepo("tls-ca", `oci://${tls.host}/apps/tls`, { certSecretRef: { name: "tls-ca" } });
    await ocirepo("mtls-new", `oci://${mtls.host}/apps/mtls`, { certSecretRef: { name: "mtls-new" } });
    await ocirepo("mtls-old", `oci://${mtls.host}/apps/mtls`, { certSecretRef: { name: "mtls-old" } });
    await ocirepo("mtls-no-cert", `oci://${mtls.host}/apps/mtls`, { certSecretRef: { name: "mtls-ca-only" } });
    await ocirepo("tls-untrusted", `oci://${tls.host}/apps/tls`, {});
    await ocirepo("tls-bad-secret", `oci://${tls.host}/apps/tls`, { certSecretRef: { name: "htpasswd-creds" } });
    expect((await waitReady("tls-ca", "True")).status.artifact.revision).toBe(`v1@${digests.tls}`);
    expect((await waitReady("mtls-new", "True")).status.artifact.revision).toBe(`v1@${digests.mtls}`);
    expect((await waitReady("mtls-old", "True")).status.artifact.revision).toBe(`v1@${digests.mtls}`);
    for (const [name, want] of [["mtls-no-cert", "TLS handshake"], ["tls-untrusted", "not trusted"]] as const) {
      const o = await waitReady(name, "False");
      expect(o.status.artifact).toBeUndefined();
      expect(cond(o, "FetchFailed").status).toBe("True");
      expect(cond(o, "FetchFailed").message).toStartWith("failed to determine artifact digest: ");
      expect(cond(o, "FetchFailed").message).toContain(want);
    }
    const bad = await waitReady("tls-bad-secret", "False");
    expect(cond(bad, "FetchFailed")).toMatchObject({
      reason: "AuthenticationFailed",
      message: `failed to generate transport for 'oci://${tls.host}/apps/tls': secret '${NS}/htpasswd-creds' must contain either 'ca.crt' or both 'tls.crt' and 'tls.key'`,
    });
  }, 120_000);

  test("proxySecretRef: registry traffic goes through the proxy with its credentials", async () => {
    const proxy = await startProxy("px-user", "px-pass");
    try {
      const host = `registry.test:${htpasswd.host.split(":")[1]}`;
      await opaque("proxy", { address: `http://127.0.0.1:${proxy.port}`, username: "px-user", password: "px-pass" });
      await dockerSecret("proxied-creds", host, htpasswd.username!, htpasswd.password!);
      await ocirepo("proxied", `oci://${host}/apps/proxied`, { secretRef: { name: "proxied-creds" }, proxySecretRef: { name: "proxy" }, insecure: true });
      const o = await waitReady("proxied", "True");
      expect(o.status.artifact.revision).toBe(`v1@${digests.proxied}`);
      expect(proxy.requests.length).toBeGreaterThan(0);
      expect(proxy.requests.every((r) => r.includes("registry.test"))).toBe(true);
      expect(proxy.refused).toBe(0);
      expect(proxy.requests).toContain(`HEAD http://${host}/v2/apps/proxied/manifests/v1`);

      await opaque("proxy-empty", { address: "" });
      await ocirepo("proxy-empty", `oci://${host}/apps/proxied`, { proxySecretRef: { name: "proxy-empty" }, insecure: true });
      const bad = await waitReady("proxy-empty", "False");
      expect(cond(bad, "FetchFailed")).toMatchObject({ reason: "AuthenticationFailed", message: `failed to get proxy address: secret '${NS}/proxy-empty': proxy address is empty` });
    } finally {
      proxy.server.close();
    }
  }, 90_000);
});
