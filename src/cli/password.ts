/**
 * Where cosign key passwords come from, in cosign's order (spec §3.2): `COSIGN_PASSWORD` when the
 * variable is set (even empty: an empty password is legal), else a prompt on the terminal without
 * echo (asked twice when creating a key), else all of stdin.
 */
import { fail } from "../core/errors.ts";

/** Reads the password for a key; `confirm` asks twice on a terminal (key creation). */
export async function readPassword(env: NodeJS.ProcessEnv, prompt: string, opts: { confirm?: boolean; stdin?: NodeJS.ReadStream; stderr?: NodeJS.WritableStream } = {}): Promise<string> {
  if (env.COSIGN_PASSWORD !== undefined) return env.COSIGN_PASSWORD;
  const stdin = opts.stdin ?? process.stdin;
  const stderr = opts.stderr ?? process.stderr;
  if (!stdin.isTTY) {
    const chunks: Buffer[] = [];
    for await (const c of stdin) chunks.push(Buffer.from(c as Uint8Array));
    return Buffer.concat(chunks).toString("utf8").replace(/\r?\n$/, "");
  }
  const first = await promptHidden(stdin, stderr, prompt);
  if (opts.confirm) {
    const again = await promptHidden(stdin, stderr, "Enter password for private key again: ");
    if (again !== first) fail("USAGE", "passwords do not match");
  }
  return first;
}

function promptHidden(stdin: NodeJS.ReadStream, stderr: NodeJS.WritableStream, prompt: string): Promise<string> {
  stderr.write(prompt);
  return new Promise((resolve, reject) => {
    let value = "";
    stdin.setRawMode?.(true);
    stdin.resume();
    const done = (err?: Error) => {
      stdin.setRawMode?.(false);
      stdin.pause();
      stdin.off("data", onData);
      stderr.write("\n");
      if (err) reject(err);
      else resolve(value);
    };
    const onData = (buf: Buffer) => {
      for (const ch of buf.toString("utf8")) {
        if (ch === "\r" || ch === "\n") return done();
        if (ch === "\u0003") return done(Object.assign(new Error("interrupted"), { name: "AbortError" }));
        if (ch === "\u007f" || ch === "\b") value = value.slice(0, -1);
        else value += ch;
      }
    };
    stdin.on("data", onData);
  });
}
