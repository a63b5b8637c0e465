import { fail } from "../../core/errors.ts";
import { resolveRef } from "../../core/artifact/resolve.ts";
import { createServices, parseURLArg, type RegistryFlags } from "../services.ts";
import { Logger, parseFormat, printResult, type Streams } from "../output.ts";

export interface ResolveFlags extends RegistryFlags {
  semver?: string;
  semverFilter?: string;
  tag?: string;
  digest?: string;
  output?: string;
}

/** `berth resolve`: which tag and digest an OCIRepository `spec.ref` resolves to, and why. */
export async function run(url: string | undefined, f: ResolveFlags, s: Streams, env: NodeJS.ProcessEnv): Promise<number> {
  const format = parseFormat(f.output);
  if (!url) fail("USAGE", "artifact repository URL is required");
  const ref = parseURLArg(url, "artifact repository URL is required");
  const log = new Logger(s, format !== "human");
  const services = createServices(f, env, undefined, s.signal);
  try {
    const target = await services.open(ref);
    const r = await resolveRef(
      target,
      { digest: f.digest, semver: f.semver, semverFilter: f.semverFilter, tag: f.tag ?? (f.digest || f.semver ? undefined : ref.tag) },
      { signal: services.signal },
    );
    if (format !== "human") {
      await printResult(s, format, { rule: r.rule, tag: r.tag ?? "", digest: r.descriptor.digest, revision: r.revision, semver: r.semver });
      return 0;
    }
    if (r.semver) {
      const sk = r.semver.skipped;
      const by = (reason: string) => sk.filter((x) => x.reason === reason).map((x) => x.tag);
      log.action(`considered ${r.semver.considered} tags for semver '${f.semver}'${f.semverFilter ? ` with filter '${f.semverFilter}'` : ""}`);
      for (const reason of ["not-semver", "prerelease", "filtered", "out-of-range"]) {
        const tags = by(reason);
        if (tags.length) log.raw(`  skipped (${reason}): ${preview(tags)}`);
      }
      if (r.semver.candidates.length) log.raw(`  matching, best first: ${preview(r.semver.candidates)}`);
    }
    log.success(`${r.rule} → ${r.tag ?? r.descriptor.digest}`);
    s.out.write(`${r.revision}\n`);
    return 0;
  } finally {
    await services.close();
  }
}

function preview(xs: string[], n = 10): string {
  return xs.length <= n ? xs.join(", ") : `${xs.slice(0, n).join(", ")} … (+${xs.length - n} more)`;
}
