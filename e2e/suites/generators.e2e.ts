/**
 * Generators on a real control plane: ESO's documented Password example (the Password my-password and
 * the ExternalSecret password, unchanged but for the namespace) makes a 42-character password with 5
 * digits and 5 of "-_$@"; a UUID generator; a ClusterGenerator; a new value only when the ExternalSecret
 * refreshes (refreshInterval), never for refreshPolicy CreatedOnce; a missing generator is a clear,
 * retried condition that heals when it appears; a ClusterGenerator of one of ESO's other kinds applies
 * as written and an ExternalSecret using it is refused, naming the kind.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor } from '../harness/wait';
import { createNamespace, kube, uniqueName } from './lib';
import {
  createExternalSecret,
  esPath,
  read,
  readyOf,
  remove,
  secretValues,
  waitForObject,
  waitForReady,
} from './externalsecret-lib';

const GEN = '/apis/generators.external-secrets.io/v1alpha1';

async function createGenerator(
  ns: string | undefined,
  kind: string,
  name: string,
  spec: Record<string, unknown>,
): Promise<void> {
  const plural = { Password: 'passwords', UUID: 'uuids', ClusterGenerator: 'clustergenerators' }[kind];
  const path = ns ? `${GEN}/namespaces/${ns}/${plural}` : `${GEN}/${plural}`;
  await kube().request('POST', path, {
    body: {
      apiVersion: 'generators.external-secrets.io/v1alpha1',
      kind,
      metadata: { name, ...(ns ? { namespace: ns } : {}) },
      spec,
    },
  });
}

const generatorRef = (kind: string, name: string) => ({
  sourceRef: { generatorRef: { apiVersion: 'generators.external-secrets.io/v1alpha1', kind, name } },
});

async function waitForKey(ns: string, secret: string, key: string): Promise<string> {
  return waitFor(async () => (await secretValues(ns, secret))?.[key], {
    timeoutMs: 60_000,
    what: `${ns}/${secret} key ${key}`,
  });
}

describe('generators', () => {
  test("ESO's documented Password example", async () => {
    const ns = uniqueName('gen-pw');
    await createNamespace(ns);
    await createGenerator(ns, 'Password', 'my-password', {
      length: 42,
      digits: 5,
      symbols: 5,
      symbolCharacters: '-_$@',
      noUpper: false,
      allowRepeat: true,
    });
    await createExternalSecret(ns, 'password', {
      refreshInterval: '30m',
      target: { name: 'password-secret' },
      dataFrom: [generatorRef('Password', 'my-password')],
    });
    await waitForReady(esPath(ns, 'password'), 'True', 'SecretSynced');
    const pw = await waitForKey(ns, 'password-secret', 'password');
    assert.equal(pw.length, 42);
    assert.equal(pw.replace(/[^0-9]/g, '').length, 5, 'five digits');
    assert.match(pw.replace(/[a-zA-Z0-9]/g, ''), /^[-_$@]{5}$/, 'five symbols of the set');
    assert.deepEqual(Object.keys((await secretValues(ns, 'password-secret')) ?? {}), ['password']);
  });

  test('UUID and ClusterGenerator; regenerated per refreshInterval, not with refreshPolicy CreatedOnce', async () => {
    const ns = uniqueName('gen-misc');
    await createNamespace(ns);
    await createGenerator(ns, 'UUID', 'id', {});
    const cg = uniqueName('cg');
    await createGenerator(undefined, 'ClusterGenerator', cg, {
      kind: 'Password',
      generator: { passwordSpec: { length: 16, digits: 4, symbols: 0, noUpper: true, allowRepeat: true } },
    });
    await createExternalSecret(ns, 'rotating', {
      refreshInterval: '1s',
      target: { name: 'rotating' },
      dataFrom: [generatorRef('UUID', 'id'), generatorRef('ClusterGenerator', cg)],
    });
    await createExternalSecret(ns, 'once', {
      refreshPolicy: 'CreatedOnce',
      target: { name: 'once' },
      dataFrom: [generatorRef('UUID', 'id')],
    });
    const first = await waitForKey(ns, 'rotating', 'uuid');
    assert.match(first, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    const pw = await waitForKey(ns, 'rotating', 'password');
    assert.match(pw, /^[a-z0-9]{16}$/);
    assert.equal(pw.replace(/[^0-9]/g, '').length, 4);
    const once = await waitForKey(ns, 'once', 'uuid');
    // the 1s ExternalSecret regenerates on each refresh: two changes observed ...
    let seen = first;
    for (let i = 0; i < 2; i++) {
      const before = seen;
      seen = await waitFor(
        async () => {
          const now = (await secretValues(ns, 'rotating'))?.uuid;
          return now && now !== before ? now : undefined;
        },
        { timeoutMs: 30_000, what: 'a new uuid after a refresh' },
      );
    }
    // ... while CreatedOnce kept its value over the same time
    assert.equal((await secretValues(ns, 'once'))?.uuid, once);
  });

  test('a missing generator is a retried condition that heals; an unsupported kind is refused', async () => {
    const ns = uniqueName('gen-missing');
    await createNamespace(ns);
    await createExternalSecret(ns, 'later', {
      refreshInterval: '1h',
      target: { name: 'later' },
      dataFrom: [generatorRef('Password', 'not-yet')],
    });
    const es = await waitForReady(esPath(ns, 'later'), 'False', 'SecretSyncedError');
    assert.match(readyOf(es)?.message ?? '', /Password "[^"]+\/not-yet" not found/);
    await createGenerator(ns, 'Password', 'not-yet', { length: 12 });
    await waitForReady(esPath(ns, 'later'), 'True', 'SecretSynced', 90_000);
    assert.equal((await secretValues(ns, 'later'))?.password?.length, 12);

    await createExternalSecret(ns, 'vault', {
      target: { name: 'vault' },
      dataFrom: [generatorRef('VaultDynamicSecret', 'x')],
    });
    const refused = await waitForObject(
      esPath(ns, 'vault'),
      (o) => readyOf(o)?.status === 'False',
      'refused',
    );
    assert.match(readyOf(refused)?.message ?? '', /VaultDynamicSecret/);
    await remove(esPath(ns, 'vault'));

    // a ClusterGenerator of one of ESO's other kinds applies as written; using it is refused, naming it
    const fake = uniqueName('cg-fake');
    await createGenerator(undefined, 'ClusterGenerator', fake, {
      kind: 'Fake',
      generator: { fakeSpec: { data: { foo: 'bar' } } },
    });
    const stored = await read<{ spec: { generator: Record<string, unknown> } }>(
      `${GEN}/clustergenerators/${fake}`,
    );
    assert.deepEqual(stored?.spec.generator, { fakeSpec: { data: { foo: 'bar' } } }, 'kept as written');
    await createExternalSecret(ns, 'fake', {
      target: { name: 'fake' },
      dataFrom: [generatorRef('ClusterGenerator', fake)],
    });
    const unsupported = await waitForObject(
      esPath(ns, 'fake'),
      (o) => readyOf(o)?.status === 'False',
      'the Fake ClusterGenerator refused',
    );
    assert.match(readyOf(unsupported)?.message ?? '', /generator kind "Fake" is not supported by capstan/);
    assert.equal(await secretValues(ns, 'fake'), undefined, 'nothing written');
    await remove(`${GEN}/clustergenerators/${fake}`);
  });
});
