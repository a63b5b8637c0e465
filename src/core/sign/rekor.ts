/**
 * Rekor v1 uploads for keyless signatures (spec §1.6, §1.9 step 4, §2.2): the proposed entries
 * cosign makes (`hashedrekord` 0.0.1 for a legacy payload, `dsse` 0.0.1 for a bundle's envelope),
 * the upload, and the two shapes the answer is stored in (the legacy `dev.sigstore.cosign/bundle`
 * annotation and a v0.3 bundle's `tlogEntries[]` item).
 */
import { createHash } from "node:crypto";
import { fail } from "../errors.ts";
import { serviceJSON, type ServiceHttpOptions } from "./service-http.ts";

/** The public-good Rekor v1 instance. */
export const PUBLIC_GOOD_REKOR_URL = "https://rekor.sigstore.dev";

/** A Rekor v1 log entry as returned by `POST /api/v1/log/entries`. */
export interface RekorEntry {
  uuid: string;
  /** base64 of the canonicalised entry body. */
  body: string;
  integratedTime: number;
  /** hex sha256 of the log's public key. */
  logID: string;
  logIndex: number;
  signedEntryTimestamp: string;
  inclusionProof?: { logIndex: number; rootHash: string; treeSize: number; hashes: string[]; checkpoint: string };
}

/** The `hashedrekord` 0.0.1 entry for a signature over `data` by the key or certificate in `pem`. */
export function hashedRekordEntry(data: Uint8Array, signature: Uint8Array, pem: string): Record<string, unknown> {
  return {
    apiVersion: "0.0.1",
    kind: "hashedrekord",
    spec: {
      data: { hash: { algorithm: "sha256", value: createHash("sha256").update(data).digest("hex") } },
      signature: { content: Buffer.from(signature).toString("base64"), publicKey: { content: Buffer.from(pem, "utf8").toString("base64") } },
    },
  };
}

/** The `dsse` 0.0.1 proposed entry for a one-signature envelope, verified by the key or certificate in `pem`. */
export function dsseEntry(envelope: { payloadType: string; payload: Uint8Array; signature: Uint8Array }, pem: string): Record<string, unknown> {
  const env = {
    payloadType: envelope.payloadType,
    payload: Buffer.from(envelope.payload).toString("base64"),
    signatures: [{ sig: Buffer.from(envelope.signature).toString("base64") }],
  };
  return {
    apiVersion: "0.0.1",
    kind: "dsse",
    spec: { proposedContent: { envelope: JSON.stringify(env), verifiers: [Buffer.from(pem, "utf8").toString("base64")] } },
  };
}

/** Uploads a proposed entry to a Rekor v1 log and returns the logged entry. */
export async function uploadEntry(rekorURL: string, entry: Record<string, unknown>, o: ServiceHttpOptions = {}): Promise<RekorEntry> {
  const url = new URL("api/v1/log/entries", rekorURL.endsWith("/") ? rekorURL : `${rekorURL}/`);
  const res = (await serviceJSON("Rekor", url, { method: "POST", body: entry }, [], o)) as Record<string, unknown>;
  const [uuid, raw] = Object.entries(res ?? {})[0] ?? [];
  const e = raw as
    | {
        body?: unknown;
        integratedTime?: unknown;
        logID?: unknown;
        logIndex?: unknown;
        verification?: { signedEntryTimestamp?: unknown; inclusionProof?: Record<string, unknown> };
      }
    | undefined;
  const set = e?.verification?.signedEntryTimestamp;
  if (!uuid || typeof e?.body !== "string" || typeof e.integratedTime !== "number" || typeof e.logID !== "string" || typeof e.logIndex !== "number" || typeof set !== "string") {
    fail("VERIFY_FAILED", `Rekor ${url.origin} returned an entry without body, integratedTime, logID, logIndex or signedEntryTimestamp (is it a Rekor v1 log?)`);
  }
  const p = e.verification?.inclusionProof;
  const proof =
    p && typeof p.rootHash === "string" && typeof p.checkpoint === "string" && typeof p.treeSize === "number" && typeof p.logIndex === "number"
      ? { logIndex: p.logIndex, rootHash: p.rootHash, treeSize: p.treeSize, hashes: Array.isArray(p.hashes) ? p.hashes.map(String) : [], checkpoint: p.checkpoint }
      : undefined;
  return { uuid, body: e.body, integratedTime: e.integratedTime, logID: e.logID, logIndex: e.logIndex, signedEntryTimestamp: set, inclusionProof: proof };
}

/** The legacy `dev.sigstore.cosign/bundle` annotation value (Go field names and order). */
export function legacyRekorAnnotation(e: RekorEntry): string {
  return JSON.stringify({
    SignedEntryTimestamp: e.signedEntryTimestamp,
    Payload: { body: e.body, integratedTime: e.integratedTime, logIndex: e.logIndex, logID: e.logID },
  });
}

/** A v0.3 bundle `tlogEntries[]` item (protobuf JSON). v0.3 requires the inclusion proof. */
export function bundleTlogEntry(e: RekorEntry): Record<string, unknown> {
  if (!e.inclusionProof) fail("VERIFY_FAILED", "Rekor returned no inclusion proof, which a v0.3 bundle requires; sign with --format legacy");
  const body = JSON.parse(Buffer.from(e.body, "base64").toString("utf8")) as { kind?: unknown; apiVersion?: unknown };
  const hex = (h: string) => Buffer.from(h, "hex").toString("base64");
  return {
    logIndex: String(e.logIndex),
    logId: { keyId: hex(e.logID) },
    kindVersion: { kind: String(body.kind), version: String(body.apiVersion) },
    integratedTime: String(e.integratedTime),
    inclusionPromise: { signedEntryTimestamp: e.signedEntryTimestamp },
    inclusionProof: {
      logIndex: String(e.inclusionProof.logIndex),
      rootHash: hex(e.inclusionProof.rootHash),
      treeSize: String(e.inclusionProof.treeSize),
      hashes: e.inclusionProof.hashes.map(hex),
      checkpoint: { envelope: e.inclusionProof.checkpoint },
    },
    canonicalizedBody: e.body,
  };
}
