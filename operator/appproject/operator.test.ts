import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ProjectUsage } from './operator';

test('ProjectUsage: which apps use a project, and which projects to re-queue when an app moves or goes', () => {
  const u = new ProjectUsage();
  assert.deepEqual(u.set('ns/a', 'team-a'), ['team-a']);
  assert.deepEqual(u.set('ns/b', 'team-a'), ['team-a']);
  assert.deepEqual(u.set('ns/a', 'team-a'), [], 'an unchanged project re-queues nothing');
  assert.deepEqual(u.appsOf('team-a'), ['ns/a', 'ns/b']);
  assert.deepEqual(u.set('ns/a', 'team-b'), ['team-a', 'team-b'], 'moving re-queues both');
  assert.deepEqual(u.appsOf('team-a'), ['ns/b']);
  assert.deepEqual(u.set('ns/b', undefined), ['team-a'], 'a deleted app re-queues its project');
  assert.deepEqual(u.appsOf('team-a'), []);
  assert.deepEqual(u.set('ns/ghost', undefined), []);
});
