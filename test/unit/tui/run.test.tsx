import { expect, test } from "bun:test";
import { isCoreError } from "../../../src/core/index.ts";
import { Text, useInput } from "ink";
import { render } from "ink-testing-library";
import type React from "react";
import Boot from "../../../src/tui/components/Boot.tsx";
import { initialPages } from "../../../src/tui/initial-pages.ts";

test("the command-line URL decides the first screens", () => {
  expect(initialPages(undefined)).toEqual({ pages: [{ kind: "repos" }], repositories: [] });
  expect(initialPages("oci://ghcr.io/org/app")).toEqual({ pages: [{ kind: "repos" }, { kind: "tags", repo: "oci://ghcr.io/org/app" }], repositories: ["oci://ghcr.io/org/app"] });
  expect(initialPages("oci-layout://./out:v1").pages.at(-1)).toEqual({ kind: "artifact", repo: "oci-layout://./out", tag: "v1" });
  const d = "sha256:" + "0".repeat(64);
  expect(initialPages(`oci://ghcr.io/org/app@${d}`).pages.at(-1)).toEqual({ kind: "artifact", repo: "oci://ghcr.io/org/app", tag: d });
});

test("a bad URL fails before the screen is taken over", () => {
  let err: unknown;
  try {
    initialPages("ghcr.io/org/app");
  } catch (e) {
    err = e;
  }
  expect(isCoreError(err, "REF_INVALID")).toBe(true);
});

test("boot: the first frame is drawn before the app loads, then the app replaces it", async () => {
  let resolve!: (el: React.ReactElement) => void;
  const loading = new Promise<React.ReactElement>((r) => (resolve = r));
  let calls = 0;
  const errors: unknown[] = [];
  const ui = render(
    <Boot
      load={() => {
        calls++;
        return loading;
      }}
      opening="oci://ghcr.io/org/app:v1"
      color={false}
      onError={(e) => errors.push(e)}
    />,
  );
  const first = ui.lastFrame() ?? "";
  expect(first.split("\n")[0]).toBe("berth › repositories");
  expect(first).toContain("opening oci://ghcr.io/org/app:v1…");
  resolve(<Text>the app</Text>);
  for (let i = 0; i < 100 && !ui.lastFrame()?.includes("the app"); i++) await new Promise((r) => setTimeout(r, 10));
  expect(ui.lastFrame()).toBe("the app");
  expect(calls).toBe(1);
  expect(errors).toEqual([]);
  ui.unmount();
});

test("boot: a failed load is reported, not shown as a frame", async () => {
  const errors: unknown[] = [];
  const ui = render(<Boot load={() => Promise.reject(new Error("no such key"))} color={false} onError={(e) => errors.push(e)} />);
  expect(ui.lastFrame()).toContain("loading…");
  for (let i = 0; i < 100 && errors.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
  expect((errors[0] as Error).message).toBe("no such key");
  ui.unmount();
});

test("boot: keys typed before the app is mounted reach it, in order", async () => {
  let resolve!: (el: React.ReactElement) => void;
  const loading = new Promise<React.ReactElement>((r) => (resolve = r));
  const seen: string[] = [];
  function Keys() {
    useInput((input) => void seen.push(input));
    return <Text>keys</Text>;
  }
  const ui = render(<Boot load={() => loading} color={false} onError={() => {}} />);
  ui.stdin.write("c");
  await new Promise((r) => setTimeout(r, 20));
  ui.stdin.write("j");
  await new Promise((r) => setTimeout(r, 20));
  expect(seen).toEqual([]);
  resolve(<Keys />);
  for (let i = 0; i < 100 && seen.length < 2; i++) await new Promise((r) => setTimeout(r, 10));
  expect(seen).toEqual(["c", "j"]);
  ui.stdin.write("k");
  await new Promise((r) => setTimeout(r, 20));
  expect(seen).toEqual(["c", "j", "k"]);
  ui.unmount();
});
