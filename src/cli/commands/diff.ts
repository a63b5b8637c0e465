import { stat } from "node:fs/promises";
import { fail } from "../../core/errors.ts";
import { diffArtifacts, type DiffInput } from "../../core/artifact/diff.ts";
import { referenceOf } from "../../core/oci/ref.ts";
import { renderTreeDiff } from "../../core/diff/index.ts";
import { createServices, parseURLArg, type RegistryFlags, type Services } from "../services.ts";
import { Logger, parseFormat, printResult, type Streams } from "../output.ts";
import { EXIT_DIFFERENT } from "../exit-codes.ts";
import { buildOptionsFrom, type BuildFlags } from "./build.ts";

export interface DiffFlags extends RegistryFlags, BuildFlags {
  path?: string;
  output?: string;
  layerMediaType?: string;
  brief?: boolean;
  color?: boolean;
}

/**
 * `berth diff artifact oci://a --path dir` or `berth diff artifact oci://a oci://b`.
 * Exit 0 equal, 1 different, ≥2 error (flux exits 1 for both "different" and "failed").
 */
export async function run(urls: string[], f: DiffFlags, s: Streams, env: NodeJS.ProcessEnv): Promise<number> {
  const format = parseFormat(f.output);
  const [first, second] = urls;
  if (!first) fail("USAGE", "artifact URL is required");
  if (urls.length > 2) fail("USAGE", `diff compares two things; got ${urls.length} URLs`);
  if (second && f.path) fail("USAGE", "give either a second URL or --path, not both");
  if (!second) {
    if (!f.path) fail("USAGE", `invalid path ""`, { hint: "compare with a local tree (--path dir) or another artifact (a second oci:// URL)" });
    try {
      await stat(f.path);
    } catch {
      fail("USAGE", `invalid path '${f.path}', must point to an existing directory or file`);
    }
  }
  const log = new Logger(s, format !== "human");
  const services = createServices(f, env, undefined, s.signal);
  try {
    const remote = async (url: string): Promise<DiffInput> => {
      const ref = parseURLArg(url, "artifact URL is required");
      return { kind: "remote", label: url, target: await services.open(ref), reference: referenceOf(ref), layerMediaType: f.layerMediaType };
    };
    const a = await remote(first);
    const b: DiffInput = second ? await remote(second) : { kind: "local", path: f.path!, build: buildOptionsFrom(f) };
    const res = await diffArtifacts(a, b, { signal: services.signal, contents: !f.brief });
    if (format !== "human") {
      await printResult(s, format, res);
      return res.equal ? 0 : EXIT_DIFFERENT;
    }
    if (res.equal) {
      log.success("no changes detected");
      return 0;
    }
    if (res.changes) {
      if (res.changes.equal) {
        log.raw("The files are identical; the archives differ only in file modes, entry layout or compression.");
      } else {
        const color = f.color ?? (Boolean(s.out.isTTY) && !env.NO_COLOR);
        s.out.write(renderTreeDiff(res.changes, { color }));
      }
    }
    log.failure(second ? "the artifacts' contents differ" : "the remote artifact contents differs from the local one");
    return EXIT_DIFFERENT;
  } finally {
    await services.close();
  }
}

export type { Services };
