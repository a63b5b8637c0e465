import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { parseAllDocuments } from "yaml";
import { ocirepositoryCRD } from "../../src/k8s/api/crd.ts";
import { installManifests, objectPath, type KubeObject } from "../../src/k8s/install/manifests.ts";
import { runMain } from "../../src/main.ts";
import { VERSION } from "../../src/cli/version.ts";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse as parseYaml, stringify as stringifyYaml } from "yaml";
import { createRegistryClient, pushArtifact } from "../../src/core/index.ts";
import { kubeFetch, kubeJson, startKube, type KubeServer } from "../harness/kube.ts";
import { startRegistry, type RegistryServer } from "../harness/registry.ts";
import { freePort } from "../harness/free-port.ts";
import { BERTH_BIN, berth, requireBinary } from "../e2e/berth-bin.ts";
import { exitOf } from "../harness/process.ts";

const KINDS = ["CustomResourceDefinition", "Namespace", "ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding", "Service", "Deployment"];

/** Runs berth in-process; resolves to its exit code and what it wrote. */
async function inProcess(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = "";
  let stderr = "";
  const sink = (add: (t: string) => void) => ({ write: (t: string | Uint8Array) => (add(typeof t === "string" ? t : new TextDecoder().decode(t)), true) }) as unknown as NodeJS.WritableStream;
  const code = await runMain(args, { out: sink((t) => (stdout += t)), err: sink((t) => (stderr += t)) }, { HOME: "/nonexistent-berth-home", ...env });
  return { code, stdout, stderr };
}

function parseYamlStream(text: string): KubeObject[] {
  return parseAllDocuments(text).map((d) => {
    expect(d.errors).toEqual([]);
    return d.toJS() as KubeObject;
  });
}

type Obj = Record<string, any>;
const container = (objs: KubeObject[]): Obj => ((objs.find((o) => o.kind === "Deployment") as Obj).spec.template.spec.containers[0] as Obj);

describe("berth install --export", () => {
  test("YAML: one document per kind in apply order; the CRD is ocirepositoryCRD(); image defaults to berth's version", async () => {
    const r = await inProcess(["install", "--export"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout.startsWith("---\n")).toBe(true);
    const objs = parseYamlStream(r.stdout);
    expect(objs.map((o) => o.kind)).toEqual(KINDS);
    expect(objs[0]).toEqual(ocirepositoryCRD() as unknown as KubeObject);
    for (const o of objs.slice(1)) {
      if (!["Namespace", "ClusterRole", "ClusterRoleBinding"].includes(o.kind)) expect(o.metadata.namespace).toBe("flux-system");
    }
    expect(objs[1]!.metadata.name).toBe("flux-system");
    const c = container(objs);
    expect(c.image).toBe(`ghcr.io/berth/berth:${VERSION}`);
    expect(c.command).toEqual(["/usr/local/bin/berth"]);
    expect(c.args).toEqual([
      "--controller",
      "--storage-path=/data",
      "--storage-addr=:9090",
      "--storage-adv-addr=berth-controller.$(RUNTIME_NAMESPACE).svc.cluster.local.",
      "--enable-leader-election",
      "--metrics-addr=:8080",
      "--health-addr=:9440",
    ]);
    expect(c.env).toEqual([{ name: "RUNTIME_NAMESPACE", valueFrom: { fieldRef: { fieldPath: "metadata.namespace" } } }]);
    expect(c.securityContext).toMatchObject({ runAsNonRoot: true, readOnlyRootFilesystem: true, capabilities: { drop: ["ALL"] }, seccompProfile: { type: "RuntimeDefault" } });
    const svc = objs.find((o) => o.kind === "Service") as Obj;
    expect(svc.metadata.name).toBe("berth-controller");
    expect(svc.spec.ports).toEqual([{ name: "http", port: 80, protocol: "TCP", targetPort: "http" }]);
    expect(c.ports.find((p: Obj) => p.name === "http").containerPort).toBe(9090);
  });

  test("JSON List with --namespace and --image (compiled binary); equals the YAML form's objects", async () => {
    requireBinary();
    const r = await berth(["install", "--export", "-o", "json", "--namespace", "berth-system", "--image", "registry.example.com/berth:dev"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const list = JSON.parse(r.stdout) as { apiVersion: string; kind: string; items: KubeObject[] };
    expect([list.apiVersion, list.kind]).toEqual(["v1", "List"]);
    expect(list.items.map((o) => o.kind)).toEqual(KINDS);
    expect(list.items[0]).toEqual(ocirepositoryCRD() as unknown as KubeObject);
    expect(list.items[1]!.metadata.name).toBe("berth-system");
    expect(container(list.items).image).toBe("registry.example.com/berth:dev");
    const binding = list.items.find((o) => o.kind === "ClusterRoleBinding") as Obj;
    expect(binding.subjects).toEqual([{ kind: "ServiceAccount", name: "berth-controller", namespace: "berth-system" }]);
    const yaml = await berth(["install", "--export", "--namespace", "berth-system", "--image", "registry.example.com/berth:dev"]);
    expect(parseYamlStream(yaml.stdout)).toEqual(list.items);
  });

  test("an invalid namespace is a usage error", async () => {
    const r = await inProcess(["install", "--export", "--namespace", "Not_Valid"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('invalid namespace "Not_Valid"');
    expect(r.stdout).toBe("");
  });
});

describe("berth install against a real API server", () => {
  let kube: KubeServer;
  let reg: RegistryServer;
  let work: string;
  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), "berth-install-test-"));
    [kube, reg] = await Promise.all([startKube(), startRegistry()]);
  }, 120_000);
  afterAll(async () => {
    await Promise.all([kube?.stop(), reg?.stop()]);
    if (work) rmSync(work, { recursive: true, force: true });
  });

  const get = (o: KubeObject) => kubeJson(kube, objectPath(o));

  test(
    "creates every object (compiled binary), waits for the CRD, and a second run (in-process) changes nothing",
    async () => {
      requireBinary();
      const r = await berth(["install", "--kubeconfig", kube.kubeconfigPath, "--namespace", "berth-a", "--image", "example.com/berth:test"]);
      expect(r.code).toBe(0);
      const objs = installManifests({ namespace: "berth-a", image: "example.com/berth:test", version: VERSION });
      for (const o of objs) expect(r.stderr).toContain(`✔ ${o.kind}/${o.metadata.name}`);
      expect(r.stderr).toContain("✔ CustomResourceDefinition/ocirepositories.source.toolkit.fluxcd.io established");

      const crd = (await get(objs[0]!)) as Obj;
      expect(crd.status.conditions.find((c: Obj) => c.type === "Established").status).toBe("True");
      // The CRD is served: an empty list of OCIRepositories in the new namespace.
      expect((await kubeJson(kube, "/apis/source.toolkit.fluxcd.io/v1/namespaces/berth-a/ocirepositories")).items).toEqual([]);

      const before = new Map<string, Obj>();
      for (const o of objs) {
        const live = (await get(o)) as Obj;
        expect(live.kind).toBe(o.kind);
        expect(live.metadata.name).toBe(o.metadata.name);
        // The CRD is exactly ocirepositoryCRD(), which carries no labels.
        if (o.kind !== "CustomResourceDefinition") expect(live.metadata.labels?.["app.kubernetes.io/part-of"]).toBe("berth");
        expect(live.metadata.managedFields.some((m: Obj) => m.manager === "berth" && m.operation === "Apply")).toBe(true);
        before.set(objectPath(o), live);
      }
      const dep = before.get(objectPath(objs.at(-1)!))!;
      expect(dep.spec.strategy.type).toBe("Recreate");
      expect(dep.spec.template.spec.containers[0].image).toBe("example.com/berth:test");
      expect(dep.spec.template.spec.volumes.map((v: Obj) => [v.name, "emptyDir" in v])).toEqual([["data", true], ["tmp", true]]);

      const again = await inProcess(["install", "--kubeconfig", kube.kubeconfigPath, "--namespace", "berth-a", "--image", "example.com/berth:test", "-o", "json"]);
      expect(again.stderr).toBe("");
      expect(again.code).toBe(0);
      const summary = JSON.parse(again.stdout) as { namespace: string; objects: { kind: string }[] };
      expect(summary.namespace).toBe("berth-a");
      expect(summary.objects.map((o) => o.kind)).toEqual(KINDS);
      for (const o of objs) {
        const live = (await get(o)) as Obj;
        // A no-op apply writes nothing: same resourceVersion, same generation.
        expect(`${o.kind} ${live.metadata.resourceVersion}`).toBe(`${o.kind} ${before.get(objectPath(o))!.metadata.resourceVersion}`);
        expect(live.metadata.generation).toBe(before.get(objectPath(o))!.metadata.generation);
      }
    },
    180_000,
  );

  test(
    "the ServiceAccount gets the controller's permissions: OCIRepositories cluster-wide, leases only in its namespace",
    async () => {
      const ns = "berth-a";
      const review = async (attrs: Obj): Promise<boolean> => {
        const res = await kubeJson(kube, "/apis/authorization.k8s.io/v1/subjectaccessreviews", {
          body: {
            apiVersion: "authorization.k8s.io/v1",
            kind: "SubjectAccessReview",
            spec: { user: `system:serviceaccount:${ns}:berth-controller`, groups: ["system:serviceaccounts", `system:serviceaccounts:${ns}`], resourceAttributes: attrs },
          },
        });
        return res.status.allowed === true;
      };
      const g = "source.toolkit.fluxcd.io";
      expect(await review({ group: g, resource: "ocirepositories", verb: "watch", namespace: "" })).toBe(true);
      expect(await review({ group: g, resource: "ocirepositories", subresource: "status", verb: "patch", namespace: "other" })).toBe(true);
      expect(await review({ group: g, resource: "ocirepositories", subresource: "finalizers", verb: "update", namespace: "other" })).toBe(true);
      expect(await review({ group: "", resource: "secrets", verb: "get", namespace: "other" })).toBe(true);
      expect(await review({ group: "", resource: "serviceaccounts", subresource: "token", verb: "create", namespace: "other" })).toBe(true);
      expect(await review({ group: "", resource: "events", verb: "create", namespace: "other" })).toBe(true);
      expect(await review({ group: "coordination.k8s.io", resource: "leases", verb: "update", namespace: ns })).toBe(true);
      // What it must not have: leases elsewhere, writing secrets, other kinds.
      expect(await review({ group: "coordination.k8s.io", resource: "leases", verb: "update", namespace: "other" })).toBe(false);
      expect(await review({ group: "", resource: "secrets", verb: "update", namespace: "other" })).toBe(false);
      expect(await review({ group: "apps", resource: "deployments", verb: "get", namespace: ns })).toBe(false);
    },
    60_000,
  );

  test(
    "server-side dry-run accepts the Deployment (strict field validation) and persists nothing",
    async () => {
      const ns = "berth-dry";
      const objs = installManifests({ namespace: ns, image: "example.com/berth:dry" });
      const nsObj = objs.find((o) => o.kind === "Namespace")!;
      await kubeJson(kube, `${objectPath(nsObj)}?fieldManager=berth`, { method: "PATCH", body: nsObj, contentType: "application/apply-patch+yaml" });
      const dep = objs.find((o) => o.kind === "Deployment")!;
      const res = await kubeFetch(kube, `${objectPath(dep)}?fieldManager=berth&force=true&dryRun=All&fieldValidation=Strict`, {
        method: "PATCH",
        body: dep,
        contentType: "application/apply-patch+yaml",
      });
      const body = (await res.json()) as Obj;
      expect(res.status).toBe(201);
      // The server defaulted it as it would a real one.
      const c = body.spec.template.spec.containers[0];
      expect(c.terminationMessagePolicy).toBe("File");
      expect(c.livenessProbe).toMatchObject({ httpGet: { path: "/healthz", port: "healthz", scheme: "HTTP" }, periodSeconds: 10 });
      expect(body.spec.template.spec.securityContext.fsGroup).toBe(1337);
      const after = await kubeFetch(kube, objectPath(dep));
      await after.arrayBuffer();
      expect(after.status).toBe(404);

      // The same strict validation rejects a field the API does not know.
      const bad = structuredClone(dep) as Obj;
      bad.spec.template.spec.containers[0].livenesProbe = {};
      const rejected = await kubeFetch(kube, `${objectPath(dep)}?fieldManager=berth&force=true&dryRun=All&fieldValidation=Strict`, {
        method: "PATCH",
        body: bad,
        contentType: "application/apply-patch+yaml",
      });
      const text = await rejected.text();
      // Server-side apply reports a field missing from the schema as a 500 "failed to create typed patch object".
      expect(rejected.status).toBeGreaterThanOrEqual(400);
      expect(text).toContain("livenesProbe");
      expect(text).toContain("not declared in schema");
    },
    60_000,
  );

  test("an unknown kubeconfig context fails with a usage error and applies nothing", async () => {
    const r = await inProcess(["install", "--kubeconfig", kube.kubeconfigPath, "--context", "nope", "--namespace", "berth-none"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('has no context "nope"');
    const ns = await kubeFetch(kube, "/api/v1/namespaces/berth-none");
    await ns.arrayBuffer();
    expect(ns.status).toBe(404);
  });

  test(
    "the Deployment's container, run as the compiled binary with its exact args and the ServiceAccount's token, serves probes, leads and reconciles",
    async () => {
      requireBinary();
      const ns = "berth-run";
      const objs = installManifests({ namespace: ns, image: "example.com/berth:run", version: VERSION });
      const installed = await inProcess(["install", "--kubeconfig", kube.kubeconfigPath, "--namespace", ns, "--image", "example.com/berth:run", "-q"]);
      expect(installed.stderr).toBe("");
      expect(installed.code).toBe(0);

      // The pod's identity: a token for the ServiceAccount (TokenRequest, as the kubelet gets one).
      const tr = await kubeJson(kube, `/api/v1/namespaces/${ns}/serviceaccounts/berth-controller/token`, {
        body: { apiVersion: "authentication.k8s.io/v1", kind: "TokenRequest", spec: { expirationSeconds: 3600 } },
      });
      const kubeconfig = parseYaml(readFileSync(kube.kubeconfigPath, "utf8")) as Obj;
      kubeconfig.users[0].user = { token: tr.status.token };
      const kubeconfigPath = join(work, "sa-kubeconfig");
      writeFileSync(kubeconfigPath, stringifyYaml(kubeconfig));

      // The container's args as the kubelet would pass them: $(RUNTIME_NAMESPACE) expanded; only the
      // listen addresses (free loopback ports) and the storage dir (an emptyDir in a pod) differ.
      const c = container(objs);
      const [storagePort, metricsPort, healthPort] = [await freePort(), await freePort(), await freePort()];
      const local: Record<string, string> = {
        "--storage-path=/data": `--storage-path=${join(work, "data")}`,
        "--storage-addr=:9090": `--storage-addr=127.0.0.1:${storagePort}`,
        "--metrics-addr=:8080": `--metrics-addr=127.0.0.1:${metricsPort}`,
        "--health-addr=:9440": `--health-addr=127.0.0.1:${healthPort}`,
      };
      const args = (c.args as string[]).map((a) => (local[a] ?? a).replaceAll("$(RUNTIME_NAMESPACE)", ns));
      expect(args.filter((a) => !Object.values(local).includes(a))).toEqual(["--controller", `--storage-adv-addr=berth-controller.${ns}.svc.cluster.local.`, "--enable-leader-election"]);
      const proc = Bun.spawn([BERTH_BIN, ...args, "--kubeconfig", kubeconfigPath], {
        env: { HOME: "/nonexistent-berth-home", RUNTIME_NAMESPACE: ns, HOSTNAME: "berth-controller-test-pod" },
        stdout: "pipe",
        stderr: "pipe",
      });
      const stderr = new Response(proc.stderr).text();
      try {
        const until = async <T>(what: string, probe: () => Promise<T | undefined>): Promise<T> => {
          const deadline = Date.now() + 60_000;
          while (Date.now() < deadline) {
            const v = await probe().catch(() => undefined);
            if (v !== undefined) return v;
            if (proc.exitCode !== null) throw new Error(`controller exited ${proc.exitCode} while waiting for ${what}:\n${await stderr}`);
            await Bun.sleep(200);
          }
          proc.kill();
          throw new Error(`timed out waiting for ${what}:\n${await stderr}`);
        };
        const probe = (path: string) => until(path, async () => ((await fetch(`http://127.0.0.1:${healthPort}${path}`)).status === 200 ? true : undefined));
        await probe("/healthz");
        await probe("/readyz");
        // The Deployment's readiness probe is the artifact server's `/` (only the leader serves it).
        expect(c.readinessProbe).toEqual({ httpGet: { path: "/", port: "http" } });
        expect(c.ports.find((p: Obj) => p.name === "http")?.containerPort).toBe(9090);
        await until("the readiness probe (GET / on the artifact port)", async () => ((await fetch(`http://127.0.0.1:${storagePort}/`).catch(() => undefined))?.status === 200 ? true : undefined));
        const lease = await until("the Lease", async () => {
          const l = await kubeJson(kube, `/apis/coordination.k8s.io/v1/namespaces/${ns}/leases/berth-controller-leader-election`);
          return l.spec?.holderIdentity ? l : undefined;
        });
        expect(lease.spec.holderIdentity).toContain("berth-controller-test-pod");

        const client = createRegistryClient({ insecure: true });
        const src = mkdtempSync(join(work, "src-"));
        writeFileSync(join(src, "cm.yaml"), "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: installed\n");
        try {
          await pushArtifact(src, client.repository({ registry: reg.host, repository: "install/app" }), "v1", {
            metadata: { source: "https://example.com/app.git", revision: `main@sha1:${"b".repeat(40)}` },
          });
        } finally {
          await client.close();
        }
        // An OCIRepository in another namespace: the ClusterRole must cover it.
        await kubeJson(kube, "/api/v1/namespaces", { body: { apiVersion: "v1", kind: "Namespace", metadata: { name: "apps" } } });
        await kubeJson(kube, "/apis/source.toolkit.fluxcd.io/v1/namespaces/apps/ocirepositories", {
          body: { apiVersion: "source.toolkit.fluxcd.io/v1", kind: "OCIRepository", metadata: { name: "app", namespace: "apps" }, spec: { url: `oci://${reg.host}/install/app`, ref: { tag: "v1" }, interval: "10m", insecure: true } },
        });
        const ready = await until("Ready=True", async () => {
          const o = await kubeJson(kube, "/apis/source.toolkit.fluxcd.io/v1/namespaces/apps/ocirepositories/app");
          return o.status?.conditions?.some((x: Obj) => x.type === "Ready" && x.status === "True") ? o : undefined;
        });
        expect(ready.metadata.finalizers).toContain("finalizers.fluxcd.io");
        const url = new URL(ready.status.artifact.url);
        // The advertised address is the Service's name: port 80, no port in the URL.
        expect(`${url.protocol}//${url.host}`).toBe(`http://berth-controller.${ns}.svc.cluster.local.`);
        const served = await fetch(`http://127.0.0.1:${storagePort}${url.pathname}`);
        expect(served.status).toBe(200);
        expect(`sha256:${createHash("sha256").update(new Uint8Array(await served.arrayBuffer())).digest("hex")}`).toBe(ready.status.artifact.digest);
        const events = await until("an event", async () => {
          const list = await kubeJson(kube, "/api/v1/namespaces/apps/events");
          return list.items.length > 0 ? list.items : undefined;
        });
        expect(events.some((e: Obj) => e.involvedObject?.name === "app")).toBe(true);
        expect((await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).status).toBe(200);
      } finally {
        proc.kill("SIGTERM");
        await exitOf(proc);
      }
      const log = await stderr;
      expect(log).not.toMatch(/forbidden/i);
    },
    180_000,
  );

  test("warns when Flux's source-controller already runs in the namespace, and installs anyway", async () => {
    const ns = "flux-dup";
    await kubeJson(kube, "/api/v1/namespaces", { body: { apiVersion: "v1", kind: "Namespace", metadata: { name: ns } } });
    const quiet = await inProcess(["install", "--kubeconfig", kube.kubeconfigPath, "--namespace", ns]);
    expect(quiet.code).toBe(0);
    expect(quiet.stderr).not.toContain("source-controller");
    const labels = { app: "source-controller" };
    await kubeJson(kube, `/apis/apps/v1/namespaces/${ns}/deployments`, {
      body: {
        apiVersion: "apps/v1",
        kind: "Deployment",
        metadata: { name: "source-controller", namespace: ns },
        spec: { selector: { matchLabels: labels }, template: { metadata: { labels }, spec: { containers: [{ name: "manager", image: "ghcr.io/fluxcd/source-controller:v1.9.1" }] } } },
      },
    });
    const warned = await inProcess(["install", "--kubeconfig", kube.kubeconfigPath, "--namespace", ns]);
    expect(warned.code).toBe(0);
    expect(warned.stderr).toContain(`⚠️ Flux's source-controller runs in ${ns}`);
    expect(warned.stderr).toContain("✔ install finished");
  }, 60_000);
});
