import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ExternalSecret, SyncWindows } from '../../generated/externalsecret';
import { syncedResourceVersion } from './refresh';
import { refreshHeldMs, syncWindowProblems } from './syncwindows';

/** An ExternalSecret synced before (so its periodic refresh is what windows gate). */
function es(
  syncWindows: ExternalSecret['spec']['syncWindows'],
  extra: Partial<ExternalSecret['spec']> = {},
): ExternalSecret {
  const o = {
    apiVersion: 'external-secrets.io/v1',
    kind: 'ExternalSecret',
    metadata: { name: 'x', namespace: 'n', generation: 1 },
    spec: { refreshInterval: '1m', syncWindows, ...extra },
  } as ExternalSecret;
  o.status = { syncedResourceVersion: syncedResourceVersion(o), refreshTime: '2026-01-05T00:00:00Z' };
  return o;
}
const at = (iso: string): number => Date.parse(iso);
// 2026-01-05 is a Monday
const weekdaysNineToFive: SyncWindows = {
  kind: 'allow',
  windows: [{ schedule: '0 9 * * 1-5', duration: '8h' }],
};

describe('ExternalSecret syncWindows (ESO)', () => {
  it('allow: held outside the window until it opens, free inside', () => {
    assert.equal(refreshHeldMs(es(weekdaysNineToFive), at('2026-01-05T12:00:00Z')), undefined);
    assert.equal(refreshHeldMs(es(weekdaysNineToFive), at('2026-01-05T08:00:00Z')), 3_600_000);
    // Saturday noon: held (at most a day, then looked at again)
    assert.equal(refreshHeldMs(es(weekdaysNineToFive), at('2026-01-10T12:00:00Z')), 86_400_000);
  });

  it('deny: held inside the window until it closes', () => {
    const deny: SyncWindows = { kind: 'deny', windows: [{ schedule: '@daily', duration: '2h' }] };
    assert.equal(refreshHeldMs(es(deny), at('2026-01-05T01:00:00Z')), 3_600_000);
    assert.equal(refreshHeldMs(es(deny), at('2026-01-05T03:00:00Z')), undefined);
  });

  it('@every: always open when the period fits the duration', () => {
    const always: SyncWindows = { kind: 'deny', windows: [{ schedule: '@every 1h', duration: '1h' }] };
    assert.notEqual(refreshHeldMs(es(always), at('2026-01-05T03:00:00Z')), undefined);
  });

  it('the first sync, a spec change and OnChange are never held', () => {
    const first = es(weekdaysNineToFive);
    delete first.status;
    assert.equal(refreshHeldMs(first, at('2026-01-05T08:00:00Z')), undefined);
    const changed = es(weekdaysNineToFive);
    changed.metadata.generation = 2;
    assert.equal(refreshHeldMs(changed, at('2026-01-05T08:00:00Z')), undefined);
    assert.equal(
      refreshHeldMs(es(weekdaysNineToFive, { refreshPolicy: 'OnChange' }), at('2026-01-05T08:00:00Z')),
      undefined,
    );
  });

  it('bad schedules and durations are spec problems naming the field', () => {
    const bad = es({
      kind: 'allow',
      windows: [
        { schedule: '0 9 * *', duration: '8h' },
        { schedule: '@daily', duration: 'x' },
      ],
    });
    const p = syncWindowProblems(bad);
    assert.equal(p.length, 2);
    assert.match(p[0], /^spec\.syncWindows\.windows\[0\]\.schedule: .*5 fields/);
    assert.match(p[1], /^spec\.syncWindows\.windows\[1\]\.duration: "x" is not a positive Go duration/);
  });
});
