#!/usr/bin/env bun
/**
 * Composition root: argv and env in, exit code out. The only place that calls process.exit.
 * Commands are declared here with their flags (so `--help` needs no heavy imports) and loaded lazily
 * with static paths, which keeps `berth --version` fast and lets the bundler see every module.
 */
import { realpathSync } from "node:fs";
import { pathToFileURL } from "node:url";
import { Command, CommanderError, Option } from "commander";
import { CoreError, isCoreError } from "./core/errors.ts";
import { EXIT_CODES } from "./cli/exit-codes.ts";
import { withIdentityPolicyFlags, withKeylessSignFlags, withRegistryFlags, withSignAfterFlags } from "./cli/flags.ts";
import { VERSION } from "./cli/version.ts";
import type { Streams } from "./cli/output.ts";
import type { RegistryFlags } from "./cli/flags.ts";

const collect = (v: string, prev: string[] = []) => [...prev, v];

function buildFlags(cmd: Command): Command {
  return cmd
    .option("--ignore-paths <patterns>", "gitignore-style paths to exclude; replaces the defaults (.git/,*.png,…); repeatable, comma-separated", collect)
    .option("--add-ignore-paths <patterns>", "gitignore-style paths to exclude in addition to the defaults", collect)
    .option("--resolve-symlinks", "copy symlink targets into the artifact instead of skipping symlinks", false)
    .option("--no-sourceignore", "do not read .sourceignore from the source root")
    .option("--normalize-modes", "store 0644/0755 modes so digests do not depend on umask", false)
    .addOption(new Option("--gzip <impl>", "compressor: go (byte-identical to flux) or zlib (faster, other digests)").choices(["go", "zlib"]).default("go"))
    .option("--gzip-workers <n>", "threads for the go compressor: 0 none, 1 overlaps compression with reading files, more split the stream (same bytes)");
}

export function createProgram(s: Streams, env: NodeJS.ProcessEnv, setExit: (n: number) => void): Command {
  const program = new Command("berth")
    .description("Ship Kubernetes configuration as OCI artifacts and deploy it with Flux")
    .version(VERSION, "-v, --version")
    .option("--debug", "print stack traces and causes on errors", false)
    .option("--controller", "run as a Flux-compatible OCIRepository controller; see berth --controller --help")
    .showSuggestionAfterError(true)
    .configureOutput({
      writeOut: (t) => s.out.write(t),
      writeErr: (t) => s.err.write(t),
      // Usage errors in flux's shape: "✗ unknown option '--foo'".
      outputError: (t, write) => write(`✗ ${t.replace(/^error: /, "")}`),
    })
    .exitOverride();

  const done = (p: Promise<number>) => p.then(setExit);

  const build = program.command("build").description("Build artifacts locally");
  buildFlags(
    build
      .command("artifact")
      .description("Build a Flux artifact tarball from a directory or file, exactly as push would upload it")
      .option("-p, --path <path>", "directory or file to package; - reads stdin")
      .option("-o, --output <file>", "where to write the tarball", "artifact.tgz")
      .option("--output-format <format>", "print the result as json or yaml")
      .option("-q, --quiet", "print only errors", false),
  )
    .addHelpText("after", "\nExamples:\n  berth build artifact --path ./deploy --output artifact.tgz\n  kustomize build ./overlays/prod | berth build artifact -p - -o prod.tgz\n")
    .action((opts) => done(import("./cli/commands/build.ts").then((m) => m.run(opts, s, env))));

  const push = program.command("push").description("Push artifacts to a registry or OCI layout");
  withRegistryFlags(
    buildFlags(
      withSignAfterFlags(
        push
          .command("artifact")
          .argument("[url]", "oci://<registry>/<repo>:<tag> or oci-layout://<dir>:<tag>")
          .description("Package a directory or file as a Flux artifact and push it")
          .option("-f, --path <path>", "directory or file to package; - reads stdin")
          .option("--source <url>", "the source address, e.g. the Git URL (org.opencontainers.image.source)")
          .option("--revision <rev>", "the source revision as <branch|tag>@sha1:<commit> (org.opencontainers.image.revision)")
          .option("-a, --annotations <key=value>", "extra manifest annotation; repeatable", collect)
          .option("--reproducible", "set the created annotation to the Unix epoch, so the same tree gives the same digest", false)
          .addOption(new Option("--media-types <profile>", "flux: Flux media types; docker: RFC-0003's Docker types for registries that reject custom ones").choices(["flux", "docker"]).default("flux"))
          .addOption(new Option("--config-profile <profile>", "config blob shape: flux-2.9 (default) or flux-2.8").choices(["flux-2.9", "flux-2.8"])),
        "after pushing",
      )
        .option("-o, --output <format>", "print the result as json or yaml on stdout")
        .option("-q, --quiet", "print only errors", false),
    ),
  )
    .addHelpText(
      "after",
      `
Examples:
  berth push artifact oci://ghcr.io/org/app-config:v1.0.0 -f ./deploy \\
    --source="$(git config --get remote.origin.url)" \\
    --revision="$(git branch --show-current)@sha1:$(git rev-parse HEAD)"
  berth push artifact oci-layout://./out:v1 -f ./examples/podinfo --source=local --revision=dev
  kustomize build . | berth push artifact oci://localhost:5000/app:latest -f - --source=x --revision=y -o json

SOURCE_DATE_EPOCH, when set, fixes the created annotation (like --reproducible, to a given time).
`,
    )
    .action((url, opts) => done(import("./cli/commands/push.ts").then((m) => m.run(url, opts, s, env))));

  const pull = program.command("pull").description("Pull artifacts");
  withRegistryFlags(
    pull
      .command("artifact")
      .argument("[url]", "oci://<registry>/<repo>:<tag>|@<digest> or oci-layout://<dir>:<tag>")
      .description("Pull an artifact and extract its content into a directory")
      .option("-o, --output <dir>", "directory to extract into; must exist unless --create-output")
      .option("--create-output", "create the output directory when it does not exist", false)
      .option("--output-format <format>", "print the result as json or yaml on stdout")
      .option("--layer-media-type <type>", "use the first layer with this media type instead of the first layer")
      .addOption(new Option("--layer-operation <op>", "extract the layer, or copy it as <digest>.tgz").choices(["extract", "copy"]).default("extract"))
      .option("--max-size <size>", "refuse archives whose content exceeds this (e.g. 100MiB, 1GiB, -1 for no limit)", "100MiB")
      .option("--max-entries <n>", "refuse archives with more entries than this")
      .option("-q, --quiet", "print only errors", false),
  )
    .addHelpText("after", "\nExamples:\n  berth pull artifact oci://ghcr.io/org/app-config:v1.0.0 -o ./out\n  berth pull artifact oci://ghcr.io/stefanprodan/charts/podinfo:6.5.0 --layer-media-type application/vnd.cncf.helm.chart.content.v1.tar+gzip --layer-operation copy -o .\n")
    .action((url, opts) => done(import("./cli/commands/pull.ts").then((m) => m.run(url, opts, s, env))));

  const tag = program.command("tag").description("Tag artifacts");
  withRegistryFlags(
    withSignAfterFlags(
      tag
        .command("artifact")
        .argument("[url]", "oci://<registry>/<repo>:<tag>|@<digest>")
        .description("Add tags to an existing artifact (e.g. promote staging to production)")
        .option("--tag <tags>", "new tag; repeatable, comma-separated", collect),
      "after tagging",
    )
      .option("-o, --output <format>", "print the result as json or yaml on stdout")
      .option("-q, --quiet", "print only errors", false),
  )
    .addHelpText("after", "\nExamples:\n  berth tag artifact oci://ghcr.io/org/app-config:v1.0.0 --tag latest --tag production\n  SIGSTORE_ID_TOKEN=$(cat token) berth tag artifact oci://ghcr.io/org/app-config:v1.0.0 --tag production --sign\n")
    .action((url, opts) => done(import("./cli/commands/tag.ts").then((m) => m.run(url, opts, s, env))));

  const list = program.command("list").alias("ls").description("List artifacts");
  withRegistryFlags(
    withIdentityPolicyFlags(
      list
        .command("artifacts")
        .alias("artifact")
        .argument("[url]", "oci://<registry>/<repo> or oci-layout://<dir>")
        .description("List the tags of a repository with their digest, source and revision")
        .option("--filter-semver <constraint>", "keep only semver tags matching this constraint, e.g. '>=1.0.0' or '1.x'")
        .option("--filter-regex <regex>", "keep only tags matching this RE2 regex (unanchored)")
        .option("--all", "also show signature, attestation, SBOM and referrer tags", false)
        .addOption(new Option("--sort <order>", "semver: newest version first; flux: descending string order").choices(["semver", "flux"]).default("semver"))
        .option("--wide", "add a CREATED column", false)
        .option("--signed", "add a SIGNED column: present when a cosign signature (bundle or legacy) is stored, - otherwise", false)
        .option("--verify-key <file>", "add a SIGNED column verified against this cosign.pub: verified, invalid or unsigned; repeatable", collect)
        .option("--trusted-root <file>", "keyless SIGNED column: Sigstore trusted_root.json; default the public-good root embedded in berth")
        .option("-o, --output <format>", "print json or yaml instead of the table"),
      "keyless SIGNED column (with --certificate-oidc-issuer[-regexp])",
    ),
  )
    .addHelpText("after", "\nExamples:\n  berth list artifacts oci://ghcr.io/org/app-config --filter-semver '>=1.0.0'\n  berth list artifacts oci-layout://./out -o json\n")
    .action((url, opts) => done(import("./cli/commands/list.ts").then((m) => m.run(url, opts, s, env))));

  const diff = program.command("diff").description("Compare artifacts");
  withRegistryFlags(
    buildFlags(
      diff
        .command("artifact")
        .argument("[urls...]", "one artifact URL with --path, or two artifact URLs")
        .description("Show what differs between an artifact and a local tree, or between two artifacts (exit 0 equal, 1 different, ≥2 error)")
        .option("--path <path>", "local directory or file to compare with")
        .option("--layer-media-type <type>", "compare the first layer with this media type")
        .option("--brief", "only compare digests; do not download or list changes", false)
        .option("--color", "force colors in the diff")
        .option("-o, --output <format>", "print the comparison as json or yaml"),
    ),
  )
    .addHelpText("after", "\nExamples:\n  berth diff artifact oci://ghcr.io/org/app-config:v1.0.0 --path ./deploy\n  berth diff artifact oci://ghcr.io/org/app-config:staging oci://ghcr.io/org/app-config:production\n")
    .action((urls, opts) => done(import("./cli/commands/diff.ts").then((m) => m.run(urls, opts, s, env))));

  withRegistryFlags(
    program
      .command("resolve")
      .argument("[url]", "oci://<registry>/<repo>")
      .description("Show which tag and digest an OCIRepository ref resolves to, and why")
      .option("--semver <constraint>", "semver range, as spec.ref.semver")
      .option("--semver-filter <regex>", "RE2 regex tags must match first, as spec.ref.semverFilter")
      .option("--tag <tag>", "as spec.ref.tag")
      .option("--digest <digest>", "as spec.ref.digest")
      .option("-o, --output <format>", "print json or yaml"),
  )
    .addHelpText("after", "\nExamples:\n  berth resolve oci://ghcr.io/stefanprodan/manifests/podinfo --semver '6.x'\n")
    .action((url, opts) => done(import("./cli/commands/resolve.ts").then((m) => m.run(url, opts, s, env))));

  withRegistryFlags(
    withKeylessSignFlags(
      program
        .command("ui")
        .argument("[url]", "oci://<registry>/<repo>[:tag] or oci-layout://<dir>[:tag] to open first")
        .description("Browse repositories, tags, artifacts and diffs, promote and sign tags, and watch OCIRepositories in a cluster, in a terminal UI (also: berth with no arguments)")
        .option("--kubeconfig <file>", "kubeconfig for the cluster screen (c); default $KUBECONFIG, ~/.kube/config, then the in-cluster service account")
        .option("--context <name>", "kubeconfig context to start with; default its current-context")
        .option("--key <file>", "cosign.key or PEM private key for S (sign); password from COSIGN_PASSWORD, else asked in the UI")
        .option("--verify-key <file>", "p (promote): verify the source's signatures with this public key before planning; repeatable", collect),
      "S without --key, keyless",
    ),
  )
    .addHelpText("after", "\nKeys: j/k move, enter open, / filter, d diff, p promote, S sign, c cluster, ? help, q back.\n\nExamples:\n  berth ui oci://ghcr.io/org/app-config\n  berth ui oci-layout://./out\n  berth ui --context prod --key cosign.key --verify-key cosign.pub\n")
    .action((url, opts, cmd: Command) => done(startUi(url, { ...opts, timeout: cmd.getOptionValueSource("timeout") === "default" ? "0" : opts.timeout }, s, env)));

  const sign = program.command("sign").description("Sign artifacts the way cosign does");
  withRegistryFlags(
    withKeylessSignFlags(
      sign
        .command("artifact")
        .argument("[url]", "oci://<registry>/<repo>:<tag>|@<digest> or oci-layout://<dir>:<tag>")
        .description("Sign an artifact's digest with a cosign key, or keyless (Fulcio + Rekor) without --key; cosign and Flux accept the signature")
        .option("--key <file>", "cosign.key (password from COSIGN_PASSWORD, a prompt or stdin) or a PEM private key")
        .addOption(new Option("--format <format>", "bundle: cosign v3 Sigstore bundle referrer; legacy: cosign v2 sha256-<hex>.sig image").choices(["bundle", "legacy"]).default("bundle"))
        .option("-a, --annotations <key=value>", "annotation covered by the signature; repeatable", collect)
        .option("-o, --output <format>", "print the result as json or yaml on stdout")
        .option("-q, --quiet", "print only errors", false),
      "keyless (no --key)",
    ),
  )
    .addHelpText("after", "\nExamples:\n  berth sign artifact oci://ghcr.io/org/app-config:v1.0.0 --key cosign.key\n  SIGSTORE_ID_TOKEN=$(cat token) berth sign artifact oci://ghcr.io/org/app-config:v1.0.0\n  COSIGN_PASSWORD= berth sign artifact oci://localhost:5000/app@sha256:… --key cosign.key --format legacy -a env=prod\n")
    .action((url, opts) => done(import("./cli/commands/sign.ts").then((m) => m.run(url, opts, s, env))));

  const verify = program.command("verify").description("Verify artifact signatures");
  withRegistryFlags(
    withIdentityPolicyFlags(
      verify
        .command("artifact")
        .argument("[url]", "oci://<registry>/<repo>:<tag>|@<digest> or oci-layout://<dir>:<tag>")
        .description("Verify cosign signatures (bundle or legacy) offline, with public keys or keyless against a trusted root (exit 0 verified, 7 not)")
        .option("--key <file>", "cosign.pub PEM public key; repeatable, any one may match", collect)
        .option("--trusted-root <file>", "keyless: Sigstore trusted_root.json (Fulcio CAs, Rekor and CT log keys) of a private instance; default: the public-good root embedded in berth (no network needed)")
        .option("-a, --annotations <key=value>", "annotation the signed payload must carry; repeatable", collect)
        .option("--any-predicate", "accept any in-toto attestation about the digest as a signature (cosign/Flux behaviour)", false)
        .option("-o, --output <format>", "print the result as json or yaml on stdout")
        .option("-q, --quiet", "print only errors", false),
      "keyless",
    ),
  )
    .addHelpText("after", "\nExamples:\n  berth verify artifact oci://ghcr.io/org/app-config:v1.0.0 --key cosign.pub\n  berth verify artifact oci://localhost:5000/app:dev --key a.pub --key b.pub -o json\n  berth verify artifact oci://ghcr.io/org/app-config:v1.0.0 \\\n    --certificate-identity-regexp '^https://github.com/org/app-config/' \\\n    --certificate-oidc-issuer https://token.actions.githubusercontent.com\n")
    .action((url, opts) => done(import("./cli/commands/verify.ts").then((m) => m.run(url, opts, s, env))));

  program
    .command("generate-key-pair")
    .description("Generate a cosign-compatible key pair: <prefix>.key (encrypted) and <prefix>.pub")
    .option("--output-key-prefix <prefix>", "file name prefix", "cosign")
    .option("--force", "overwrite existing key files", false)
    .option("-o, --output <format>", "print the file names as json or yaml on stdout")
    .addHelpText("after", "\nThe password comes from COSIGN_PASSWORD when set (empty is allowed), else a prompt, else stdin.\n\nExamples:\n  berth generate-key-pair\n  COSIGN_PASSWORD=… berth generate-key-pair --output-key-prefix release\n")
    .action((opts) => done(import("./cli/commands/generate-key-pair.ts").then((m) => m.run(opts, s, env))));

  program
    .command("install")
    .description("Install berth's OCIRepository controller in a cluster (server-side apply), or print its manifests with --export")
    .option("--export", "print the manifests on stdout instead of applying them", false)
    .option("-n, --namespace <ns>", "namespace of the controller", "flux-system")
    .option("--image <ref>", "controller image; default ghcr.io/berth/berth:<berth's version>")
    .option("--kubeconfig <file>", "kubeconfig to use; default $KUBECONFIG, then ~/.kube/config")
    .option("--context <name>", "kubeconfig context; default its current-context")
    .option("--timeout <duration>", "how long applying and waiting for the CRD may take", "1m")
    .option("-o, --output <format>", "with --export: yaml (default, multi-document) or json (a List); otherwise print the applied objects as json or yaml")
    .option("-q, --quiet", "print only errors", false)
    .addHelpText("after", "\nExamples:\n  berth install\n  berth install --export --namespace berth-system > berth.yaml\n  berth install --image registry.example.com/berth:dev --context staging\n")
    .action((opts) => done(import("./cli/commands/install.ts").then((m) => m.run(opts, s, env))));

  const kubeFlags = (cmd: Command): Command =>
    cmd
      .option("--kubeconfig <file>", "kubeconfig to use; default $KUBECONFIG, ~/.kube/config, then the in-cluster service account")
      .option("--context <name>", "kubeconfig context; default its current-context");
  /** `wait` and `reconcile` name one OCIRepository and print an outcome. */
  const objectFlags = (cmd: Command): Command =>
    kubeFlags(cmd)
      .option("-n, --namespace <ns>", "namespace of the object; default the kubeconfig context's, else default")
      .option("-o, --output <format>", "print the outcome as json or yaml on stdout")
      .option("-q, --quiet", "print only errors", false);

  objectFlags(
    program
      .command("wait")
      .argument("[object]", "ocirepository/<namespace>/<name>, or ocirepository/<name> with -n")
      .description("Wait until an OCIRepository is Ready, or serves a given revision (exit 0 ready, 4 not found, 7 verification failed, 9 timeout, 10 stalled)")
      .option("--for-revision <revision>", "a digest (sha256:…, matches <tag>@sha256:…) or a full revision (<tag>@sha256:…); without it, wait until Ready")
      .option("--timeout <duration>", "give up after this long (Go duration: 30s, 5m, 1h); exit 9", "5m"),
  )
    .addHelpText("after", "\nExamples:\n  berth wait ocirepository/flux-system/app\n  berth wait ocirepository/flux-system/app --for-revision sha256:3b1f…\n  berth wait ocirepository/app -n prod --for-revision production@sha256:3b1f… --timeout 2m -o json\n")
    .action((obj, opts) => done(import("./cli/commands/wait.ts").then((m) => m.run(obj, opts, s, env))));

  objectFlags(
    program
      .command("reconcile")
      .argument("[object]", "ocirepository/<namespace>/<name>, or ocirepository/<name> with -n")
      .description("Ask the controller to reconcile an OCIRepository now (reconcile.fluxcd.io/requestedAt), as flux reconcile does")
      .option("--wait", "wait until the request is handled (exit codes as berth wait)", false)
      .option("--timeout <duration>", "with --wait: give up after this long; exit 9", "5m"),
  )
    .addHelpText("after", "\nExamples:\n  berth reconcile ocirepository/flux-system/app --wait\n")
    .action((obj, opts) => done(import("./cli/commands/reconcile.ts").then((m) => m.run(obj, opts, s, env))));

  withRegistryFlags(
    kubeFlags(
      program
        .command("promote")
        .argument("[from]", "source: oci://<registry>/<repo>:<tag>|@<digest>")
        .argument("[to]", "target tag: oci://<registry>/<repo2>:<tag> (or use --to)")
        .description("Point a tag at the digest another reference names, with its signatures; show what changes, confirm, and optionally wait for Flux to serve it")
        .option("--to <tag>", "target tag in the source's repository")
        .option("--verify-key <file>", "refuse unless the source digest has a cosign signature from this cosign.pub; repeatable", collect)
        .option("-y, --yes", "promote without asking (needed when stdin is not a terminal)", false)
        .option("--wait", "wait until every OCIRepository tracking the target tag serves the new digest (exit codes as berth wait)", false)
        .option("--no-reconcile", "with --wait: do not request a reconcile of those OCIRepositories (they then move at their interval)")
        .option("-n, --namespace <ns>", "with --wait: look for tracking OCIRepositories only in this namespace; default all")
        .option("--color", "force colors in the change summary")
        .option("-o, --output <format>", "print the result as json or yaml on stdout")
        .option("-q, --quiet", "print only errors", false),
    ),
  )
    .addHelpText(
      "after",
      "\n--timeout covers the whole command, waiting included; a wait that runs out exits 9.\n\nExamples:\n  berth promote oci://ghcr.io/org/app:staging --to production --yes --wait\n  berth promote oci://ghcr.io/org/app-staging:v1.2.0 oci://ghcr.io/org/app-prod:v1.2.0 --verify-key cosign.pub\n",
    )
    .action((from, to, opts) => done(import("./cli/commands/promote.ts").then((m) => m.run(from, to, opts, s, env))));

  program
    .command("completion")
    .argument("<shell>", "bash, zsh or fish")
    .description("Print a shell completion script")
    .addHelpText("after", "\nExamples:\n  source <(berth completion bash)\n  berth completion zsh > \"${fpath[1]}/_berth\"\n")
    .action((shell) => done(import("./cli/completion.ts").then((m) => m.run(shell, program, s))));

  return program;
}

/** Flags of `berth ui`. */
type UiFlags = RegistryFlags & import("./cli/signing.ts").KeylessFlags & { kubeconfig?: string; context?: string; key?: string; verifyKey?: string[] };

/**
 * `berth ui`: hands the terminal to the UI at once (only Ink and the TUI's boot screen are loaded
 * before the first frame), then builds the registry services, the file-backed history and the
 * docker-config registries while that frame is up. Kubernetes and signing code load on first use.
 */
async function startUi(url: string | undefined, flags: UiFlags, s: Streams, env: NodeJS.ProcessEnv): Promise<number> {
  if (!s.out.isTTY || !process.stdin.isTTY) throw new CoreError({ code: "USAGE", message: "berth ui needs a terminal: stdin and stdout must be a TTY" });
  if (flags.key && flags.identityToken !== undefined) throw new CoreError({ code: "USAGE", message: "--key and --identity-token exclude each other: sign with a key or keyless" });
  const [{ runTui }, { parseArtifactURL }] = await Promise.all([import("./tui/run.ts"), import("./core/oci/ref.ts")]);
  // A bad URL fails before the screen is taken over.
  if (url) parseArtifactURL(url);
  let close: (() => Promise<void>) | undefined;
  try {
    await runTui({
      services: async () => {
        const built = await uiServices(flags, s, env);
        close = built.close;
        return built.services;
      },
      ...(url ? { url } : {}),
      color: !env.NO_COLOR,
    });
    return 0;
  } finally {
    await close?.();
  }
}

/** The TUI's services for `berth ui`: everything from the flags and env, built after the first frame. */
async function uiServices(flags: UiFlags, s: Streams, env: NodeJS.ProcessEnv): Promise<{ services: import("./tui/services.ts").TuiServices; close: () => Promise<void> }> {
  const [{ createServices }, { createFileHistory, registriesFromDockerConfig }, { readTarEntries }, fs, path, os, { planPromote, promoteArtifact }] = await Promise.all([
    import("./cli/services.ts"),
    import("./tui/local-state.ts"),
    import("./core/archive/extract.ts"),
    import("node:fs/promises"),
    import("node:path"),
    import("node:os"),
    import("./core/artifact/promote.ts"),
  ]);
  const home = env.HOME ?? os.homedir();
  const files = {
    read: (p: string) => fs.readFile(p, "utf8"),
    write: async (p: string, text: string) => {
      await fs.mkdir(path.dirname(p), { recursive: true });
      await fs.writeFile(p, text);
    },
  };
  const dockerConfig = path.join(env.DOCKER_CONFIG ?? path.join(home, ".docker"), "config.json");
  const registries = registriesFromDockerConfig(await files.read(dockerConfig).catch(() => ""));
  const history = createFileHistory({ path: path.join(env.XDG_STATE_HOME ?? path.join(home, ".local", "state"), "berth", "ui-history.json"), files });
  const services = createServices(flags, env, undefined, s.signal);
  const kubeconfig = flags.kubeconfig ?? env.KUBECONFIG?.split(":")[0] ?? path.join(home, ".kube", "config");
  const kube = {
    contexts: async () => (await import("./tui/cluster-client.ts")).kubeContexts(await files.read(kubeconfig).catch(() => "")),
    connect: async (context?: string) => {
      const [k8s, { createClusterClient }] = await Promise.all([import("./k8s/index.ts"), import("./tui/cluster-client.ts")]);
      const name = context ?? flags.context;
      const conn = await k8s.loadKubeConnection({ path: flags.kubeconfig, env, ...(name ? { context: name } : {}) });
      return createClusterClient(conn, name ?? (await kube.contexts()).current ?? "");
    },
  };
  // Keys are read now, so a missing or unreadable one ends the UI with its error before any screen uses it.
  const needsKeys = Boolean(flags.key) || Boolean(flags.verifyKey?.length);
  const [signing, keys] = needsKeys ? await Promise.all([import("./cli/signing.ts"), import("./core/sign/keys.ts")]) : [];
  const verifyKeys = signing && keys ? (flags.verifyKey ?? []).map((k) => keys.loadPublicKey(signing.readKeyFile(k))) : [];
  const keyPath = flags.key;
  const needsPassword = keyPath !== undefined && signing !== undefined && keys !== undefined && keys.isEncryptedCosignKey(signing.readKeyFile(keyPath)) && env.COSIGN_PASSWORD === undefined;
  const tokenSource = (await import("./cli/token-source.ts")).identityTokenSource(flags.identityToken, env);
  // Signing is `berth sign artifact`'s path: prepareSigner (the key, or keyless with the flags'
  // token and Fulcio/Rekor), then signDigest on the resolved digest.
  const sign = {
    ...(keyPath ? { keyPath } : {}),
    needsPassword,
    identityToken: tokenSource !== undefined,
    ...(tokenSource ? { keyless: { tokenSource, fulcioURL: flags.fulcioUrl ?? "https://fulcio.sigstore.dev", rekorURL: flags.rekorUrl ?? "https://rekor.sigstore.dev" } } : {}),
    sign: async (ref: import("./core/index.ts").ArtifactRef, digest: string, o: { format: "bundle" | "legacy"; password?: string; signal?: AbortSignal }) => {
      const signal = o.signal ?? services.signal;
      if (!keyPath && !tokenSource) throw new CoreError({ code: "USAGE", message: "no signing key: start berth ui with --key, or give --identity-token (or SIGSTORE_ID_TOKEN) for keyless signing" });
      const cli = await import("./cli/signing.ts");
      const prepared = await cli.prepareSigner({ ...flags, key: keyPath }, o.password === undefined ? env : { ...env, COSIGN_PASSWORD: o.password }, { signal });
      const target = await services.open(ref);
      const subject = await target.resolve(digest, { signal });
      return cli.signDigest(target, ref, subject, prepared, { format: o.format, signal });
    },
  };
  const promotion = {
    verifyKeys: verifyKeys.length,
    plan: (a: Parameters<typeof planPromote>[0], b: Parameters<typeof planPromote>[1], o: { signal?: AbortSignal }) => planPromote(a, b, { signal: o.signal ?? services.signal, ...(verifyKeys.length ? { verify: { keys: verifyKeys } } : {}) }),
    // The plan is one `plan` above returned: the TUI hands it back unchanged.
    promote: (plan: object, a: Parameters<typeof promoteArtifact>[1], b: Parameters<typeof promoteArtifact>[2], o: { sameRepository: boolean; mountFrom?: string; signal?: AbortSignal }) =>
      promoteArtifact(plan as Parameters<typeof promoteArtifact>[0], a, b, { ...o, signal: o.signal ?? services.signal }),
  };
  return {
    services: { open: (ref) => services.open(ref), readTar: (tar) => readTarEntries(tar), history, registries, signal: s.signal, kube, signing: sign, promotion },
    close: () => services.close(),
  };
}

/**
 * `berth --controller …`: a program of its own (the flag is global, not a subcommand), so its flags do
 * not leak into the CLI's commands. The controller code is imported only when it runs. Flag names,
 * defaults and env fallbacks are source-controller's, so a stock Deployment's args list works.
 */
export function createControllerProgram(s: Streams, env: NodeJS.ProcessEnv, setExit: (n: number) => void): Command {
  const bool = (v: string) => {
    if (!/^(true|false|1|0|t|f)$/i.test(v)) throw new CommanderError(2, "commander.invalidArgument", "expected true or false");
    return /^(true|1|t)$/i.test(v);
  };
  return new Command("berth")
    .description("Run as a Flux-compatible OCIRepository controller (source.toolkit.fluxcd.io/v1)")
    .requiredOption("--controller", "run the controller")
    .option("--debug", "print stack traces and causes on errors", false)
    .option("--kubeconfig <file>", "kubeconfig to use; default $KUBECONFIG, ~/.kube/config, then the in-cluster service account")
    .option("--storage-path <dir>", "where artifacts are stored; default $STORAGE_PATH")
    .option("--storage-addr <addr>", "address the artifact file server binds; default $STORAGE_ADDR or :9090")
    .option("--storage-adv-addr <addr>", "host[:port] put in artifact URLs; default $STORAGE_ADV_ADDR, else derived from --storage-addr")
    .option("--artifact-retention-ttl <duration>", "age after which non-current artifacts are garbage collected", "1m")
    .option("--artifact-retention-records <n>", "artifacts kept per object, the current one included", "2")
    .option("--artifact-digest-algo <algo>", "digest algorithm of status.artifact.digest (only sha256 is supported)", "sha256")
    .option("--concurrent <n>", "objects reconciled at once", "2")
    .option("--min-retry-delay <duration>", "first retry delay after a failed reconcile (doubles per failure)", "750ms")
    .option("--max-retry-delay <duration>", "cap of the retry delay", "15m")
    .option("--interval-jitter-percentage <n>", "± percent spread of the requeue after spec.interval (0-99)", "5")
    .option("--watch-all-namespaces [bool]", "watch every namespace; false watches only $RUNTIME_NAMESPACE", bool, true)
    .option("--watch-label-selector <selector>", "only reconcile objects with matching labels (sharding, e.g. 'sharding.fluxcd.io/key notin (shard1)')", "")
    .option("--namespace <ns>", "watch only this namespace (berth shortcut for --watch-all-namespaces=false with RUNTIME_NAMESPACE=<ns>)")
    .option("--enable-leader-election [bool]", "reconcile only while holding the Lease berth-controller-leader-election (-<sha256(selector)[:8]> when sharding)", bool, false)
    .option("--leader-election-lease-duration <duration>", "how long a standby waits for a silent leader", "35s")
    .option("--leader-election-renew-deadline <duration>", "how long the leader retries renewing before it stops", "30s")
    .option("--leader-election-retry-period <duration>", "pause between acquire/renew attempts", "5s")
    .option("--leader-election-release-on-cancel [bool]", "release the lease on shutdown", bool, true)
    .option("--graceful-shutdown-timeout <duration>", "on SIGTERM/SIGINT, how long running reconciles may finish", "25s")
    .option("--metrics-addr <addr>", "address of /metrics (0 disables); default $METRICS_ADDR or :8080")
    .option("--health-addr <addr>", "address of /healthz and /readyz (0 disables)", ":9440")
    .addOption(new Option("--log-level <level>", "log verbosity").choices(["trace", "debug", "info", "error"]).default("info"))
    .addOption(new Option("--log-encoding <encoding>", "json lines or console text").choices(["json", "console"]).default("json"))
    // Accepted so upstream manifests work unchanged; they configure features berth does not have.
    .addOption(new Option("--events-addr <url>").hideHelp())
    .option("--feature-gates <gates>", "comma-separated Gate=true|false: ObjectLevelWorkloadIdentity (not supported yet), CacheSecretsAndConfigMaps (no effect), OptimizedGitClones (Git only)")
    .addOption(new Option("--requeue-dependency <duration>").hideHelp())
    .addOption(new Option("--watch-configs-label-selector <selector>").hideHelp())
    .option("--default-service-account <name>", "not supported: must be empty (objects would otherwise use the controller's own identity)")
    .addOption(new Option("--token-cache-max-size <n>").hideHelp())
    .addOption(new Option("--token-cache-max-duration <duration>").hideHelp())
    .addOption(new Option("--kube-api-qps <n>").hideHelp())
    .addOption(new Option("--kube-api-burst <n>").hideHelp())
    .allowUnknownOption()
    .allowExcessArguments()
    .addHelpText(
      "after",
      "\nAccepted and ignored (source-controller flags for features berth does not implement): --events-addr,\n" +
        "--requeue-dependency, --watch-configs-label-selector, --token-cache-*, --kube-api-qps,\n" +
        "--kube-api-burst, and any other unknown flag such as --helm-* and --ssh-*.\n",
    )
    .configureOutput({ writeOut: (t) => s.out.write(t), writeErr: (t) => s.err.write(t), outputError: (t, write) => write(`✗ ${t.replace(/^error: /, "")}`) })
    .exitOverride()
    .action((opts) => runController(opts, s, env).then(setExit));
}

interface ControllerFlags {
  kubeconfig?: string;
  storagePath?: string;
  storageAddr?: string;
  storageAdvAddr?: string;
  artifactRetentionTtl: string;
  artifactRetentionRecords: string;
  artifactDigestAlgo: string;
  concurrent: string;
  minRetryDelay: string;
  maxRetryDelay: string;
  intervalJitterPercentage: string;
  watchAllNamespaces: boolean;
  watchLabelSelector: string;
  namespace?: string;
  enableLeaderElection: boolean;
  leaderElectionLeaseDuration: string;
  leaderElectionRenewDeadline: string;
  leaderElectionRetryPeriod: string;
  leaderElectionReleaseOnCancel: boolean;
  gracefulShutdownTimeout: string;
  metricsAddr?: string;
  healthAddr: string;
  logLevel: "trace" | "debug" | "info" | "error";
  logEncoding: "json" | "console";
  featureGates?: string;
  defaultServiceAccount?: string;
}

/** source-controller's feature gates and their defaults; any other name is rejected, as upstream does. */
const CONTROLLER_FEATURE_GATES: Readonly<Record<string, boolean>> = { ObjectLevelWorkloadIdentity: false, CacheSecretsAndConfigMaps: false, OptimizedGitClones: true };

/** Parses `--feature-gates A=true,B=false` over the defaults; throws the message of a usage error. */
export function parseControllerFeatureGates(spec: string | undefined): Record<string, boolean> {
  const gates = { ...CONTROLLER_FEATURE_GATES };
  for (const item of (spec ?? "").split(",").map((x) => x.trim()).filter((x) => x !== "")) {
    const m = /^([^=]+)=(.*)$/.exec(item);
    if (!m) throw new Error(`--feature-gates: missing bool value for ${item} (use ${item}=true)`);
    const name = m[1]!.trim();
    if (!(name in CONTROLLER_FEATURE_GATES)) throw new Error(`--feature-gates: unrecognized feature gate: ${name} (known: ${Object.keys(CONTROLLER_FEATURE_GATES).join(", ")})`);
    const v = m[2]!.trim();
    if (!/^(true|false|1|0|t|f)$/i.test(v)) throw new Error(`--feature-gates: invalid value of ${name}=${v}, expected true or false`);
    gates[name] = /^(true|1|t)$/i.test(v);
  }
  return gates;
}

async function runController(opts: ControllerFlags, s: Streams, env: NodeJS.ProcessEnv): Promise<number> {
  const usage = (message: string) => new CoreError({ code: "USAGE", message });
  const storagePath = opts.storagePath ?? env.STORAGE_PATH;
  if (!storagePath) throw usage("the controller needs --storage-path (or $STORAGE_PATH)");
  const int = (flag: string, v: string, min: number, max = Number.MAX_SAFE_INTEGER) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min || n > max) throw usage(`--${flag} must be an integer in [${min}, ${max}], got ${v}`);
    return n;
  };
  const concurrent = int("concurrent", opts.concurrent, 1);
  const records = int("artifact-retention-records", opts.artifactRetentionRecords, 1);
  const jitter = int("interval-jitter-percentage", opts.intervalJitterPercentage, 0, 99);
  if (opts.artifactDigestAlgo !== "sha256") throw usage(`--artifact-digest-algo ${opts.artifactDigestAlgo} is not supported; use sha256`);
  const namespace = opts.namespace ?? (opts.watchAllNamespaces ? undefined : env.RUNTIME_NAMESPACE);
  if (!opts.watchAllNamespaces && !namespace) throw usage("--watch-all-namespaces=false needs $RUNTIME_NAMESPACE");
  let gates: Record<string, boolean>;
  try {
    gates = parseControllerFeatureGates(opts.featureGates);
  } catch (e) {
    throw usage((e as Error).message);
  }
  // Ignoring it would let every object without serviceAccountName pull with the controller's identity.
  if (opts.defaultServiceAccount) throw usage("--default-service-account is not supported by berth; objects would use the controller's own identity. Remove the flag, or set spec.serviceAccountName per object");
  const [{ startController }, { parseGoDuration }] = await Promise.all([import("./k8s/controller/controller.ts"), import("./core/duration.ts")]);
  const dur = (flag: string, v: string) => {
    try {
      return parseGoDuration(v);
    } catch {
      throw usage(`--${flag}: invalid duration ${JSON.stringify(v)} (use Go syntax such as 750ms, 30s, 15m)`);
    }
  };
  const rank = { trace: 0, debug: 0, info: 1, error: 2 } as const;
  const log = (msg: string, level: "debug" | "info" | "error" = "info") => {
    if (rank[level] < rank[opts.logLevel]) return;
    const ts = new Date().toISOString();
    s.err.write(opts.logEncoding === "json" ? `${JSON.stringify({ level, ts, msg })}\n` : `${ts}\t${level.toUpperCase()}\t${msg}\n`);
  };
  let controller;
  try {
    controller = await startController({
      kubeconfig: opts.kubeconfig,
      env,
      namespace,
      labelSelector: opts.watchLabelSelector,
      storagePath,
      storageAddr: opts.storageAddr ?? env.STORAGE_ADDR ?? env.STORAGE_ADDRESS ?? ":9090",
      storageAdvAddr: opts.storageAdvAddr ?? env.STORAGE_ADV_ADDR,
      concurrent,
      minRetryDelayMs: dur("min-retry-delay", opts.minRetryDelay),
      maxRetryDelayMs: dur("max-retry-delay", opts.maxRetryDelay),
      intervalJitterPercentage: jitter,
      artifactRetentionTTLMs: dur("artifact-retention-ttl", opts.artifactRetentionTtl),
      artifactRetentionRecords: records,
      leaderElection: opts.enableLeaderElection
        ? {
            leaseDurationMs: dur("leader-election-lease-duration", opts.leaderElectionLeaseDuration),
            renewDeadlineMs: dur("leader-election-renew-deadline", opts.leaderElectionRenewDeadline),
            retryPeriodMs: dur("leader-election-retry-period", opts.leaderElectionRetryPeriod),
            releaseOnCancel: opts.leaderElectionReleaseOnCancel,
          }
        : undefined,
      metricsAddr: opts.metricsAddr ?? env.METRICS_ADDR ?? ":8080",
      healthAddr: opts.healthAddr,
      shutdownGraceMs: dur("graceful-shutdown-timeout", opts.gracefulShutdownTimeout),
      objectLevelWorkloadIdentity: gates.ObjectLevelWorkloadIdentity,
      log,
    });
  } catch (e) {
    if (e instanceof RangeError) throw usage(e.message);
    throw e;
  }
  // SIGTERM (kubelet) and the first ^C both drain; losing the lease stops at once and exits 1, as upstream.
  const reason = await new Promise<string>((resolve) => {
    const done = (why: string) => {
      process.off("SIGTERM", onTerm);
      s.signal?.removeEventListener("abort", onAbort);
      resolve(why);
    };
    const onTerm = () => done("SIGTERM");
    const onAbort = () => done("interrupted");
    process.on("SIGTERM", onTerm);
    if (s.signal?.aborted) onAbort();
    s.signal?.addEventListener("abort", onAbort, { once: true });
    void controller.done.then(done);
  });
  log(`shutting down: ${reason}`, reason === "leader election lost" ? "error" : "info");
  const drained = await controller.stop();
  if (!drained) {
    // Abandoned reconciles hold sockets open and would keep the process alive past the grace period.
    setTimeout(() => process.exit(reason === "leader election lost" ? 1 : 0), 1000).unref();
  }
  return reason === "leader election lost" ? 1 : 0;
}

/** Runs berth with argv; returns the exit code. Exported for in-process tests. */
export async function runMain(argv: string[], s: Streams, env: NodeJS.ProcessEnv): Promise<number> {
  let code = 0;
  const program = argv.includes("--controller") ? createControllerProgram(s, env, (n) => (code = n)) : createProgram(s, env, (n) => (code = n));
  const debug = argv.includes("--debug");
  // `berth` alone on a terminal opens the UI (as k9s and lazygit do); piped, it prints help as before.
  if (argv.length === 0 && s.out.isTTY && process.stdin.isTTY) argv = ["ui"];
  try {
    await program.parseAsync(argv, { from: "user" });
    return code;
  } catch (e) {
    return reportError(e, s, debug);
  }
}

function reportError(e: unknown, s: Streams, debug: boolean): number {
  if (e instanceof CommanderError) {
    // Help and version exit 0; usage errors were already printed by commander.
    return e.exitCode === 0 ? 0 : 2;
  }
  if (isCoreError(e)) {
    s.err.write(`✗ ${e.message}\n`);
    if (e.details.hint) s.err.write(`  hint: ${e.details.hint}\n`);
    if (debug) s.err.write(`${e.stack}\n${e.cause ? `cause: ${String((e.cause as Error).stack ?? e.cause)}\n` : ""}`);
    if (e.code === "INTERNAL") s.err.write("  this is a bug in berth; please file an issue with the output of --debug\n");
    return EXIT_CODES[e.code];
  }
  if (e && typeof e === "object" && (e as { usage?: boolean }).usage) {
    s.err.write(`✗ ${(e as Error).message}\n`);
    return 2;
  }
  s.err.write(`✗ unexpected error: ${e instanceof Error ? e.message : String(e)}\n`);
  if (debug && e instanceof Error) s.err.write(`${e.stack}\n`);
  s.err.write("  this is a bug in berth; please file an issue with the output of --debug\n");
  return EXIT_CODES.INTERNAL;
}

/** True when this module is the program's entry (Bun and Deno set import.meta.main; Node 22 does not). */
function isEntry(): boolean {
  const meta = import.meta as ImportMeta & { main?: boolean };
  if (typeof meta.main === "boolean") return meta.main;
  const arg = process.argv[1];
  return arg !== undefined && import.meta.url === pathToFileURL(realpathSync(arg)).href;
}

if (isEntry()) {
  // First ^C aborts the operation so it can remove its temp files and leave outputs as they were;
  // a second one exits at once.
  const interrupt = new AbortController();
  process.on("SIGINT", () => {
    if (interrupt.signal.aborted) process.exit(130);
    interrupt.abort(new DOMException("interrupted", "AbortError"));
  });
  const code = await runMain(process.argv.slice(2), { out: process.stdout, err: process.stderr, signal: interrupt.signal }, process.env);
  process.exitCode = interrupt.signal.aborted ? 130 : code;
}
