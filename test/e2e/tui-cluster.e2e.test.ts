/**
 * The Cluster screen of the compiled binary in a real terminal (tmux, 80x24) against the harness's
 * real kube-apiserver: rows from the watch, a status patch showing up live, the timeline of
 * conditions and Events, and reconcile / suspend reaching the server. No controller runs: the test
 * writes the status itself through the status subresource.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ocirepositoryCRD } from "../../src/k8s/index.ts";
import { installCRDs, kubeJson, run, startKube, type KubeServer } from "../harness/index.ts";
import { BERTH_BIN, requireBinary } from "./berth-bin.ts";

const NS = "tui-e2e";
const NAME = "podinfo";
const OBJ = `/apis/source.toolkit.fluxcd.io/v1/namespaces/${NS}/ocirepositories/${NAME}`;
const SOCKET = `berth-e2e-cluster-${process.pid}`;

let kube: KubeServer;
let work: string;

async function tmux(...args: string[]) {
  const r = await run(["tmux", "-L", SOCKET, "-f", "/dev/null", ...args], { timeoutMs: 10_000 });
  if (r.code !== 0) throw new Error(`tmux ${args.join(" ")}: ${r.stderr}`);
  return r.stdout;
}

const screen = () => tmux("capture-pane", "-p", "-t", "ui");

async function waitScreen(pred: (s: string) => boolean, what: string, timeoutMs = 20_000): Promise<string> {
  const end = Date.now() + timeoutMs;
  let last = "";
  while (Date.now() < end) {
    last = await screen();
    if (pred(last)) return last;
    await Bun.sleep(50);
  }
  throw new Error(`timed out waiting for ${what}; screen:\n${last}`);
}

async function waitServer<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    const v = await probe();
    if (v !== undefined) return v;
    await Bun.sleep(100);
  }
  throw new Error(`timed out waiting for ${what} on the API server`);
}

async function keys(...ks: string[]) {
  for (const k of ks) {
    await tmux("send-keys", "-t", "ui", k);
    await Bun.sleep(60);
  }
}

beforeAll(async () => {
  requireBinary();
  kube = await startKube();
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
  await run(["tmux", "-L", SOCKET, "kill-server"], { timeoutMs: 5000 }).catch(() => {});
  await kube?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

describe("berth ui cluster screen (compiled binary, real kube-apiserver)", () => {
  test("rows from the watch, live status, timeline with Events, reconcile and suspend reach the server", async () => {
    const cmd = [BERTH_BIN, "ui", "--kubeconfig", kube.kubeconfigPath].map((a) => `'${a}'`).join(" ");
    const script = `${cmd}; echo "EXIT:$?"; stty -a | tr ' ;' '\\n\\n' | grep -xE -- '-?(icanon|echo)' | tr '\\n' ' '; echo; sleep 600`;
    await tmux("new-session", "-d", "-s", "ui", "-x", "80", "-y", "24", "-e", `HOME=${work}`, "-e", "NO_COLOR=1", "-e", "TERM=xterm-256color", "sh", "-c", script);
    await tmux("set-option", "-t", "ui", "window-size", "manual");
    await waitScreen((s) => s.includes("berth › repositories"), "the UI");

    await keys("c");
    let s = await waitScreen((x) => x.includes("● live") && x.includes(NAME), "the object listed");
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
    s = await waitScreen((x) => /podinfo\s+True\s+latest@sha256:ab12/.test(x), "Ready=True shown live");

    // r: the annotation lands on the server with a fresh time.
    const before = Date.now();
    await keys("r");
    const requestedAt = await waitServer("requestedAt", async () => (await kubeJson(kube, OBJ)).metadata.annotations?.["reconcile.fluxcd.io/requestedAt"] as string | undefined);
    expect(Date.parse(requestedAt)).toBeGreaterThanOrEqual(before - 2000);
    expect(Date.parse(requestedAt)).toBeLessThanOrEqual(Date.now() + 2000);

    // s asks first: n leaves the object alone, y suspends it.
    await keys("s");
    await waitScreen((x) => x.includes(`Suspend ${NS}/${NAME}? y/n`), "suspend question");
    await keys("n");
    await Bun.sleep(300);
    expect((await kubeJson(kube, OBJ)).spec.suspend).toBeUndefined();
    await keys("s");
    await waitScreen((x) => x.includes(`Suspend ${NS}/${NAME}? y/n`), "suspend question again");
    await keys("y");
    await waitServer("spec.suspend", async () => ((await kubeJson(kube, OBJ)).spec.suspend === true ? true : undefined));
    await waitScreen((x) => /podinfo\s+True\s+\S+\s+\d+[sm]\s+true/.test(x), "SUSPENDED true from the watch");

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
    await keys("Enter");
    s = await waitScreen((x) => x.includes("OCIArtifactPullFailed") && x.includes("Ready=True"), "timeline");
    expect(s).toContain(`${NS}/${NAME}  Ready=True  suspended=true`);
    const tl = s.split("\n").filter((l) => /^[▸ ] \d{4}-\d\d-\d\d /.test(l));
    expect(tl.map((l) => l.slice(22).split(/\s+/)[0])).toEqual(["Warning", "Ready=True"]);
    expect(s).not.toContain("another object");
    const later = new Date(Date.parse(now) + 60_000).toISOString().replace(/\.\d+Z$/, "Z");
    await kubeJson(kube, `/api/v1/namespaces/${NS}/events`, { body: event("podinfo.2", "NewArtifact", "stored artifact with revision", "Normal", later) });
    s = await waitScreen((x) => /▸ \S+ \S+ Normal\s+NewArtifact: stored artifact with revision/.test(x), "new Event live, selected at the bottom");
    if (process.env.BERTH_E2E_SHOW) console.log(s);

    // S from the object page resumes after the question.
    await keys("S");
    await waitScreen((x) => x.includes(`Resume ${NS}/${NAME}? y/n`), "resume question");
    await keys("y");
    await waitServer("spec.suspend=false", async () => ((await kubeJson(kube, OBJ)).spec.suspend === false ? true : undefined));

    // Back, and out: the terminal is cooked again.
    await keys("q");
    await waitScreen((x) => x.includes("● live"), "back on the list");
    await keys("Q");
    s = await waitScreen((x) => x.includes("EXIT:") && /icanon/.test(x), "exit");
    expect(s).toContain("EXIT:0");
    expect(s).toMatch(/(^|\s)icanon(\s|$)/m);
    expect(s).toMatch(/(^|\s)echo(\s|$)/m);
  }, 120_000);
});
