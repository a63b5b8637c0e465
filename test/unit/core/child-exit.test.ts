import { describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { childExit, zombieExitCode } from "../../../src/core/child-exit.ts";

/** A fake /proc with one process entry; `fields` are stat fields 3.. (state first). */
function fakeProc(pid: number, comm: string, state: string, ppid: number, exitStatus: number): string {
  const root = mkdtempSync(join(tmpdir(), "berth-proc-"));
  mkdirSync(join(root, String(pid)));
  // Fields 3..52: state, ppid, then 47 filler fields, then exit_code.
  const fields = [state, String(ppid), ...Array.from({ length: 47 }, (_, i) => String(i + 5)), String(exitStatus)];
  writeFileSync(join(root, String(pid), "stat"), `${pid} (${comm}) ${fields.join(" ")}\n`);
  return root;
}

describe("zombieExitCode", () => {
  test("decodes an exit code in waitpid form", () => {
    expect(zombieExitCode(42, 7, fakeProc(42, "tar", "Z", 7, 3 << 8))).toBe(3);
    expect(zombieExitCode(42, 7, fakeProc(42, "tar", "Z", 7, 0))).toBe(0);
  });
  test("a signal death is 128 + the signal, as shells report it", () => {
    expect(zombieExitCode(42, 7, fakeProc(42, "tar", "Z", 7, 9))).toBe(137);
    expect(zombieExitCode(42, 7, fakeProc(42, "tar", "Z", 7, 15 | 0x80))).toBe(143); // core dumped flag ignored
  });
  test("a command name with spaces and ')' does not shift the fields", () => {
    expect(zombieExitCode(42, 7, fakeProc(42, "a) b (c", "Z", 7, 5 << 8))).toBe(5);
  });
  test("a running process, another parent's zombie, or no entry is undefined", () => {
    expect(zombieExitCode(42, 7, fakeProc(42, "tar", "S", 7, 0))).toBeUndefined();
    expect(zombieExitCode(42, 7, fakeProc(42, "tar", "Z", 8, 0))).toBeUndefined();
    expect(zombieExitCode(43, 7, fakeProc(42, "tar", "Z", 7, 0))).toBeUndefined();
  });
});

describe("childExit", () => {
  test("the runtime's report wins when it comes", async () => {
    expect(await childExit(process.pid, Promise.resolve(4), { graceMs: 10_000 })).toBe(4);
  });
  test("a lost exit is read from /proc after the grace time", async () => {
    const root = fakeProc(42, "tar", "Z", 7, 2 << 8);
    const recovered: number[] = [];
    const code = await childExit(42, new Promise<number>(() => {}), { graceMs: 5, pollMs: 5, parentPid: 7, procRoot: root, onRecovered: (_, c) => recovered.push(c) });
    expect(code).toBe(2);
    expect(recovered).toEqual([2]);
  });
  test("keeps polling while the child runs, then reads the zombie", async () => {
    const root = fakeProc(42, "tar", "R", 7, 0);
    const p = childExit(42, new Promise<number>(() => {}), { graceMs: 5, pollMs: 5, parentPid: 7, procRoot: root });
    let settled = false;
    void p.then(() => (settled = true));
    await Bun.sleep(40);
    expect(settled).toBe(false);
    writeFileSync(join(root, "42", "stat"), `42 (tar) Z 7 ${Array.from({ length: 47 }, () => "0").join(" ")} ${1 << 8}\n`);
    expect(await p).toBe(1);
  });
  test("a rejected report rejects", async () => {
    await expect(childExit(process.pid, Promise.reject(new Error("boom")), { graceMs: 10_000 })).rejects.toThrow("boom");
  });
  test("a real zombie (a shell's unreaped child, Linux /proc) reads as its exit code", async () => {
    // The shell forks a child that exits 5 a moment later, prints its pid and becomes `sleep`, which
    // never reaps it. (A child that exits before the exec may be reaped by the shell itself.)
    const sh = Bun.spawn(["sh", "-c", "(sleep 0.3; exit 5) & echo $!; exec sleep 5"], { stdout: "pipe" });
    const reader = (sh.stdout as ReadableStream<Uint8Array>).getReader();
    const { value } = await reader.read();
    const pid = Number(new TextDecoder().decode(value).trim());
    let code: number | undefined;
    for (let i = 0; i < 100 && code === undefined; i++) {
      code = zombieExitCode(pid, sh.pid);
      if (code === undefined) await Bun.sleep(20);
    }
    sh.kill("SIGKILL");
    expect(code).toBe(5);
  });
  test("a real child's exit (Linux /proc, this process as parent) matches the runtime's report", async () => {
    const p = Bun.spawn(["sh", "-c", "exit 7"]);
    expect(await childExit(p.pid, p.exited)).toBe(7);
    expect(zombieExitCode(p.pid)).toBeUndefined(); // reaped: no longer a zombie of ours
  });
});
