/**
 * ExternalSecret templates as ESO users write them (Go templates, engine v2, the default) on a real
 * control plane with the fake provider:
 * 1. a PEM bundle (key, leaf, intermediate) becomes a `kubernetes.io/tls` Secret with `filterPEM`;
 * 2. a PKCS#12 keystore (base64 in the store) becomes PEM with `pkcs12cert`/`pkcs12key`, and PEM
 *    becomes a keystore again with `pemToPkcs12 | b64dec` (binary data in the Secret);
 * 3. a Handlebars template without `engineVersion` is a condition naming `engineVersion: handlebars`
 *    and writes nothing; setting it renders;
 * 4. a strict server-side dry-run of an ExternalSecret with every field of ESO's full example
 *    (syncWindows included) is accepted, and an unknown field is refused;
 * 5. `spec.syncWindows` holds the periodic refresh: with a deny window that is always open, a store
 *    change reaches a twin ExternalSecret without windows but not the held one, until the windows go;
 * 6. `nullBytePolicy: Fail` refuses a decoded value with a NUL byte (naming the key), `Ignore` keeps it.
 * Keys and certificates are the unit tests' openssl-made fixtures (operator/templates/testdata).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import forge from 'node-forge';
import YAML from 'yaml';
import { createNamespace, kubectl, uniqueName } from './lib';
import {
  createExternalSecret,
  createSecretStore,
  esPath,
  mergePatch,
  read,
  readyOf,
  secretPath,
  storePath,
  waitForObject,
  waitForReady,
  waitForSecretValues,
  type SecretObj,
} from './externalsecret-lib';

const TESTDATA = path.resolve(__dirname, '..', '..', 'operator', 'templates', 'testdata');
const fixture = (f: string): Buffer => fs.readFileSync(path.join(TESTDATA, f));
const LEAF = fixture('leaf.crt').toString();
const INTERMEDIATE = fixture('intermediate-ca.crt').toString();
const ROOT = fixture('root-ca.crt').toString();
const KEY = fixture('leaf.key').toString();

/** The Secret's data as Buffers (binary values stay binary). */
async function secretData(
  ns: string,
  name: string,
): Promise<{ type?: string; data: Record<string, Buffer> }> {
  const s = await read<SecretObj & { type?: string }>(secretPath(ns, name));
  assert.ok(s, `Secret ${ns}/${name} exists`);
  const data: Record<string, Buffer> = {};
  for (const [k, v] of Object.entries(s.data ?? {})) data[k] = Buffer.from(v, 'base64');
  return { type: s.type, data };
}

describe('ExternalSecret Go templates (ESO engine v2)', () => {
  test('a PEM bundle becomes a kubernetes.io/tls Secret with filterPEM', async () => {
    const ns = uniqueName('tpl-pem');
    await createNamespace(ns);
    await createSecretStore(ns, 'fake', {
      fake: { data: [{ key: 'tls-bundle', value: KEY + LEAF + INTERMEDIATE }] },
    });
    await createExternalSecret(ns, 'tls', {
      secretStoreRef: { name: 'fake' },
      target: {
        name: 'tls',
        template: {
          type: 'kubernetes.io/tls',
          metadata: {
            labels: { cn: '{{ .bundle | filterPEM "CERTIFICATE" | filterCertChain "leaf" | len }}' },
          },
          data: {
            'tls.crt': '{{ .bundle | filterPEM "CERTIFICATE" }}',
            'tls.key': '{{ .bundle | filterPEM "PRIVATE KEY" }}',
          },
        },
      },
      data: [{ secretKey: 'bundle', remoteRef: { key: 'tls-bundle' } }],
    });
    await waitForReady(esPath(ns, 'tls'), 'True', 'SecretSynced');
    const { type, data } = await secretData(ns, 'tls');
    assert.equal(type, 'kubernetes.io/tls');
    assert.deepEqual(Object.keys(data).sort(), ['tls.crt', 'tls.key']);
    assert.equal(data['tls.crt'].toString(), LEAF + INTERMEDIATE, 'leaf then intermediate');
    assert.equal(data['tls.key'].toString(), KEY);
    const cert = new crypto.X509Certificate(data['tls.crt']);
    assert.ok(cert.checkPrivateKey(crypto.createPrivateKey(data['tls.key'])), 'key matches the leaf');
    const secret = await read<SecretObj>(secretPath(ns, 'tls'));
    assert.equal(secret?.metadata.labels?.cn, String(LEAF.length), 'templated label');
  });

  test('PKCS#12 to PEM (pkcs12cert/pkcs12key) and PEM to a binary keystore (pemToPkcs12 | b64dec)', async () => {
    const ns = uniqueName('tpl-p12');
    await createNamespace(ns);
    await createSecretStore(ns, 'fake', {
      fake: {
        data: [
          { key: 'keystore', value: fixture('leaf-pass.p12').toString('base64') },
          { key: 'crt', value: LEAF },
          { key: 'key', value: KEY },
        ],
      },
    });
    await createExternalSecret(ns, 'p12', {
      secretStoreRef: { name: 'fake' },
      target: {
        name: 'p12',
        template: {
          engineVersion: 'v2',
          data: {
            'tls.crt': '{{ .keystore | b64dec | pkcs12certPass "s3cret" }}',
            'tls.key': '{{ .keystore | b64dec | pkcs12keyPass "s3cret" }}',
            'keystore.p12': '{{ pemToPkcs12Pass .crt .key "changeit" | b64dec }}',
          },
        },
      },
      data: [
        { secretKey: 'keystore', remoteRef: { key: 'keystore' } },
        { secretKey: 'crt', remoteRef: { key: 'crt' } },
        { secretKey: 'key', remoteRef: { key: 'key' } },
      ],
    });
    await waitForReady(esPath(ns, 'p12'), 'True', 'SecretSynced');
    const { data } = await secretData(ns, 'p12');
    assert.equal(data['tls.crt'].toString(), LEAF + INTERMEDIATE + ROOT, 'chain ordered leaf -> root');
    const key = crypto.createPrivateKey(data['tls.key']);
    assert.ok(new crypto.X509Certificate(LEAF).checkPrivateKey(key), 'the archive key is the leaf key');
    const p12 = forge.pkcs12.pkcs12FromAsn1(
      forge.asn1.fromDer(data['keystore.p12'].toString('binary')),
      'changeit',
    );
    const certs = p12.getBags({ bagType: forge.pki.oids.certBag })[forge.pki.oids.certBag] ?? [];
    assert.equal(certs.length, 1);
    assert.equal(forge.pki.certificateToPem(certs[0].cert!).replace(/\r/g, ''), LEAF);
  });

  test('a Handlebars template without engineVersion is a condition, and engineVersion: handlebars renders it', async () => {
    const ns = uniqueName('tpl-hbs');
    await createNamespace(ns);
    await createSecretStore(ns, 'fake', { fake: { data: [{ key: 'user', value: 'app' }] } });
    await createExternalSecret(ns, 'hbs', {
      secretStoreRef: { name: 'fake' },
      target: { name: 'hbs', template: { data: { greeting: '{{#if user}}hello {{ user }}{{/if}}' } } },
      data: [{ secretKey: 'user', remoteRef: { key: 'user' } }],
    });
    const es = await waitForReady(esPath(ns, 'hbs'), 'False', 'SecretSyncedError');
    assert.match(
      readyOf(es)?.message ?? '',
      /template data\.greeting: this looks like a Handlebars template; .*set engineVersion: handlebars/,
    );
    assert.equal(await read(secretPath(ns, 'hbs')), undefined, 'nothing written');
    await mergePatch(esPath(ns, 'hbs'), { spec: { target: { template: { engineVersion: 'handlebars' } } } });
    await waitForReady(esPath(ns, 'hbs'), 'True', 'SecretSynced');
    assert.equal((await secretData(ns, 'hbs')).data.greeting.toString(), 'hello app');
  });

  test("a strict server-side dry-run of ESO's full ExternalSecret example succeeds", async () => {
    const ns = uniqueName('tpl-full');
    await createNamespace(ns);
    // Every field ESO's full example (docs/snippets/full-external-secret.yaml) sets, written here.
    const full = {
      apiVersion: 'external-secrets.io/v1',
      kind: 'ExternalSecret',
      metadata: {
        name: 'hello-world',
        namespace: ns,
        labels: { 'acme.org/owned-by': 'q-team' },
        annotations: { 'acme.org/sha': '1234' },
      },
      spec: {
        secretStoreRef: { name: 'aws-store', kind: 'SecretStore' },
        refreshPolicy: 'Periodic',
        refreshInterval: '1h0m0s',
        syncWindows: { kind: 'allow', windows: [{ schedule: '0 9 * * 1-5', duration: '8h' }] },
        target: {
          name: 'application-config',
          creationPolicy: 'Merge',
          deletionPolicy: 'Retain',
          template: {
            type: 'kubernetes.io/dockerconfigjson',
            engineVersion: 'v2',
            mergePolicy: 'Replace',
            metadata: { annotations: {}, labels: {}, finalizers: [] },
            data: {
              'config.yml':
                'database:\n  connection: postgres://{{ .username }}:{{ .password }}@{{ .database_host }}:5432/payments\n',
            },
            templateFrom: [
              { configMap: { name: 'application-config-tmpl', items: [{ key: 'config.yml' }] } },
              { literal: '{{ .username }}: x', target: 'Annotations', valuesDecodingStrategy: 'None' },
            ],
          },
        },
        data: [
          {
            secretKey: 'username',
            remoteRef: {
              key: 'database-credentials',
              version: 'v1',
              property: 'username',
              decodingStrategy: 'None',
              nullBytePolicy: 'Ignore',
            },
            sourceRef: { storeRef: { name: 'aws-secretstore', kind: 'ClusterSecretStore' } },
          },
        ],
        dataFrom: [
          {
            sourceRef: {
              generatorRef: {
                apiVersion: 'generators.external-secrets.io/v1alpha1',
                kind: 'ECRAuthorizationToken',
                name: 'my-ecr',
              },
            },
          },
          {
            extract: {
              key: 'database-credentials',
              version: 'v1',
              property: 'data',
              conversionStrategy: 'Default',
              decodingStrategy: 'Auto',
            },
            rewrite: [{ regexp: { source: 'exp-(.*?)-ression', target: 'rewriting-${1}-with-groups' } }],
          },
          {
            find: {
              path: 'path-to-filter',
              name: { regexp: '.*foobar.*' },
              tags: { foo: 'bar' },
              conversionStrategy: 'Unicode',
              decodingStrategy: 'Base64',
            },
            rewrite: [{ regexp: { source: 'foo', target: 'bar' } }],
          },
        ],
      },
    };
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'es-full-'));
    try {
      const file = path.join(dir, 'full.yaml');
      fs.writeFileSync(file, YAML.stringify(full));
      const out = await kubectl('apply', '--dry-run=server', '--validate=strict', '-f', file);
      assert.match(out, /externalsecret\.external-secrets\.io\/hello-world created \(server dry run\)/);
      // the same with a field no version of ESO has: refused (the dry-run above can fail)
      const bad = {
        ...full,
        spec: { ...full.spec, syncWindows: { ...full.spec.syncWindows, timeZone: 'UTC' } },
      };
      fs.writeFileSync(file, YAML.stringify(bad));
      await assert.rejects(
        kubectl('apply', '--dry-run=server', '--validate=strict', '-f', file),
        /unknown field "spec\.syncWindows\.timeZone"/,
      );
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('syncWindows hold the periodic refresh (a deny window that is always open)', async () => {
    const ns = uniqueName('tpl-win');
    await createNamespace(ns);
    const storeData = (v: string) => ({ fake: { data: [{ key: 'k', value: v }] } });
    await createSecretStore(ns, 'fake', storeData('v1'));
    const spec = (windows: boolean) => ({
      refreshInterval: '1s',
      secretStoreRef: { name: 'fake' },
      data: [{ secretKey: 'k', remoteRef: { key: 'k' } }],
      // @every 1m with a 1h duration: as robfig's @every, the window is open at every instant
      ...(windows
        ? { syncWindows: { kind: 'deny', windows: [{ schedule: '@every 1m', duration: '1h' }] } }
        : {}),
    });
    await createExternalSecret(ns, 'free', spec(false));
    await createExternalSecret(ns, 'held', spec(true));
    // the first sync is never held
    await waitForReady(esPath(ns, 'held'), 'True', 'SecretSynced');
    await waitForSecretValues(ns, 'held', { k: 'v1' }, 'the first sync');
    await mergePatch(storePath(ns, 'fake'), { spec: { provider: storeData('v2') } });
    await waitForSecretValues(ns, 'free', { k: 'v2' }, 'the free twin refreshed', 30_000);
    const held = await secretData(ns, 'held');
    assert.equal(held.data.k.toString(), 'v1', 'the held ExternalSecret did not refresh');
    // removing the windows is a spec change: it refreshes at once
    await mergePatch(esPath(ns, 'held'), { spec: { syncWindows: null } });
    await waitForSecretValues(ns, 'held', { k: 'v2' }, 'refreshed once the windows are gone', 30_000);
  });

  test('nullBytePolicy: Fail refuses a value with a NUL byte, Ignore (the default) keeps it', async () => {
    const ns = uniqueName('tpl-nul');
    await createNamespace(ns);
    const withNul = Buffer.from([0x61, 0x00, 0x62]);
    await createSecretStore(ns, 'fake', {
      fake: { data: [{ key: 'bin', value: withNul.toString('base64') }] },
    });
    const spec = (policy: string) => ({
      secretStoreRef: { name: 'fake' },
      data: [
        { secretKey: 'v', remoteRef: { key: 'bin', decodingStrategy: 'Base64', nullBytePolicy: policy } },
      ],
    });
    await createExternalSecret(ns, 'fail', spec('Fail'));
    await createExternalSecret(ns, 'keep', spec('Ignore'));
    // Until the store is validated the ExternalSecret is Ready False for that reason too (as ESO): wait
    // for the NUL-byte refusal itself.
    const nul = /key "v" holds NUL bytes \(nullBytePolicy Fail\)/;
    const failed = await waitForObject(
      esPath(ns, 'fail'),
      (o) => readyOf(o)?.status === 'False' && nul.test(readyOf(o)?.message ?? ''),
      'Ready False for the NUL byte',
      60_000,
    );
    assert.equal(readyOf(failed)?.reason, 'SecretSyncedError');
    assert.equal(await read(secretPath(ns, 'fail')), undefined, 'nothing written');
    await waitForReady(esPath(ns, 'keep'), 'True', 'SecretSynced');
    assert.deepEqual((await secretData(ns, 'keep')).data.v, withNul);
  });
});
