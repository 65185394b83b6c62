import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ExternalSecret } from '../../generated/externalsecret';
import {
  jitterMs,
  nextRefreshDelay,
  refreshIntervalMs,
  shouldRefresh,
  syncedResourceVersion,
} from './refresh';

const T0 = Date.parse('2025-01-01T00:00:00Z');

function es(
  spec: Partial<ExternalSecret['spec']> = {},
  synced?: { at: number; same?: boolean },
): ExternalSecret {
  const obj: ExternalSecret = {
    metadata: { name: 'x', namespace: 'n', generation: 3, labels: { a: '1' } },
    spec: { data: [], ...spec },
  };
  if (synced) {
    obj.status = {
      refreshTime: new Date(synced.at).toISOString(),
      syncedResourceVersion: synced.same === false ? 'stale' : syncedResourceVersion(obj),
    };
  }
  return obj;
}

describe('refresh timing', () => {
  test('refreshInterval: Go durations, unset means 1h, 0 means never again', () => {
    assert.equal(refreshIntervalMs(es({ refreshInterval: '1m30s' })), 90_000);
    assert.equal(refreshIntervalMs(es()), 3_600_000);
    assert.equal(refreshIntervalMs(es({ refreshInterval: '0' })), 0);
  });

  test('syncedResourceVersion changes with generation, labels and annotations, not status', () => {
    const a = es();
    const v = syncedResourceVersion(a);
    assert.match(v, /^3-[0-9a-f]{16}$/);
    assert.equal(syncedResourceVersion({ ...a, status: { refreshTime: 'x' } }), v);
    assert.notEqual(syncedResourceVersion({ ...a, metadata: { ...a.metadata, generation: 4 } }), v);
    assert.notEqual(
      syncedResourceVersion({ ...a, metadata: { ...a.metadata, annotations: { force: 'now' } } }),
      v,
    );
  });

  test('never synced: every policy fetches', () => {
    for (const refreshPolicy of ['Periodic', 'OnChange', 'CreatedOnce'] as const)
      assert.equal(shouldRefresh(es({ refreshPolicy }), T0), true, refreshPolicy);
  });

  test('Periodic: due after the interval, or at once when the ExternalSecret changed', () => {
    const spec = { refreshInterval: '10s' };
    assert.equal(shouldRefresh(es(spec, { at: T0 }), T0 + 9_000), false);
    assert.equal(shouldRefresh(es(spec, { at: T0 }), T0 + 10_000), true);
    assert.equal(shouldRefresh(es(spec, { at: T0, same: false }), T0 + 1), true);
    assert.equal(shouldRefresh(es(spec, { at: T0 + 60_000 }), T0), true, 'a refresh time in the future');
  });

  test('refreshInterval 0 fetches once per change of the ExternalSecret', () => {
    const spec = { refreshInterval: '0' };
    assert.equal(shouldRefresh(es(spec, { at: T0 }), T0 + 1e9), false);
    assert.equal(shouldRefresh(es(spec, { at: T0, same: false }), T0 + 1), true);
  });

  test('OnChange fetches on change only; CreatedOnce never again', () => {
    assert.equal(shouldRefresh(es({ refreshPolicy: 'OnChange' }, { at: T0 }), T0 + 1e9), false);
    assert.equal(shouldRefresh(es({ refreshPolicy: 'OnChange' }, { at: T0, same: false }), T0), true);
    assert.equal(
      shouldRefresh(es({ refreshPolicy: 'CreatedOnce' }, { at: T0, same: false }), T0 + 1e9),
      false,
    );
  });

  test('next refresh: time left plus jitter of at most 10 % of the interval', () => {
    const e = es({ refreshInterval: '100s' }, { at: T0 });
    assert.equal(nextRefreshDelay(e, T0 + 40_000, { random: () => 0 }), 60_000);
    assert.equal(nextRefreshDelay(e, T0 + 40_000, { random: () => 0.999999 }), 60_000 + 9_999);
    assert.equal(nextRefreshDelay(e, T0 + 500_000, { random: () => 0 }), 0, 'overdue: now');
    assert.equal(nextRefreshDelay(es({ refreshPolicy: 'OnChange' }, { at: T0 }), T0), undefined);
    assert.equal(nextRefreshDelay(es({ refreshInterval: '0' }, { at: T0 }), T0), undefined);
  });

  test('jitter spreads ExternalSecrets created together across 10 % of the interval', () => {
    let seed = 1;
    const random = (): number => ((seed = (seed * 16807) % 2147483647) - 1) / 2147483646;
    const delays = Array.from({ length: 10_000 }, () => jitterMs(3_600_000, random));
    assert.ok(Math.max(...delays) < 360_000);
    assert.ok(Math.min(...delays) >= 0);
    const perMinute = new Map<number, number>();
    for (const d of delays)
      perMinute.set(Math.floor(d / 60_000), (perMinute.get(Math.floor(d / 60_000)) ?? 0) + 1);
    assert.equal(perMinute.size, 6, 'spread over the six minutes of jitter');
    for (const n of perMinute.values()) assert.ok(n < 2_000, 'no minute gets much more than its share');
  });
});
