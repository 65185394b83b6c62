import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseConfig } from '../config';

describe('--git-webhook-port and --git-webhook-max-payload-bytes', () => {
  it('are off and 50Mi by default', () => {
    const c = parseConfig([]);
    assert.equal(c.gitWebhookPort, 0);
    assert.equal(c.gitWebhookMaxPayloadBytes, 50 * 2 ** 20);
  });

  it('read a port and a byte amount', () => {
    const c = parseConfig(['--git-webhook-port', '8081', '--git-webhook-max-payload-bytes', '1Mi']);
    assert.equal(c.gitWebhookPort, 8081);
    assert.equal(c.gitWebhookMaxPayloadBytes, 2 ** 20);
  });

  it('refuse a bad port or size, naming the flag', () => {
    assert.throws(() => parseConfig(['--git-webhook-port', '70000']), /--git-webhook-port/);
    assert.throws(() => parseConfig(['--git-webhook-port', 'x']), /--git-webhook-port/);
    assert.throws(
      () => parseConfig(['--git-webhook-max-payload-bytes', 'lots']),
      /--git-webhook-max-payload-bytes/,
    );
    assert.throws(
      () => parseConfig(['--git-webhook-max-payload-bytes', '0']),
      /--git-webhook-max-payload-bytes/,
    );
  });
});
