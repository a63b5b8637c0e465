import { describe, expect, test } from "bun:test";
import { highlights, splitImage } from "../../../../src/core/diff/highlights.ts";

const pod = (containers: object[], extra: object = {}) => ({
  apiVersion: "apps/v1",
  kind: "Deployment",
  metadata: { name: "web" },
  spec: { replicas: 1, template: { spec: { containers, ...extra } } },
});

describe("splitImage", () => {
  test.each([
    ["nginx", "nginx", ""],
    ["nginx:1.25", "nginx", "1.25"],
    ["localhost:5000/app:v1", "localhost:5000/app", "v1"],
    ["localhost:5000/app", "localhost:5000/app", ""],
    ["ghcr.io/x/app@sha256:abc", "ghcr.io/x/app", "sha256:abc"],
    ["ghcr.io/x/app:1.0@sha256:abc", "ghcr.io/x/app", "1.0@sha256:abc"],
  ])("%s", (ref, repo, suffix) => {
    expect(splitImage(ref)).toEqual({ repo, suffix });
  });
});

describe("highlights", () => {
  const cases: [string, object, object, string[]][] = [
    ["tag bump", pod([{ name: "a", image: "ghcr.io/x/podinfo:6.12.0" }]), pod([{ name: "a", image: "ghcr.io/x/podinfo:6.13.0" }]), ["image ghcr.io/x/podinfo:6.12.0 → 6.13.0"]],
    ["repository change shows the whole reference", pod([{ name: "a", image: "docker.io/redis:7" }]), pod([{ name: "a", image: "ghcr.io/redis:7" }]), ["image docker.io/redis:7 → ghcr.io/redis:7"]],
    ["digest pin", pod([{ name: "a", image: "app:1" }]), pod([{ name: "a", image: "app@sha256:ff" }]), ["image app:1 → sha256:ff"]],
    ["replicas", pod([]), { ...pod([]), spec: { ...pod([]).spec, replicas: 3 } }, ["replicas 1 → 3"]],
    ["replicas unset", { ...pod([]), spec: { template: pod([]).spec.template } }, pod([]), ["replicas unset → 1"]],
    [
      "several containers name the one that changed",
      pod([{ name: "a", image: "a:1" }, { name: "b", image: "b:1" }]),
      pod([{ name: "a", image: "a:1" }, { name: "b", image: "b:2" }]),
      ["image b:1 → 2 (container b)"],
    ],
    [
      "containers added and removed",
      pod([{ name: "a", image: "a:1" }]),
      pod([{ name: "b", image: "b:1" }]),
      ["container b added (b:1)", "container a removed"],
    ],
    [
      "resources",
      pod([{ name: "a", image: "a", resources: { limits: { memory: "128Mi" }, requests: { cpu: "100m" } } }]),
      pod([{ name: "a", image: "a", resources: { limits: { memory: "256Mi", cpu: "1" } } }]),
      ["resources a: limits.memory 128Mi → 256Mi", "resources a: requests.cpu 100m → unset", "resources a: limits.cpu unset → 1"],
    ],
    [
      "env",
      pod([{ name: "a", image: "a", env: [{ name: "X", value: "1" }, { name: "GONE", value: "g" }] }]),
      pod([{ name: "a", image: "a", env: [{ name: "X", value: "2" }, { name: "PW", valueFrom: { secretKeyRef: { name: "db", key: "pw" } } }] }]),
      ["env a: X 1 → 2", "env a: +PW=(secretKeyRef db/pw)", "env a: -GONE"],
    ],
    [
      "args with several edits",
      pod([{ name: "a", image: "a", args: ["--x", "--y"] }]),
      pod([{ name: "a", image: "a", args: ["--x", "--z", "--w"] }]),
      ["args a: added --z, --w; removed --y"],
    ],
    ["init containers count", pod([], { initContainers: [{ name: "i", image: "i:1" }] }), pod([], { initContainers: [{ name: "i", image: "i:2" }] }), ["image i:1 → 2"]],
    [
      "CronJob schedule and pod template",
      { apiVersion: "batch/v1", kind: "CronJob", metadata: { name: "c" }, spec: { schedule: "0 * * * *", jobTemplate: { spec: { template: { spec: { containers: [{ name: "c", image: "c:1" }] } } } } } },
      { apiVersion: "batch/v1", kind: "CronJob", metadata: { name: "c" }, spec: { schedule: "*/5 * * * *", jobTemplate: { spec: { template: { spec: { containers: [{ name: "c", image: "c:2" }] } } } } } },
      ["schedule 0 * * * * → */5 * * * *", "image c:1 → 2"],
    ],
    [
      "Secret keys by name only",
      { apiVersion: "v1", kind: "Secret", metadata: { name: "s" }, data: { a: "MQ==", b: "Mg==" } },
      { apiVersion: "v1", kind: "Secret", metadata: { name: "s" }, data: { a: "Mw==", c: "NA==" } },
      ["secret key c added", "secret key a changed", "secret key b removed"],
    ],
    [
      "kustomize images override",
      { apiVersion: "kustomize.config.k8s.io/v1beta1", kind: "Kustomization", images: [{ name: "podinfo", newTag: "6.12.0" }] },
      { apiVersion: "kustomize.config.k8s.io/v1beta1", kind: "Kustomization", images: [{ name: "podinfo", newName: "ghcr.io/x/podinfo", newTag: "6.13.0" }] },
      ["images: podinfo podinfo:6.12.0 → ghcr.io/x/podinfo:6.13.0"],
    ],
    [
      "Flux HelmRelease chart version and OCIRepository tag",
      { apiVersion: "helm.toolkit.fluxcd.io/v2", kind: "HelmRelease", spec: { chart: { spec: { version: "1.0.0" } } } },
      { apiVersion: "helm.toolkit.fluxcd.io/v2", kind: "HelmRelease", spec: { chart: { spec: { version: "1.1.0" } } } },
      ["chart version 1.0.0 → 1.1.0"],
    ],
    [
      "OCIRepository ref",
      { apiVersion: "source.toolkit.fluxcd.io/v1", kind: "OCIRepository", spec: { ref: { tag: "6.12.0" } } },
      { apiVersion: "source.toolkit.fluxcd.io/v1", kind: "OCIRepository", spec: { ref: { semver: ">=6.0.0" } } },
      ["ref.tag 6.12.0 → unset", "ref.semver unset → >=6.0.0"],
    ],
  ];
  for (const [name, a, b, want] of cases) {
    test(name, () => {
      expect(highlights(a as Record<string, unknown>, b as Record<string, unknown>)).toEqual(want);
    });
  }

  test("added and removed workloads list their distinct images", () => {
    const p = pod([{ name: "a", image: "x:1" }, { name: "b", image: "x:1" }], { initContainers: [{ name: "i", image: "y:2" }] });
    expect(highlights(undefined, p)).toEqual(["image y:2", "image x:1"]);
    expect(highlights(p, undefined)).toEqual(["image y:2", "image x:1"]);
  });

  test("long values are cut", () => {
    const long = "v".repeat(200);
    const h = highlights(pod([{ name: "a", image: "a", env: [{ name: "L", value: "s" }] }]), pod([{ name: "a", image: "a", env: [{ name: "L", value: long }] }]));
    expect(h[0]!.length).toBeLessThan(100);
    expect(h[0]!.endsWith("…")).toBe(true);
  });
});
