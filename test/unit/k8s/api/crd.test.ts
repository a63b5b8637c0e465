import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { ocirepositoryCRD, type CustomResourceDefinition } from "../../../../src/k8s/api/crd.ts";

// ../shared/ sits beside the repository.
const CRD_DIR = join(import.meta.dir, "../../../../../shared/crd");
const load = (file: string): any => parse(readFileSync(join(CRD_DIR, file), "utf8"));
const upstream174 = load("source.toolkit.fluxcd.io_ocirepositories.v1.7.4-v1+v1beta2.yaml");
const upstreamMain = load("source.toolkit.fluxcd.io_ocirepositories.yaml");

/** Doc strings are not reproduced (own-words rule); everything else must match. */
function stripDescriptions(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(stripDescriptions);
  if (v && typeof v === "object") {
    return Object.fromEntries(Object.entries(v).filter(([k]) => k !== "description").map(([k, x]) => [k, stripDescriptions(x)]));
  }
  return v;
}

/** Every path where `a` and `b` differ, one line each, so a failure says what to fix. */
function diff(a: unknown, b: unknown, path = "$"): string[] {
  if (Array.isArray(a) && Array.isArray(b)) {
    const out: string[] = [];
    for (let i = 0; i < Math.max(a.length, b.length); i++) out.push(...diff(a[i], b[i], `${path}[${i}]`));
    return out;
  }
  if (a && b && typeof a === "object" && typeof b === "object" && !Array.isArray(a) && !Array.isArray(b)) {
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
    return keys.flatMap((k) => diff((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], `${path}.${k}`));
  }
  return Object.is(a, b) ? [] : [`${path}: berth ${JSON.stringify(a)} ≠ upstream ${JSON.stringify(b)}`];
}

const version = (crd: any, name: string) => crd.spec.versions.find((v: { name: string }) => v.name === name);
/** A JSON copy, so the generated object compares like parsed YAML. */
const plain = (crd: CustomResourceDefinition): any => JSON.parse(JSON.stringify(crd));
const ours = plain(ocirepositoryCRD());

describe("generated OCIRepository CRD", () => {
  test("the upstream files are the expected ones", () => {
    expect(upstream174.spec.versions.map((v: { name: string }) => v.name)).toEqual(["v1", "v1beta2"]);
    expect(upstreamMain.spec.versions.map((v: { name: string }) => v.name)).toEqual(["v1"]);
  });

  test("v1 equals upstream main's v1 (schema, columns, flags, subresources)", () => {
    expect(diff(stripDescriptions(version(ours, "v1")), stripDescriptions(version(upstreamMain, "v1")))).toEqual([]);
  });

  test("v1 equals upstream v1.7.4's v1 plus exactly trustedRootSecretRef", () => {
    const d = diff(stripDescriptions(version(ours, "v1")), stripDescriptions(version(upstream174, "v1")));
    expect(d).toEqual([
      '$.schema.openAPIV3Schema.properties.spec.properties.verify.properties.trustedRootSecretRef: berth {"type":"object","properties":{"name":{"type":"string"}},"required":["name"]} ≠ upstream undefined',
    ]);
  });

  test("v1beta2 equals upstream v1.7.4's v1beta2 (deprecated, served, not storage)", () => {
    expect(diff(stripDescriptions(version(ours, "v1beta2")), stripDescriptions(version(upstream174, "v1beta2")))).toEqual([]);
  });

  test("names, group and scope equal upstream main (v1.7.4 plus categories)", () => {
    expect(diff(ours.spec.names, upstreamMain.spec.names)).toEqual([]);
    expect(ours.spec.group).toBe(upstreamMain.spec.group);
    expect(ours.spec.scope).toBe(upstreamMain.spec.scope);
    expect(ours.metadata.name).toBe(upstreamMain.metadata.name);
    const { categories: _, ...older } = ours.spec.names;
    expect(diff(older, upstream174.spec.names)).toEqual([]);
  });

  test("the spec-level keys are the same set as upstream's", () => {
    expect(Object.keys(ours.spec).sort()).toEqual(Object.keys(upstream174.spec).sort());
    expect(ours.spec.versions.map((v: { name: string }) => v.name)).toEqual(["v1", "v1beta2"]);
  });

  test("the substitute-disabled annotation of upstream main is kept", () => {
    expect(ours.metadata.annotations["kustomize.toolkit.fluxcd.io/substitute"]).toBe(upstreamMain.metadata.annotations["kustomize.toolkit.fluxcd.io/substitute"]);
  });

  test("serveV1beta2: false gives upstream main's version list", () => {
    const only = plain(ocirepositoryCRD({ serveV1beta2: false }));
    expect(diff(stripDescriptions(only.spec.versions), stripDescriptions(upstreamMain.spec.versions))).toEqual([]);
  });

  test("the diff helper reports a changed leaf", () => {
    expect(diff({ a: { b: [1, 2] } }, { a: { b: [1, 3] } })).toEqual(["$.a.b[1]: berth 2 ≠ upstream 3"]);
  });
});
