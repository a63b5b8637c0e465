import { fail, isCoreError } from "../../core/errors.ts";
import { createLimiter } from "../../core/artifact/copy.ts";
import { listArtifactsAndTags } from "../../core/artifact/list.ts";
import type { OpOptions, Target } from "../../core/content/store.ts";
import type { KeylessTrust } from "../../core/sign/keyless.ts";
import { loadPublicKey } from "../../core/sign/keys.ts";
import { findSignatures } from "../../core/sign/referrers.ts";
import { signatureStatuses, type SignatureStatus } from "../../core/sign/status.ts";
import { verifySignatures } from "../../core/sign/verifier.ts";
import type { ArtifactRef } from "../../core/oci/ref.ts";
import { createServices, parseURLArg, type RegistryFlags } from "../services.ts";
import { formatTable, Logger, parseFormat, printResult, type Streams } from "../output.ts";
import { readKeyFile } from "../signing.ts";
import { identityPolicy, keylessTrust, type IdentityFlags } from "./verify.ts";

export interface ListFlags extends RegistryFlags, IdentityFlags {
  filterSemver?: string;
  filterRegex?: string;
  all?: boolean;
  sort?: string;
  output?: string;
  wide?: boolean;
  /** Add a SIGNED column: whether a signature is stored. */
  signed?: boolean;
  /** Public keys; add a SIGNED column verified against them. */
  verifyKey?: string[];
}

/**
 * Keyless statuses: each distinct digest's signatures checked against a trusted root and identity,
 * as `verify artifact` does. `signatureStatuses` covers presence and keys only.
 */
async function keylessStatuses(target: Target, digests: string[], trust: KeylessTrust, opts: OpOptions): Promise<Map<string, SignatureStatus>> {
  const limit = createLimiter(8);
  const out = new Map<string, SignatureStatus>();
  await Promise.all(
    [...new Set(digests)].map((d) =>
      limit(async () => {
        const found = await findSignatures(target, d, opts);
        const sigs = [...found.bundles, ...found.legacy];
        if (sigs.length === 0) return void out.set(d, "unsigned");
        try {
          verifySignatures(sigs, d, { keyless: trust });
          out.set(d, "verified");
        } catch (e) {
          if (!isCoreError(e) || e.code === "CANCELLED" || e.code === "USAGE") throw e;
          out.set(d, "invalid");
        }
      }),
    ),
  );
  return out;
}

/**
 * `berth list artifacts`: flux's table on stdout; a tag or digest in the URL is ignored with a warning.
 * The SIGNED column exists only when asked for (`--signed`, `--verify-key`, or a keyless identity
 * policy), so the default table stays byte-identical to flux's.
 */
export async function run(url: string | undefined, f: ListFlags, s: Streams, env: NodeJS.ProcessEnv): Promise<number> {
  const format = parseFormat(f.output);
  if (!url) fail("USAGE", "artifact repository URL is required");
  const ref: ArtifactRef = parseURLArg(url, "artifact repository URL is required");
  const log = new Logger(s);
  if (ref.tag || ref.digest) log.warning(`ignoring the ${ref.digest ? "digest" : "tag"} in ${url}: listing the whole repository`);
  const sort = f.sort ?? "semver";
  if (sort !== "semver" && sort !== "flux") fail("USAGE", `--sort must be semver or flux, got "${sort}"`);
  const keys = (f.verifyKey ?? []).map((k) => loadPublicKey(readKeyFile(k)));
  const policy = identityPolicy(f);
  if (policy && keys.length > 0) fail("USAGE", "--verify-key and --certificate-identity/--certificate-oidc-issuer exclude each other: verify with keys or keyless");
  if (f.trustedRoot && !policy) fail("USAGE", "--trusted-root needs --certificate-identity[-regexp] and --certificate-oidc-issuer[-regexp]");
  const keyless = policy ? keylessTrust(f) : undefined;
  const withStatus = f.signed || keys.length > 0 || keyless !== undefined;
  const services = createServices(f, env, undefined, s.signal);
  try {
    const target = await services.open(ref);
    const { rows: listed, allTags } = await listArtifactsAndTags(target, {
      semver: f.filterSemver,
      regex: f.filterRegex,
      all: f.all,
      sort,
      signal: services.signal,
    });
    let statuses: Map<string, SignatureStatus> | undefined;
    if (withStatus) {
      const digests = listed.map((r) => r.digest);
      statuses = keyless
        ? await keylessStatuses(target, digests, keyless, { signal: services.signal })
        : await signatureStatuses(target, digests, { keys, tags: allTags, signal: services.signal });
    }
    const rows = statuses ? listed.map((r) => ({ ...r, signed: statuses.get(r.digest)! })) : listed;
    if (format !== "human") {
      await printResult(s, format, rows);
      return 0;
    }
    const base = stripRef(ref);
    const header = f.wide ? ["artifact", "digest", "source", "revision", "created"] : ["artifact", "digest", "source", "revision"];
    if (statuses) header.push("signed");
    s.out.write(
      formatTable(
        header,
        rows.map((r) => {
          const cells = [`${base}:${r.tag}`, r.digest, r.source, r.revision];
          if (f.wide) cells.push(r.created);
          if (statuses) cells.push(statusCell(statuses.get(r.digest)!));
          return cells;
        }),
      ),
    );
    return 0;
  } finally {
    await services.close();
  }
}

/** `absent` prints as `-`, as empty cells do elsewhere in the table. */
function statusCell(st: SignatureStatus): string {
  return st === "absent" ? "-" : st;
}

/** The repository part as typed (flux prints the URL as given, without `oci://`). */
function stripRef(ref: ArtifactRef): string {
  let t = ref.typed;
  const at = t.indexOf("@");
  if (at >= 0) t = t.slice(0, at);
  if (ref.tag) t = t.slice(0, t.length - ref.tag.length - 1);
  return t;
}
