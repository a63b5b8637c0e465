import { expect, test } from "bun:test";
import type { RegistryClient, RegistryClientOptions } from "../../../../src/core/index.ts";
import { OCIRepositoryReconciler } from "../../../../src/k8s/controller/reconciler.ts";
import type { RegistryAccess } from "../../../../src/k8s/controller/credentials.ts";

/** A registry client that only records whether it was closed. */
function recordingClient(closed: string[], name: string): RegistryClient {
  return {
    repository: () => ({}) as never,
    ping: async () => undefined,
    close: async () => void closed.push(name),
    stats: () => ({ requests: 0, tokens: 0, byKind: {} }),
  };
}

test("registry clients are shared per access key and closed once idle (rotated secrets do not pile up)", async () => {
  const closed: string[] = [];
  const made: RegistryClientOptions[] = [];
  const r = new OCIRepositoryReconciler({
    kube: {} as never,
    store: {} as never,
    events: { record: async () => undefined },
    clientIdleMs: 40,
    createRegistryClient: (o) => {
      made.push(o);
      return recordingClient(closed, `client-${made.length}`);
    },
  });
  const registry = (a: RegistryAccess) => (r as unknown as { registry(a: RegistryAccess): RegistryClient }).registry(a);
  const a = { key: "access:a", options: { insecure: true } };
  const b = { key: "access:b", options: {} };
  expect(registry(a)).toBe(registry(a));
  expect(made).toHaveLength(1);
  expect(made[0]!.retry?.maxAttempts).toBe(3);
  registry(b);
  await Bun.sleep(60);
  registry(b); // touching b sweeps a, idle for 60 ms
  await Bun.sleep(0);
  expect(closed).toEqual(["client-1"]);
  registry(a);
  expect(made).toHaveLength(3);
  await r.close();
  expect(closed.sort()).toEqual(["client-1", "client-2", "client-3"]);
});
