/**
 * Artifact URL construction, kept free of imports so the file server stays a standalone
 * `node:http` module.
 */

/**
 * The URL a consumer downloads `path` from: `http://<adv>/<path>`, or `<adv>/<path>` when the
 * advertised address already carries an `http://` or `https://` scheme (spec §3.6).
 */
export function artifactURL(advertisedAddress: string, path: string): string {
  const p = path.replace(/^\/+/, "");
  if (/^https?:\/\//.test(advertisedAddress)) return `${advertisedAddress.replace(/\/+$/, "")}/${p}`;
  return `http://${advertisedAddress}/${p}`;
}
