import { Box, Text } from "ink";
import { useState } from "react";
import type { SignArtifactResult, SignatureFormat } from "../../core/index.ts";
import { useAppApi } from "../app-context.ts";
import { errorMessage, parseRepo } from "../api.ts";
import useAsync from "../hooks/use-async.ts";
import useKeys from "../hooks/use-keys.ts";
import useRepos from "../hooks/use-repos.ts";
import useSpinner from "../hooks/use-spinner.ts";
import { actionFor, KEYMAPS } from "../keymap.ts";
import { fit, shortDigest } from "../render/tag-row.ts";
import { useServices } from "../services.ts";

/** Props of {@link SignView}. */
export interface SignViewProps {
  readonly active: boolean;
  readonly repo: string;
  readonly tag: string;
}

type Step = { step: "ask" } | { step: "signing" } | { step: "done"; result: SignArtifactResult & { identity?: { subject: string; issuer: string } } } | { step: "failed"; error: string };

/** How to make signing available, shown when `berth ui` has no key. */
export const SIGN_SETUP_HELP = [
  "No signing key configured.",
  "Key: start the UI with  berth ui --key cosign.key  (password from COSIGN_PASSWORD, else asked here);",
  "     create one with  berth generate-key-pair.",
  "Keyless: set SIGSTORE_ID_TOKEN to an OIDC identity token (audience sigstore),",
  "     or start with  berth ui --identity-token <token|file>;",
  "     --fulcio-url/--rekor-url pick other Sigstore instances.",
];

/**
 * Signs the digest a tag points at, as `berth sign artifact` does (the digest is resolved once and
 * signed, never the tag), then shows what was written.
 */
export default function SignView({ active, repo, tag }: SignViewProps) {
  const app = useAppApi();
  const repos = useRepos();
  const signing = useServices().signing;
  const [format, setFormat] = useState<SignatureFormat>("bundle");
  const [state, setState] = useState<Step>({ step: "ask" });
  const subject = useAsync(async (signal) => (await (await repos.target(repo)).resolve(tag, { signal })).digest, `${repo}:${tag}`);
  const spin = useSpinner(subject.status === "loading" || state.step === "signing");
  const digest = subject.status === "ok" ? subject.value : undefined;
  const keyless = !signing?.keyPath && Boolean(signing?.identityToken);
  const canSign = (Boolean(signing?.keyPath) || keyless) && digest !== undefined;

  const sign = (password?: string) => {
    if (!signing || !digest) return;
    setState({ step: "signing" });
    // Not aborted on unmount: a signature that is being pushed is allowed to finish.
    signing.sign(parseRepo(repo), digest, { format, ...(password !== undefined ? { password } : {}) }).then(
      (result) => {
        setState({ step: "done", result });
        app.flash(result.pushed ? `✔ signed ${shortDigest(digest)}` : `✔ ${shortDigest(digest)} was already signed with this key`);
      },
      (e) => setState({ step: "failed", error: errorMessage(e) }),
    );
  };

  useKeys(
    (name) => {
      const action = actionFor(KEYMAPS.sign, name);
      if (state.step !== "ask" || !canSign) return false;
      if (action === "format") setFormat((f) => (f === "bundle" ? "legacy" : "bundle"));
      else if (action === "confirm") {
        if (signing!.keyPath && signing!.needsPassword) app.prompt({ label: `password for ${signing!.keyPath}: `, secret: true, onSubmit: (p) => sign(p) });
        else sign();
      } else return false;
      return true;
    },
    active,
    state.step === "ask" && canSign ? undefined : [],
  );

  const t = app.theme;
  const w = app.width;
  const lines: { text: string; color?: string; bold?: boolean }[] = [{ text: `Sign ${repo}${tag.startsWith("sha256:") ? "@" : ":"}${tag}`, bold: true }];
  if (subject.status === "loading") lines.push({ text: `${spin} resolving ${tag}…` });
  else if (subject.status === "error") lines.push({ text: `✗ ${subject.error}`, color: t.error });
  else lines.push({ text: `digest  ${subject.value}` });

  if (!signing?.keyPath && !keyless) {
    for (const l of SIGN_SETUP_HELP) lines.push({ text: l, color: l === SIGN_SETUP_HELP[0] ? t.highlight : undefined });
  } else {
    if (keyless) {
      const k = signing!.keyless;
      lines.push({ text: `keyless  identity token from ${k?.tokenSource ?? "SIGSTORE_ID_TOKEN"}` });
      lines.push({ text: `         certificate from Fulcio at ${k?.fulcioURL ?? "https://fulcio.sigstore.dev"}`, color: t.dim });
      lines.push({ text: `         entry in the Rekor log at ${k?.rekorURL ?? "https://rekor.sigstore.dev"}`, color: t.dim });
    } else {
      lines.push({ text: `key     ${signing!.keyPath}` });
      if (signing!.needsPassword) lines.push({ text: "        encrypted: its password is asked on y (or set COSIGN_PASSWORD)", color: t.dim });
    }
    lines.push({ text: `format  ${format === "bundle" ? "bundle (cosign v3 Sigstore bundle referrer)" : "legacy (cosign v2 sha256-<hex>.sig tag)"}` });
    if (state.step === "ask" && digest) lines.push({ text: "y/enter: sign this digest · f: switch format · esc: back", color: t.highlight, bold: true });
    if (state.step === "signing") lines.push({ text: `${spin} signing ${shortDigest(digest ?? "")}…` });
    if (state.step === "failed") lines.push({ text: `✗ signing failed: ${state.error}`, color: t.error });
    if (state.step === "done") {
      const r = state.result;
      lines.push({ text: r.pushed ? `✔ signed ${r.digest}` : `✔ already signed with this key and payload; nothing pushed`, color: t.added, bold: true });
      // A value that does not fit beside its label goes on its own line: digests must show whole.
      const field = (label: string, value: string) => {
        if (label.length + 1 + value.length <= w) lines.push({ text: `${label} ${value}` });
        else lines.push({ text: label }, { text: value });
      };
      field("format:   ", r.format);
      field("signature:", r.signatureManifest);
      field("tag:      ", r.tag ?? "(none: an OCI referrer of the digest)");
      if (r.identity) field("identity:", `${r.identity.subject} (issuer ${r.identity.issuer})`);
      lines.push({
        text: r.identity ? `verify: berth verify artifact … --certificate-identity ${r.identity.subject} --certificate-oidc-issuer ${r.identity.issuer}` : "verify: berth verify artifact … --key cosign.pub",
        color: t.dim,
      });
    }
  }
  return (
    <Box flexDirection="column">
      {lines.map((l, i) => (
        <Text key={i} color={l.color} bold={l.bold} wrap="truncate">
          {fit(l.text, w)}
        </Text>
      ))}
    </Box>
  );
}
