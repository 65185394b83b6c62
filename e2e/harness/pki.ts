/**
 * Throwaway certificates for the local control plane, made with the `openssl` CLI: a CA, the
 * apiserver's serving certificate, an admin client certificate in `system:masters` (which RBAC
 * lets do everything), and the RSA key pair that signs and verifies service account tokens.
 * Valid for two days: every run makes new ones.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Paths of the generated PEM files. */
export interface Pki {
  /** CA certificate (trust anchor for clients and for client certificates). */
  caCert: string;
  /** CA private key. */
  caKey: string;
  /** Serving certificate for DNS:localhost and IP:127.0.0.1. */
  servingCert: string;
  /** Serving private key. */
  servingKey: string;
  /** Client certificate CN=admin, O=system:masters. */
  adminCert: string;
  /** Admin private key. */
  adminKey: string;
  /** Service account signing key (RSA private key). */
  saKey: string;
  /** Service account verification key (RSA public key). */
  saPub: string;
}

/** Days the certificates stay valid; a test run lasts minutes. */
const DAYS = '2';

/**
 * Generates the PKI into `dir` (created if missing).
 * @param dir - output directory.
 * @returns the paths of the PEM files.
 */
export async function generatePki(dir: string): Promise<Pki> {
  fs.mkdirSync(dir, { recursive: true });
  const p = (name: string): string => path.join(dir, name);
  const pki: Pki = {
    caCert: p('ca.crt'),
    caKey: p('ca.key'),
    servingCert: p('serving.crt'),
    servingKey: p('serving.key'),
    adminCert: p('admin.crt'),
    adminKey: p('admin.key'),
    saKey: p('sa.key'),
    saPub: p('sa.pub'),
  };
  await Promise.all([makeCa(pki), makeServiceAccountKeys(pki)]);
  await Promise.all([
    signLeaf(pki, { name: 'serving', subject: '/CN=localhost', ext: SERVING_EXT }),
    signLeaf(pki, { name: 'admin', subject: '/O=system:masters/CN=admin', ext: CLIENT_EXT }),
  ]);
  return pki;
}

/** Extensions of the serving certificate: the names clients dial. */
const SERVING_EXT = [
  'basicConstraints=critical,CA:FALSE',
  'keyUsage=critical,digitalSignature,keyEncipherment',
  'extendedKeyUsage=serverAuth',
  'subjectAltName=DNS:localhost,IP:127.0.0.1',
].join('\n');

/** Extensions of the admin client certificate. */
const CLIENT_EXT = [
  'basicConstraints=critical,CA:FALSE',
  'keyUsage=critical,digitalSignature,keyEncipherment',
  'extendedKeyUsage=clientAuth',
].join('\n');

/** A self-signed CA certificate. */
async function makeCa(pki: Pki): Promise<void> {
  // prettier-ignore
  await run('openssl', [
    'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-sha256', '-days', DAYS,
    '-keyout', pki.caKey, '-out', pki.caCert, '-subj', '/CN=capstan-e2e-ca',
    '-addext', 'basicConstraints=critical,CA:TRUE',
    '-addext', 'keyUsage=critical,keyCertSign,cRLSign,digitalSignature',
  ]);
}

/** The RSA key pair for service account tokens (the apiserver signs, controllers verify). */
async function makeServiceAccountKeys(pki: Pki): Promise<void> {
  await run('openssl', ['genrsa', '-out', pki.saKey, '2048']);
  await run('openssl', ['rsa', '-in', pki.saKey, '-pubout', '-out', pki.saPub]);
}

/** What {@link signLeaf} makes: file prefix, subject and extensions. */
interface LeafSpec {
  name: 'serving' | 'admin';
  subject: string;
  ext: string;
}

/** A key, a CSR, and a certificate signed by the CA with the given extensions. */
async function signLeaf(pki: Pki, spec: LeafSpec): Promise<void> {
  const dir = path.dirname(pki.caCert);
  const key = path.join(dir, `${spec.name}.key`);
  const csr = path.join(dir, `${spec.name}.csr`);
  const ext = path.join(dir, `${spec.name}.ext`);
  fs.writeFileSync(ext, spec.ext + '\n');
  await run('openssl', [
    'req',
    '-new',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    key,
    '-out',
    csr,
    '-subj',
    spec.subject,
  ]);
  // prettier-ignore
  await run('openssl', [
    'x509', '-req', '-sha256', '-days', DAYS, '-in', csr,
    '-CA', pki.caCert, '-CAkey', pki.caKey, '-set_serial', randomSerial(),
    '-extfile', ext, '-out', path.join(dir, `${spec.name}.crt`),
  ]);
}

/** A random positive serial number (Go rejects certificates that share issuer and serial). */
function randomSerial(): string {
  return '0x' + (1 + Math.floor(Math.random() * 0x7fffffff)).toString(16) + Date.now().toString(16);
}
