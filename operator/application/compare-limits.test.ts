/** The per-app sum of render ceilings over an app's sources (each source is bounded while it renders). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CeilingError } from '../render/errors';
import { assertAppCeilings } from './compare';

describe('assertAppCeilings', () => {
  const limits = { maxBytes: 1024 * 1024, maxObjects: 10 };

  it('accepts sums up to the ceilings', () => {
    assertAppCeilings(limits, 2, 10, 1024 * 1024);
  });

  it('refuses more objects over all sources, naming the ceiling and its flag', () => {
    assert.throws(
      () => assertAppCeilings(limits, 3, 11, 0),
      (err: unknown) => {
        assert.ok(err instanceof CeilingError);
        assert.equal(
          err.message,
          'the 3 sources of this app render more than 10 objects (the limit set by --max-objects; ' +
            'an operator can raise it)',
        );
        return true;
      },
    );
  });

  it('refuses more bytes over all sources', () => {
    assert.throws(
      () => assertAppCeilings(limits, 1, 1, 1024 * 1024 + 1),
      /^CeilingError: this app renders more than 1 MiB of manifests \(the limit set by --max-manifest-bytes/,
    );
  });
});
