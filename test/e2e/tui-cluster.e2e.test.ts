/**
 * The Cluster screen of the compiled binary in a real terminal (tmux, 80x24) against the harness's
 * real kube-apiserver: rows from the watch, a status patch showing up live, the timeline of
 * conditions and Events, and reconcile / suspend reaching the server. No controller runs: the test
 * writes the status itself through the status subresource.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { cp, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ocirepositoryCRD } from "../../src/k8s/index.ts";
import { installCRDs, kubeJson, startKube, startRegistry, type KubeServer, type RegistryServer } from "../harness/index.ts";
import { berth, requireBinary } from "./berth-bin.ts";
import { TmuxUi } from "./tmux.ts";

const NS = "tui-e2e";
const NAME = "podinfo";
const OBJ = `/apis/source.toolkit.fluxcd.io/v1/namespaces/${NS}/ocirepositories/${NAME}`;
const ui = new TmuxUi(`berth-e2e-cluster-${process.pid}`, { timeoutMs: 20_000 });
const EXAMPLE = join(import.meta.dir, "../../examples/podinfo");

let kube: KubeServer;
let reg: RegistryServer;
let work: string;

async function waitServer<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    const v = await probe();
    if (v !== undefined) return v;
    await Bun.sleep(100);
  }
  throw new Error(`timed out waiting for ${what} on the API server`);
}

beforeAll(async () => {
  requireBinary();
  [kube, reg] = await Promise.all([startKube(), startRegistry()]);
  work = await mkdtemp(join(tmpdir(), "berth-tui-cluster-"));
  const crd = join(work, "crd.yaml");
  await writeFile(crd, JSON.stringify(ocirepositoryCRD()));
  await installCRDs(kube, [crd]);
  await kubeJson(kube, "/api/v1/namespaces", { body: { apiVersion: "v1", kind: "Namespace", metadata: { name: NS } } });
  await kubeJson(kube, `/apis/source.toolkit.fluxcd.io/v1/namespaces/${NS}/ocirepositories`, {
    body: { apiVersion: "source.toolkit.fluxcd.io/v1", kind: "OCIRepository", metadata: { name: NAME, namespace: NS }, spec: { url: "oci://ghcr.io/stefanprodan/manifests/podinfo", ref: { tag: "latest" }, interval: "5m" } },
  });
}, 180_000);

afterAll(async () => {
  await ui.stop();
  await Promise.all([kube?.stop(), reg?.stop()]);
  if (work) await rm(work, { recursive: true, force: true });
});

/** Starts `berth <args>` in a fresh 80x24 tmux session (the shell reports the exit code and tty mode after it). */
const startUi = (args: string[]) => ui.start(args, { HOME: work });

describe("berth ui cluster screen (compiled binary, real kube-apiserver)", () => {
  test("rows from the watch, live status, timeline with Events, reconcile and suspend reach the server", async () => {
    await startUi(["ui", "--kubeconfig", kube.kubeconfigPath]);
    await ui.waitScreen((s) => s.includes("berth › repositories"), "the UI");
    // The Repositories screen also lists what the cluster's OCIRepositories follow.
    await ui.waitScreen((s) => /oci:\/\/ghcr\.io\/stefanprodan\/manifests\/podinfo\s+cluster/.test(s), "the cluster's repository listed");

    await ui.keys("c");
    let s = await ui.waitScreen((x) => x.includes("● live") && x.includes(NAME), "the object listed");
    const lines = s.split("\n");
    expect(lines[0]).toContain("berth › repositories › ocirepositories");
    expect(s).toMatch(/NAMESPACE\s+NAME\s+READY\s+REVISION\s+AGE\s+SUSPENDED/);
    expect(s).toMatch(new RegExp(`▸ ${NS}\\s+${NAME}\\s+-\\s+-\\s+\\d+s\\s+false`));
    expect(s).toContain("ns all · 1 OCIRepository");
    for (const l of lines) expect([...l].length).toBeLessThanOrEqual(80);

    // The controller's part, played by the test: Ready=True with an artifact, through /status.
    const digest = `sha256:${"ab12".repeat(16)}`;
    const now = new Date().toISOString().replace(/\.\d+Z$/, "Z");
    await kubeJson(kube, `${OBJ}/status`, {
      method: "PATCH",
      contentType: "application/merge-patch+json",
      body: {
        status: {
          observedGeneration: 1,
          conditions: [{ type: "Ready", status: "True", reason: "Succeeded", message: `stored artifact for digest 'latest@${digest}'`, lastTransitionTime: now, observedGeneration: 1 }],
          artifact: { digest: `sha256:${"0".repeat(64)}`, lastUpdateTime: now, path: "ocirepository/x.tar.gz", revision: `latest@${digest}`, url: "http://storage/x.tar.gz" },
        },
      },
    });
    s = await ui.waitScreen((x) => /podinfo\s+True\s+latest@sha256:ab12/.test(x), "Ready=True shown live");
    if (process.env.BERTH_E2E_SHOW) console.log(s);

    // r: the annotation lands on the server with a fresh time.
    const before = Date.now();
    await ui.keys("r");
    const requestedAt = await waitServer("requestedAt", async () => (await kubeJson(kube, OBJ)).metadata.annotations?.["reconcile.fluxcd.io/requestedAt"] as string | undefined);
    expect(Date.parse(requestedAt)).toBeGreaterThanOrEqual(before - 2000);
    expect(Date.parse(requestedAt)).toBeLessThanOrEqual(Date.now() + 2000);

    // s asks first: n leaves the object alone, y suspends it.
    await ui.keys("s");
    await ui.waitScreen((x) => x.includes(`Suspend ${NS}/${NAME}? y/n`), "suspend question");
    await ui.keys("n");
    await Bun.sleep(300);
    expect((await kubeJson(kube, OBJ)).spec.suspend).toBeUndefined();
    await ui.keys("s");
    await ui.waitScreen((x) => x.includes(`Suspend ${NS}/${NAME}? y/n`), "suspend question again");
    await ui.keys("y");
    await waitServer("spec.suspend", async () => ((await kubeJson(kube, OBJ)).spec.suspend === true ? true : undefined));
    await ui.waitScreen((x) => /podinfo\s+True\s+\S+\s+\d+[sm]\s+true/.test(x), "SUSPENDED true from the watch");

    // Enter: conditions and Events of the object on one timeline; a new Event shows up live.
    const event = (name: string, reason: string, message: string, type: string, at: string) => ({
      apiVersion: "v1",
      kind: "Event",
      metadata: { name, namespace: NS },
      involvedObject: { apiVersion: "source.toolkit.fluxcd.io/v1", kind: "OCIRepository", name: NAME, namespace: NS },
      reason,
      message,
      type,
      count: 1,
      firstTimestamp: at,
      lastTimestamp: at,
      source: { component: "source-controller" },
    });
    const earlier = new Date(Date.parse(now) - 60_000).toISOString().replace(/\.\d+Z$/, "Z");
    await kubeJson(kube, `/api/v1/namespaces/${NS}/events`, { body: event("podinfo.1", "OCIArtifactPullFailed", "failed to pull: 401", "Warning", earlier) });
    await kubeJson(kube, `/api/v1/namespaces/${NS}/events`, { body: { ...event("other.2", "Unrelated", "another object", "Normal", earlier), involvedObject: { kind: "OCIRepository", name: "other", namespace: NS } } });
    await ui.keys("Enter");
    s = await ui.waitScreen((x) => x.includes("OCIArtifactPullFailed") && x.includes("Ready=True"), "timeline");
    expect(s).toContain(`${NS}/${NAME}  Ready=True  suspended=true`);
    const tl = s.split("\n").filter((l) => /^[▸ ] \d{4}-\d\d-\d\d /.test(l));
    expect(tl.map((l) => l.slice(22).split(/\s+/)[0])).toEqual(["Warning", "Ready=True"]);
    expect(s).not.toContain("another object");
    const later = new Date(Date.parse(now) + 60_000).toISOString().replace(/\.\d+Z$/, "Z");
    await kubeJson(kube, `/api/v1/namespaces/${NS}/events`, { body: event("podinfo.2", "NewArtifact", "stored artifact with revision", "Normal", later) });
    s = await ui.waitScreen((x) => /▸ \S+ \S+ Normal\s+NewArtifact: stored artifact with revision/.test(x), "new Event live, selected at the bottom");
    if (process.env.BERTH_E2E_SHOW) console.log(s);

    // S from the object page resumes after the question.
    await ui.keys("S");
    await ui.waitScreen((x) => x.includes(`Resume ${NS}/${NAME}? y/n`), "resume question");
    await ui.keys("y");
    await waitServer("spec.suspend=false", async () => ((await kubeJson(kube, OBJ)).spec.suspend === false ? true : undefined));

    // Back, and out: the terminal is cooked again.
    await ui.keys("q");
    await ui.waitScreen((x) => x.includes("● live"), "back on the list");
    await ui.keys("Q");
    await ui.expectCleanExit();
  }, 120_000);

  test("S signs the selected tag with --key (password asked in the UI); after a promote the tracking OCIRepository is followed until it has the digest", async () => {
    const repo = `oci://${reg.host}/e2e/app`;
    const v2 = join(work, "v2");
    await cp(EXAMPLE, v2, { recursive: true });
    const dep = join(v2, "deployment.yaml");
    await writeFile(dep, (await readFile(dep, "utf8")).replace(/replicas: \d+/, "replicas: 7"));
    for (const [tag, dir] of [["1.0.0", EXAMPLE], ["1.1.0", v2]] as const) expect((await berth(["push", "artifact", `${repo}:${tag}`, "-f", dir, "--source=https://example.com/app", `--revision=main@sha1:${"1".repeat(40)}`, "-q"])).code).toBe(0);
    expect((await berth(["tag", "artifact", `${repo}:1.0.0`, "--tag", "prod", "-q"])).code).toBe(0);
    const keygen = await berth(["generate-key-pair", "--output-key-prefix", join(work, "cosign")], { env: { COSIGN_PASSWORD: "pw-e2e" } });
    expect(keygen.code).toBe(0);
    const list = JSON.parse((await berth(["list", "artifacts", repo, "-o", "json"])).stdout) as { url?: string; tag?: string; digest: string }[];
    const digest = list.find((r) => r.tag === "1.1.0" || r.url?.endsWith(":1.1.0"))!.digest;
    await kubeJson(kube, `/apis/source.toolkit.fluxcd.io/v1/namespaces/${NS}/ocirepositories`, {
      body: { apiVersion: "source.toolkit.fluxcd.io/v1", kind: "OCIRepository", metadata: { name: "app", namespace: NS }, spec: { url: repo, ref: { tag: "prod" }, interval: "5m", insecure: true } },
    });

    await startUi(["ui", repo, "--kubeconfig", kube.kubeconfigPath, "--key", join(work, "cosign.key")]);
    await ui.waitScreen((x) => /▸ 1\.1\.0\s+sha256:/.test(x), "tags with 1.1.0 selected");

    // Sign: the encrypted key's password is typed into the UI, masked.
    await ui.keys("S");
    let s = await ui.waitScreen((x) => x.includes(`digest  ${digest}`), "sign screen");
    expect(s).toContain("encrypted: its password is asked on y");
    await ui.keys("y");
    await ui.waitScreen((x) => x.includes("password for"), "password prompt");
    await ui.keys(..."pw-e2e");
    s = await ui.waitScreen((x) => x.includes("••••••"), "masked password");
    expect(s).not.toContain("pw-e2e");
    await ui.keys("Enter");
    s = await ui.waitScreen((x) => x.includes("✔ signed"), "signed");
    expect(s).toContain(`✔ signed ${digest}`);
    const verified = await berth(["verify", "artifact", `${repo}:1.1.0`, "--key", join(work, "cosign.pub")]);
    expect(verified.code).toBe(0);

    // Promote 1.1.0 to prod; the OCIRepository tracking prod is found and followed.
    await ui.keys("q", "p");
    s = await ui.waitScreen((x) => x.includes("TARGET TAG") && x.includes("prod"), "promote: pick");
    const rows = s.split("\n").filter((l) => /^[▸ ] \S/.test(l) && !l.includes("TARGET"));
    await ui.keys(...Array(rows.findIndex((l) => l.includes("prod"))).fill("j"), "Enter");
    await ui.waitScreen((x) => x.includes("Promote 1.1.0 to prod?"), "promote: review");
    await ui.keys("y");
    s = await ui.waitScreen((x) => x.includes(`${NS}/app (tag prod)`) && x.includes("waiting"), "tracking OCIRepository followed");
    expect(s).toContain("cluster: 0/1 OCIRepository tracking prod has the new digest");

    // The controller's part: the new revision, Ready=True for the current generation.
    const now = new Date().toISOString().replace(/\.\d+Z$/, "Z");
    await kubeJson(kube, `/apis/source.toolkit.fluxcd.io/v1/namespaces/${NS}/ocirepositories/app/status`, {
      method: "PATCH",
      contentType: "application/merge-patch+json",
      body: {
        status: {
          observedGeneration: 1,
          conditions: [{ type: "Ready", status: "True", reason: "Succeeded", message: "stored artifact", lastTransitionTime: now, observedGeneration: 1 }],
          artifact: { digest: `sha256:${"0".repeat(64)}`, lastUpdateTime: now, path: "x.tar.gz", revision: `prod@${digest}`, url: "http://storage/x.tar.gz" },
        },
      },
    });
    s = await ui.waitScreen((x) => x.includes("1/1 OCIRepository"), "tracker reports the digest");
    expect(s).toContain(`✔ ${NS}/app (tag prod)  prod@${digest.slice(0, 19)}  has the new revision`);
    for (const l of s.split("\n")) expect([...l].length).toBeLessThanOrEqual(80);

    await ui.keys("C-c");
    s = await ui.waitScreen((x) => x.includes("EXIT:") && /icanon/.test(x), "exit");
    expect(s).toContain("EXIT:0");
  }, 150_000);
});
