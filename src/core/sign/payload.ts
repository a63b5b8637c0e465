/**
 * What cosign signs: the simple-signing payload of the legacy `.sig` format (spec §1.4) and the
 * in-toto statement inside the DSSE envelope of the bundle format (spec §2.2), plus DSSE's PAE.
 * Pure byte builders and parsers; byte-exact with cosign's Go output.
 */
import { fail } from "../errors.ts";
import { goJSON, sortedRecord } from "../oci/manifest.ts";

/** `critical.type` of a cosign image signature payload. */
export const SIMPLE_SIGNING_TYPE = "cosign container image signature";
/** DSSE payload type cosign v3 uses for image signatures. */
export const IN_TOTO_PAYLOAD_TYPE = "application/vnd.in-toto+json";
/** in-toto Statement v1 `_type`. */
export const IN_TOTO_STATEMENT_V1 = "https://in-toto.io/Statement/v1";
/** Predicate type of a cosign v3 image signature (not an attestation). */
export const COSIGN_SIGN_PREDICATE = "https://sigstore.dev/cosign/sign/v1";

/**
 * The simple-signing payload, exactly as cosign's Go code serialises it: no whitespace, Go's HTML
 * escaping, `optional` null without annotations, otherwise an object with sorted keys.
 * `dockerReference` is `<registry>/<repository>` without tag or digest.
 */
export function simpleSigningPayload(dockerReference: string, digest: string, annotations?: Record<string, string>): Uint8Array {
  const optional = annotations && Object.keys(annotations).length > 0 ? sortedRecord(annotations) : null;
  const doc = {
    critical: { identity: { "docker-reference": dockerReference }, image: { "docker-manifest-digest": digest }, type: SIMPLE_SIGNING_TYPE },
    optional,
  };
  return new TextEncoder().encode(goJSON(doc));
}

/** The claims of a simple-signing payload verifiers look at. */
export interface SimpleSigningClaims {
  digest: string;
  dockerReference?: string;
  type?: string;
  optional: Record<string, unknown> | null;
}

/** Parses a simple-signing payload; throws VERIFY_FAILED when it is not one. */
export function parseSimpleSigning(payload: Uint8Array): SimpleSigningClaims {
  let j: { critical?: { identity?: { "docker-reference"?: unknown }; image?: { "docker-manifest-digest"?: unknown }; type?: unknown }; optional?: unknown };
  try {
    j = JSON.parse(new TextDecoder().decode(payload));
  } catch {
    fail("VERIFY_FAILED", "signature payload is not JSON");
  }
  const digest = j?.critical?.image?.["docker-manifest-digest"];
  if (typeof digest !== "string") fail("VERIFY_FAILED", "signature payload has no critical.image.docker-manifest-digest");
  const ref = j.critical?.identity?.["docker-reference"];
  const type = j.critical?.type;
  const optional = j.optional && typeof j.optional === "object" && !Array.isArray(j.optional) ? (j.optional as Record<string, unknown>) : null;
  return { digest, dockerReference: typeof ref === "string" ? ref : undefined, type: typeof type === "string" ? type : undefined, optional };
}

/**
 * The in-toto statement cosign v3 signs for an image: one subject with the digest and the `-a`
 * annotations (`{}` when none), predicate `{}`. Only fields cosign's strict protojson parser knows.
 */
export function cosignStatement(digest: string, annotations?: Record<string, string>): Uint8Array {
  const [alg, hex] = splitDigest(digest);
  const doc = {
    _type: IN_TOTO_STATEMENT_V1,
    subject: [{ digest: { [alg]: hex }, annotations: sortedRecord(annotations ?? {}) }],
    predicateType: COSIGN_SIGN_PREDICATE,
    predicate: {},
  };
  return new TextEncoder().encode(goJSON(doc));
}

/** One subject of an in-toto statement. */
export interface StatementSubject {
  name?: string;
  digest: Record<string, string>;
  annotations?: Record<string, unknown>;
}

/** The parts of an in-toto statement a verifier checks. */
export interface Statement {
  type: string;
  predicateType: string;
  subjects: StatementSubject[];
}

/** Parses an in-toto statement (v1, or v0.1 as older cosign attestations are); throws VERIFY_FAILED when it is not one. */
export function parseStatement(payload: Uint8Array): Statement {
  let j: { _type?: unknown; predicateType?: unknown; subject?: unknown };
  try {
    j = JSON.parse(new TextDecoder().decode(payload));
  } catch {
    fail("VERIFY_FAILED", "DSSE payload is not JSON");
  }
  // cosign's parser (protojson into the v1 message) does not check `_type`; older attestations say v0.1.
  if (j?._type !== IN_TOTO_STATEMENT_V1 && j?._type !== "https://in-toto.io/Statement/v0.1") fail("VERIFY_FAILED", `DSSE payload is not an in-toto v1 statement (_type ${JSON.stringify(j?._type)})`);
  if (!Array.isArray(j.subject)) fail("VERIFY_FAILED", "in-toto statement has no subject list");
  const subjects = (j.subject as unknown[]).filter(
    (s): s is StatementSubject => !!s && typeof s === "object" && !!(s as StatementSubject).digest && typeof (s as StatementSubject).digest === "object",
  );
  return { type: j._type, predicateType: typeof j.predicateType === "string" ? j.predicateType : "", subjects };
}

/** DSSE pre-authentication encoding: `DSSEv1 <len type> <type> <len payload> <payload>` (byte lengths). */
export function preAuthEncoding(payloadType: string, payload: Uint8Array): Uint8Array {
  const type = new TextEncoder().encode(payloadType);
  const head = new TextEncoder().encode(`DSSEv1 ${type.byteLength} ${payloadType} ${payload.byteLength} `);
  const out = new Uint8Array(head.byteLength + payload.byteLength);
  out.set(head, 0);
  out.set(payload, head.byteLength);
  return out;
}

function splitDigest(d: string): [string, string] {
  const i = d.indexOf(":");
  if (i <= 0) fail("REF_INVALID", `not a digest: ${d}`);
  return [d.slice(0, i), d.slice(i + 1)];
}

/** The string-valued entries of a signed annotation map (cosign's `optional`, a statement subject's annotations). */
export function stringRecord(r: Record<string, unknown> | null | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(r ?? {})) if (typeof v === "string") out[k] = v;
  return out;
}

/** Every `-a key=value` the verifier was asked for must be in the signed annotations; VERIFY_FAILED otherwise. */
export function checkAnnotations(have: Record<string, unknown> | null | undefined, want: Record<string, string>, source: string): void {
  for (const [k, v] of Object.entries(want)) {
    if (have?.[k] !== v) fail("VERIFY_FAILED", `${source}: signed annotation ${k} is ${JSON.stringify(have?.[k] ?? null)}, want ${JSON.stringify(v)}`);
  }
}
