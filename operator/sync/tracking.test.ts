import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  TRACKING_ID_ANNOTATION,
  appInstanceName,
  formatTrackingId,
  parseAppInstance,
  parseTrackingId,
  trackedBy,
  withTracking,
} from './tracking';

const deploy = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', namespace: 'shop' } };
const ns = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop' } };

test('app instance name: bare in the controller namespace, namespace_name elsewhere (Argo CD)', () => {
  assert.equal(appInstanceName('argocd', 'guestbook', 'argocd'), 'guestbook');
  assert.equal(appInstanceName('team-a', 'guestbook', 'argocd'), 'team-a_guestbook');
  assert.deepEqual(parseAppInstance('team-a_guestbook', 'argocd'), {
    namespace: 'team-a',
    name: 'guestbook',
  });
  assert.deepEqual(parseAppInstance('guestbook', 'argocd'), { namespace: 'argocd', name: 'guestbook' });
});

test('tracking ids round-trip for namespaced, cluster-scoped and core objects', () => {
  assert.equal(formatTrackingId('app', deploy), 'app:apps/Deployment:shop/web');
  assert.equal(formatTrackingId('app', ns), 'app:/Namespace:/shop');
  assert.deepEqual(parseTrackingId('app:apps/Deployment:shop/web'), {
    appInstance: 'app',
    group: 'apps',
    kind: 'Deployment',
    namespace: 'shop',
    name: 'web',
  });
  assert.deepEqual(parseTrackingId('app:/Namespace:/shop')?.name, 'shop');
  assert.equal(parseTrackingId('garbage'), undefined);
  assert.equal(parseTrackingId(undefined), undefined);
});

test('withTracking adds the annotation and label without mutating the input', () => {
  const t = withTracking(deploy, 'ns_app');
  assert.equal(t.metadata.annotations?.[TRACKING_ID_ANNOTATION], 'ns_app:apps/Deployment:shop/web');
  assert.equal(t.metadata.labels?.['capstan.dev/managed'], 'true');
  assert.equal((deploy.metadata as Record<string, unknown>).labels, undefined);
  assert.equal(trackedBy(t), 'ns_app');
});

test('an object whose tracking id names another object is not tracked (copied annotation)', () => {
  const copy = withTracking(deploy, 'app');
  copy.metadata.name = 'web-copy';
  assert.equal(trackedBy(copy), undefined);
});
