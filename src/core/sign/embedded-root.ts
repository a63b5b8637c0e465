/**
 * The Sigstore public-good trusted root, embedded so keyless verification works offline.
 */
import { CoreError } from "../errors.ts";
import type { KeylessTrust } from "./keyless.ts";

/** The embedded public-good trusted root. */
export function embeddedTrustedRoot(): KeylessTrust {
  throw new CoreError({ code: "UNSUPPORTED", message: "no embedded Sigstore trusted root yet; pass --trusted-root FILE" });
}
