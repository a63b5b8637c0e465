import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtemp, readFile, readdir, rm, writeFile, cp, mkdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startRegistry, skopeoCopy, skopeoInspectRaw, dockerRef, writeOciImageLayout, type RegistryServer, run } from "../harness/index.ts";
import { berth, requireBinary } from "./berth-bin.ts";

const EXAMPLE = join(import.meta.dir, "../../examples/podinfo");
const VECTORS = join(import.meta.dir, "../../../shared/vectors/flux");

let reg: RegistryServer;
let work: string;

beforeAll(async () => {
  requireBinary();
  reg = await startRegistry();
  work = await mkdtemp(join(tmpdir(), "berth-e2e-"));
});
afterAll(async () => {
  await reg?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

async function listFiles(dir: string, prefix = ""): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const rel = prefix ? `${prefix}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(...(await listFiles(join(dir, e.name), rel)));
    else out.push(rel);
  }
  return out.sort();
}

async function sameTree(a: string, b: string) {
  const fa = await listFiles(a);
  expect(await listFiles(b)).toEqual(fa);
  for (const f of fa) expect(await readFile(join(b, f), "utf8")).toBe(await readFile(join(a, f), "utf8"));
}

const meta = ["--source=https://github.com/example/podinfo-config", "--revision=main@sha1:0123456789abcdef0123456789abcdef01234567"];

describe("berth against a real registry (compiled binary)", () => {
  test("push -o json, then skopeo copies it to a layout and berth pulls the same files", async () => {
    const url = `oci://${reg.host}/e2e/podinfo:v1.0.0`;
    const push = await berth(["push", "artifact", url, "-f", EXAMPLE, ...meta, "-o", "json"]);
    expect(push.stderr).toBe("");
    expect(push.code).toBe(0);
    const out = JSON.parse(push.stdout);
    expect(out).toMatchObject({ repository: `${reg.host}/e2e/podinfo`, tag: "v1.0.0" });
    expect(out.digest).toMatch(/^sha256:[a-f0-9]{64}$/);
    expect(out.url).toBe(`oci://${reg.host}/e2e/podinfo@${out.digest}`);

    // skopeo, an independent client, reads what berth pushed: the manifest bytes hash to the digest.
    const raw = await skopeoInspectRaw(dockerRef(reg, "e2e/podinfo:v1.0.0"), { registry: reg });
    expect(raw.code).toBe(0);
    const manifest = JSON.parse(raw.stdout);
    expect(manifest.config.mediaType).toBe("application/vnd.cncf.flux.config.v1+json");
    expect(manifest.layers[0].mediaType).toBe("application/vnd.cncf.flux.content.v1.tar+gzip");
    expect(manifest.annotations["org.opencontainers.image.revision"]).toBe("main@sha1:0123456789abcdef0123456789abcdef01234567");
    const h = new Bun.CryptoHasher("sha256").update(raw.stdout).digest("hex");
    expect(`sha256:${h}`).toBe(out.digest);

    const layout = join(work, "skopeo-layout");
    const cp1 = await skopeoCopy({ ref: dockerRef(reg, "e2e/podinfo:v1.0.0"), endpoint: { registry: reg } }, `oci:${layout}:copied`);
    expect(cp1.code).toBe(0);
    const dest = join(work, "from-skopeo-layout");
    await mkdir(dest);
    const pull = await berth(["pull", "artifact", `oci-layout://${layout}:copied`, "-o", dest]);
    expect(pull.code).toBe(0);
    await sameTree(EXAMPLE, dest);
  });

  test("pull prints flux's lines and extracts the files", async () => {
    const dest = join(work, "pulled");
    await mkdir(dest);
    const r = await berth(["pull", "artifact", `oci://${reg.host}/e2e/podinfo:v1.0.0`, "-o", dest]);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(`► pulling artifact from ${reg.host}/e2e/podinfo:v1.0.0`);
    expect(r.stderr).toContain("✔ source https://github.com/example/podinfo-config");
    expect(r.stderr).toContain("✔ revision main@sha1:0123456789abcdef0123456789abcdef01234567");
    expect(r.stderr).toMatch(new RegExp(`✔ digest ${reg.host.replace(/\./g, "\\.")}/e2e/podinfo@sha256:[a-f0-9]{64}`));
    expect(r.stderr).toContain(`✔ artifact content extracted to ${dest}`);
    await sameTree(EXAMPLE, dest);
  });

  test("tag, then list shows both tags with the same digest; -o json", async () => {
    const t = await berth(["tag", "artifact", `oci://${reg.host}/e2e/podinfo:v1.0.0`, "--tag", "staging,production"]);
    expect(t.code).toBe(0);
    expect(t.stderr).toContain(`✔ artifact tagged as ${reg.host}/e2e/podinfo:staging`);
    expect(t.stderr).toContain(`✔ artifact tagged as ${reg.host}/e2e/podinfo:production`);
    const l = await berth(["list", "artifacts", `oci://${reg.host}/e2e/podinfo`, "-o", "json"]);
    expect(l.code).toBe(0);
    const rows = JSON.parse(l.stdout) as { tag: string; digest: string }[];
    expect(rows.map((r) => r.tag).sort()).toEqual(["production", "staging", "v1.0.0"]);
    expect(new Set(rows.map((r) => r.digest)).size).toBe(1);
    const table = await berth(["list", "artifacts", `oci://${reg.host}/e2e/podinfo`]);
    const lines = table.stdout.split("\n");
    expect(lines[0]).toMatch(/^ARTIFACT\s+\tDIGEST\s+\tSOURCE\s+\tREVISION\s* $/);
    expect(lines[1]).toStartWith(`${reg.host}/e2e/podinfo:v1.0.0`);
  });

  test("diff: equal → 0, changed → 1 with the object named, remote vs remote", async () => {
    const same = await berth(["diff", "artifact", `oci://${reg.host}/e2e/podinfo:v1.0.0`, "--path", EXAMPLE]);
    expect(same.stderr).toContain("✔ no changes detected");
    expect(same.code).toBe(0);

    const changed = join(work, "changed");
    await cp(EXAMPLE, changed, { recursive: true });
    const dep = join(changed, "deployment.yaml");
    await writeFile(dep, (await readFile(dep, "utf8")).replace("replicas: 2", "replicas: 3").replace("podinfo:6.14.1", "podinfo:6.15.0"));
    const d = await berth(["diff", "artifact", `oci://${reg.host}/e2e/podinfo:v1.0.0`, "--path", changed]);
    expect(d.code).toBe(1);
    expect(d.stdout).toContain("Deployment");
    expect(d.stdout).toContain("replicas");
    expect(d.stdout).toContain("6.15.0");
    expect(d.stderr).toContain("✗ the remote artifact contents differs from the local one");

    const p2 = await berth(["push", "artifact", `oci://${reg.host}/e2e/podinfo:v1.1.0`, "-f", changed, ...meta]);
    expect(p2.code).toBe(0);
    const rr = await berth(["diff", "artifact", `oci://${reg.host}/e2e/podinfo:v1.0.0`, `oci://${reg.host}/e2e/podinfo:v1.1.0`, "-o", "json"]);
    expect(rr.code).toBe(1);
    const j = JSON.parse(rr.stdout);
    expect(j.equal).toBe(false);
    expect(j.changes.objects.some((o: { kind: string; name: string }) => o.kind === "Deployment" && o.name === "podinfo")).toBe(true);
  });

  test("resolve picks the highest semver tag and explains", async () => {
    const r = await berth(["resolve", `oci://${reg.host}/e2e/podinfo`, "--semver", "1.x"]);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toMatch(/^v1\.1\.0@sha256:[a-f0-9]{64}$/);
    expect(r.stderr).toContain("not-semver");
  });

  test("an artifact skopeo pushed (two layers, foreign media types) is pulled by layer media type", async () => {
    const img = writeOciImageLayout(join(work, "foreign"), { tag: "v1", files: { "README.md": "# hello\n" } });
    const c = await skopeoCopy(`oci:${img.dir}:v1`, { ref: dockerRef(reg, "e2e/foreign:v1"), endpoint: { registry: reg } });
    expect(c.code).toBe(0);
    const dest = join(work, "foreign-out");
    await mkdir(dest);
    const r = await berth(["pull", "artifact", `oci://${reg.host}/e2e/foreign:v1`, "-o", dest]);
    expect(r.code).toBe(0);
    expect(await readFile(join(dest, "README.md"), "utf8")).toBe("# hello\n");
    const miss = await berth(["pull", "artifact", `oci://${reg.host}/e2e/foreign:v1`, "-o", dest, "--layer-media-type", "application/x-nope"]);
    expect(miss.code).toBe(4);
    expect(miss.stderr).toContain("no layer with media type application/x-nope");
  });
});

describe("berth with an OCI image layout (no registry)", () => {
  test("push to oci-layout:// is readable by skopeo and listed by berth", async () => {
    const dir = join(work, "layout");
    const p = await berth(["push", "artifact", `oci-layout://${dir}:latest`, "-f", EXAMPLE, ...meta]);
    expect(p.code).toBe(0);
    expect(p.stderr).toMatch(/✔ artifact successfully pushed to .*@sha256:[a-f0-9]{64}/);
    const raw = await run(["skopeo", "inspect", "--raw", `oci:${dir}:latest`]);
    expect(raw.code).toBe(0);
    expect(JSON.parse(raw.stdout).layers[0].mediaType).toBe("application/vnd.cncf.flux.content.v1.tar+gzip");
    const l = await berth(["list", "artifacts", `oci-layout://${dir}`]);
    expect(l.code).toBe(0);
    expect(l.stdout).toContain(`${dir}:latest`);
    expect(l.stdout).toContain("https://github.com/example/podinfo-config");
  });

  test("the same tree pushed twice with --reproducible gives flux's golden manifest digest", async () => {
    const trees = join(work, "trees");
    const mk = await run(["bash", join(VECTORS, "make-trees.sh"), trees]);
    expect(mk.code).toBe(0);
    const args = (tag: string) => [
      "push", "artifact", `oci-layout://${join(work, "repro")}:${tag}`, "-f", join(trees, "sample"), "--reproducible",
      "--source=https://github.com/org/repo", "--revision=main@sha1:0123456789abcdef0123456789abcdef01234567", "-o", "json",
    ];
    const a = JSON.parse((await berth(args("a"))).stdout);
    const b = JSON.parse((await berth(args("b"))).stdout);
    expect(a.digest).toBe(b.digest);
    // vectors.txt: sample, flux 2.9.x, --reproducible.
    expect(a.digest).toBe("sha256:4936d42fe7163139b3ff3c1704ed5e7921da9d641ba0b0a35cc57d50b6e25132");
  });
});

describe("errors say what failed and exit with a stable code", () => {
  test("malformed URL → exit 2", async () => {
    const r = await berth(["pull", "artifact", "ghcr.io/org/app:v1", "-o", work]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe("✗ URL must be in format 'oci://<domain>/<org>/<repo>'\n  hint: prefix registry references with oci:// (e.g. oci://ghcr.io/org/app:v1) or local layouts with oci-layout://\n");
  });

  test("missing --source → exit 2 with flux's message", async () => {
    const r = await berth(["push", "artifact", `oci://${reg.host}/x/y:1`, "-f", EXAMPLE, "--revision=r"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toStartWith("✗ --source is required");
  });

  test("unknown tag → exit 4, output dir untouched", async () => {
    const dest = join(work, "untouched");
    await mkdir(dest);
    await writeFile(join(dest, "keep.txt"), "keep");
    const r = await berth(["pull", "artifact", `oci://${reg.host}/e2e/podinfo:nope`, "-o", dest]);
    expect(r.code).toBe(4);
    expect(r.stderr).toContain("nope");
    expect(await listFiles(dest)).toEqual(["keep.txt"]);
  });

  test("nothing listens → exit 5 (registry unavailable)", async () => {
    const r = await berth(["list", "artifacts", "oci://127.0.0.1:1/x/y", "--timeout", "20s"]);
    expect(r.code).toBe(5);
    expect(r.stderr).toContain("cannot reach 127.0.0.1:1");
  }, 60_000);

  test("--version is fast and exact", async () => {
    const r = await berth(["--version"]);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(JSON.parse(await readFile(join(import.meta.dir, "../../package.json"), "utf8")).version);
  });
});

describe("authentication and TLS (compiled binary)", () => {
  let basic: RegistryServer;
  let tls: RegistryServer;
  let mtls: RegistryServer;
  beforeAll(async () => {
    [basic, tls, mtls] = await Promise.all([startRegistry({ auth: "htpasswd" }), startRegistry({ tls: "tls", auth: "token" }), startRegistry({ tls: "mtls" })]);
  });
  afterAll(async () => {
    await Promise.all([basic?.stop(), tls?.stop(), mtls?.stop()]);
  });

  test("htpasswd: --creds works; a wrong password exits 3 and says how to fix it", async () => {
    const url = `oci://${basic.host}/auth/app:v1`;
    const ok = await berth(["push", "artifact", url, "-f", EXAMPLE, ...meta, "--creds", `${basic.username}:${basic.password}`]);
    expect(ok.stderr).toContain("► logging in to registry with credentials");
    expect(ok.code).toBe(0);
    const bad = await berth(["list", "artifacts", url, "--creds", `${basic.username}:wrong`]);
    expect(bad.code).toBe(3);
    expect(bad.stderr).toContain("hint:");
    const anon = await berth(["list", "artifacts", url]);
    expect(anon.code).toBe(3);
  });

  test("docker config.json credentials are used when --creds is absent", async () => {
    const home = join(work, "home");
    await mkdir(join(home, ".docker"), { recursive: true });
    const auth = Buffer.from(`${basic.username}:${basic.password}`).toString("base64");
    await writeFile(join(home, ".docker/config.json"), JSON.stringify({ auths: { [basic.host]: { auth } } }));
    const r = await berth(["list", "artifacts", `oci://${basic.host}/auth/app`, "-o", "json"], { home });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)[0].tag).toBe("v1");
  });

  test("TLS with a private CA: refused without --ca-file, works with it (token auth)", async () => {
    const url = `oci://${tls.host}/tls/app:v1`;
    const creds = `${tls.username}:${tls.password}`;
    const no = await berth(["push", "artifact", url, "-f", EXAMPLE, ...meta, "--creds", creds]);
    expect(no.code).not.toBe(0);
    expect(no.stderr).toContain("--ca-file");
    const yes = await berth(["push", "artifact", url, "-f", EXAMPLE, ...meta, "--creds", creds, "--ca-file", tls.caFile!]);
    expect(yes.stderr).toContain("✔ artifact successfully pushed");
    expect(yes.code).toBe(0);
  });

  test("mTLS: client certificate required", async () => {
    const url = `oci://${mtls.host}/mtls/app:v1`;
    const without = await berth(["push", "artifact", url, "-f", EXAMPLE, ...meta, "--ca-file", mtls.caFile!]);
    expect(without.code).not.toBe(0);
    const withCert = await berth(["push", "artifact", url, "-f", EXAMPLE, ...meta, "--ca-file", mtls.caFile!, "--cert-file", mtls.clientCertFile!, "--key-file", mtls.clientKeyFile!]);
    expect(withCert.stderr).toContain("✔ artifact successfully pushed");
    expect(withCert.code).toBe(0);
  });
});
