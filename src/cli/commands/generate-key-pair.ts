import { existsSync, writeFileSync } from "node:fs";
import { fail } from "../../core/errors.ts";
import { generateKeyPair } from "../../core/sign/keys.ts";
import { Logger, parseFormat, printResult, type Streams } from "../output.ts";
import { readPassword } from "../password.ts";

export interface GenerateKeyPairFlags {
  outputKeyPrefix?: string;
  force?: boolean;
  output?: string;
}

/** `berth generate-key-pair`: `<prefix>.key` (0600, cosign-encrypted) and `<prefix>.pub` (0644), as `cosign generate-key-pair`. */
export async function run(f: GenerateKeyPairFlags, s: Streams, env: NodeJS.ProcessEnv): Promise<number> {
  const format = parseFormat(f.output);
  const prefix = f.outputKeyPrefix || "cosign";
  const keyFile = `${prefix}.key`;
  const pubFile = `${prefix}.pub`;
  for (const p of [keyFile, pubFile]) {
    if (!f.force && existsSync(p)) fail("USAGE", `${p} already exists; pass --force to overwrite it`);
  }
  const log = new Logger(s, format !== "human");
  const password = await readPassword(env, "Enter password for private key: ", { confirm: true });
  const kp = generateKeyPair(password);
  writeFileSync(keyFile, kp.privateKeyPem, { mode: 0o600 });
  writeFileSync(pubFile, kp.publicKeyPem, { mode: 0o644 });
  log.success(`private key written to ${keyFile}`);
  log.success(`public key written to ${pubFile}`);
  if (format !== "human") await printResult(s, format, { privateKey: keyFile, publicKey: pubFile });
  return 0;
}
