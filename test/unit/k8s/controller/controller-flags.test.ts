import { describe, expect, test } from "bun:test";
import { parseControllerFeatureGates, runMain } from "../../../../src/main.ts";

async function run(args: string[]) {
  let stdout = "";
  let stderr = "";
  const sink = (add: (t: string) => void) => ({ write: (t: string | Uint8Array) => (add(typeof t === "string" ? t : new TextDecoder().decode(t)), true) }) as unknown as NodeJS.WritableStream;
  const code = await runMain(args, { out: sink((t) => (stdout += t)), err: sink((t) => (stderr += t)) }, { HOME: "/nonexistent-berth-home", KUBECONFIG: "/nonexistent-berth-kubeconfig" });
  return { code, stdout, stderr };
}

describe("berth --controller flags", () => {
  test("--feature-gates: defaults, overrides, bool spellings", () => {
    expect(parseControllerFeatureGates(undefined)).toEqual({ ObjectLevelWorkloadIdentity: false, CacheSecretsAndConfigMaps: false, OptimizedGitClones: true });
    expect(parseControllerFeatureGates("ObjectLevelWorkloadIdentity=true, CacheSecretsAndConfigMaps=1")).toMatchObject({ ObjectLevelWorkloadIdentity: true, CacheSecretsAndConfigMaps: true });
    expect(parseControllerFeatureGates("ObjectLevelWorkloadIdentity=false").ObjectLevelWorkloadIdentity).toBe(false);
  });

  test("--feature-gates: unknown gates, missing and bad values are errors", () => {
    expect(() => parseControllerFeatureGates("NoSuchGate=true")).toThrow("unrecognized feature gate: NoSuchGate");
    expect(() => parseControllerFeatureGates("ObjectLevelWorkloadIdentity")).toThrow("missing bool value");
    expect(() => parseControllerFeatureGates("ObjectLevelWorkloadIdentity=yes")).toThrow("invalid value");
  });

  test("an unknown gate stops start-up with a usage error", async () => {
    const r = await run(["--controller", "--storage-path", "/tmp/berth-flags-unused", "--feature-gates=Bogus=true"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("unrecognized feature gate: Bogus");
  });

  test("--default-service-account with a value is a usage error; empty is accepted as upstream's default", async () => {
    const r = await run(["--controller", "--storage-path", "/tmp/berth-flags-unused", "--default-service-account", "tenant-sa"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("--default-service-account is not supported by berth; objects would use the controller's own identity");
    // Empty passes the check and fails later, at the (absent) kubeconfig: not a flag error.
    const empty = await run(["--controller", "--storage-path", "/tmp/berth-flags-unused", "--default-service-account=", "--metrics-addr=0", "--health-addr=0"]);
    expect(empty.stderr).not.toContain("default-service-account");
    expect(empty.code).not.toBe(0);
  });
});
