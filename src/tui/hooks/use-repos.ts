import { Repos } from "../api.ts";
import { useServices } from "../services.ts";

const cache = new WeakMap<object, Repos>();

/** The app's repository opener: one per services object, so every screen shares opened targets. */
export default function useRepos(): Repos {
  const services = useServices();
  let r = cache.get(services);
  if (!r) {
    r = new Repos(services);
    cache.set(services, r);
  }
  return r;
}
