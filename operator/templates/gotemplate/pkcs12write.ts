/**
 * Writes a PKCS#12 archive the way ESO's `pemToPkcs12` does with go-pkcs12's `Modern` encoder, for
 * any key type node's crypto reads (RSA, EC, Ed25519): the private key as a PKCS#8 shrouded key bag
 * (PBES2, PBKDF2-HMAC-SHA256, AES-256-CBC, 2048 iterations), the certificates in a plain safe, a
 * `localKeyId` (SHA-1 of the leaf) tying the key to the leaf, and an HMAC-SHA-256 MAC. node-forge
 * provides the ASN.1, the PBES2 encryption and the PKCS#12 key derivation; its own writer only
 * takes RSA keys and certificates, hence this one.
 */
import crypto from 'node:crypto';
import type * as Forge from 'node-forge';

type Asn1 = Forge.asn1.Asn1;
const ITERATIONS = 2048;

/**
 * @param forge - node-forge (loaded lazily by the caller).
 * @param key - the private key.
 * @param certs - DER certificates, the leaf (the key's certificate) first.
 * @param password - the archive password ("" for none, still encrypted and MACed as go-pkcs12 does).
 * @returns the archive's DER bytes.
 */
export function writePkcs12(
  forge: typeof Forge,
  key: crypto.KeyObject,
  certs: Buffer[],
  password: string,
): Buffer {
  const { asn1 } = forge;
  const seq = (items: Asn1[]): Asn1 => asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SEQUENCE, true, items);
  const oid = (id: string): Asn1 =>
    asn1.create(asn1.Class.UNIVERSAL, asn1.Type.OID, false, asn1.oidToDer(id).getBytes());
  const octets = (bytes: string): Asn1 =>
    asn1.create(asn1.Class.UNIVERSAL, asn1.Type.OCTETSTRING, false, bytes);
  const explicit0 = (inner: Asn1): Asn1 => asn1.create(asn1.Class.CONTEXT_SPECIFIC, 0, true, [inner]);
  const der = (a: Asn1): string => asn1.toDer(a).getBytes();
  const int = (n: number): Asn1 =>
    asn1.create(asn1.Class.UNIVERSAL, asn1.Type.INTEGER, false, asn1.integerToDer(n).getBytes());
  // a PKCS#7 `data` ContentInfo around DER bytes
  const dataInfo = (content: Asn1): Asn1 => seq([oid(forge.pki.oids.data), explicit0(octets(der(content)))]);
  const attrs = (id: string): Asn1 =>
    asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SET, true, [
      seq([
        oid(forge.pki.oids.localKeyId),
        asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SET, true, [octets(id)]),
      ]),
    ]);
  const localKeyId = crypto.createHash('sha1').update(certs[0]).digest().toString('binary');
  const certBags = certs.map((c, i) =>
    seq([
      oid(forge.pki.oids.certBag),
      explicit0(seq([oid(forge.pki.oids.x509Certificate), explicit0(octets(c.toString('binary')))])),
      ...(i === 0 ? [attrs(localKeyId)] : []),
    ]),
  );
  const pkcs8 = key.export({ type: 'pkcs8', format: 'der' });
  const keyInfo = asn1.fromDer(pkcs8.toString('binary'));
  const shrouded = forge.pki.encryptPrivateKeyInfo(keyInfo, password, {
    algorithm: 'aes256',
    count: ITERATIONS,
    prfAlgorithm: 'sha256',
  } as Forge.pki.EncryptionOptions);
  const keyBag = seq([oid(forge.pki.oids.pkcs8ShroudedKeyBag), explicit0(shrouded), attrs(localKeyId)]);
  const safe = seq([dataInfo(seq(certBags)), dataInfo(seq([keyBag]))]);
  const safeDer = der(safe);
  const salt = forge.random.getBytesSync(16);
  const macKey = forge.pkcs12.generateKey(
    password,
    forge.util.createBuffer(salt),
    3,
    ITERATIONS,
    32,
    forge.md.sha256.create(),
  );
  const hmac = forge.hmac.create();
  hmac.start(forge.md.sha256.create(), macKey.getBytes());
  hmac.update(safeDer);
  const macData = seq([
    seq([
      seq([oid(forge.pki.oids.sha256), asn1.create(asn1.Class.UNIVERSAL, asn1.Type.NULL, false, '')]),
      octets(hmac.digest().getBytes()),
    ]),
    octets(salt),
    int(ITERATIONS),
  ]);
  const pfx = seq([int(3), seq([oid(forge.pki.oids.data), explicit0(octets(safeDer))]), macData]);
  return Buffer.from(der(pfx), 'binary');
}
