import { useEffect, useState } from "react";
import { errorMessage } from "../api.ts";
import type { ClusterClient } from "../cluster-client.ts";
import { useServices, type TuiServices } from "../services.ts";

/** Connection to one context, as the views see it. */
export type ClusterConnection =
  | { status: "none" }
  | { status: "connecting" }
  | { status: "ok"; client: ClusterClient }
  | { status: "error"; error: string };

const cache = new WeakMap<TuiServices, Map<string, Promise<ClusterClient>>>();

/**
 * The cluster client of `context` (undefined: the configured one), shared by every screen of the app
 * so the list and an object's page use one connection pool. `none` when the app has no Kubernetes
 * access at all. Nothing connects while `enabled` is false (screens that need a cluster only later).
 */
export default function useCluster(context: string | undefined, enabled = true): ClusterConnection {
  const services = useServices();
  const [state, setState] = useState<ClusterConnection>(services.kube ? { status: "connecting" } : { status: "none" });
  useEffect(() => {
    const kube = services.kube;
    if (!kube || !enabled) return;
    let clients = cache.get(services);
    if (!clients) cache.set(services, (clients = new Map()));
    const key = context ?? "";
    let p = clients.get(key);
    if (!p) {
      p = kube.connect(context);
      clients.set(key, p);
      // A failed connection is retried when the screen is opened again.
      p.catch(() => clients.delete(key));
    }
    let live = true;
    setState({ status: "connecting" });
    p.then(
      (client) => live && setState({ status: "ok", client }),
      (e) => live && setState({ status: "error", error: errorMessage(e) }),
    );
    return () => {
      live = false;
    };
  }, [services, context, enabled]);
  return state;
}
