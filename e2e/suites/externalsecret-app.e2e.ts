/**
 * An Application syncs a Helm chart from git whose templates hold a fake SecretStore and an
 * ExternalSecret. The app's health follows the ExternalSecret's Ready condition: Degraded while the
 * remote key is missing (and no Secret exists), Healthy only once the Secret has been written.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startGitServer, type GitServer } from '../harness/gitserver';
import { appFromFixture, refreshApp, syncedAt, waitForApp } from './lib';
import {
  esPath,
  read,
  readyOf,
  secretPath,
  secretValues,
  valueMismatch,
  type EsObject,
} from './externalsecret-lib';

describe('ExternalSecret in a Helm chart synced by an Application', () => {
  let git: GitServer;
  before(async () => {
    git = await startGitServer();
  });
  after(async () => {
    await git?.stop();
  });

  test('the app becomes Healthy only when the Secret exists', async () => {
    const { ns, repo, sha } = await appFromFixture(git, {
      prefix: 'es-app',
      fixture: 'externalsecret/chart',
      name: 'app',
      spec: { syncPolicy: { automated: { prune: true } } },
    });

    // the remote key is missing: synced, but Degraded (the ExternalSecret is not Ready), no Secret
    const degraded = await waitForApp(
      ns,
      'app',
      (a) => syncedAt(sha)(a) && a.status?.health?.status === 'Degraded',
      'Synced and Degraded',
      90_000,
    );
    const esResource = degraded.status?.resources?.find((r) => r.kind === 'ExternalSecret');
    assert.equal(esResource?.name, 'app-db');
    const es = await read<EsObject>(esPath(ns, 'app-db'));
    assert.match(readyOf(es)?.message ?? '', /key "\/missing" not found/);
    assert.equal(await read(secretPath(ns, 'app-db')), undefined, 'no Secret while the key is missing');

    // fix the key in git: the Secret is written, then the app turns Healthy
    const fixed = await repo.commit('read /db', (dir) => {
      const file = path.join(dir, 'values.yaml');
      fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace('remoteKey: /missing', 'remoteKey: /db'));
    });
    await refreshApp(ns, 'app');
    await waitForApp(
      ns,
      'app',
      (a) => syncedAt(fixed)(a) && a.status?.health?.status === 'Healthy',
      'Healthy',
      90_000,
    );
    const why = valueMismatch(await secretValues(ns, 'app-db'), { username: 'app', password: 's3cret' });
    assert.equal(
      why,
      undefined,
      `the Secret exists with the right keys once the app is Healthy (${why ?? ''})`,
    );
  });
});
