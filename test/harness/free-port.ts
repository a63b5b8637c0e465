import { createServer } from "node:net";

/**
 * Returns a TCP port on 127.0.0.1 that was free a moment ago (the OS picks it by binding port 0).
 * Another process may still take it before the caller binds, so servers started on it retry on
 * "address in use" (see registry.ts).
 */
export function freePort(): Promise<number> {
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
