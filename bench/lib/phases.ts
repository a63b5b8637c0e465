/**
 * Where berth's push and pull time goes, phase by phase, in this process (no registry): walk+tar,
 * deflate (Go-compatible and zlib), sha256, streaming vs one-shot gunzip, tar parsing, extraction,
 * each next to the native tool doing the same step. Explains the push/pull rows of bench.ts.
 *
 *   bun bench/lib/phases.ts [--files 10000] [--mb 100] [--seed 1]
 *
 * Holds the uncompressed tar in memory (about 108 MB for the default tree) so each phase is timed alone.
 */
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, rmSync, statfsSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { parseArgs } from "node:util";
import { createGunzip, gunzipSync } from "node:zlib";
import { extractTarGz, readTarEntries } from "../../src/core/archive/extract.ts";
import { gzipStream } from "../../src/core/archive/gzip.ts";
import { tarArtifactTree } from "../../src/core/artifact/build.ts";
import { peerBinDir } from "../../test/harness/peers.ts";
import { exec } from "./measure.ts";
import { generateTree } from "./tree.ts";

const { values } = parseArgs({
  args: process.argv.slice(2),
  options: { files: { type: "string", default: "10000" }, mb: { type: "string", default: "100" }, seed: { type: "string", default: "1" } },
});

const CHUNK = 64 * 1024;
const rows: [string, string, number, string][] = [];
const note = (side: string, phase: string, seconds: number, extra = "") => {
  rows.push([side, phase, seconds, extra]);
  process.stderr.write(`phases: ${side} ${phase}: ${seconds.toFixed(3)}s ${extra}\n`);
};
async function timed<T>(fn: () => Promise<T> | T): Promise<[T, number]> {
  const t = performance.now();
  const v = await fn();
  return [v, (performance.now() - t) / 1000];
}
async function* replay(chunks: readonly Uint8Array[]): AsyncGenerator<Uint8Array> {
  for (const c of chunks) yield c;
}
function* slices(buf: Uint8Array): Generator<Uint8Array> {
  for (let i = 0; i < buf.length; i += CHUNK) yield buf.subarray(i, i + CHUNK);
}

const work = mkdtempSync(join(tmpdir(), "berth-phases-"));
let shm: string | undefined;
try {
  const tree = join(work, "tree");
  mkdirSync(tree);
  const info = generateTree(tree, { files: Number(values.files), bytes: Number(values.mb) * 1e6, seed: Number(values.seed) });
  process.stderr.write(`phases: tree ${info.files} files, ${(info.bytes / 1e6).toFixed(1)} MB\n`);

  // Push side.
  const [tarChunks, tTar] = await timed(async () => {
    const out: Uint8Array[] = [];
    for await (const c of (await tarArtifactTree(tree)).tar) out.push(c.slice());
    return out;
  });
  const tarBytes = tarChunks.reduce((a, c) => a + c.length, 0);
  note("push", "berth walk+tar (tarArtifactTree)", tTar, `${(tarBytes / 1e6).toFixed(1)} MB tar`);
  const tarFile = join(work, "tree.tar");
  writeFileSync(tarFile, Buffer.concat(tarChunks));
  const gnuTar = await exec(["sh", "-c", 'tar cf - -C "$0" . | cat >/dev/null', tree], { rss: false });
  note("push", "  ref: GNU tar cf | cat", gnuTar.seconds);

  let tgz: Uint8Array = new Uint8Array();
  for (const impl of ["go", "zlib"] as const) {
    const [out, t] = await timed(async () => {
      const parts: Uint8Array[] = [];
      for await (const c of gzipStream(replay(tarChunks), { impl })) parts.push(c);
      return Buffer.concat(parts);
    });
    note("push", `berth gzip ${impl} (in memory)`, t, `${(out.length / 1e6).toFixed(1)} MB`);
    if (impl === "go") tgz = out;
  }
  const gogzip = join(peerBinDir(), "gogzip");
  if (existsSync(gogzip)) {
    const g = await exec(["sh", "-c", '"$0" -chunk 32768 <"$1" >/dev/null', gogzip, tarFile], { rss: false });
    note("push", "  ref: Go compress/gzip (gogzip oracle, CPU s)", g.cpuSeconds ?? g.seconds, `wall ${g.seconds.toFixed(3)}s incl. reading the tar`);
  }
  const gz6 = await exec(["sh", "-c", 'gzip -6 -c <"$0" >/dev/null', tarFile], { rss: false });
  note("push", "  ref: GNU gzip -6", gz6.seconds);
  const [, tSha] = await timed(() => createHash("sha256").update(tgz).digest("hex"));
  note("push", "sha256 of the tgz", tSha);

  // Pull side.
  const [, tSync] = await timed(() => gunzipSync(tgz));
  note("pull", "gunzipSync (one shot, node:zlib)", tSync);
  const [, tStream] = await timed(async () => {
    let n = 0;
    for await (const c of Readable.from(slices(tgz)).pipe(createGunzip())) n += (c as Buffer).length;
    return n;
  });
  note("pull", "createGunzip stream (what extract uses)", tStream);
  const tgzFile = join(work, "tree.tgz");
  writeFileSync(tgzFile, tgz);
  const gunz = await exec(["sh", "-c", 'gunzip -c <"$0" >/dev/null', tgzFile], { rss: false });
  note("pull", "  ref: GNU gunzip", gunz.seconds);
  const [entries, tRead] = await timed(async () => {
    let n = 0;
    for await (const e of readTarEntries(Readable.from(slices(tgz)).pipe(createGunzip()))) {
      n++;
      for await (const _ of e.body) {
        // drain
      }
    }
    return n;
  });
  note("pull", "gunzip stream + readTarEntries (no writes)", tRead, `${entries} entries`);

  const st = statfsSync("/dev/shm");
  const base = st.bavail * st.bsize > 4 * info.bytes ? (shm = mkdtempSync("/dev/shm/berth-phases-")) : work;
  const dest = join(base, "x");
  mkdirSync(dest);
  const [res, tEx] = await timed(() => extractTarGz(replay([...slices(tgz)]), dest, { maxSize: -1 }));
  note("pull", `extractTarGz into ${base === work ? "disk" : "tmpfs"}`, tEx, `${res.files} files`);
  const dest2 = join(base, "y");
  mkdirSync(dest2);
  const tx = await exec(["tar", "xzf", tgzFile, "-C", dest2], { rss: false });
  note("pull", "  ref: GNU tar xzf", tx.seconds);

  const w = Math.max(...rows.map((r) => r[1].length));
  process.stdout.write(`phases of berth push/pull on ${info.files} files, ${(info.bytes / 1e6).toFixed(0)} MB (ref: = native tool doing the same step)\n`);
  for (const [side, phase, s, extra] of rows) process.stdout.write(`${side}  ${phase.padEnd(w)}  ${s.toFixed(3).padStart(7)} s  ${extra}\n`);
} finally {
  rmSync(work, { recursive: true, force: true });
  if (shm) rmSync(shm, { recursive: true, force: true });
}
