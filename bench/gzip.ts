/**
 * Times berth's Go-compatible gzip against node:zlib (level 6) on ~50 MB of YAML-like text
 * and prints MB/s for both: the first pass (cold JIT, what a one-off `berth push` sees) and
 * the best of three more. When `go` is installed it also times Go's own compress/gzip (the
 * test oracle, including process start and piping) and checks that the digests agree.
 * Run: `bun bench/gzip.ts [megabytes]`.
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { gzipStream } from "../src/core/archive/gzip.ts";
import { gogzipPath } from "../test/harness/oracles/gogzip.ts";

function yamlText(bytes: number): Uint8Array {
  const kinds = ["Deployment", "Service", "ConfigMap", "Ingress", "HorizontalPodAutoscaler"];
  const parts: string[] = [];
  let size = 0;
  // A cheap deterministic PRNG, so values vary like real manifests without being random noise.
  let seed = 0x9e3779b9;
  const rnd = (n: number): number => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return (seed >>> 8) % n;
  };
  for (let i = 0; size < bytes; i++) {
    const kind = kinds[rnd(kinds.length)]!;
    const doc =
      `---\napiVersion: apps/v1\nkind: ${kind}\nmetadata:\n  name: app-${rnd(5000)}\n  namespace: team-${rnd(40)}\n` +
      `  labels:\n    app.kubernetes.io/name: svc-${rnd(900)}\n    app.kubernetes.io/version: "1.${rnd(30)}.${rnd(100)}"\n` +
      `spec:\n  replicas: ${1 + rnd(9)}\n  template:\n    spec:\n      containers:\n        - name: main\n` +
      `          image: ghcr.io/org/image-${rnd(300)}:sha-${rnd(1 << 30).toString(16)}\n` +
      `          resources: {limits: {cpu: ${rnd(4000)}m, memory: ${rnd(2048)}Mi}}\n` +
      `          env:\n            - {name: LOG_LEVEL, value: ${rnd(2) ? "info" : "debug"}}\n            - {name: ID, value: "${i}"}\n`;
    parts.push(doc);
    size += doc.length;
  }
  return new TextEncoder().encode(parts.join("").slice(0, bytes));
}

async function* chunks(data: Uint8Array, size: number): AsyncIterable<Uint8Array> {
  for (let p = 0; p < data.length; p += size) yield data.subarray(p, Math.min(p + size, data.length));
}

async function time(impl: "go" | "zlib", data: Uint8Array): Promise<{ seconds: number; digest: string; out: number }> {
  const start = performance.now();
  const h = createHash("sha256");
  let out = 0;
  for await (const c of gzipStream(chunks(data, 32 * 1024), { impl })) {
    h.update(c);
    out += c.length;
  }
  return { seconds: (performance.now() - start) / 1000, digest: h.digest("hex"), out };
}

function line(name: string, mbs: number, seconds: number, note = ""): void {
  console.log(`${name.padEnd(22)} ${(mbs / seconds).toFixed(1).padStart(7)} MB/s  ${seconds.toFixed(2).padStart(6)} s  ${note}`);
}

const mb = Number(process.argv[2] ?? 50);
const data = yamlText(mb * 1e6);
const mbs = data.length / 1e6;
console.log(`input: ${mbs.toFixed(1)} MB of YAML-like text, fed in 32 KiB chunks`);
const digests: Record<string, string> = {};
const warm: Record<string, number> = {};
for (const impl of ["go", "zlib"] as const) {
  const cold = await time(impl, data);
  let best = Infinity;
  for (let i = 0; i < 3; i++) best = Math.min(best, (await time(impl, data)).seconds);
  digests[impl] = cold.digest;
  warm[impl] = best;
  const label = impl === "go" ? "berth go-compatible" : "node:zlib level 6";
  line(`${label} cold`, mbs, cold.seconds, `ratio ${(cold.out / data.length).toFixed(4)}`);
  line(`${label} warm`, mbs, best);
}
console.log(`go-compatible runs at ${(warm.zlib! / warm.go!).toFixed(2)}x the speed of zlib (warm)`);

let goBin: string | undefined;
try {
  goBin = gogzipPath();
} catch {
  console.log("Go compress/gzip: skipped (no go toolchain)");
}
if (goBin !== undefined) {
  const start = performance.now();
  const out = execFileSync(goBin, [], { input: data, maxBuffer: 1 << 30 });
  const seconds = (performance.now() - start) / 1000;
  const same = createHash("sha256").update(out).digest("hex") === digests.go;
  line("Go compress/gzip", mbs, seconds, same ? "(digest equal to berth go-compatible)" : "DIGEST DIFFERS FROM BERTH");
  if (!same) process.exitCode = 1;
}
