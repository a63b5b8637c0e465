import { createServer } from "node:net";

/** Ports this process already handed out: never given twice, so servers started in parallel cannot collide. */
const handedOut = new Set<number>();

/**
 * Returns a TCP port on 127.0.0.1 that was free a moment ago (the OS picks it by binding port 0).
 * Another process may still take it before the caller binds, so servers started on it retry on
 * "address in use" (see registry.ts). Within this process a port is never returned twice: two
 * registries started at once were once given the same port, and the second one's readiness probe
 * was answered by the first.
 */
export async function freePort(): Promise<number> {
  for (let i = 0; i < 50; i++) {
    const port = await bindZero();
    if (!handedOut.has(port)) {
      handedOut.add(port);
      return port;
    }
  }
  throw new Error("could not find a port this process has not used yet");
}

function bindZero(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      if (addr === null || typeof addr === "string") {
        srv.close();
        reject(new Error("could not read the bound port"));
        return;
      }
      const port = addr.port;
      srv.close(() => resolve(port));
    });
  });
}
