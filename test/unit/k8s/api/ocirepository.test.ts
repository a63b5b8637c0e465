import { describe, expect, test } from "bun:test";
import { isCoreError, type ErrorCode } from "../../../../src/core/index.ts";
import {
  effectiveLayerSelector,
  effectiveRef,
  OCIREPOSITORY_GVR,
  OCIREPOSITORY_V1BETA2_GVR,
  parseOCIRepository,
} from "../../../../src/k8s/api/ocirepository.ts";
import { ocirepositorySchema, type JSONSchemaProps } from "../../../../src/k8s/api/schema.ts";

const base = (spec: Record<string, unknown> = {}, extra: Record<string, unknown> = {}) => ({
  apiVersion: "source.toolkit.fluxcd.io/v1",
  kind: "OCIRepository",
  metadata: { name: "podinfo", namespace: "apps", generation: 2 },
  spec: { url: "oci://ghcr.io/stefanprodan/manifests/podinfo", interval: "5m", ...spec },
  ...extra,
});

function code(f: () => unknown): ErrorCode | "none" {
  try {
    f();
    return "none";
  } catch (e) {
    if (isCoreError(e)) return e.code;
    throw e;
  }
}

describe("parseOCIRepository", () => {
  test("applies the CRD defaults and drops unknown fields", () => {
    const o = parseOCIRepository(base({ bogus: 1 }));
    expect(o.spec).toEqual({ url: "oci://ghcr.io/stefanprodan/manifests/podinfo", interval: "5m", provider: "generic", timeout: "60s" });
    expect(o.status).toEqual({ observedGeneration: -1 });
    expect(o.metadata).toMatchObject({ name: "podinfo", namespace: "apps", generation: 2 });
  });

  test("keeps every spec field", () => {
    const spec = {
      ref: { semver: ">=1.0.0", semverFilter: ".*-rc.*", tag: "x", digest: "sha256:ab" },
      layerSelector: { mediaType: "application/vnd.cncf.helm.chart.content.v1.tar+gzip", operation: "copy" },
      provider: "aws",
      secretRef: { name: "regcred" },
      verify: { provider: "cosign", secretRef: { name: "keys" }, matchOIDCIdentity: [{ issuer: "^https://x$", subject: ".*" }], trustedRootSecretRef: { name: "tr" } },
      serviceAccountName: "sa",
      certSecretRef: { name: "tls" },
      proxySecretRef: { name: "proxy" },
      timeout: "1m30s",
      ignore: "*.md",
      insecure: true,
      suspend: false,
    };
    const parsed = parseOCIRepository(base(spec)).spec;
    expect(parsed as unknown).toEqual({ url: "oci://ghcr.io/stefanprodan/manifests/podinfo", interval: "5m", ...spec });
    // The parser, the types and the CRD schema describe the same fields.
    const props = (p: JSONSchemaProps | undefined) => Object.keys(p?.properties ?? {}).sort();
    const schemaSpec = ocirepositorySchema("v1").properties!.spec!;
    expect(Object.keys(parsed).sort()).toEqual(props(schemaSpec));
    expect(Object.keys(parsed.verify!).sort()).toEqual(props(schemaSpec.properties!.verify));
    expect(Object.keys(parsed.ref!).sort()).toEqual(props(schemaSpec.properties!.ref));
  });

  test("status fields match the v1beta2 schema", () => {
    const status = {
      observedGeneration: 1,
      conditions: [],
      artifact: { digest: "sha256:aa", path: "p", url: "u", revision: "r", lastUpdateTime: "t" },
      url: "u",
      observedIgnore: "",
      observedLayerSelector: {},
      lastHandledReconcileAt: "x",
      contentConfigChecksum: "",
    };
    const parsed = parseOCIRepository({ ...base({}, { status }), apiVersion: "source.toolkit.fluxcd.io/v1beta2" }).status;
    expect(Object.keys(parsed).sort()).toEqual(Object.keys(ocirepositorySchema("v1beta2").properties!.status!.properties!).sort());
  });

  test("verify.provider defaults to cosign", () => {
    expect(parseOCIRepository(base({ verify: {} })).spec.verify).toEqual({ provider: "cosign" });
  });

  test("v1beta2 is accepted and keeps contentConfigChecksum; v1 drops it", () => {
    const status = { observedGeneration: 1, contentConfigChecksum: "" };
    const b2 = parseOCIRepository({ ...base({}, { status }), apiVersion: "source.toolkit.fluxcd.io/v1beta2" });
    expect(b2.apiVersion).toBe("source.toolkit.fluxcd.io/v1beta2");
    expect(b2.status).toEqual(status);
    expect(parseOCIRepository(base({}, { status })).status).toEqual({ observedGeneration: 1 });
  });

  test("status conditions and artifact pass through", () => {
    const status = {
      observedGeneration: 1,
      conditions: [{ type: "Ready", status: "True", reason: "Succeeded", message: "ok", lastTransitionTime: "2026-07-01T10:00:00Z", observedGeneration: 1 }],
      artifact: { digest: "sha256:aa", path: "p", url: "u", revision: "latest@sha256:bb", lastUpdateTime: "2026-07-01T10:00:00Z" },
      url: "http://x/latest.tar.gz",
      observedLayerSelector: { operation: "extract" },
      lastHandledReconcileAt: "now",
    };
    expect(parseOCIRepository(base({}, { status })).status as unknown).toEqual(status);
  });

  const bad: { name: string; obj: unknown; want: ErrorCode }[] = [
    { name: "not an object", obj: "x", want: "USAGE" },
    { name: "wrong group", obj: { ...base(), apiVersion: "source.toolkit.fluxcd.io/v1beta1" }, want: "USAGE" },
    { name: "wrong kind", obj: { ...base(), kind: "GitRepository" }, want: "USAGE" },
    { name: "no name", obj: { ...base(), metadata: {} }, want: "USAGE" },
    { name: "no spec", obj: { ...base(), spec: undefined }, want: "USAGE" },
    { name: "url without oci://", obj: base({ url: "https://ghcr.io/x" }), want: "REF_INVALID" },
    { name: "no url", obj: base({ url: undefined }), want: "USAGE" },
    { name: "no interval", obj: base({ interval: undefined }), want: "USAGE" },
    { name: "interval with ns", obj: base({ interval: "10ns" }), want: "USAGE" },
    { name: "interval with spaces", obj: base({ interval: "5 m" }), want: "USAGE" },
    { name: "timeout in hours", obj: base({ timeout: "1h" }), want: "USAGE" },
    { name: "unknown provider", obj: base({ provider: "oracle" }), want: "USAGE" },
    { name: "unknown layer operation", obj: base({ layerSelector: { operation: "unpack" } }), want: "USAGE" },
    { name: "secretRef without name", obj: base({ secretRef: {} }), want: "USAGE" },
    { name: "verify provider unknown", obj: base({ verify: { provider: "gpg" } }), want: "USAGE" },
    { name: "OIDC identity without subject", obj: base({ verify: { matchOIDCIdentity: [{ issuer: "x" }] } }), want: "USAGE" },
    { name: "insecure as string", obj: base({ insecure: "true" }), want: "USAGE" },
    {
      name: "trustedRootSecretRef in v1beta2",
      obj: { ...base({ verify: { trustedRootSecretRef: { name: "t" } } }), apiVersion: "source.toolkit.fluxcd.io/v1beta2" },
      want: "USAGE",
    },
  ];
  for (const tc of bad) test(`rejects: ${tc.name}`, () => expect(code(() => parseOCIRepository(tc.obj))).toBe(tc.want));

  const good = ["5m0s", "1h30m", "1.5s", "0s", "100ms"];
  for (const interval of good) test(`accepts interval ${interval}`, () => expect(code(() => parseOCIRepository(base({ interval })))).toBe("none"));
});

describe("effectiveRef (spec §1.3)", () => {
  const cases: { name: string; ref: Record<string, string> | undefined; want: object }[] = [
    { name: "absent ⇒ latest", ref: undefined, want: { tag: "latest" } },
    { name: "all empty ⇒ latest", ref: { tag: "", semver: "", digest: "" }, want: { tag: "latest" } },
    { name: "digest beats everything", ref: { digest: "sha256:ab", semver: "1.x", semverFilter: "rc", tag: "v1" }, want: { digest: "sha256:ab" } },
    { name: "semver beats tag, keeps filter", ref: { semver: "1.x", semverFilter: "rc", tag: "v1" }, want: { semver: "1.x", semverFilter: "rc" } },
    { name: "filter without semver ignored", ref: { semverFilter: "rc", tag: "v1" }, want: { tag: "v1" } },
  ];
  for (const tc of cases) test(tc.name, () => expect(effectiveRef({ ref: tc.ref })).toEqual(tc.want));
});

describe("effectiveLayerSelector", () => {
  test("empty operation means extract", () => {
    expect(effectiveLayerSelector({})).toEqual({ operation: "extract" });
    expect(effectiveLayerSelector({ layerSelector: { mediaType: "m", operation: "copy" } })).toEqual({ mediaType: "m", operation: "copy" });
  });
});

test("GVRs", () => {
  expect(OCIREPOSITORY_GVR).toEqual({ group: "source.toolkit.fluxcd.io", version: "v1", resource: "ocirepositories" });
  expect(OCIREPOSITORY_V1BETA2_GVR.version).toBe("v1beta2");
});
