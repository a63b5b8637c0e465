import { fail } from "../../core/errors.ts";
import { listArtifactsAndTags } from "../../core/artifact/list.ts";
import { loadPublicKey } from "../../core/sign/keys.ts";
import { signatureStatuses, type SignatureStatus } from "../../core/sign/status.ts";
import type { ArtifactRef } from "../../core/oci/ref.ts";
import { createServices, parseURLArg, type RegistryFlags } from "../services.ts";
import { formatTable, Logger, parseFormat, printResult, type Streams } from "../output.ts";
import { readKeyFile } from "../signing.ts";

export interface ListFlags extends RegistryFlags {
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
 * `berth list artifacts`: flux's table on stdout; a tag or digest in the URL is ignored with a warning.
 * The SIGNED column exists only when asked for (`--signed`, `--verify-key`), so the default table
 * stays byte-identical to flux's.
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
  const withStatus = f.signed || keys.length > 0;
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
      statuses = await signatureStatuses(
        target,
        listed.map((r) => r.digest),
        { keys, tags: allTags, signal: services.signal },
      );
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
