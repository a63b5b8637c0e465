import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runOk } from "./run.ts";

/** PEM files of a throwaway PKI: one CA, a server cert for 127.0.0.1/localhost, a client cert. */
export interface TestCerts {
  /** Directory holding every file below; removed by `remove()`. */
  dir: string;
  caCert: string;
  caKey: string;
  /** Server certificate with SANs IP:127.0.0.1, DNS:localhost, signed by the CA. */
  serverCert: string;
  serverKey: string;
  /** Client certificate (CN=berth-test-client, extendedKeyUsage clientAuth), signed by the CA. */
  clientCert: string;
  clientKey: string;
  /** Deletes `dir`. */
  remove(): void;
}

/** Options for {@link generateCerts}. */
export interface GenerateCertsOptions {
  /** Directory to write into (must exist). Default: a new temp dir. */
  dir?: string;
}

const VALID_DAYS = "2";

/** Writes a new P-256 private key to `path` (EC keys keep openssl and Go fast). */
async function newKey(path: string): Promise<void> {
  await runOk(["openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", path]);
}

/**
 * Writes a self-signed certificate for a fresh P-256 key, e.g. the key a token server signs with.
 * Returns the paths of the certificate and the key.
 */
export async function selfSignedCert(dir: string, name: string, cn: string): Promise<{ cert: string; key: string }> {
  const key = join(dir, `${name}.key`);
  const cert = join(dir, `${name}.pem`);
  await newKey(key);
  await runOk(["openssl", "req", "-x509", "-new", "-key", key, "-out", cert, "-days", VALID_DAYS, "-subj", `/CN=${cn}`]);
  return { cert, key };
}

/**
 * Generates a CA, a server certificate (SANs 127.0.0.1 and localhost) and a client certificate with
 * `openssl`, all valid for two days. Throws when openssl is missing or fails.
 */
export async function generateCerts(opts: GenerateCertsOptions = {}): Promise<TestCerts> {
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), "berth-certs-"));
  const p = (f: string) => join(dir, f);
  await newKey(p("ca.key"));
  await runOk([
    "openssl", "req", "-x509", "-new", "-key", p("ca.key"), "-out", p("ca.pem"), "-days", VALID_DAYS,
    "-subj", "/CN=berth test CA",
    "-addext", "basicConstraints=critical,CA:TRUE",
    "-addext", "keyUsage=critical,keyCertSign,cRLSign",
  ]);
  const leaf = async (name: string, cn: string, ext: string[]) => {
    await newKey(p(`${name}.key`));
    const extFile = p(`${name}.ext`);
    writeFileSync(extFile, ext.join("\n") + "\n");
    await runOk(["openssl", "req", "-new", "-key", p(`${name}.key`), "-out", p(`${name}.csr`), "-subj", `/CN=${cn}`]);
    await runOk([
      "openssl", "x509", "-req", "-in", p(`${name}.csr`), "-CA", p("ca.pem"), "-CAkey", p("ca.key"),
      "-CAcreateserial", "-out", p(`${name}.pem`), "-days", VALID_DAYS, "-extfile", extFile,
    ]);
  };
  await leaf("server", "127.0.0.1", [
    "basicConstraints=CA:FALSE",
    "keyUsage=critical,digitalSignature,keyEncipherment",
    "extendedKeyUsage=serverAuth",
    "subjectAltName=IP:127.0.0.1,DNS:localhost",
  ]);
  await leaf("client", "berth-test-client", [
    "basicConstraints=CA:FALSE",
    "keyUsage=critical,digitalSignature,keyEncipherment",
    "extendedKeyUsage=clientAuth",
  ]);
  return {
    dir,
    caCert: p("ca.pem"),
    caKey: p("ca.key"),
    serverCert: p("server.pem"),
    serverKey: p("server.key"),
    clientCert: p("client.pem"),
    clientKey: p("client.key"),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
