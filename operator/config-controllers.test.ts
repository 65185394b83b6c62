/** `--controllers`: the AppProject operator is selectable, and `application` implies it (old flags keep working). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseConfig } from './config';

test('--controllers: application implies appproject; appproject alone and the default run it too', () => {
  const saved = process.env.CAPSTAN_CONTROLLERS;
  delete process.env.CAPSTAN_CONTROLLERS;
  try {
    assert.deepEqual(parseConfig([]).controllers, [
      'application',
      'appproject',
      'externalsecret',
      'clusterexternalsecret',
      'pushsecret',
    ]);
    assert.deepEqual(parseConfig(['--controllers', 'application,externalsecret']).controllers, [
      'application',
      'externalsecret',
      'appproject',
    ]);
    assert.deepEqual(parseConfig(['--controllers', 'appproject']).controllers, ['appproject']);
    assert.deepEqual(parseConfig(['--controllers', 'externalsecret']).controllers, ['externalsecret']);
    assert.throws(() => parseConfig(['--controllers', 'projects']), /unknown operator\(s\) projects/);
  } finally {
    if (saved !== undefined) process.env.CAPSTAN_CONTROLLERS = saved;
  }
});
