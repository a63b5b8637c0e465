import { createHash } from "node:crypto";
/**
 * Deterministic inputs for the deflate/gzip oracle tests. Each targets a part of Go's
 * encoder: stored vs fixed vs dynamic blocks, the 16384-token block cut, the 32 KiB window
 * slide and distance limit, the length-4 distance rule, lazy matching, Huffman length
 * limiting, and the hash-position rebase after 16 MiB.
 */

import { prng } from "../../../fixtures/prng.ts";
export { prng };

/** `n` pseudo-random bytes (incompressible: Go stores them). */
export function randomBytes(n: number, seed = 1): Uint8Array<ArrayBuffer> {
  const r = prng(seed);
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = r() & 0xff;
  return out;
}

/** `n` pseudo-random bytes drawn from the first `k` letters: many short matches at every distance. */
export function smallAlphabet(n: number, k: number, seed = 2): Uint8Array<ArrayBuffer> {
  const r = prng(seed);
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = 97 + (r() % k);
  return out;
}

/** Kubernetes-manifest-like YAML, about `n` bytes (cut to exactly `n`). */
export function yaml(n: number, seed = 3): Uint8Array<ArrayBuffer> {
  const r = prng(seed);
  const parts: string[] = [];
  let size = 0;
  for (let i = 0; size < n; i++) {
    const doc =
      `---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cfg-${r() % 3000}\n  namespace: ns-${r() % 20}\n` +
      `  labels:\n    app.kubernetes.io/part-of: shop\n    revision: "${r() % 100000}"\n` +
      `data:\n  key-${i}: value-${(r() % 1e6).toString(36)}\n  enabled: "${r() & 1 ? "true" : "false"}"\n`;
    parts.push(doc);
    size += doc.length;
  }
  return new TextEncoder().encode(parts.join("")).subarray(0, n);
}

/** Concatenates byte arrays. */
export function concat(...parts: Uint8Array[]): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Alternating text and random segments, so neighbouring blocks want different encodings. */
export function textAndRandom(segments: number, segSize: number): Uint8Array<ArrayBuffer> {
  const parts: Uint8Array[] = [];
  for (let i = 0; i < segments; i++) parts.push(i % 2 ? randomBytes(segSize, 100 + i) : yaml(segSize, 200 + i));
  return concat(...parts);
}

/**
 * Literals with Fibonacci-like frequencies in pseudo-random order: an optimal Huffman tree
 * would be deeper than 15, so Go's length limiting decides the code.
 */
export function skewedLiterals(seed = 4): Uint8Array<ArrayBuffer> {
  const counts: number[] = [];
  let a = 1;
  let b = 1;
  for (let i = 0; i < 24; i++) {
    counts.push(a);
    [a, b] = [b, a + b];
  }
  const total = counts.reduce((x, y) => x + y, 0);
  const out = new Uint8Array(total);
  let o = 0;
  counts.forEach((c, sym) => out.fill(sym * 10, o, (o += c)));
  const r = prng(seed);
  for (let i = out.length - 1; i > 0; i--) {
    const j = r() % (i + 1);
    const t = out[i]!;
    out[i] = out[j]!;
    out[j] = t;
  }
  return out;
}

/**
 * Near-identical manifests (a templated release): long matches, several of exactly or above
 * the 128-byte "nice" length where Go stops searching the chain.
 */
export function templatedManifests(n: number, seed = 5): Uint8Array<ArrayBuffer> {
  const r = prng(seed);
  const parts: string[] = [];
  let size = 0;
  for (let i = 0; size < n; i++) {
    const doc =
      `---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: svc-${i % 50}\n  namespace: prod\n` +
      `spec:\n  replicas: 3\n  selector:\n    matchLabels:\n      app: svc-${i % 50}\n  template:\n    spec:\n` +
      `      containers:\n        - name: app\n          image: registry.example.com/team/svc-${i % 50}:1.${r() % 4}.0\n` +
      `          ports:\n            - containerPort: 8080\n          readinessProbe: {httpGet: {path: /healthz, port: 8080}}\n`;
    parts.push(doc);
    size += doc.length;
  }
  return new TextEncoder().encode(parts.join("")).subarray(0, n);
}

/**
 * The newest earlier copy of a string matches only 128 bytes (Go's "nice" length, where it
 * stops walking the chain) while an older copy matches 258: Go must keep the 128-byte match.
 */
export function niceCutoff(): Uint8Array<ArrayBuffer> {
  const a = randomBytes(300, 71);
  const shortCopy = concat(a.subarray(0, 128), Uint8Array.of(a[128]! ^ 0xff));
  return concat(a, randomBytes(500, 72), shortCopy, randomBytes(500, 73), a, randomBytes(100, 74));
}

/** A block whose stored and best Huffman encodings cost exactly the same (found by search); Go keeps Huffman. */
export function storedHuffmanTie(): Uint8Array<ArrayBuffer> {
  const hex = "dedfc8eac8ccead0ebdedccedaddebe1e7d4e9ecd2d5cce0d9dfdeccdae1d6ebe6cbe1d9dbebead5d6c8e3e9cdd2cce4e2";
  return Uint8Array.from(hex.match(/../g)!, (h) => parseInt(h, 16));
}

/** A block whose fixed and dynamic encodings cost exactly the same (found by search); Go keeps fixed. */
export function fixedDynamicTie(): Uint8Array<ArrayBuffer> {
  const bits = "00101000011000110101101011000100011100011010000011000001010";
  return Uint8Array.from(bits, (c) => 226 + Number(c));
}

/**
 * Small varied inputs for a randomized differential test: random sizes and alphabets with
 * copies of earlier data spliced in at random distances and lengths, so blocks land near the
 * stored/fixed/dynamic thresholds with all kinds of length and distance extra bits.
 */
export function fuzzCase(seed: number): Uint8Array<ArrayBuffer> {
  const r = prng(seed * 2654435761);
  const n = 1 + (r() % 6000);
  const k = 2 + (r() % 255);
  const out = new Uint8Array(n);
  for (let i = 0; i < n; ) {
    if (i > 8 && r() % 4 === 0) {
      const dist = 1 + (r() % i);
      const len = Math.min(n - i, 3 + (r() % 300));
      for (let j = 0; j < len; j++, i++) out[i] = out[i - dist]!;
    } else {
      const run = 1 + (r() % 40);
      for (let j = 0; j < run && i < n; j++, i++) out[i] = r() % k;
    }
  }
  return out;
}

/** A named input for table-driven tests. */
export interface NamedInput {
  name: string;
  data: Uint8Array<ArrayBuffer>;
}

/** The shared table of inputs, from empty to several MiB. */
export function inputs(): NamedInput[] {
  const r32k = randomBytes(32768, 9);
  const r40k = randomBytes(40000, 10);
  return [
    { name: "empty", data: new Uint8Array(0) },
    { name: "1 byte", data: Uint8Array.of(0x41) },
    { name: "3 bytes", data: new TextEncoder().encode("abc") },
    { name: "4 equal bytes", data: new Uint8Array(4).fill(7) },
    { name: "16 bytes text", data: new TextEncoder().encode("hello, hello, he") },
    ...[257, 258, 261, 262, 263, 300].map((n) => ({ name: `${n} repetitive bytes`, data: smallAlphabet(n, 2, n) })),
    { name: "1 MiB of one byte", data: new Uint8Array(1 << 20).fill(0x61) },
    { name: "period-3 pattern 200 KiB", data: new TextEncoder().encode("abc".repeat(70000)) },
    { name: "random 200 KiB (stored)", data: randomBytes(200 * 1024) },
    { name: "random 70000 (block over 65535)", data: randomBytes(70000, 5) },
    { name: "random 65535", data: randomBytes(65535, 6) },
    { name: "yaml 65535", data: yaml(65535) },
    { name: "yaml 64 KiB", data: yaml(65536) },
    { name: "yaml 65537", data: yaml(65537) },
    { name: "yaml 1 MiB", data: yaml(1 << 20) },
    { name: "yaml 5 MiB", data: yaml(5 << 20) },
    { name: "text and random mix 1.2 MiB", data: textAndRandom(12, 100 * 1024) },
    { name: "small alphabet 1 MiB (short matches)", data: smallAlphabet(1 << 20, 4) },
    { name: "small alphabet 300 KiB of 16", data: smallAlphabet(300 * 1024, 16) },
    { name: "repeat at distance 32768", data: concat(r32k, r32k, r32k) },
    { name: "repeat at distance 32767", data: concat(r32k.subarray(1), r32k.subarray(1)) },
    { name: "repeat at distance 40000", data: concat(r40k, r40k) },
    { name: "skewed literal frequencies", data: skewedLiterals() },
    { name: "templated manifests 2 MiB", data: templatedManifests(2 << 20) },
    { name: "match cut off at nice length 128", data: niceCutoff() },
    { name: "stored/Huffman cost tie", data: storedHuffmanTie() },
    { name: "fixed/dynamic cost tie", data: fixedDynamicTie() },
  ];
}

/** Hex sha256 of bytes. */
export function sha256(b: Uint8Array): string {
  return createHash("sha256").update(b).digest("hex");
}

/** Feeds `data` as a stream of `size`-byte chunks. */
export async function* chunked(data: Uint8Array, size: number): AsyncIterable<Uint8Array> {
  for (let p = 0; p < data.length; p += size) yield data.subarray(p, Math.min(p + size, data.length));
}

/** Reads a stream into one buffer. */
export async function collect(src: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for await (const c of src) parts.push(c);
  return concat(...parts);
}
