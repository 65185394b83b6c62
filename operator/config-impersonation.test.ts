/** `--impersonation` (Argo CD's `application.sync.impersonation.enabled`): off by default, flag or env. */
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { parseConfig } from './config';

describe('--impersonation', () => {
  const saved = process.env.CAPSTAN_IMPERSONATION;
  afterEach(() => {
    if (saved === undefined) delete process.env.CAPSTAN_IMPERSONATION;
    else process.env.CAPSTAN_IMPERSONATION = saved;
  });

  it('is off by default, as in Argo CD', () => {
    delete process.env.CAPSTAN_IMPERSONATION;
    assert.equal(parseConfig([]).impersonation, false);
  });

  it('is turned on by the flag or by CAPSTAN_IMPERSONATION=true (the chart sets either)', () => {
    delete process.env.CAPSTAN_IMPERSONATION;
    assert.equal(parseConfig(['--impersonation']).impersonation, true);
    process.env.CAPSTAN_IMPERSONATION = 'true';
    assert.equal(parseConfig([]).impersonation, true);
    process.env.CAPSTAN_IMPERSONATION = 'false';
    assert.equal(parseConfig([]).impersonation, false);
  });
});
