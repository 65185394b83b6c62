/**
 * ESO's own template helpers for keys and certificates (`runtime/template/v2`: pem.go, pem_chain.go,
 * pkcs12.go, jwk.go), on node's crypto and node-forge (PKCS#12, ASN.1):
 *
 * - `filterPEM TYPE input`: the PEM blocks of TYPE (case-insensitive), re-encoded; junk before the
 *   first block is skipped; no block of TYPE and trailing junk is an error.
 * - `filterCertChain leaf|intermediate|root input`: orders the certificates by authority/subject
 *   key identifiers (leaf -> intermediates -> root, no signature check: a formatting helper) and
 *   returns the wanted part ("" when the chain has none).
 * - `pkcs12key[Pass] [PASS] archive`, `pkcs12cert[Pass] [PASS] archive`: the private key (PKCS#8
 *   PEM) or the certificates (leaf first, ordered when they form one chain) of a binary PKCS#12
 *   archive (`{{ .keystore | b64dec | pkcs12key }}`).
 * - `pemToPkcs12[Pass] CERT KEY [PASS]`, `fullPemToPkcs12[Pass] CERT KEY [PASS]` (all the
 *   certificates of CERT, not only the first): a base64 PKCS#12 archive (AES-256, SHA-256 MAC), as ESO,
 *   for RSA, EC and Ed25519 keys (`pkcs12write.ts`).
 * - `jwkPublicKeyPem JWK`, `jwkPrivateKeyPem JWK`: a JSON Web Key as PKIX public / PKCS#8 private PEM.
 * - `rsaDecrypt SCHEME HASH DATA KEY` (`RSA-OAEP` with SHA1/SHA256/SHA512, or `None`), `certSANs CERT`
 *   (the subject alternative names as a list).
 *
 * Errors say what failed ("not a PKCS#12 archive or wrong password"), never a key or value.
 */
import crypto from 'node:crypto';
import type * as Forge from 'node-forge';
import { GoTemplateError } from './errors';
import type { GoFunc } from './exec';
import { writePkcs12 } from './pkcs12write';
import { fromBytes, type Value } from './values';

let forgeModule: typeof Forge | undefined;

/**
 * node-forge, loaded on the first PKCS#12 or certificate call rather than at start (issue 10 §2 P2: about
 * 10 MiB of RSS that a process whose templates never use these functions does not need).
 */
function forge(): typeof Forge {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (forgeModule ??= require('node-forge') as typeof Forge);
}

/** A decoded PEM block. */
interface PemBlock {
  type: string;
  der: Buffer;
}

/**
 * Go's `pem.Decode` loop: every well-formed block, and what follows the last one. One pass over the
 * lines (linear: a value full of BEGIN lines without END cannot make it quadratic).
 */
function decodePem(input: string): { blocks: PemBlock[]; rest: string } {
  const blocks: PemBlock[] = [];
  let rest = input;
  let open: { type: string; body: string[] } | undefined;
  const lineRe = /[^\n]*(?:\n|$)/g;
  for (let m = lineRe.exec(input); m && m[0]; m = lineRe.exec(input)) {
    const line = m[0].replace(/\r?\n$/, '');
    const begin = /^-----BEGIN ([^-]*)-----[ \t]*$/.exec(line);
    if (begin) {
      open = { type: begin[1], body: [] };
      continue;
    }
    if (!open) continue;
    if (line.trimEnd() === `-----END ${open.type}-----`) {
      const body = open.body
        .filter((l) => !l.includes(':'))
        .join('')
        .replace(/\s/g, '');
      if (/^[A-Za-z0-9+/]*={0,2}$/.test(body)) {
        blocks.push({ type: open.type, der: Buffer.from(body, 'base64') });
        rest = input.slice(lineRe.lastIndex);
      }
      open = undefined;
    } else open.body.push(line);
  }
  return { blocks, rest };
}

/** Go's `pem.Encode`: base64 in lines of 64. */
export function encodePem(type: string, der: Buffer): string {
  const b64 = der.toString('base64').replace(/(.{64})/g, '$1\n');
  return `-----BEGIN ${type}-----\n${b64}${b64.endsWith('\n') || !b64 ? '' : '\n'}-----END ${type}-----\n`;
}

function filterPEM(pemType: string, input: string): string {
  const start = input.indexOf('-----BEGIN');
  const { blocks, rest } = decodePem(start < 0 ? input : input.slice(start));
  const wanted = blocks.filter((b) => b.type.toLowerCase() === pemType.toLowerCase());
  if (!wanted.length && rest.length) throw new GoTemplateError('error filtering pem: found junk');
  return wanted.map((b) => encodePem(b.type, b.der)).join('');
}

/** A parsed certificate with its key identifiers (hex; '' when absent, which Go's bytes.Equal treats like nil). */
interface Cert {
  der: Buffer;
  ski: string;
  aki: string;
}

const OID_SKI = '2.5.29.14';
const OID_AKI = '2.5.29.35';

function parseCert(der: Buffer): Cert {
  try {
    new crypto.X509Certificate(der); // as x509.ParseCertificate: refuse what is not a certificate
  } catch {
    throw new GoTemplateError('x509: malformed certificate');
  }
  const c: Cert = { der, ski: '', aki: '' };
  const asn = forge().asn1.fromDer(forge().util.createBuffer(der.toString('binary')));
  const tbs = (asn.value as Forge.asn1.Asn1[])[0].value as Forge.asn1.Asn1[];
  const wrap = tbs.find((v) => v.tagClass === forge().asn1.Class.CONTEXT_SPECIFIC && v.type === 3);
  const exts = wrap ? (((wrap.value as Forge.asn1.Asn1[])[0]?.value as Forge.asn1.Asn1[]) ?? []) : [];
  for (const ext of exts) {
    const parts = ext.value as Forge.asn1.Asn1[];
    const oid = forge().asn1.derToOid(parts[0].value as string);
    const octets = parts[parts.length - 1].value as string;
    if (oid === OID_SKI) {
      const inner = forge().asn1.fromDer(octets);
      c.ski = forge().util.bytesToHex(inner.value as string);
    } else if (oid === OID_AKI) {
      const inner = forge().asn1.fromDer(octets).value as Forge.asn1.Asn1[];
      const id = inner.find((v) => v.tagClass === forge().asn1.Class.CONTEXT_SPECIFIC && v.type === 0);
      if (id) c.aki = forge().util.bytesToHex(id.value as string);
    }
  }
  return c;
}

function certsOf(input: string): Cert[] {
  return decodePem(input).blocks.map((b) => parseCert(b.der));
}

const isRoot = (c: Cert): boolean => c.aki === '' || c.aki === c.ski;

/** ESO's fetchX509CertChains: leaf -> intermediates -> root by AKI/SKI, or an error for several leaves. */
function orderChain(certs: Cert[]): Cert[] {
  const parent = new Map<Cert, Cert>();
  const isParent = new Set<Cert>();
  for (const a of certs)
    for (const b of certs) {
      if (a === b) continue;
      if (a.aki === b.ski) {
        isParent.add(b);
        parent.set(a, b);
        break;
      }
    }
  const leaves = certs.filter((c) => !isParent.has(c));
  if (leaves.length > 1) throw new GoTemplateError('found multiple leaf or disjunct certificates');
  if (!leaves.length) throw new GoTemplateError('no leaf certificate found');
  const out: Cert[] = [];
  for (let c: Cert | undefined = leaves[0]; c; c = parent.get(c)) {
    if (out.length >= certs.length) throw new GoTemplateError('constructing chain resulted in cycle');
    out.push(c);
  }
  return out;
}

function filterCertChain(certType: string, input: string): string {
  const ordered = orderChain(certsOf(input));
  const pem = (c: Cert): string => encodePem('CERTIFICATE', c.der);
  if (certType === 'leaf') {
    const c = ordered[0];
    return c.aki !== '' && c.aki !== c.ski ? pem(c) : '';
  }
  if (certType === 'intermediate') {
    let out = '';
    for (const c of ordered.slice(1)) {
      if (isRoot(c)) break;
      out += pem(c);
    }
    return out;
  }
  if (certType === 'root') {
    const c = ordered[ordered.length - 1];
    return isRoot(c) ? pem(c) : '';
  }
  return '';
}

/** The key and certificates of a binary PKCS#12 archive. */
function decodePkcs12(archive: string, pass: string): { key?: Buffer; certs: Buffer[] } {
  let p12: Forge.pkcs12.Pkcs12Pfx;
  try {
    p12 = forge().pkcs12.pkcs12FromAsn1(
      forge().asn1.fromDer(forge().util.createBuffer(archive)),
      false,
      pass,
    );
  } catch {
    throw new GoTemplateError('unable to decode pkcs12: not a PKCS#12 archive or wrong password');
  }
  const keyBags = [
    ...(p12.getBags({ bagType: forge().pki.oids.pkcs8ShroudedKeyBag })[
      forge().pki.oids.pkcs8ShroudedKeyBag
    ] ?? []),
    ...(p12.getBags({ bagType: forge().pki.oids.keyBag })[forge().pki.oids.keyBag] ?? []),
  ];
  let key: Buffer | undefined;
  const bag = keyBags[0] as (Forge.pkcs12.Bag & { asn1?: Forge.asn1.Asn1 }) | undefined;
  if (bag) {
    const info = bag.key
      ? forge().pki.wrapRsaPrivateKey(forge().pki.privateKeyToAsn1(bag.key as Forge.pki.rsa.PrivateKey))
      : bag.asn1;
    if (info) key = Buffer.from(forge().asn1.toDer(info).getBytes(), 'binary');
  }
  const certBags = p12.getBags({ bagType: forge().pki.oids.certBag })[forge().pki.oids.certBag] ?? [];
  const certs = certBags.map((b) => {
    const asn = b.cert ? forge().pki.certificateToAsn1(b.cert) : (b as { asn1?: Forge.asn1.Asn1 }).asn1!;
    return Buffer.from(forge().asn1.toDer(asn).getBytes(), 'binary');
  });
  return { key, certs };
}

function pkcs12key(pass: string, archive: string): string {
  const { key } = decodePkcs12(archive, pass);
  if (!key) throw new GoTemplateError('unable to decode pkcs12: the archive holds no private key');
  const k = crypto.createPrivateKey({ key, format: 'der', type: 'pkcs8' });
  return k.export({ type: 'pkcs8', format: 'pem' }).toString();
}

function pkcs12cert(pass: string, archive: string): string {
  const { key, certs } = decodePkcs12(archive, pass);
  if (!certs.length) throw new GoTemplateError('unable to decode pkcs12: the archive holds no certificate');
  // the leaf is the certificate of the private key (as go-pkcs12's DecodeChain), then the CAs
  let leaf = 0;
  if (key) {
    const pub = crypto.createPublicKey(crypto.createPrivateKey({ key, format: 'der', type: 'pkcs8' }));
    const i = certs.findIndex((d) => new crypto.X509Certificate(d).publicKey.equals(pub));
    if (i >= 0) leaf = i;
  }
  const sorted = [certs[leaf], ...certs.filter((_, i) => i !== leaf)];
  const raw = sorted.map((d) => encodePem('CERTIFICATE', d)).join('');
  try {
    return orderChain(sorted.map(parseCert))
      .map((c) => encodePem('CERTIFICATE', c.der))
      .join('');
  } catch {
    return raw; // as ESO: several leaves or disjunct certificates stay unordered
  }
}

function toPkcs12(certPem: string, keyPem: string, pass: string, full: boolean, fn: string): string {
  const blocks = decodePem(certPem).blocks;
  if (!blocks.length) throw new GoTemplateError(`${fn}: the certificate is not PEM`);
  const keyBlock = decodePem(keyPem).blocks[0];
  if (!keyBlock) throw new GoTemplateError(`${fn}: the key is not PEM`);
  let key: crypto.KeyObject;
  try {
    key = crypto.createPrivateKey({ key: encodePem(keyBlock.type, keyBlock.der), format: 'pem' });
  } catch {
    throw new GoTemplateError(`${fn}: unable to parse private key type`);
  }
  const certs = (full ? blocks : blocks.slice(0, 1)).map((b) => parseCert(b.der).der);
  return writePkcs12(forge(), key, certs, pass).toString('base64');
}

function jwk(input: string, fn: string): crypto.JsonWebKey {
  try {
    return JSON.parse(fromBytes(input)) as crypto.JsonWebKey;
  } catch {
    throw new GoTemplateError(`${fn}: the value is not a JSON Web Key`);
  }
}

function jwkPublicKeyPem(input: string): string {
  try {
    return crypto
      .createPublicKey({ key: jwk(input, 'jwkPublicKeyPem'), format: 'jwk' })
      .export({ type: 'spki', format: 'pem' })
      .toString();
  } catch (e) {
    if (e instanceof GoTemplateError) throw e;
    throw new GoTemplateError('jwkPublicKeyPem: the value is not a supported JSON Web Key');
  }
}

function jwkPrivateKeyPem(input: string): string {
  try {
    return crypto
      .createPrivateKey({ key: jwk(input, 'jwkPrivateKeyPem'), format: 'jwk' })
      .export({ type: 'pkcs8', format: 'pem' })
      .toString();
  } catch (e) {
    if (e instanceof GoTemplateError) throw e;
    throw new GoTemplateError('jwkPrivateKeyPem: the value is not a private JSON Web Key');
  }
}

/** OAEP hash names of ESO's `rsaDecrypt` (SHA-256 for "None" and unknown names, as ESO's getHash). */
const OAEP_HASH: Record<string, string> = { SHA1: 'sha1', SHA256: 'sha256', SHA512: 'sha512' };

/**
 * ESO's `rsaDecrypt SCHEME HASH CIPHERTEXT KEY`: scheme `None` returns the input; `RSA-OAEP`
 * decrypts with the RSA private key (PEM, PKCS#1 or PKCS#8) and the OAEP hash.
 */
function rsaDecrypt(scheme: string, hash: string, input: string, keyPem: string): string {
  if (scheme === 'None') return input;
  if (scheme !== 'RSA-OAEP') throw new GoTemplateError(`decryption scheme ${scheme} is not supported`);
  const block = decodePem(keyPem).blocks[0];
  if (!block) throw new GoTemplateError('failed to decode PEM block');
  let key: crypto.KeyObject;
  try {
    key = crypto.createPrivateKey({ key: encodePem(block.type, block.der), format: 'pem' });
  } catch {
    throw new GoTemplateError('could not parse private key');
  }
  if (key.asymmetricKeyType !== 'rsa') throw new GoTemplateError('could not parse RSA private key');
  try {
    const out = crypto.privateDecrypt(
      { key, padding: crypto.constants.RSA_PKCS1_OAEP_PADDING, oaepHash: OAEP_HASH[hash] ?? 'sha256' },
      Buffer.from(input, 'latin1'),
    );
    return out.toString('latin1');
  } catch {
    throw new GoTemplateError('error decrypting data with RSA');
  }
}

/** ESO's `certSANs`: the subject alternative names of the first certificate (DNS, IP, email, URI), in that order. */
function certSANs(input: string): Value[] {
  const start = input.indexOf('-----BEGIN');
  const block = decodePem(start < 0 ? input : input.slice(start)).blocks[0];
  if (!block) throw new GoTemplateError('failed to decode PEM block');
  let cert: crypto.X509Certificate;
  try {
    cert = new crypto.X509Certificate(block.der);
  } catch {
    throw new GoTemplateError('failed to parse certificate');
  }
  const entries = (cert.subjectAltName ?? '').split(/,\s*/).filter(Boolean);
  const of = (prefix: string): string[] =>
    entries.filter((e) => e.startsWith(prefix)).map((e) => e.slice(prefix.length));
  return [...of('DNS:'), ...of('IP Address:'), ...of('email:'), ...of('URI:')];
}

function strs(a: Value[], want: number, fn: string): string[] {
  if (a.length !== want)
    throw new GoTemplateError(`wrong number of args for ${fn}: want ${want} got ${a.length}`);
  return a.map((v) => {
    if (typeof v !== 'string') throw new GoTemplateError(`${fn}: expected string`);
    return v;
  });
}

/** ESO's helpers, by name (PEM output is ASCII, so it is its own byte string). */
export const PKI: Record<string, GoFunc> = {
  filterPEM: (a) => filterPEM(...(strs(a, 2, 'filterPEM') as [string, string])),
  filterCertChain: (a) => filterCertChain(...(strs(a, 2, 'filterCertChain') as [string, string])),
  pkcs12key: (a) => pkcs12key('', strs(a, 1, 'pkcs12key')[0]),
  pkcs12keyPass: (a) => pkcs12key(...(strs(a, 2, 'pkcs12keyPass') as [string, string])),
  pkcs12cert: (a) => pkcs12cert('', strs(a, 1, 'pkcs12cert')[0]),
  pkcs12certPass: (a) => pkcs12cert(...(strs(a, 2, 'pkcs12certPass') as [string, string])),
  pemToPkcs12: (a) => {
    const [c, k] = strs(a, 2, 'pemToPkcs12');
    return toPkcs12(c, k, '', false, 'pemToPkcs12');
  },
  pemToPkcs12Pass: (a) => {
    const [c, k, p] = strs(a, 3, 'pemToPkcs12Pass');
    return toPkcs12(c, k, p, false, 'pemToPkcs12Pass');
  },
  fullPemToPkcs12: (a) => {
    const [c, k] = strs(a, 2, 'fullPemToPkcs12');
    return toPkcs12(c, k, '', true, 'fullPemToPkcs12');
  },
  fullPemToPkcs12Pass: (a) => {
    const [c, k, p] = strs(a, 3, 'fullPemToPkcs12Pass');
    return toPkcs12(c, k, p, true, 'fullPemToPkcs12Pass');
  },
  rsaDecrypt: (a) => rsaDecrypt(...(strs(a, 4, 'rsaDecrypt') as [string, string, string, string])),
  certSANs: (a) => certSANs(strs(a, 1, 'certSANs')[0]),
  jwkPublicKeyPem: (a) => jwkPublicKeyPem(strs(a, 1, 'jwkPublicKeyPem')[0]),
  jwkPrivateKeyPem: (a) => jwkPrivateKeyPem(strs(a, 1, 'jwkPrivateKeyPem')[0]),
};
