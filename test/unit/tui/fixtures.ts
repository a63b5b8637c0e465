/** A real in-memory repository with Flux artifacts pushed by core's push, for the TUI's tests. */
import { mkdtemp, rm, writeFile, mkdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MemoryStore, pushArtifact, tagArtifact } from "../../../src/core/index.ts";
import { readTarEntries } from "../../../src/core/archive/extract.ts";
import { planPromote, promoteArtifact, type PromotePlan } from "../../../src/core/artifact/promote.ts";
import type { KeyObject } from "node:crypto";
import type { render } from "ink-testing-library";
import { memoryHistory, type PromotionAccess, type TuiServices } from "../../../src/tui/services.ts";

/** The core's promotion, wired as main.ts wires it (optionally verifying with `keys`). */
export function corePromotion(keys: KeyObject[] = []): PromotionAccess {
  return {
    verifyKeys: keys.length,
    plan: (a, b, o) => planPromote(a, b, { signal: o.signal, ...(keys.length ? { verify: { keys } } : {}) }),
    promote: (p, a, b, o) => promoteArtifact(p as PromotePlan, a, b, o),
  };
}

export const deployment = (image: string, replicas: number) => `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: prod
spec:
  replicas: ${replicas}
  template:
    spec:
      containers:
        - name: web
          image: ${image}
`;

/** Pushes a tree of files as an artifact under `tag`. */
export async function pushFiles(store: MemoryStore, tag: string, files: Record<string, string>, revision = "main@sha1:0"): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "berth-tui-"));
  try {
    for (const [p, text] of Object.entries(files)) {
      await mkdir(join(dir, p, ".."), { recursive: true });
      await writeFile(join(dir, p), text);
    }
    const r = await pushArtifact(dir, store, tag, { metadata: { source: "https://git.example/app", revision, created: "2024-05-01T12:00:00Z" } });
    return r.descriptor.digest;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * A repository with v1.0.0 (= prod), v1.1.0 (image and replicas bumped, = staging) and a cosign
 * signature tag; `services` opens it for any URL.
 */
export async function sampleRepo(): Promise<{ store: MemoryStore; services: TuiServices; digests: Record<string, string> }> {
  const store = new MemoryStore("oci://mem/app");
  const v1 = await pushFiles(store, "v1.0.0", { "deploy.yaml": deployment("ghcr.io/x/web:1.0.0", 1), "README.md": "hello\n" }, "main@sha1:1111");
  const v2 = await pushFiles(store, "v1.1.0", { "deploy.yaml": deployment("ghcr.io/x/web:1.1.0", 3), "README.md": "hello\n" }, "main@sha1:2222");
  await tagArtifact(store, "v1.0.0", ["prod"]);
  await tagArtifact(store, "v1.1.0", ["staging", `sha256-${"c".repeat(64)}.sig`]);
  const services: TuiServices = { open: async () => store, readTar: (t) => readTarEntries(t), history: memoryHistory(), registries: ["ghcr.io"], promotion: corePromotion() };
  return { store, services, digests: { v1, v2 } };
}

/** The parts of an ink-testing-library render that {@link driveInk} uses. */
export interface InkRender {
  stdin: { write(data: string): void };
  lastFrame(): string | undefined;
}

/** Typing into and waiting on a rendered app. */
export interface InkDriver {
  /** Writes each key to stdin with a short pause after it, so every key is its own input event. */
  press(...keys: string[]): Promise<void>;
  /** Polls the last frame (every 10 ms, up to 10 s) until `pred` holds; the error shows `what` and the frame. */
  until(pred: (frame: string) => boolean, what: string): Promise<string>;
}

/** A driver for an app rendered with ink-testing-library's `render`. */
export function driveInk(r: InkRender): InkDriver {
  const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));
  return {
    async press(...keys) {
      for (const k of keys) {
        r.stdin.write(k);
        await sleep(20);
      }
    },
    async until(pred, what) {
      for (let i = 0; i < 1000; i++) {
        const f = r.lastFrame() ?? "";
        if (pred(f)) return f;
        await sleep(10);
      }
      throw new Error(`timed out waiting for ${what}; last frame:\n${r.lastFrame()}`);
    },
  };
}

/**
 * Keys and waits for an ink-testing-library render of the App: `press` types keys 20 ms apart (one
 * screen update each), `until` polls the last frame every 10 ms, at most `tries` times, and fails
 * with that frame.
 */
export function driveApp(r: ReturnType<typeof render>, tries: number) {
  const press = async (...keys: string[]) => {
    for (const k of keys) {
      r.stdin.write(k);
      await Bun.sleep(20);
    }
  };
  const until = async (pred: (f: string) => boolean, what: string): Promise<string> => {
    for (let i = 0; i < tries; i++) {
      const f = r.lastFrame() ?? "";
      if (pred(f)) return f;
      await Bun.sleep(10);
    }
    throw new Error(`timed out waiting for ${what}; last frame:\n${r.lastFrame()}`);
  };
  return { press, until };
}
