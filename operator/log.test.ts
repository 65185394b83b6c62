import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { createLogger, textLine, wantsColour, type LogFormat } from './log';

/** Logs through a real winston logger into a buffer and returns what was written. */
async function written(format: LogFormat, colour?: boolean): Promise<string> {
  const stream = new PassThrough();
  const chunks: Buffer[] = [];
  stream.on('data', (c: Buffer) => chunks.push(c));
  const log = createLogger('info', format, { stream, colour });
  log.info('Sync succeeded: helm failed\nline two', {
    app: 'argocd/guestbook',
    revision: 'abc123',
    durationMs: 42,
  });
  log.warn('second event');
  await new Promise((resolve) => setImmediate(resolve));
  return Buffer.concat(chunks).toString('utf8');
}

test('text logs to a stream that is not a terminal carry no ANSI escape codes', async () => {
  const out = await written('text');
  assert.ok(!out.includes('\u001b['), JSON.stringify(out));
  assert.match(out, / info Sync succeeded/);
});

test('text logs are coloured only when asked (a terminal)', async () => {
  assert.ok((await written('text', true)).includes('\u001b['));
});

test('one line per event, with app, revision and durationMs as fields, in both formats', async () => {
  for (const format of ['text', 'json'] as const) {
    const lines = (await written(format)).trimEnd().split('\n');
    assert.equal(lines.length, 2, `${format}: ${lines.join(' | ')}`);
    assert.match(lines[0], /"app":"argocd\/guestbook"/);
    assert.match(lines[0], /"revision":"abc123"/);
    assert.match(lines[0], /"durationMs":42/);
  }
  const json = JSON.parse((await written('json')).split('\n')[0]) as Record<string, unknown>;
  assert.equal(json.message, 'Sync succeeded: helm failed\nline two');
  assert.equal(json.level, 'info');
  assert.equal(typeof json.timestamp, 'string');
});

test('wantsColour: only a TTY, and NO_COLOR turns it off', () => {
  assert.equal(wantsColour({ isTTY: true }, {}), true);
  assert.equal(wantsColour({ isTTY: false }, {}), false);
  assert.equal(wantsColour({}, {}), false);
  assert.equal(wantsColour({ isTTY: true }, { NO_COLOR: '1' }), false);
});

test('textLine escapes line breaks and appends the fields as JSON', () => {
  assert.equal(
    textLine({ level: 'warn', message: 'a\r\nb\nc', timestamp: 'T', app: 'ns/x' }),
    'T warn a\\nb\\nc {"app":"ns/x"}',
  );
});
