import { describe, expect, test } from "bun:test";
import { exitCodeForWait, parseObjectArg, parseWaitTimeout, worseWait } from "../../../src/cli/commands/wait.ts";
import { isCoreError } from "../../../src/core/errors.ts";

const code = (f: () => unknown) => {
  try {
    f();
  } catch (e) {
    return isCoreError(e) ? e.code : "other";
  }
  return undefined;
};

describe("parseObjectArg", () => {
  const cases: { arg: string; ns?: string; ctx?: string; want?: { namespace: string; name: string }; err?: string }[] = [
    { arg: "ocirepository/flux-system/app", want: { namespace: "flux-system", name: "app" } },
    { arg: "OCIRepository/app", ns: "prod", want: { namespace: "prod", name: "app" } },
    { arg: "ocirepo/app", ctx: "from-context", want: { namespace: "from-context", name: "app" } },
    { arg: "ocirepositories.source.toolkit.fluxcd.io/a/b", want: { namespace: "a", name: "b" } },
    { arg: "ocirepository/app", want: { namespace: "default", name: "app" } },
    { arg: "ocirepository/a/app", ns: "a", want: { namespace: "a", name: "app" } },
    { arg: "ocirepository/a/app", ns: "b", err: "USAGE" },
    { arg: "gitrepository/a/app", err: "USAGE" },
    { arg: "ocirepository", err: "USAGE" },
    { arg: "ocirepository//app", err: "USAGE" },
    { arg: "ocirepository/a/b/c", err: "USAGE" },
  ];
  for (const c of cases) {
    test(`${c.arg} -n ${c.ns ?? "-"}`, () => {
      if (c.err) expect(code(() => parseObjectArg(c.arg, c.ns, c.ctx))).toBe(c.err);
      else expect(parseObjectArg(c.arg, c.ns, c.ctx)).toEqual(c.want!);
    });
  }
});

test("exit codes of wait outcomes", () => {
  expect(exitCodeForWait({ status: "ready" })).toBe(0);
  expect(exitCodeForWait({ status: "not-found" })).toBe(4);
  expect(exitCodeForWait({ status: "timeout" })).toBe(9);
  expect(exitCodeForWait({ status: "failed", reason: "VerificationError" })).toBe(7);
  expect(exitCodeForWait({ status: "failed", reason: "URLInvalid" })).toBe(10);
});

test("the worst of several waits wins: failed > timeout > not-found > ready", () => {
  const all = [{ status: "ready" }, { status: "timeout" }, { status: "not-found" }, { status: "failed", reason: "x" }, { status: "ready" }] as const;
  expect(all.reduce<{ status: string }>((a, b) => worseWait(a as never, b as never), { status: "ready" }).status).toBe("failed");
  expect(worseWait({ status: "not-found" }, { status: "timeout" }).status).toBe("timeout");
  expect(worseWait({ status: "timeout" }, { status: "ready" }).status).toBe("timeout");
});

test("--timeout must be a positive Go duration", () => {
  expect(parseWaitTimeout("1m30s")).toBe(90_000);
  expect(parseWaitTimeout(undefined)).toBe(300_000);
  expect(code(() => parseWaitTimeout("0"))).toBe("USAGE");
  expect(code(() => parseWaitTimeout("5 minutes"))).toBe("USAGE");
});
