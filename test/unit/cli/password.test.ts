import { describe, expect, test } from "bun:test";
import { PassThrough } from "node:stream";
import { readPassword } from "../../../src/cli/password.ts";

function fakeTty(input: string[]): NodeJS.ReadStream {
  const s = new PassThrough() as unknown as NodeJS.ReadStream & { setRawMode: (b: boolean) => void };
  s.isTTY = true;
  const modes: boolean[] = [];
  s.setRawMode = (b: boolean) => {
    modes.push(b);
    return s;
  };
  // Each answer is typed only after the prompt asked for it.
  let i = 0;
  s.on("resume", () => {
    const next = input[i++];
    if (next !== undefined) setTimeout(() => (s as unknown as PassThrough).write(next), 1);
  });
  return s;
}

function sink(): NodeJS.WritableStream & { text: () => string } {
  const chunks: string[] = [];
  const w = new PassThrough();
  w.on("data", (c) => chunks.push(String(c)));
  return Object.assign(w, { text: () => chunks.join("") });
}

describe("readPassword (cosign's order: COSIGN_PASSWORD, terminal, stdin)", () => {
  test("COSIGN_PASSWORD wins, and an empty value is an empty password", async () => {
    expect(await readPassword({ COSIGN_PASSWORD: "" }, "p: ", { stdin: fakeTty(["nope\r"]) })).toBe("");
    expect(await readPassword({ COSIGN_PASSWORD: "x y" }, "p: ")).toBe("x y");
  });
  test("a terminal is prompted without echo; backspace edits; confirmation must match", async () => {
    const err = sink();
    expect(await readPassword({}, "Enter: ", { stdin: fakeTty(["secx\u007ft\r"]), stderr: err })).toBe("sect");
    expect(err.text()).toBe("Enter: \n");
    expect(await readPassword({}, "Enter: ", { confirm: true, stdin: fakeTty(["ab\r", "ab\r"]), stderr: sink() })).toBe("ab");
    await expect(readPassword({}, "Enter: ", { confirm: true, stdin: fakeTty(["ab\r", "ac\r"]), stderr: sink() })).rejects.toThrow(/do not match/);
  });
  test("without a terminal all of stdin is the password (one trailing newline dropped)", async () => {
    const s = new PassThrough() as unknown as NodeJS.ReadStream;
    (s as unknown as PassThrough).end("pw with spaces\n");
    expect(await readPassword({}, "p: ", { stdin: s })).toBe("pw with spaces");
  });
});
