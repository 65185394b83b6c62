/**
 * The jq deadline of ignoreDifferences (issue 7 §1): an app whose jqPathExpressions take exponential
 * time gets a ComparisonError naming the expression and the limit (`--jq-timeout`, default 1 s), while
 * other apps keep syncing in the same process; fixing the expression lets the app sync.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startGitServer, GitServer } from '../harness/gitserver';
import { appFromFixture, core, getObject, patchApp, syncedAt, waitForApp } from './lib';

/** 22 nested `(.,.)`: seconds of CPU on the main thread before the deadline existed. */
const EXPONENTIAL = Array(22).fill('(.,.)').join(' | ') + ' | select(false)';

describe('ignoreDifferences jq deadline', () => {
  let git: GitServer;
  before(async () => {
    git = await startGitServer();
  });
  after(async () => {
    await git?.stop();
  });

  test('a slow jq expression is a ComparisonError on its app only; others keep syncing', async () => {
    const automated = { syncPolicy: { automated: { prune: true, selfHeal: true } } };
    const slow = await appFromFixture(git, {
      prefix: 'jq-slow',
      fixture: 'plain',
      spec: { ...automated, ignoreDifferences: [{ kind: 'ConfigMap', jqPathExpressions: [EXPONENTIAL] }] },
    });
    const other = await appFromFixture(git, { prefix: 'jq-other', fixture: 'plain', spec: automated });

    const failed = await waitForApp(
      slow.ns,
      'app',
      (a) => !!a.status?.conditions?.some((c) => c.type === 'ComparisonError'),
      'ComparisonError',
    );
    const message = failed.status?.conditions?.find((c) => c.type === 'ComparisonError')?.message ?? '';
    assert.ok(message.includes(JSON.stringify(EXPONENTIAL)), `the message names the expression: ${message}`);
    assert.match(message, /jq timeout of 1s \(--jq-timeout/);
    assert.notEqual(failed.status?.sync?.status, 'Synced');

    // The same process keeps reconciling the other app, and keeps retrying the slow one.
    await waitForApp(other.ns, 'app', syncedAt(other.sha), 'the other app synced');
    assert.ok(
      await getObject(core(other.ns, 'configmaps', 'plain-config')),
      'the other app applied its objects',
    );

    await patchApp(slow.ns, 'app', {
      spec: { ignoreDifferences: [{ kind: 'ConfigMap', jqPathExpressions: ['.data.generated'] }] },
    });
    await waitForApp(slow.ns, 'app', syncedAt(slow.sha), 'synced once the expression is fixed');
  });
});
