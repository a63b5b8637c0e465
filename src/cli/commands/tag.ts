import { fail, isCoreError } from "../../core/errors.ts";
import { tagArtifact } from "../../core/artifact/tag.ts";
import { displayRef, referenceOf } from "../../core/oci/ref.ts";
import { createServices, parseURLArg, type RegistryFlags } from "../services.ts";
import { Logger, parseFormat, printResult, type Streams } from "../output.ts";
import { parseSignFlags, prepareSigner, signatureResult, signDigest, signedMessage, type SignFlags } from "../signing.ts";
import { splitCSV } from "./build.ts";

export interface TagFlags extends RegistryFlags, SignFlags {
  tag?: string[];
  output?: string;
  quiet?: boolean;
}

/**
 * `berth tag artifact`: each new tag in order; unlike flux, `--insecure-registry` works here too.
 * With `--sign`, the digest the tags now point at is signed once afterwards, with `--key` or keyless.
 */
export async function run(url: string | undefined, f: TagFlags, s: Streams, env: NodeJS.ProcessEnv): Promise<number> {
  const format = parseFormat(f.output);
  if (!url) fail("USAGE", "artifact name is required");
  const tags = (f.tag ?? []).flatMap(splitCSV);
  if (tags.length === 0) fail("USAGE", "--tag is required");
  const ref = parseURLArg(url, "artifact name is required");
  const sigFormat = parseSignFlags(f);
  const log = new Logger(s, f.quiet || format !== "human");
  // Before any tag is written, so a wrong key or password, or a missing or refused identity token, changes nothing.
  const signer = f.sign ? await prepareSigner(f, env, { signal: s.signal, log }) : undefined;
  const services = createServices(f, env, undefined, s.signal);
  try {
    if (f.creds) log.action("logging in to registry with credentials");
    log.action("tagging artifact");
    const target = await services.open(ref);
    const done: string[] = [];
    const desc = await tagArtifact(target, referenceOf(ref), tags, {
      signal: services.signal,
      onTagged: (t) => {
        done.push(t);
        log.success(`artifact tagged as ${displayRef(ref, { tag: t })}`);
      },
    });
    let signed;
    try {
      signed = signer ? await signDigest(target, ref, desc, signer, { format: sigFormat, signal: services.signal }) : undefined;
    } catch (e) {
      if (isCoreError(e)) throw Object.assign(e, { message: `artifact tagged, but signing ${desc.digest} failed: ${e.message}` });
      throw e;
    }
    if (signed) log.success(signedMessage(signed));
    if (format !== "human") {
      await printResult(s, format, { digest: desc.digest, tags: done.map((t) => displayRef(ref, { tag: t })), ...(signed ? { signature: signatureResult(signed) } : {}) });
    }
    return 0;
  } finally {
    await services.close();
  }
}
