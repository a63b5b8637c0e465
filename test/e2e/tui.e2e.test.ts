/**
 * The TUI of the compiled binary in a real terminal: tmux runs `berth ui` against the harness's real
 * registry; keys go in with send-keys and the screen comes back with capture-pane.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { cp, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startRegistry, type RegistryServer } from "../harness/index.ts";
import { berth, requireBinary } from "./berth-bin.ts";
import { TmuxUi } from "./tmux.ts";

const EXAMPLE = join(import.meta.dir, "../../examples/podinfo");
const ui = new TmuxUi(`berth-e2e-${process.pid}`);

let reg: RegistryServer;
let work: string;
let home: string;
let repo: string;

/** Starts `berth <args>` in a fresh 80x24 tmux session (the shell reports the exit code and the tty mode after it). */
const startUi = (args: string[]) => ui.start(args, { HOME: home });

beforeAll(async () => {
  requireBinary();
  reg = await startRegistry();
  work = await mkdtemp(join(tmpdir(), "berth-tui-e2e-"));
  home = join(work, "home");
  repo = `oci://${reg.host}/e2e/podinfo`;
  const v2 = join(work, "v2");
  await cp(EXAMPLE, v2, { recursive: true });
  const dep = join(v2, "deployment.yaml");
  await writeFile(dep, (await readFile(dep, "utf8")).replace(/replicas: \d+/, "replicas: 7").replace(/(image: [^:\s]+):\S+/, "$1:7.0.0"));
  const meta = (rev: string) => ["--source=https://github.com/example/podinfo", `--revision=main@sha1:${rev.repeat(40)}`];
  for (const [tag, dir, rev] of [["1.0.0", EXAMPLE, "1"], ["1.1.0", v2, "2"]] as const) {
    const r = await berth(["push", "artifact", `${repo}:${tag}`, "-f", dir, ...meta(rev), "-q"]);
    expect(r.code).toBe(0);
  }
  expect((await berth(["tag", "artifact", `${repo}:1.0.0`, "--tag", "production", "-q"])).code).toBe(0);
  expect((await berth(["tag", "artifact", `${repo}:1.1.0`, "--tag", "staging", "-q"])).code).toBe(0);
}, 120_000);

afterAll(async () => {
  await ui.stop();
  await reg?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

async function digestOf(tag: string): Promise<string> {
  const r = await berth(["list", "artifacts", repo, "-o", "json"]);
  const rows = JSON.parse(r.stdout) as { url?: string; tag?: string; digest: string }[];
  const row = rows.find((x) => x.tag === tag || x.url?.endsWith(`:${tag}`));
  if (!row) throw new Error(`no ${tag} in ${r.stdout}`);
  return row.digest;
}

describe("berth ui in a real terminal (compiled binary, real registry)", () => {
  test("tags, diff, promote, resize, and ^C leaves the terminal as it was", async () => {
    await startUi(["ui", repo]);
    let s = await ui.waitScreen((x) => x.includes("main@sha1:2222") && x.includes("main@sha1:1111"), "tags filled in");
    const lines = s.split("\n");
    expect(lines[0]).toContain(`berth › repositories › ${repo}`);
    expect(s).toMatch(/▸ 1\.1\.0 \(2\)\s+sha256:[0-9a-f]{12}/);
    expect(s).toContain("└ staging");
    expect(s).toContain("└ production");
    expect(lines.some((l) => l.startsWith("<enter> inspect"))).toBe(true);
    for (const l of lines) expect(l.length).toBeLessThanOrEqual(80);

    // Diff with the next older tag: the engine's highlights for replicas and image.
    await ui.keys("d");
    s = await ui.waitScreen((x) => x.includes("replicas"), "diff");
    expect(s).toContain("diff 1.0.0 → 1.1.0");
    expect(s).toMatch(/• replicas \d+ → 7/);
    expect(s).toMatch(/• image \S+ → 7\.0\.0/);
    expect(s).toContain("+  replicas: 7");

    // Promote 1.1.0 to production, after reviewing what production will change.
    const before = await digestOf("production");
    await ui.keys("q", "p");
    s = await ui.waitScreen((x) => x.includes("TARGET TAG") && x.includes("production"), "promote: pick");
    const rows = s.split("\n").filter((l) => /^[▸ ] \S/.test(l) && !l.includes("TARGET"));
    await ui.keys(...Array(rows.findIndex((l) => l.includes("production"))).fill("j"), "Enter");
    s = await ui.waitScreen((x) => x.includes("Promote 1.1.0 to production?"), "promote: review");
    expect(s).toMatch(/production: sha256:[0-9a-f]{12} → sha256:[0-9a-f]{12} \(1\.1\.0\)/);
    expect(s).toMatch(/replicas \d+ → 7/);
    expect(await digestOf("production")).toBe(before);
    await ui.keys("y");
    await ui.waitScreen((x) => x.includes("✔ promoted: production now points at"), "promote: done");
    expect(await digestOf("production")).toBe(await digestOf("1.1.0"));

    // Resize: the tag table gains the SOURCE column on a wide terminal.
    await ui.keys("Escape");
    await ui.waitScreen((x) => x.includes("TAG") && x.includes("REVISION"), "back on tags");
    await ui.tmux("resize-window", "-t", "ui", "-x", "120", "-y", "30");
    s = await ui.waitScreen((x) => x.includes("SOURCE"), "wide layout");
    expect(s).toContain("https://github.com/example/podinfo");

    // ^C quits from anywhere; the shell sees a cooked terminal and the primary screen again.
    await ui.keys("Enter");
    await ui.waitScreen((x) => x.includes("[1 Manifest]"), "artifact");
    await ui.keys("C-c");
    s = await ui.expectCleanExit("exit and the tty mode after it");
    expect(s).not.toContain("[1 Manifest]");
  }, 90_000);

  test("berth with no arguments on a terminal opens the UI, with the history of recent repositories", async () => {
    await startUi([]);
    const s = await ui.waitScreen((x) => x.includes("REPOSITORY") && x.includes(repo), "repositories");
    expect(s.split("\n")[0]).toContain("berth › repositories");
    expect(s).toMatch(new RegExp(`▸ ${repo.replace(/[.]/g, "\\.")}\\s+recent`));
    await ui.keys("Enter");
    await ui.waitScreen((x) => x.includes("main@sha1:2222"), "tags from history");
    await ui.keys("q", "q");
    expect(await ui.waitScreen((x) => x.includes("EXIT:"), "quit")).toContain("EXIT:0");
  }, 60_000);
  test("S keyless uses ui --identity-token, --fulcio-url and --rekor-url (sign artifact's signer)", async () => {
    const part = (o: unknown) => Buffer.from(JSON.stringify(o)).toString("base64url");
    const token = `${part({ alg: "none" })}.${part({ iss: "https://issuer.invalid", sub: "x" })}.c2lnLXVpLTk4NzY`;
    // Nothing listens on port 1: the error shows the request went to the given Fulcio.
    await startUi(["ui", `${repo}:1.0.0`, "--identity-token", token, "--fulcio-url", "http://127.0.0.1:1", "--rekor-url", "http://127.0.0.1:2"]);
    await ui.waitScreen((x) => x.includes("[1 Manifest]"), "artifact");
    await ui.keys("S");
    // y only signs once the digest is resolved (the screen then offers it): wait for that, not just the keyless lines.
    let s = await ui.waitScreen((x) => x.includes("keyless  identity token from --identity-token") && x.includes("y/enter: sign this digest"), "keyless sign screen, digest resolved");
    expect(s).toContain("certificate from Fulcio at http://127.0.0.1:1");
    expect(s).toContain("entry in the Rekor log at http://127.0.0.1:2");
    await ui.keys("y");
    // Generous: the Sigstore client retries a refused connection with backoff before giving up.
    s = await ui.waitScreen((x) => x.includes("✗ signing failed"), "signing fails against the unreachable Fulcio", 60_000);
    expect(s).toContain("Fulcio");
    expect(s).not.toContain("c2lnLXVpLTk4NzY");
    await ui.keys("Q");
    expect(await ui.waitScreen((x) => x.includes("EXIT:"), "quit")).toContain("EXIT:0");
  }, 120_000);
  test("promote to another repository of the registry with --verify-key: verified, copied with its signature", async () => {
    const keygen = await berth(["generate-key-pair", "--output-key-prefix", join(work, "cosign")], { env: { COSIGN_PASSWORD: "pw" } });
    expect(keygen.code).toBe(0);
    expect((await berth(["sign", "artifact", `${repo}:1.1.0`, "--key", join(work, "cosign.key"), "--format", "legacy", "-q"], { env: { COSIGN_PASSWORD: "pw" } })).code).toBe(0);
    const prod = `oci://${reg.host}/e2e/podinfo-prod`;
    await startUi(["ui", repo, "--verify-key", join(work, "cosign.pub")]);
    await ui.waitScreen((x) => x.includes("main@sha1:2222"), "tags", 45_000);
    await ui.keys("p");
    await ui.waitScreen((x) => x.includes("TARGET TAG"), "promote: pick");
    await ui.keys("n");
    await ui.waitScreen((x) => x.includes("oci://repo:tag):"), "prompt");
    await ui.tmux("send-keys", "-t", "ui", "-l", `${prod}:live`);
    await ui.keys("Enter");
    let s = await ui.waitScreen((x) => x.includes("another repository:"), "review", 45_000);
    expect(s).toContain("✔ signature verified (legacy from");
    expect(s).toContain("another repository: the digest is copied with its signatures");
    await ui.keys("y");
    s = await ui.waitScreen((x) => x.includes("✔ promoted:"), "promoted", 45_000);
    expect(s).toMatch(/signatures: sha256-[0-9a-f]{12}….sig copied/);
    const v = await berth(["verify", "artifact", `${prod}:live`, "--key", join(work, "cosign.pub")]);
    expect(v.code).toBe(0);
    await ui.keys("Q");
    expect(await ui.waitScreen((x) => x.includes("EXIT:"), "quit")).toContain("EXIT:0");
  }, 180_000);
});
