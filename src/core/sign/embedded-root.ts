/**
 * The Sigstore public-good trusted root, embedded so keyless verification works offline and in
 * air-gapped clusters. The data is not kept in this repository: it is the `trusted_root.json` seed
 * that `@sigstore/tuf` ships for the public-good TUF mirror (`seeds.json`), pulled in at build time by
 * a JSON import, which `bun build --compile` inlines into the executable. Updating it means bumping
 * `@sigstore/tuf`. No TUF refresh happens here: a root rotated after the package was published is
 * only known to a newer berth, or through `--trusted-root`.
 */
import seeds from "@sigstore/tuf/seeds.json" with { type: "json" };
import type { TrustMaterial } from "@sigstore/verify";
import { fail } from "../errors.ts";
import { parseTrustedRoot, type IdentityMatcher, type KeylessTrust } from "./keyless.ts";

/** The public-good TUF mirror whose seed is embedded. */
export const PUBLIC_GOOD_TUF_MIRROR = "https://tuf-repo-cdn.sigstore.dev";

let material: TrustMaterial | undefined;

/** The embedded public-good `trusted_root.json`, parsed as JSON (a fresh copy per call). */
export function embeddedTrustedRootJSON(): unknown {
  const seed = (seeds as Record<string, { targets?: Record<string, string> } | undefined>)[PUBLIC_GOOD_TUF_MIRROR];
  const b64 = seed?.targets?.["trusted_root.json"];
  if (!b64) fail("INTERNAL", `the embedded Sigstore seed has no trusted_root.json for ${PUBLIC_GOOD_TUF_MIRROR}; pass --trusted-root FILE`);
  return JSON.parse(Buffer.from(b64, "base64").toString("utf8"));
}

/**
 * The embedded public-good trusted root (Fulcio CAs, Rekor and CT log keys, the Sigstore TSA) with
 * the given identities (default none, which rejects every signature: callers set the identities
 * they accept). Parsed once per process.
 */
export function embeddedTrustedRoot(identities: IdentityMatcher[] = []): KeylessTrust {
  material ??= parseTrustedRoot(embeddedTrustedRootJSON());
  return { material, identities };
}
