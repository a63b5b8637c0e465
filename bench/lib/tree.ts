/**
 * Deterministic test tree for the benchmark: Kubernetes-like YAML files of varied sizes in nested
 * directories, plus a few incompressible files, so that gzip matters but is not the whole cost.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";

/** Options for {@link generateTree}. */
export interface TreeOptions {
  /** Number of files. Default 10_000. */
  files?: number;
  /** Total bytes of file content. Default 100_000_000 (100 MB). */
  bytes?: number;
  /** Share of `bytes` that is incompressible (random) data. Default 0.2. */
  randomShare?: number;
  /** Share of `files` that hold the random data (at least one). Default 0.01. */
  randomFileShare?: number;
  /** PRNG seed; the same seed and options give the same tree, byte for byte. Default 1. */
  seed?: number;
}

/** Defaults used by {@link generateTree}. */
export const DEFAULT_TREE_OPTIONS = {
  files: 10_000,
  bytes: 100_000_000,
  randomShare: 0.2,
  randomFileShare: 0.01,
  seed: 1,
} as const satisfies Required<TreeOptions>;

/** What {@link generateTree} wrote. */
export interface TreeSummary {
  root: string;
  files: number;
  dirs: number;
  bytes: number;
  /** Bytes in the incompressible files. */
  randomBytes: number;
  randomFiles: number;
}

/** mulberry32: small, fast and good enough to make varied but reproducible content. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const WORDS = (
  "alpha bravo cache canary cluster config controller cron daemon deploy edge egress gateway " +
  "grafana health ingress kafka ledger loki metrics mesh node operator payments postgres prometheus " +
  "proxy queue redis replica rollout search secret shard sidecar storage tempo tenant vault worker"
).split(" ");
const KINDS = ["Deployment", "Service", "ConfigMap", "Ingress", "HorizontalPodAutoscaler", "StatefulSet", "CronJob"];
const ENVS = ["dev", "staging", "prod", "qa", "perf"];

/**
 * Writes the tree under `root` (which must exist and be empty). Sizes follow a log-normal spread
 * (many small files, a few large ones) scaled so the text and random parts hit their totals exactly.
 */
export function generateTree(root: string, opts: TreeOptions = {}): TreeSummary {
  const files = opts.files ?? DEFAULT_TREE_OPTIONS.files;
  const bytes = opts.bytes ?? DEFAULT_TREE_OPTIONS.bytes;
  const randomShare = opts.randomShare ?? DEFAULT_TREE_OPTIONS.randomShare;
  const randomFileShare = opts.randomFileShare ?? DEFAULT_TREE_OPTIONS.randomFileShare;
  const rnd = prng(opts.seed ?? DEFAULT_TREE_OPTIONS.seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const int = (n: number) => Math.floor(rnd() * n);
  const gauss = () => Math.sqrt(-2 * Math.log(1 - rnd())) * Math.cos(2 * Math.PI * rnd());

  const randomFiles = randomShare > 0 ? Math.max(1, Math.round(files * randomFileShare)) : 0;
  const textFiles = files - randomFiles;
  const randomBytes = Math.round(bytes * randomShare);
  const textBytes = bytes - randomBytes;

  // About 15 files per directory, nested one to four levels deep.
  const dirs: string[] = [];
  const dirCount = Math.max(1, Math.round(files / 15));
  for (let i = 0; i < dirCount; i++) {
    const depth = 1 + int(4);
    const parts = [`team-${int(20)}`, `${pick(WORDS)}-${int(50)}`, pick(ENVS), `part-${int(8)}`].slice(0, depth);
    dirs.push(parts.join("/"));
  }

  const sizes = (count: number, total: number, sigma: number): number[] => {
    const w = Array.from({ length: count }, () => Math.exp(gauss() * sigma));
    const sum = w.reduce((a, b) => a + b, 0);
    const out = w.map((x) => Math.max(1, Math.floor((x / sum) * total)));
    let diff = total - out.reduce((a, b) => a + b, 0);
    // Spread the rounding remainder so totals are exact.
    for (let i = 0; diff !== 0 && count > 0; i = (i + 1) % count) {
      if (diff > 0) {
        out[i]!++;
        diff--;
      } else if (out[i]! > 1) {
        out[i]!--;
        diff++;
      }
    }
    return out;
  };

  let written = 0;
  const made = new Set<string>();
  const write = (rel: string, data: string | Uint8Array) => {
    const path = join(root, rel);
    const dir = dirname(path);
    if (!made.has(dir)) {
      mkdirSync(dir, { recursive: true });
      made.add(dir);
    }
    writeFileSync(path, data);
    written += typeof data === "string" ? data.length : data.length;
  };

  const textSizes = sizes(textFiles, textBytes, 1.1);
  for (let i = 0; i < textFiles; i++) {
    write(`${pick(dirs)}/${pick(WORDS)}-${i}.yaml`, yamlOfSize(textSizes[i]!, rnd, int, pick));
  }
  const binSizes = sizes(randomFiles, randomBytes, 0.5);
  for (let i = 0; i < randomFiles; i++) {
    write(`${pick(dirs)}/blob-${i}.bin`, randomBytesOf(binSizes[i]!, rnd));
  }
  return { root, files, dirs: made.size, bytes: written, randomBytes, randomFiles };
}

function randomBytesOf(n: number, rnd: () => number): Uint8Array {
  const words = new Uint32Array(Math.ceil(n / 4));
  // One PRNG call seeds a fast xorshift32 stream, so megabytes of noise cost little.
  let x = (Math.floor(rnd() * 0xffffffff) | 1) >>> 0;
  for (let i = 0; i < words.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    words[i] = x >>> 0;
  }
  return new Uint8Array(words.buffer, 0, n);
}

/** ASCII YAML documents cut to exactly `size` bytes. */
function yamlOfSize(size: number, rnd: () => number, int: (n: number) => number, pick: <T>(xs: readonly T[]) => T): string {
  const parts: string[] = [];
  let len = 0;
  while (len < size) {
    const kind = pick(KINDS);
    const name = `${pick(WORDS)}-${pick(WORDS)}-${int(500)}`;
    let doc =
      `---\napiVersion: ${kind === "Service" || kind === "ConfigMap" ? "v1" : "apps/v1"}\nkind: ${kind}\n` +
      `metadata:\n  name: ${name}\n  namespace: ${pick(WORDS)}-${pick(ENVS)}\n  labels:\n` +
      `    app.kubernetes.io/name: ${name}\n    app.kubernetes.io/part-of: ${pick(WORDS)}\n` +
      `    app.kubernetes.io/version: "${int(5)}.${int(30)}.${int(100)}"\n  annotations:\n` +
      `    checksum/config: ${int(0x7fffffff).toString(16).padStart(8, "0")}${int(0x7fffffff).toString(16).padStart(8, "0")}\n`;
    if (kind === "ConfigMap") {
      doc += "data:\n";
      for (let k = 0, n = 2 + int(8); k < n; k++) {
        doc += `  ${pick(WORDS)}_${pick(WORDS)}: "${pick(WORDS)} ${pick(WORDS)} ${int(100000)} ${pick(WORDS)}"\n`;
      }
    } else if (kind === "Service") {
      doc += `spec:\n  type: ClusterIP\n  selector:\n    app: ${name}\n  ports:\n    - name: http\n      port: ${80 + int(9000)}\n      targetPort: ${1024 + int(9000)}\n`;
    } else {
      doc +=
        `spec:\n  replicas: ${1 + int(9)}\n  selector:\n    matchLabels:\n      app: ${name}\n  template:\n    spec:\n      containers:\n` +
        `        - name: ${pick(WORDS)}\n          image: ghcr.io/org/${pick(WORDS)}:sha-${int(0x7fffffff).toString(16)}\n` +
        `          resources:\n            limits: {cpu: ${int(4000)}m, memory: ${int(4096)}Mi}\n          env:\n`;
      for (let k = 0, n = 1 + int(6); k < n; k++) {
        doc += `            - name: ${pick(WORDS).toUpperCase()}_${pick(WORDS).toUpperCase()}\n              value: "${int(2) ? pick(WORDS) : int(1e6)}"\n`;
      }
    }
    parts.push(doc);
    len += doc.length;
  }
  return parts.join("").slice(0, size);
}
