import { isCoreError, fail } from "../../core/errors.ts";
import { pushArtifact } from "../../core/artifact/push.ts";
import { parseAnnotationFlags, formatRFC3339 } from "../../core/artifact/metadata.ts";
import { displayRef, formatRef, tagOf, type ArtifactRef } from "../../core/oci/ref.ts";
import { ANNOTATION_CREATED } from "../../core/oci/media-types.ts";
import type { PackOptions } from "../../core/artifact/pack.ts";
import { createServices, parseURLArg, type RegistryFlags } from "../services.ts";
import { createProgressRenderer, Logger, parseFormat, printResult, type Streams } from "../output.ts";
import { parseSignFlags, prepareSigner, signatureResult, signDigest, signedMessage, type SignFlags } from "../signing.ts";
import { buildOptionsFrom, resolveInputPath, type BuildFlags } from "./build.ts";

export interface PushFlags extends RegistryFlags, BuildFlags, SignFlags {
  path?: string;
  source?: string;
  revision?: string;
  annotations?: string[];
  reproducible?: boolean;
  output?: string;
  quiet?: boolean;
  mediaTypes?: string;
  configProfile?: string;
}

/** `berth push artifact`: flux's validation order and messages, then build, pack and copy. */
export async function run(url: string | undefined, f: PushFlags, s: Streams, env: NodeJS.ProcessEnv): Promise<number> {
  const format = parseFormat(f.output);
  if (!url) fail("USAGE", "artifact URL is required");
  if (!f.source) fail("USAGE", "--source is required", { hint: "e.g. --source=\"$(git config --get remote.origin.url)\"" });
  if (!f.revision) fail("USAGE", "--revision is required", { hint: "e.g. --revision=\"$(git branch --show-current)@sha1:$(git rev-parse HEAD)\"" });
  if (!f.path) fail("USAGE", `invalid path ""`, { hint: "point --path (-f) at a directory or file, or - for stdin" });
  const ref: ArtifactRef = parseURLArg(url, "artifact URL is required");
  if (ref.digest && !ref.tag) fail("USAGE", `cannot push to a digest reference: ${url}`, { hint: "push to a tag, e.g. oci://host/repo:v1" });
  const sigFormat = parseSignFlags(f);
  const log = new Logger(s, f.quiet || format !== "human");
  // Before anything is read or uploaded, so a wrong key or password, or a missing or refused identity token, costs nothing.
  const signer = f.sign ? await prepareSigner(f, env, { stdinBusy: f.path === "-", signal: s.signal, log }) : undefined;
  const input = await resolveInputPath(f.path, env);
  let pushed = false;
  try {
    const annotations = parseAnnotationFlags(f.annotations ?? []);
    const epoch = env.SOURCE_DATE_EPOCH;
    let created: string | undefined;
    if (f.reproducible) created = "1970-01-01T00:00:00Z";
    else if (epoch !== undefined && epoch !== "") {
      if (!/^\d+$/.test(epoch)) fail("USAGE", `SOURCE_DATE_EPOCH must be a number of seconds, got "${epoch}"`);
      created = formatRFC3339(new Date(Number(epoch) * 1000));
    }
    if (created && !(ANNOTATION_CREATED in annotations)) annotations[ANNOTATION_CREATED] = created;
    const progress = createProgressRenderer(s, { quiet: f.quiet || format !== "human" });
    const services = createServices(f, env, progress, s.signal);
    if (f.creds) log.action("logging in to registry with credentials");
    const tag = tagOf(ref);
    log.action(`pushing artifact to ${ref.typed}`);
    try {
      const dst = await services.open(ref, { create: true });
      const res = await pushArtifact(input.path, dst, tag, {
        metadata: { source: f.source, revision: f.revision, annotations },
        build: buildOptionsFrom(f, input),
        pack: packOptionsFrom(f),
        signal: services.signal,
        onProgress: progress,
      });
      progress.finish();
      pushed = true;
      for (const sk of res.build.skipped ?? []) log.warning(`skipped ${sk.path} (${sk.kind})`);
      const digestRef = displayRef(ref, { digest: res.descriptor.digest });
      if (format === "human") {
        if (res.unchanged) log.success(`artifact unchanged: ${displayRef(ref, { tag })} already points at ${res.descriptor.digest}`);
        log.success(`artifact successfully pushed to ${digestRef}`);
      }
      const signed = signer ? await signDigest(dst, ref, res.descriptor, signer, { format: sigFormat, signal: services.signal }) : undefined;
      if (signed) log.success(signedMessage(signed));
      if (format !== "human") {
        const repo = ref.kind === "registry" ? `${ref.registry}/${ref.repository}` : ref.path;
        await printResult(s, format, {
          url: formatRef(ref, { digest: res.descriptor.digest }),
          repository: repo,
          tag: tag ?? "",
          digest: res.descriptor.digest,
          ...(format === "json" ? { unchanged: res.unchanged, layer: res.packed.layerDescriptor, config: res.packed.configDescriptor } : {}),
          ...(signed ? { signature: signatureResult(signed) } : {}),
        });
      }
      return 0;
    } finally {
      await services.close();
    }
  } catch (e) {
    if (isCoreError(e)) {
      const what = pushed ? `artifact pushed to ${displayRef(ref, { tag: tagOf(ref) })}, but signing it failed` : "pushing artifact failed";
      throw Object.assign(e, { message: `${what}: ${e.message}` });
    }
    throw e;
  } finally {
    await input.cleanup();
  }
}

export function packOptionsFrom(f: { mediaTypes?: string; configProfile?: string }): PackOptions {
  const mt = f.mediaTypes ?? "flux";
  if (mt !== "flux" && mt !== "docker") fail("USAGE", `--media-types must be flux or docker, got "${mt}"`);
  const cp = f.configProfile;
  if (cp !== undefined && cp !== "flux-2.9" && cp !== "flux-2.8") fail("USAGE", `--config-profile must be flux-2.9 or flux-2.8, got "${cp}"`);
  return { mediaTypes: mt, configProfile: cp };
}
