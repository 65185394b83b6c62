import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CEILINGS, ceilingMessage, estimateBytes, formatAmount, parseByteAmount } from './limits';

describe('formatAmount', () => {
  it('prints bytes in binary units and counts with their unit', () => {
    assert.equal(formatAmount(512, 'bytes'), '512 B');
    assert.equal(formatAmount(1536, 'bytes'), '1.5 KiB');
    assert.equal(formatAmount(32 * 1024 * 1024, 'bytes'), '32 MiB');
    assert.equal(formatAmount(1024 ** 3, 'bytes'), '1 GiB');
    assert.equal(formatAmount(10000, 'objects'), '10000 objects');
  });
});

describe('ceilingMessage', () => {
  it('names what passed the ceiling, the ceiling and the flag that raises it', () => {
    assert.equal(
      ceilingMessage('this app renders', CEILINGS.objects, 2000),
      'this app renders more than 2000 objects (the limit set by --max-objects; an operator can raise it)',
    );
    assert.equal(
      ceilingMessage('the checkout of git://h/r.git at abc has', CEILINGS.repoBytes, 1024 * 1024),
      'the checkout of git://h/r.git at abc has more than 1 MiB of files (the limit set by --max-repo-bytes; ' +
        'an operator can raise it)',
    );
  });
});

describe('parseByteAmount', () => {
  it('reads plain bytes and Kubernetes-style suffixes', () => {
    assert.equal(parseByteAmount('--x', '1048576'), 1048576);
    assert.equal(parseByteAmount('--x', '32Mi'), 32 * 1024 * 1024);
    assert.equal(parseByteAmount('--x', '1.5Gi'), 1.5 * 1024 ** 3);
    assert.equal(parseByteAmount('--x', '500M'), 500e6);
    assert.equal(parseByteAmount('--x', '64KiB'), 65536);
  });

  it('refuses anything else with a sentence naming the flag', () => {
    assert.throws(
      () => parseByteAmount('--max-manifest-bytes', 'lots'),
      /^Error: --max-manifest-bytes must be a byte amount such as 33554432 or 32Mi, got "lots"$/,
    );
    assert.throws(() => parseByteAmount('--x', '-1'), /--x must be a byte amount/);
  });
});

describe('estimateBytes', () => {
  it('tracks the JSON size of plain data within a small factor', () => {
    const obj = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'x', labels: { a: 'b' } },
      data: { big: 'z'.repeat(10_000), n: 3, t: true, none: null },
      list: [1, 2, 'three'],
    };
    const json = JSON.stringify(obj).length;
    const estimate = estimateBytes(obj);
    assert.ok(estimate >= json * 0.9 && estimate <= json * 1.5, `${estimate} vs ${json}`);
  });

  it('grows linearly with content, also for deep nesting', () => {
    const one = estimateBytes({ a: 'x'.repeat(1000) });
    const many = estimateBytes(Array.from({ length: 100 }, () => ({ a: 'x'.repeat(1000) })));
    assert.ok(many >= one * 100);
    let deep: unknown = 'leaf';
    for (let i = 0; i < 100_000; i++) deep = [deep];
    assert.ok(estimateBytes(deep) > 100_000, 'no stack overflow on deep data');
  });
});
