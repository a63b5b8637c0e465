/**
 * Entry point of the compression worker (see workers.ts for how it is started, and
 * scripts/compile.ts, which must list this file as an extra entrypoint). It answers the
 * messages of worker-protocol.ts and keeps no state between them.
 */
import { encodeBlocks } from "./flate/encode-blocks.ts";
import { matchSegment } from "./flate/segment-match.ts";
import type { FromWorker, ToWorker } from "./worker-protocol.ts";
import { workerScope } from "./workers.ts";

const scope = workerScope();

function send(msg: FromWorker, transfer?: ArrayBuffer[]): void {
  scope.post(msg, transfer);
}

scope.onMessage((raw) => {
  const msg = raw as ToWorker;
  try {
    switch (msg.t) {
      case "match": {
        const r = matchSegment(msg.job);
        const result = { ...r, buf: msg.job.buf };
        // Tokens and the input buffer are shared memory where available; the rest moves.
        const arrays = [r.tokens, r.marks, r.stateA, r.stateB, r.countA, r.countB, msg.job.buf];
        send(
          { t: "match-done", id: msg.id, result },
          arrays.map((x) => x.buffer).filter((x): x is ArrayBuffer => x instanceof ArrayBuffer),
        );
        break;
      }
      case "encode": {
        const result = encodeBlocks(msg.job);
        send({ t: "encode-done", id: msg.id, result }, result.parts.map((p) => p.data.buffer as ArrayBuffer));
        break;
      }
    }
  } catch (err) {
    send({ t: "error", id: msg.id, message: err instanceof Error ? err.message : String(err) });
  }
});

send({ t: "ready" });
