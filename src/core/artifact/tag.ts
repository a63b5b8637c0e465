import type { Descriptor, OpOptions, Resolver, Tagger } from "../content/store.ts";
import { wrapError } from "../errors.ts";

/**
 * Points each new tag at the manifest `reference` names, in order; the first failure stops and the
 * tags already written stay (flux `tag artifact`). `onTagged` reports each success as it lands.
 */
export async function tagArtifact(
  target: Resolver & Tagger,
  reference: string,
  tags: string[],
  opts: OpOptions & { onTagged?: (tag: string, desc: Descriptor) => void } = {},
): Promise<Descriptor> {
  const desc = await target.resolve(reference, opts);
  for (const t of tags) {
    try {
      await target.tag(desc, t, opts);
    } catch (e) {
      throw wrapError(e, `tagging artifact failed`);
    }
    opts.onTagged?.(t, desc);
  }
  return desc;
}
