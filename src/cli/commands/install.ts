import { stringify } from "yaml";
import { fail } from "../../core/errors.ts";
import { KubeClient, kubeStatusOf, loadKubeConnection } from "../../k8s/client/kube.ts";
import { OCIREPOSITORY_CRD_NAME } from "../../k8s/api/ocirepository.ts";
import { applyObjects, waitForCRD } from "../../k8s/install/apply.ts";
import { BERTH_IMAGE_REPOSITORY, describeObject, installManifests, type KubeObject } from "../../k8s/install/manifests.ts";
import { Logger, parseFormat, printResult, type Streams } from "../output.ts";
import { parseGoDuration } from "../../core/duration.ts";
import { VERSION } from "../version.ts";

/** Flags of `berth install`. */
export interface InstallFlags {
  export?: boolean;
  namespace?: string;
  image?: string;
  kubeconfig?: string;
  context?: string;
  timeout?: string;
  output?: string;
  quiet?: boolean;
}

/** The default controller image: berth's own, tagged with this build's version. */
export const DEFAULT_IMAGE = `${BERTH_IMAGE_REPOSITORY}:${VERSION}`;

/** Manifests as one multi-document YAML stream (`---` between documents), as `kubectl apply -f` reads them. */
export function toYamlStream(objects: readonly KubeObject[]): string {
  return objects.map((o) => `---\n${stringify(o, { lineWidth: 0 })}`).join("");
}

/**
 * `berth install`: with `--export`, prints the controller's manifests (YAML by default, or a JSON
 * `List`); otherwise applies them server-side through the kubeconfig and waits for the CRD.
 */
export async function run(f: InstallFlags, s: Streams, env: NodeJS.ProcessEnv): Promise<number> {
  const format = parseFormat(f.output);
  const objects = installManifests({ namespace: f.namespace, image: f.image ?? DEFAULT_IMAGE, version: VERSION });

  if (f.export) {
    if (format === "json") s.out.write(JSON.stringify({ apiVersion: "v1", kind: "List", items: objects }, null, 2) + "\n");
    else s.out.write(toYamlStream(objects));
    return 0;
  }

  const timeoutMs = parseGoDuration(f.timeout ?? "1m");
  if (timeoutMs <= 0) fail("USAGE", "--timeout must be positive", { hint: "use a value like 30s or 2m" });
  const log = new Logger(s, f.quiet || format !== "human");
  const conn = await loadKubeConnection({ path: f.kubeconfig, env, context: f.context });
  const namespace = objects.find((o) => o.kind === "Namespace")!.metadata.name;
  const client = new KubeClient(conn);
  const signals = [AbortSignal.timeout(timeoutMs), ...(s.signal ? [s.signal] : [])];
  const signal = AbortSignal.any(signals);
  try {
    log.action(`installing berth ${VERSION} in namespace ${namespace} on ${conn.server}`);
    if (await hasSourceController(client, namespace, signal)) {
      log.warning(`Flux's source-controller runs in ${namespace}: both controllers would reconcile every OCIRepository; scale one of them to zero`);
    }
    const applied: KubeObject[] = [];
    await applyObjects(client, objects, {
      signal,
      onApplied: (obj) => {
        applied.push(obj);
        log.success(`${describeObject(obj)} applied`);
      },
    });
    log.action("waiting for the OCIRepository CRD to be established");
    await waitForCRD(client, OCIREPOSITORY_CRD_NAME, { timeoutMs, signal });
    log.success(`CustomResourceDefinition/${OCIREPOSITORY_CRD_NAME} established`);
    log.success(`install finished: the controller runs as Deployment/${objects.at(-1)!.metadata.name} in ${namespace}`);
    if (format !== "human") {
      await printResult(s, format, {
        server: conn.server,
        namespace,
        image: f.image ?? DEFAULT_IMAGE,
        objects: applied.map((o) => ({ apiVersion: o.apiVersion, kind: o.kind, name: o.metadata.name, ...(o.metadata.namespace ? { namespace: o.metadata.namespace } : {}) })),
      });
    }
    return 0;
  } finally {
    await client.close();
  }
}

/** Whether Flux's own source-controller Deployment exists in `namespace` (a missing or forbidden read counts as no). */
async function hasSourceController(client: KubeClient, namespace: string, signal: AbortSignal): Promise<boolean> {
  try {
    await client.get(`/apis/apps/v1/namespaces/${encodeURIComponent(namespace)}/deployments/source-controller`, signal);
    return true;
  } catch (e) {
    const status = kubeStatusOf(e);
    if (status === 404 || status === 403) return false;
    throw e;
  }
}
