import { describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CoreError } from "../../../../src/core/index.ts";
import type { KubeClient } from "../../../../src/k8s/client/kube.ts";
import type { OCIRepository } from "../../../../src/k8s/api/ocirepository.ts";
import { FEATURE_GATE_MESSAGE, keychainEntries, matchKeychain, registryAccessFor } from "../../../../src/k8s/controller/credentials.ts";
import { generateCerts, type TestCerts } from "../../../harness/certs.ts";
import { coreFailure as failure } from "../../../fixtures/core-error.ts";

const NS = "apps";
const b64 = (s: string) => Buffer.from(s).toString("base64");

/** Answers GETs from a map of objects by API path, with the API server's 404 text otherwise. */
function fakeKube(objects: Record<string, Record<string, any>>): KubeClient & { paths: string[] } {
  const paths: string[] = [];
  return {
    paths,
    async get(path: string) {
      paths.push(path);
      const o = objects[path];
      if (o) return structuredClone(o);
      const [, kind, name] = /\/(secrets|serviceaccounts)\/([^/]+)$/.exec(path) ?? [];
      throw new CoreError({ code: "NOT_FOUND", message: `GET ${path}: HTTP 404: ${kind} "${name}" not found`, details: { status: 404 } });
    },
  } as unknown as KubeClient & { paths: string[] };
}

const secretPath = (name: string) => `/api/v1/namespaces/${NS}/secrets/${name}`;
function secret(name: string, type: string, data: Record<string, string>) {
  const enc: Record<string, string> = {};
  for (const [k, v] of Object.entries(data)) enc[k] = b64(v);
  return { [secretPath(name)]: { metadata: { name, namespace: NS }, type, data: enc } };
}
const dockerSecret = (name: string, auths: Record<string, unknown>) =>
  secret(name, "kubernetes.io/dockerconfigjson", { ".dockerconfigjson": JSON.stringify({ auths }) });

function repo(spec: Partial<OCIRepository["spec"]>, url = "oci://reg.example.com:5000/apps/podinfo"): OCIRepository {
  return { apiVersion: "source.toolkit.fluxcd.io/v1", kind: "OCIRepository", metadata: { name: "podinfo", namespace: NS }, spec: { url, interval: "1m", ...spec } } as OCIRepository;
}

describe("keychain matching (spec §4.1)", () => {
  const s = (auths: Record<string, unknown>) =>
    keychainEntries({ metadata: { name: "s", namespace: NS }, type: "kubernetes.io/dockerconfigjson", data: { ".dockerconfigjson": b64(JSON.stringify({ auths })) } });
  const basic = (u: string) => ({ username: u, password: `${u}-pw` });
  const cases: { name: string; auths: Record<string, unknown>; registry: string; repository: string; want: string | undefined }[] = [
    { name: "plain host", auths: { "reg.example.com": basic("a") }, registry: "reg.example.com", repository: "x/y", want: "a" },
    { name: "scheme and /v2/ are stripped", auths: { "https://reg.example.com/v2/": basic("a") }, registry: "reg.example.com", repository: "x", want: "a" },
    { name: "port must be equal", auths: { "reg.example.com:5000": basic("a") }, registry: "reg.example.com:5001", repository: "x", want: undefined },
    { name: "port matches", auths: { "reg.example.com:5000": basic("a") }, registry: "reg.example.com:5000", repository: "x", want: "a" },
    { name: "glob label", auths: { "*.example.com": basic("g") }, registry: "reg.example.com", repository: "x", want: "g" },
    { name: "glob needs equal label count", auths: { "*.example.com": basic("g") }, registry: "a.reg.example.com", repository: "x", want: undefined },
    { name: "longest path wins", auths: { "reg.example.com": basic("host"), "reg.example.com/team": basic("team") }, registry: "reg.example.com", repository: "team/app", want: "team" },
    { name: "path prefix must match", auths: { "reg.example.com/team": basic("team") }, registry: "reg.example.com", repository: "other/app", want: undefined },
    { name: "auth overrides username/password", auths: { "reg.example.com": { username: "u", password: "p", auth: b64("real:secret") } }, registry: "reg.example.com", repository: "x", want: "real" },
    { name: "unpadded auth", auths: { "reg.example.com": { auth: b64("ab:c").replace(/=+$/, "") } }, registry: "reg.example.com", repository: "x", want: "ab" },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const cred = matchKeychain([s(c.auths)], c.registry, c.repository);
      expect(cred?.kind === "basic" ? cred.username : undefined).toBe(c.want);
    });
  }

  test("registrytoken is a bearer, identitytoken an identity credential", () => {
    const es = s({ "a.example.com": { registrytoken: "rt" }, "b.example.com": { identitytoken: "it", username: "u" } });
    expect(matchKeychain([es], "a.example.com", "x")).toEqual({ kind: "bearer", token: "rt" });
    expect(matchKeychain([es], "b.example.com", "x")).toEqual({ kind: "identity", identityToken: "it", username: "u" });
  });

  test("the first secret with a match wins; dockercfg is a bare map; Opaque secrets count for nothing", () => {
    const first = keychainEntries({ metadata: { name: "a", namespace: NS }, type: "kubernetes.io/dockercfg", data: { ".dockercfg": b64(JSON.stringify({ "reg.example.com": basic("cfg") })) } });
    const second = s({ "reg.example.com": basic("json") });
    const opaque = keychainEntries({ metadata: { name: "o", namespace: NS }, type: "Opaque", data: { ".dockerconfigjson": b64(JSON.stringify({ auths: { "reg.example.com": basic("opaque") } })) } });
    expect(opaque).toEqual([]);
    expect(matchKeychain([first, second], "reg.example.com", "x")).toMatchObject({ username: "cfg" });
    expect(matchKeychain([opaque, second], "reg.example.com", "x")).toMatchObject({ username: "json" });
  });

  test("invalid JSON names the secret and key but not the content", () => {
    const bad = { metadata: { name: "bad", namespace: NS }, type: "kubernetes.io/dockerconfigjson", data: { ".dockerconfigjson": b64('{"auths": hunter2') } };
    expect(() => keychainEntries(bad)).toThrow(`secret '${NS}/bad' has invalid JSON in '.dockerconfigjson'`);
    try {
      keychainEntries(bad);
    } catch (e) {
      expect((e as Error).message).not.toContain("hunter2");
    }
  });
});

describe("registryAccessFor", () => {
  test("secretRef: credentials for the matching registry only; the key hashes the material", async () => {
    const kube = fakeKube(dockerSecret("creds", { "reg.example.com:5000": { username: "u", password: "s3cret-pw" } }));
    const a = await registryAccessFor(kube, repo({ secretRef: { name: "creds" } }));
    expect(await a.options.credentials!.get("reg.example.com:5000", "apps/podinfo")).toEqual({ kind: "basic", username: "u", password: "s3cret-pw" });
    expect(await a.options.credentials!.get("other.example.com", "apps/podinfo")).toBeUndefined();
    expect(a.key).toMatch(/^access:sha256:[0-9a-f]{64}$/);
    expect(a.key).not.toContain("s3cret");
    const again = await registryAccessFor(kube, repo({ secretRef: { name: "creds" } }));
    expect(again.key).toBe(a.key);
    const rotated = await registryAccessFor(fakeKube(dockerSecret("creds", { "reg.example.com:5000": { username: "u", password: "new-pw" } })), repo({ secretRef: { name: "creds" } }));
    expect(rotated.key).not.toBe(a.key);
    const anon = await registryAccessFor(kube, repo({}));
    expect(anon.options.credentials).toBeUndefined();
    expect(anon.key).not.toBe(a.key);
  });

  test("missing secretRef → AUTH_FAILED with the spec's message", async () => {
    const e = await failure(registryAccessFor(fakeKube({}), repo({ secretRef: { name: "x" } })));
    expect(e.code).toBe("AUTH_FAILED");
    expect(e.message).toBe(`failed to get credential: failed to get secret '${NS}/x': secrets "x" not found`);
  });

  test("serviceAccountName: its imagePullSecrets after secretRef; missing account or secret", async () => {
    const saPath = `/api/v1/namespaces/${NS}/serviceaccounts/puller`;
    const objects = {
      ...dockerSecret("pull", { "reg.example.com:5000": { username: "from-sa", password: "p" } }),
      [saPath]: { metadata: { name: "puller", namespace: NS }, imagePullSecrets: [{ name: "pull" }] },
    };
    const a = await registryAccessFor(fakeKube(objects), repo({ serviceAccountName: "puller" }));
    expect(await a.options.credentials!.get("reg.example.com:5000", "apps/podinfo")).toMatchObject({ username: "from-sa" });

    const noSa = await failure(registryAccessFor(fakeKube({}), repo({ serviceAccountName: "puller" })));
    expect(noSa.message).toBe(`failed to get credential: serviceaccount '${NS}/puller' not found`);
    const noSecret = await failure(registryAccessFor(fakeKube({ [saPath]: objects[saPath]! }), repo({ serviceAccountName: "puller" })));
    expect(noSecret.code).toBe("AUTH_FAILED");
    expect(noSecret.message).toBe(`failed to get credential: failed to get image pull secret for serviceaccount '${NS}/puller': secret '${NS}/pull' not found`);
  });

  test("proxySecretRef: address with credentials; the spec's errors", async () => {
    const ok = await registryAccessFor(fakeKube(secret("px", "Opaque", { address: "http://proxy.local:3128", username: "pu", password: "pp" })), repo({ proxySecretRef: { name: "px" } }));
    expect(ok.options.proxy).toEqual({ https: "http://pu:pp@proxy.local:3128/", http: "http://pu:pp@proxy.local:3128/" });
    expect(ok.key).not.toContain("pp");
    const cases: [Record<string, string> | undefined, string][] = [
      [undefined, `secret '${NS}/px' not found`],
      [{ username: "u" }, `secret '${NS}/px': key 'address' not found`],
      [{ address: "" }, `secret '${NS}/px': proxy address is empty`],
      [{ address: "ftp://proxy.local" }, "proxy URL must use one of the supported schemes (http, https, socks5), got 'ftp'"],
    ];
    for (const [data, want] of cases) {
      const e = await failure(registryAccessFor(fakeKube(data ? secret("px", "Opaque", data) : {}), repo({ proxySecretRef: { name: "px" } })));
      expect(e.code).toBe("AUTH_FAILED");
      expect(e.message).toBe(`failed to get proxy address: ${want}`);
    }
  });

  test("no proxySecretRef: HTTPS_PROXY/HTTP_PROXY/NO_PROXY of the controller's environment apply; the secret wins over them", async () => {
    const env = { HTTPS_PROXY: "http://egress.local:3128", NO_PROXY: "10.0.0.0/8,.svc" };
    const viaEnv = await registryAccessFor(fakeKube({}), repo({}), { env });
    expect(viaEnv.options.proxy).toEqual({ https: "http://egress.local:3128", http: undefined, noProxy: "10.0.0.0/8,.svc" });
    const none = await registryAccessFor(fakeKube({}), repo({}), { env: {} });
    expect(none.options.proxy).toBeUndefined();
    expect(viaEnv.key).not.toBe(none.key);
    const bySecret = await registryAccessFor(fakeKube(secret("px", "Opaque", { address: "http://proxy.local:3128" })), repo({ proxySecretRef: { name: "px" } }), { env });
    expect(bySecret.options.proxy).toEqual({ https: "http://proxy.local:3128/", http: "http://proxy.local:3128/" });
  });

  describe("certSecretRef", () => {
    let certs: TestCerts;
    const pem = (f: string) => readFileSync(f, "utf8");
    test("new and deprecated keys; pair and CA checks", async () => {
      certs = await generateCerts({ dir: mkdtempSync(join(tmpdir(), "berth-cred-certs-")) });
      try {
        const ca = pem(certs.caCert);
        const cert = pem(certs.clientCert);
        const key = pem(certs.clientKey);
        const url = "oci://reg.example.com:5000/apps/podinfo";
        const load = (data: Record<string, string>, type = "kubernetes.io/tls") => registryAccessFor(fakeKube(secret("tls", type, data)), repo({ certSecretRef: { name: "tls" }, insecure: true }, url));
        const modern = await load({ "tls.crt": cert, "tls.key": key, "ca.crt": ca });
        expect(modern.options).toMatchObject({ ca, cert, key });
        expect(modern.options.insecure).toBeUndefined();
        const warnings: string[] = [];
        const legacy = await registryAccessFor(fakeKube(secret("tls", "Opaque", { certFile: cert, keyFile: key, caFile: ca })), repo({ certSecretRef: { name: "tls" } }, url), { log: (m) => warnings.push(m) });
        expect(legacy.options).toMatchObject({ ca, cert, key });
        expect(warnings).toHaveLength(3);
        expect(warnings.join("\n")).not.toContain("BEGIN");
        expect((await load({ "ca.crt": ca })).options).toEqual({ ca });

        const prefix = `failed to generate transport for '${url}': `;
        const cases: [Record<string, string>, string][] = [
          [{ "tls.crt": cert }, `secret '${NS}/tls' contains 'tls.crt' but missing 'tls.key'`],
          [{ "tls.key": key }, `secret '${NS}/tls' contains 'tls.key' but missing 'tls.crt'`],
          [{ other: "x" }, `secret '${NS}/tls' must contain either 'ca.crt' or both 'tls.crt' and 'tls.key'`],
          [{ "ca.crt": "not a pem" }, "failed to parse CA certificate"],
        ];
        for (const [data, want] of cases) {
          const e = await failure(load(data));
          expect(e.code).toBe("AUTH_FAILED");
          expect(e.message).toBe(prefix + want);
        }
        const mismatch = await failure(load({ "tls.crt": cert, "tls.key": pem(certs.serverKey) }));
        expect(mismatch.message).toStartWith(`${prefix}failed to parse TLS certificate and key: `);
        expect(mismatch.message).not.toContain("PRIVATE KEY");
        const missing = await failure(registryAccessFor(fakeKube({}), repo({ certSecretRef: { name: "tls" } }, url)));
        expect(missing.message).toBe(`${prefix}secret '${NS}/tls' not found`);
      } finally {
        certs?.remove();
      }
    }, 30_000);
  });

  test("insecure without certSecretRef skips verification", async () => {
    expect((await registryAccessFor(fakeKube({}), repo({ insecure: true }))).options.insecure).toBe(true);
    expect((await registryAccessFor(fakeKube({}), repo({}))).options.insecure).toBeUndefined();
  });

  test("serviceAccountName + cloud provider without the gate stalls (USAGE); pull secrets beat the provider", async () => {
    const saPath = `/api/v1/namespaces/${NS}/serviceaccounts/wi`;
    const kube = fakeKube({ [saPath]: { metadata: { name: "wi", namespace: NS } } });
    const e = await failure(registryAccessFor(kube, repo({ serviceAccountName: "wi", provider: "aws" })));
    expect(e.code).toBe("USAGE");
    expect(e.message).toBe(FEATURE_GATE_MESSAGE);
    // With a pull secret the provider is never consulted (no exchange, no error for a non-ECR host).
    const withSecret = fakeKube(dockerSecret("creds", { "reg.example.com:5000": { username: "u", password: "p" } }));
    const a = await registryAccessFor(withSecret, repo({ secretRef: { name: "creds" }, provider: "aws" }), { fetch: (() => Promise.reject(new Error("no cloud calls expected"))) as unknown as typeof fetch });
    expect(await a.options.credentials!.get("reg.example.com:5000", "apps/podinfo")).toMatchObject({ username: "u" });
  });

  test("a provider's host mismatch is AUTH_FAILED 'failed to get credential from <provider>: …'", async () => {
    const e = await failure(registryAccessFor(fakeKube({}), repo({ provider: "gcp" })));
    expect(e.code).toBe("AUTH_FAILED");
    expect(e.message).toStartWith("failed to get credential from gcp: invalid GCP registry: 'reg.example.com:5000'. must match ");
  });
});
