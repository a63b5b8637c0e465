/**
 * Entry point of the compression worker (see workers.ts for how it is started, and
 * scripts/compile.ts, which must list this file as an extra entrypoint). It answers the
 * messages defined in worker-protocol.ts; all state lives in this thread.
 */
import { GoGzipWriter } from "./gzip.ts";
import type { FromWorker, ToWorker } from "./worker-protocol.ts";
import { workerScope } from "./workers.ts";

const scope = workerScope();
let gzip: GoGzipWriter | null = null;

function send(msg: FromWorker, transfer?: ArrayBuffer[]): void {
  scope.post(msg, transfer);
}

scope.onMessage((raw) => {
  const msg = raw as ToWorker;
  try {
    switch (msg.t) {
      case "gzip-data": {
        gzip ??= new GoGzipWriter();
        gzip.writeNoTake(msg.data);
        const out = gzip.pending >= msg.emitAt ? gzip.take() : new Uint8Array(0);
        send({ t: "gzip-out", data: out }, [out.buffer]);
        break;
      }
      case "gzip-end": {
        gzip ??= new GoGzipWriter();
        const out = gzip.close();
        gzip = null;
        send({ t: "gzip-done", data: out }, [out.buffer]);
        break;
      }
    }
  } catch (err) {
    send({ t: "error", message: err instanceof Error ? err.message : String(err) });
  }
});

send({ t: "ready" });
