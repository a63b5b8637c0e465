import { fail } from "../../core/errors.ts";
import { listArtifacts } from "../../core/artifact/list.ts";
import type { ArtifactRef } from "../../core/oci/ref.ts";
import { createServices, parseURLArg, type RegistryFlags } from "../services.ts";
import { formatTable, Logger, parseFormat, printResult, type Streams } from "../output.ts";

export interface ListFlags extends RegistryFlags {
  filterSemver?: string;
  filterRegex?: string;
  all?: boolean;
  sort?: string;
  output?: string;
  wide?: boolean;
}

/** `berth list artifacts`: flux's table on stdout; a tag or digest in the URL is ignored with a warning. */
export async function run(url: string | undefined, f: ListFlags, s: Streams, env: NodeJS.ProcessEnv): Promise<number> {
  const format = parseFormat(f.output);
  if (!url) fail("USAGE", "artifact repository URL is required");
  const ref: ArtifactRef = parseURLArg(url, "artifact repository URL is required");
  const log = new Logger(s);
  if (ref.tag || ref.digest) log.warning(`ignoring the ${ref.digest ? "digest" : "tag"} in ${url}: listing the whole repository`);
  const sort = f.sort ?? "semver";
  if (sort !== "semver" && sort !== "flux") fail("USAGE", `--sort must be semver or flux, got "${sort}"`);
  const services = createServices(f, env, undefined, s.signal);
  try {
    const target = await services.open(ref);
    const rows = await listArtifacts(target, {
      semver: f.filterSemver,
      regex: f.filterRegex,
      all: f.all,
      sort,
      signal: services.signal,
    });
    if (format !== "human") {
      await printResult(s, format, rows);
      return 0;
    }
    const base = stripRef(ref);
    const header = f.wide ? ["artifact", "digest", "source", "revision", "created"] : ["artifact", "digest", "source", "revision"];
    s.out.write(
      formatTable(
        header,
        rows.map((r) => {
          const cells = [`${base}:${r.tag}`, r.digest, r.source, r.revision];
          return f.wide ? [...cells, r.created] : cells;
        }),
      ),
    );
    return 0;
  } finally {
    await services.close();
  }
}

/** The repository part as typed (flux prints the URL as given, without `oci://`). */
function stripRef(ref: ArtifactRef): string {
  let t = ref.typed;
  const at = t.indexOf("@");
  if (at >= 0) t = t.slice(0, at);
  if (ref.tag) t = t.slice(0, t.length - ref.tag.length - 1);
  return t;
}
