import { fail } from "../../core/errors.ts";
import { pullArtifact, requireDirectory, type LayerOperation } from "../../core/artifact/pull.ts";
import { displayRef, formatRef, referenceOf } from "../../core/oci/ref.ts";
import { createServices, parseURLArg, type RegistryFlags } from "../services.ts";
import { createProgressRenderer, Logger, parseFormat, printResult, type Streams } from "../output.ts";

export interface PullFlags extends RegistryFlags {
  output?: string;
  outputFormat?: string;
  layerMediaType?: string;
  layerOperation?: string;
  maxSize?: string;
  maxEntries?: string;
  createOutput?: boolean;
  quiet?: boolean;
}

/** Parses sizes like `100MiB`, `1GiB`, `512k`, `-1` (unlimited), or plain bytes. */
export function parseSize(v: string): number {
  if (v === "-1" || v === "unlimited") return -1;
  const m = /^(\d+(?:\.\d+)?)\s*(b|k|ki|kib|kb|m|mi|mib|mb|g|gi|gib|gb)?$/i.exec(v.trim());
  if (!m) fail("USAGE", `invalid size "${v}"`, { hint: "use bytes or a unit, e.g. 100MiB, 1GiB, or -1 for no limit" });
  const unit = (m[2] ?? "b").toLowerCase();
  const mult = unit.startsWith("k") ? 1024 : unit.startsWith("m") ? 1024 ** 2 : unit.startsWith("g") ? 1024 ** 3 : 1;
  return Math.floor(Number(m[1]) * mult);
}

export async function run(url: string | undefined, f: PullFlags, s: Streams, env: NodeJS.ProcessEnv): Promise<number> {
  const format = parseFormat(f.outputFormat);
  if (!url) fail("USAGE", "artifact URL is required");
  if (!f.output) fail("USAGE", "output path cannot be empty", { hint: "pass --output (-o) <existing directory>" });
  await requireDirectory(f.output, f.createOutput);
  const ref = parseURLArg(url, "artifact URL is required");
  const op = (f.layerOperation ?? "extract") as LayerOperation;
  if (op !== "extract" && op !== "copy") fail("USAGE", `--layer-operation must be extract or copy, got "${f.layerOperation}"`);
  const log = new Logger(s, f.quiet || format !== "human");
  const progress = createProgressRenderer(s, { quiet: f.quiet || format !== "human" });
  const services = createServices(f, env, progress, s.signal);
  try {
    if (f.creds) log.action("logging in to registry with credentials");
    log.action(`pulling artifact from ${ref.typed}`);
    const src = await services.open(ref);
    const res = await pullArtifact(src, referenceOf(ref), f.output, {
      layerMediaType: f.layerMediaType,
      layerOperation: op,
      extract: {
        maxSize: f.maxSize !== undefined ? parseSize(f.maxSize) : undefined,
        maxEntries: f.maxEntries !== undefined ? Number(f.maxEntries) : undefined,
      },
      signal: services.signal,
      onProgress: progress,
    });
    progress.finish();
    for (const sk of res.extracted?.skipped ?? []) log.warning(`skipped ${sk.kind} ${sk.name} → ${sk.target}`);
    if (format !== "human") {
      await printResult(s, format, {
        url: formatRef(ref, { digest: res.descriptor.digest }),
        digest: res.descriptor.digest,
        source: res.metadata.source ?? "",
        revision: res.metadata.revision ?? "",
        created: res.metadata.created ?? "",
        layer: res.layer,
        output: f.output,
        ...(res.file ? { file: res.file } : { files: res.extracted?.files ?? 0 }),
      });
      return 0;
    }
    if (res.metadata.source) log.success(`source ${res.metadata.source}`);
    if (res.metadata.revision) log.success(`revision ${res.metadata.revision}`);
    log.success(`digest ${displayRef(ref, { digest: res.descriptor.digest })}`);
    if (res.file) log.success(`artifact layer copied to ${res.file}`);
    else log.success(`artifact content extracted to ${f.output}`);
    return 0;
  } finally {
    await services.close();
  }
}
