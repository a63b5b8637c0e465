/**
 * Secrets (key passwords, private keys, OIDC tokens, CI request tokens) never reach error text:
 * every failing call below is run, and its message, hint, stack and whole cause chain are searched
 * for the secret values.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { generateKeyPairSync } from "node:crypto";
import { isCoreError } from "../../../../src/core/errors.ts";
import { requestSigningCertificate } from "../../../../src/core/sign/fulcio.ts";
import { generateKeyPair, loadPrivateKey } from "../../../../src/core/sign/keys.ts";
import { createKeylessSigner } from "../../../../src/core/sign/keyless-signer.ts";
import { fetchGitHubActionsToken, tokenClaims } from "../../../../src/core/sign/oidc.ts";
import { redact } from "../../../../src/core/sign/service-http.ts";

const PASSWORD = "s3cret-pa55word-41c7";
const part = (o: unknown) => Buffer.from(JSON.stringify(o)).toString("base64url");
const TOKEN = `${part({ alg: "RS256" })}.${part({ iss: "https://issuer.example", sub: "someone@example.com", aud: "sigstore" })}.c2lnbmF0dXJlLXNlY3JldC04ODIx`;
const REQUEST_TOKEN = "gha-request-token-0b7e5d";

/** Everything an error could print: message, hint, stack and every cause, recursively. */
function errorText(e: unknown, depth = 0): string {
  if (depth > 5 || e === undefined || e === null) return "";
  if (!(e instanceof Error)) return String(e);
  const details = isCoreError(e) ? JSON.stringify(e.details) : "";
  return [e.message, e.stack ?? "", details, errorText((e as { cause?: unknown }).cause, depth + 1)].join("\n");
}

async function failure(fn: () => unknown): Promise<string> {
  try {
    await fn();
  } catch (e) {
    return errorText(e);
  }
  throw new Error("expected the call to fail");
}

function expectNoSecret(text: string, ...secrets: string[]): void {
  expect(text.length).toBeGreaterThan(0);
  for (const s of secrets) expect(text).not.toContain(s);
}

/** A server that answers every request with `status` and a body echoing the request, headers included. */
let echo: ReturnType<typeof Bun.serve>;
let status = 401;
beforeAll(() => {
  echo = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(req) {
      const body = await req.text();
      return Response.json({ message: `rejected ${req.url} ${JSON.stringify([...req.headers])} ${body}` }, { status });
    },
  });
});
afterAll(() => echo?.stop(true));
const echoURL = () => `http://127.0.0.1:${echo.port}`;

describe("no secret in error text", () => {
  test("a wrong key password", async () => {
    const kp = generateKeyPair(PASSWORD);
    const text = await failure(() => loadPrivateKey(kp.privateKeyPem, `${PASSWORD}-wrong`));
    expect(text).toContain("wrong password");
    expectNoSecret(text, PASSWORD, `${PASSWORD}-wrong`);
  });

  test("an unparsable private key PEM", async () => {
    const body = "TUlJQmFkS2V5TWF0ZXJpYWwtZG8tbm90LWxlYWs=";
    const text = await failure(() => loadPrivateKey(`-----BEGIN PRIVATE KEY-----\n${body}\n-----END PRIVATE KEY-----\n`, undefined));
    expectNoSecret(text, body);
  });

  test("a malformed identity token", async () => {
    for (const t of ["not-a-jwt-secret-7781", `${TOKEN}.extra`, "a.b-secret-x.c"]) {
      expectNoSecret(await failure(() => tokenClaims(t)), t, "b-secret-x");
    }
  });

  test("Fulcio refusing the token (and echoing it back)", async () => {
    status = 401;
    const { privateKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
    const text = await failure(() => requestSigningCertificate({ fulcioURL: echoURL(), identityToken: TOKEN, privateKey, attempts: 1 }));
    expect(text).toContain("401");
    expect(text).toContain("[REDACTED]");
    expectNoSecret(text, TOKEN);
  });

  test("Fulcio failing with 5xx after retries, through the keyless signer", async () => {
    status = 503;
    const text = await failure(() => createKeylessSigner({ identityToken: TOKEN, fulcioURL: echoURL(), rekorURL: echoURL(), attempts: 2 }));
    expect(text).toContain("503");
    expectNoSecret(text, TOKEN);
  });

  test("an unreachable Fulcio", async () => {
    const text = await failure(() => createKeylessSigner({ identityToken: TOKEN, fulcioURL: "http://127.0.0.1:1", attempts: 1 }));
    expectNoSecret(text, TOKEN);
  });

  test("GitHub Actions refusing the request token (and echoing the Authorization header)", async () => {
    status = 403;
    const text = await failure(() => fetchGitHubActionsToken(`${echoURL()}/token?x=1`, REQUEST_TOKEN, { attempts: 1 }));
    expect(text).toContain("403");
    expectNoSecret(text, REQUEST_TOKEN);
  });

  test("redact replaces every occurrence and ignores too-short secrets", () => {
    expect(redact("a TOKEN b TOKEN", ["TOKEN"])).toBe("a [REDACTED] b [REDACTED]");
    expect(redact("abc", ["b"])).toBe("abc");
    expect(redact("x eyJhbGc.eyJzdWIi.c2ln y", [])).toBe("x [REDACTED] y");
  });
});
