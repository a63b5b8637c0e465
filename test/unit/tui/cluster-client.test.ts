import { afterEach, expect, test } from "bun:test";
import { createClusterClient, kubeContexts } from "../../../src/tui/cluster-client.ts";
import { clusterReducer, clusterRows, createCluster, type ClusterAction, type ClusterState } from "../../../src/tui/models/cluster.ts";

const PATH = "/apis/source.toolkit.fluxcd.io/v1/ocirepositories";
const obj = (name: string, rv: string) => ({ metadata: { namespace: "ns", name, resourceVersion: rv } });

let server: ReturnType<typeof Bun.serve> | undefined;
afterEach(() => server?.stop(true));

test("the real informer behind the client: list, a failing watch (reconnecting), a relist that drops vanished objects", async () => {
  // A stand-in API server: the first list has a and b; its watch fails with 500; the relist has b only
  // and its watch sends one MODIFIED event, then stays open.
  let lists = 0;
  let watches = 0;
  server = Bun.serve({
    port: 0,
    fetch(req) {
      const url = new URL(req.url);
      if (url.pathname !== PATH) return new Response("not found", { status: 404 });
      if (url.searchParams.get("watch") !== "1") {
        lists++;
        const items = lists === 1 ? [obj("a", "1"), obj("b", "2")] : [obj("b", "3")];
        return Response.json({ metadata: { resourceVersion: String(lists * 10) }, items });
      }
      watches++;
      if (watches === 1) return Response.json({ kind: "Status", code: 500, message: "etcd unavailable" }, { status: 500 });
      const body = new ReadableStream({
        start(c) {
          c.enqueue(new TextEncoder().encode(JSON.stringify({ type: "MODIFIED", object: { ...obj("b", "4"), status: { artifact: { revision: "v2@sha256:1" } } } }) + "\n"));
        },
      });
      return new Response(body, { headers: { "content-type": "application/json" } });
    },
  });
  const client = createClusterClient({ server: `http://127.0.0.1:${server.port}` }, "test", { backoffMs: 20, maxBackoffMs: 40 });
  let state: ClusterState = createCluster();
  const seen: ClusterState["connection"][] = [];
  const dispatch = (a: ClusterAction) => {
    state = clusterReducer(state, a);
    if (seen.at(-1) !== state.connection) seen.push(state.connection);
  };
  const stop = client.watch(PATH, {
    onEvent: (type, o) => dispatch({ kind: "event", type, obj: o }),
    onListStart: () => dispatch({ kind: "listStart" }),
    onListed: () => dispatch({ kind: "listed" }),
    onError: (e) => dispatch({ kind: "error", error: String(e) }),
  });
  for (let i = 0; i < 200 && !(watches >= 2 && clusterRows(state)[0]?.revision); i++) await Bun.sleep(10);
  await stop();
  await client.close();
  expect(seen).toEqual(["connecting", "live", "reconnecting", "live"]);
  expect(clusterRows(state).map((r) => [r.key, r.revision])).toEqual([["ns/b", "v2@sha256:1"]]);
  expect(state.error).toBeUndefined();
  expect(lists).toBe(2);
});

test("kubeContexts: names and current-context; nothing for missing or broken YAML", () => {
  const text = "apiVersion: v1\ncurrent-context: dev\ncontexts:\n- name: dev\n  context: {cluster: c}\n- name: prod\n  context: {cluster: c}\n";
  expect(kubeContexts(text)).toEqual({ names: ["dev", "prod"], current: "dev" });
  expect(kubeContexts("")).toEqual({ names: [] });
  expect(kubeContexts("contexts: [")).toEqual({ names: [] });
});
