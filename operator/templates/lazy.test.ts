import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '..', '..');

test('the template engines load handlebars and node-forge on first use only (issue 10 §2 P2)', () => {
  const out = execFileSync(
    process.execPath,
    [
      '--import',
      'tsx',
      '-e',
      `require('./operator/templates');
       const loaded = (p) => Object.keys(require.cache).some((f) => f.includes('/node_modules/' + p + '/'));
       const before = [loaded('handlebars'), loaded('node-forge')];
       require('./operator/templates').renderString('{{a}}', { a: 'x' });
       console.log(JSON.stringify(before), loaded('handlebars'));`,
    ],
    { cwd: ROOT, encoding: 'utf8' },
  ).trim();
  assert.equal(out, '[false,false] true');
});
