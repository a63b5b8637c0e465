/**
 * Times berth's Go-compatible gzip against node:zlib (level 6) on ~50 MB of YAML-like text
 * and prints MB/s for both. Run: `bun bench/gzip.ts [megabytes]`.
 */
import { gzipStream } from "../src/core/archive/gzip.ts";

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

async function time(impl: "go" | "zlib", data: Uint8Array): Promise<{ seconds: number; out: number }> {
  const start = performance.now();
  let out = 0;
  for await (const c of gzipStream(chunks(data, 32 * 1024), { impl })) out += c.length;
  return { seconds: (performance.now() - start) / 1000, out };
}

const mb = Number(process.argv[2] ?? 50);
const data = yamlText(mb * 1e6);
const mbs = data.length / 1e6;
await time("go", data.subarray(0, 4e6)); // warm up the JIT
for (const impl of ["go", "zlib"] as const) {
  const r = await time(impl, data);
  console.log(
    `${impl.padEnd(4)} ${(mbs / r.seconds).toFixed(1).padStart(7)} MB/s  ${r.seconds.toFixed(2)} s  ratio ${(r.out / data.length).toFixed(4)}`,
  );
}
