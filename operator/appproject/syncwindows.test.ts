import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  activeSince,
  appWindows,
  compileSchedule,
  heldMessage,
  nextAllowed,
  parseSyncWindow,
  SyncWindowError,
  SyncWindowSpec,
  syncWindowProblems,
  syncWindowVerdict,
  WindowedApp,
  windowMatches,
} from './syncwindows';

const at = (iso: string): number => Date.parse(iso);
const app: WindowedApp = {
  name: 'guestbook-prod',
  destination: { server: 'https://kubernetes.default.svc', name: 'in-cluster', namespace: 'team-a' },
};
const win = (w: Partial<SyncWindowSpec>): SyncWindowSpec => ({
  kind: 'deny',
  schedule: '0 22 * * *',
  duration: '1h',
  applications: ['*'],
  ...w,
});
const isActive = (w: SyncWindowSpec, iso: string): boolean =>
  activeSince(parseSyncWindow(w), at(iso)) !== undefined;

describe('compileSchedule: robfig/cron standard syntax, as Argo CD parses schedules', () => {
  for (const ok of [
    '0 22 * * *',
    '*/15 * * * *',
    '5/15 * * * *',
    '0 9-17 * * MON-FRI',
    '0 0 1,15 JAN,JUL *',
    '0 0 ? * 0',
    '0 0 * * 6',
  ]) {
    it(`accepts ${ok}`, () => assert.doesNotThrow(() => compileSchedule(ok)));
  }
  for (const [bad, why] of [
    ['* * * * * *', /5 fields/],
    ['0 22 * *', /5 fields/],
    ['', /5 fields/],
    ['@daily', /5 fields/],
    ['0 0 L * *', /day of month/],
    ['0 0 1W * *', /day of month/],
    ['0 0 * * 5#2', /day of week/],
    ['0 0 * * 7', /0-6/],
    ['60 * * * *', /minute/],
    ['0 24 * * *', /hour/],
    ['0 0 * FOO *', /month|FOO/i],
    ['0 0 0 * *', /day of month field '0'/],
    ['0 0 * 13 *', /month field '13'/],
    ['*/0 * * * *', /stepping/],
    ['0 0 * * 5-1', /larger/],
  ] as const) {
    it(`refuses '${bad}'`, () =>
      assert.throws(
        () => compileSchedule(bad),
        (e: Error) => e instanceof SyncWindowError && why.test(e.message),
      ));
  }
  it('refuses an unknown time zone, naming the field', () =>
    assert.throws(() => compileSchedule('0 0 * * *', 'Mars/Olympus'), /timeZone 'Mars\/Olympus'/));
});

describe('parseSyncWindow / syncWindowProblems: the field is named', () => {
  it('a valid window has no problems', () => assert.deepEqual(syncWindowProblems([win({})]), []));
  it('kind, schedule, duration and timeZone', () => {
    assert.deepEqual(
      syncWindowProblems([
        win({ kind: 'block' }),
        win({ schedule: '0 22 * *' }),
        win({ duration: '1 hour' }),
        win({ timeZone: 'Nowhere/Town' }),
      ]).map((p) => p.split(':')[0]),
      [
        'syncWindows[0].kind',
        'syncWindows[1].schedule',
        'syncWindows[2].duration',
        'syncWindows[3].timeZone',
      ],
    );
  });
  it('Go durations as Argo CD (1h30m, 90s)', () => {
    assert.equal(parseSyncWindow(win({ duration: '1h30m' })).durationMs, 5_400_000);
    assert.equal(parseSyncWindow(win({ duration: '90s' })).durationMs, 90_000);
  });
});

describe('windowMatches: applications, clusters (name or server), namespaces; OR, or AND with andOperator', () => {
  const cases: Array<[string, Partial<SyncWindowSpec>, boolean]> = [
    ['app glob', { applications: ['*-prod'] }, true],
    ['app glob miss', { applications: ['*-dev'] }, false],
    ['cluster by name', { applications: undefined, clusters: ['in-cluster'] }, true],
    ['cluster by server glob', { applications: undefined, clusters: ['https://kubernetes.*'] }, true],
    ['namespace glob', { applications: undefined, namespaces: ['team-*'] }, true],
    ['namespace miss', { applications: undefined, namespaces: ['kube-system'] }, false],
    ['OR: one selector matches', { applications: ['other'], namespaces: ['team-a'] }, true],
    [
      'AND: all set selectors match',
      { applications: ['guestbook-*'], namespaces: ['team-a'], andOperator: true },
      true,
    ],
    [
      'AND: one selector misses',
      { applications: ['other'], namespaces: ['team-a'], andOperator: true },
      false,
    ],
    [
      'AND: unset selectors are not required',
      { applications: undefined, clusters: ['in-cluster'], andOperator: true },
      true,
    ],
    ['no selector applies to nothing', { applications: undefined }, false],
    ['no negation in window globs (a literal !)', { applications: ['!other'] }, false],
  ];
  for (const [name, w, want] of cases) it(name, () => assert.equal(windowMatches(win(w), app), want));
});

describe('active: [start, start + duration) in the window time zone', () => {
  const w = win({ schedule: '0 22 * * *', duration: '1h' });
  it('opens at the start minute and closes at the end', () => {
    assert.equal(isActive(w, '2026-01-10T21:59:59Z'), false);
    assert.equal(isActive(w, '2026-01-10T22:00:00Z'), true);
    assert.equal(isActive(w, '2026-01-10T22:59:59Z'), true);
    assert.equal(isActive(w, '2026-01-10T23:00:00Z'), false);
  });
  it('a duration across midnight', () => {
    const late = win({ schedule: '0 23 * * *', duration: '2h' });
    assert.equal(isActive(late, '2026-01-11T00:30:00Z'), true);
    assert.equal(isActive(late, '2026-01-11T01:00:00Z'), false);
  });
  it('a duration longer than the interval between starts keeps it open', () => {
    const every = win({ schedule: '*/10 * * * *', duration: '15m' });
    assert.equal(isActive(every, '2026-01-10T10:04:00Z'), true);
  });
  it('a weekday window across midnight ends on the next day', () => {
    const fri = win({ schedule: '0 22 * * FRI', duration: '4h' }); // 2026-01-09 is a Friday
    assert.equal(isActive(fri, '2026-01-10T01:59:00Z'), true);
    assert.equal(isActive(fri, '2026-01-11T01:00:00Z'), false);
  });
  it('timeZone: 22:00 in Amsterdam is 21:00Z in winter and 20:00Z in summer', () => {
    const ams = win({ schedule: '0 22 * * *', duration: '1h', timeZone: 'Europe/Amsterdam' });
    assert.equal(isActive(ams, '2026-01-10T21:30:00Z'), true);
    assert.equal(isActive(ams, '2026-01-10T22:30:00Z'), false);
    assert.equal(isActive(ams, '2026-07-10T20:30:00Z'), true);
    assert.equal(isActive(ams, '2026-07-10T21:30:00Z'), false);
  });
  it('DST spring forward: a start in the skipped hour (02:30 Berlin, 2026-03-29) opens at 03:00 local', () => {
    const b = win({ schedule: '30 2 * * *', duration: '1h', timeZone: 'Europe/Berlin' });
    assert.equal(isActive(b, '2026-03-29T00:45:00Z'), false);
    assert.equal(isActive(b, '2026-03-29T01:00:00Z'), true); // 03:00 CEST
    assert.equal(isActive(b, '2026-03-29T02:00:00Z'), false);
  });
  it('DST fall back: a start in the repeated hour (02:30 Berlin, 2026-10-25) opens once, at the first', () => {
    const b = win({ schedule: '30 2 * * *', duration: '30m', timeZone: 'Europe/Berlin' });
    assert.equal(isActive(b, '2026-10-25T00:45:00Z'), true); // 02:45 CEST
    assert.equal(isActive(b, '2026-10-25T01:45:00Z'), false); // 02:45 CET, the repeated hour
  });
  it('a window whose duration is 0 is never active', () => {
    assert.equal(isActive(win({ schedule: '* * * * *', duration: '0s' }), '2026-01-10T10:00:30Z'), false);
  });
});

describe('syncWindowVerdict: Argo CD CanSync', () => {
  const deny = win({ kind: 'deny', schedule: '0 22 * * *', duration: '1h' });
  const allow = win({ kind: 'allow', schedule: '0 9 * * *', duration: '8h' });
  const inDeny = at('2026-01-10T22:30:00Z');
  const inAllow = at('2026-01-10T10:00:00Z');
  const outside = at('2026-01-10T20:00:00Z');
  const verdict = (ws: SyncWindowSpec[], t: number, manual = false, running = false) =>
    syncWindowVerdict(appWindows(ws, app), { manual, atMs: t, running }).allowed;

  it('no matching window: allowed', () => {
    assert.equal(verdict([], inDeny), true);
    assert.equal(verdict([win({ applications: ['other'] })], inDeny), true);
  });
  it('active deny blocks automated and manual syncs', () => {
    assert.equal(verdict([deny], inDeny), false);
    assert.equal(verdict([deny], inDeny, true), false);
    assert.equal(verdict([deny], outside), true);
  });
  it('manualSync on the deny window lets manual syncs through only', () => {
    const d = { ...deny, manualSync: true };
    assert.equal(verdict([d], inDeny, true), true);
    assert.equal(verdict([d], inDeny, false), false);
  });
  it('manual through two active denies needs manualSync on both', () => {
    const d2 = win({ kind: 'deny', schedule: '30 22 * * *', duration: '1h' });
    assert.equal(verdict([{ ...deny, manualSync: true }, d2], at('2026-01-10T22:45:00Z'), true), false);
    assert.equal(
      verdict(
        [
          { ...deny, manualSync: true },
          { ...d2, manualSync: true },
        ],
        at('2026-01-10T22:45:00Z'),
        true,
      ),
      true,
    );
  });
  it('allow windows: only inside one', () => {
    assert.equal(verdict([allow], inAllow), true);
    assert.equal(verdict([allow], outside), false);
    assert.equal(verdict([{ ...allow, manualSync: true }], outside, true), true);
  });
  it('deny wins over an active allow', () => {
    const wide = win({ kind: 'allow', schedule: '0 0 * * *', duration: '24h' });
    assert.equal(verdict([wide, deny], inDeny), false);
  });
  it('active deny with manualSync and inactive allow without: manual allowed (CanSync looks at the deny only)', () => {
    assert.equal(verdict([{ ...deny, manualSync: true }, allow], inDeny, true), true);
  });
  it('syncOverrun transition table (Argo CD sync windows user guide)', () => {
    const denyO = { ...deny, syncOverrun: true };
    const allowO = { ...allow, syncOverrun: true };
    const late = win({ kind: 'allow', schedule: '0 12 * * *', duration: '12h' }); // active at 22:30
    const lateO = { ...late, syncOverrun: true };
    const run = (ws: SyncWindowSpec[], t: number) => verdict(ws, t, false, true);
    assert.equal(run([denyO], inDeny), true, '1: no window -> deny with overrun');
    assert.equal(run([deny], inDeny), false, '2: no window -> deny without overrun');
    assert.equal(run([lateO, denyO], inDeny), true, '3: allow with overrun -> deny with overrun');
    assert.equal(run([lateO, deny], inDeny), false, '4: allow with overrun -> deny without overrun');
    assert.equal(run([late, denyO], inDeny), true, '5: allow without overrun -> deny with overrun');
    assert.equal(run([late, deny], inDeny), false, '6: allow without overrun -> deny without overrun');
    assert.equal(run([allowO], outside), true, '7: allow with overrun ends');
    const allow2O = win({ kind: 'allow', schedule: '0 10 * * *', duration: '1h', syncOverrun: true });
    assert.equal(run([allowO, allow2O], outside), true, '8: all allows with overrun end');
    assert.equal(
      run([allowO, { ...allow2O, syncOverrun: false }], outside),
      false,
      '9: one allow without overrun',
    );
    assert.equal(verdict([denyO], inDeny, false, false), false, 'overrun never starts a new sync');
  });
});

describe('nextAllowed: when a held sync may start', () => {
  const ms = (ws: SyncWindowSpec[], iso: string, manual = false) => {
    const t = nextAllowed(appWindows(ws, app), { manual, atMs: at(iso) });
    return t === undefined ? undefined : new Date(t).toISOString();
  };
  it('at the end of the active deny window', () =>
    assert.equal(ms([win({})], '2026-01-10T22:30:00Z'), '2026-01-10T23:00:00.000Z'));
  it('now when allowed', () =>
    assert.equal(ms([win({})], '2026-01-10T12:00:00Z'), '2026-01-10T12:00:00.000Z'));
  it('at the next allow window, the next day', () =>
    assert.equal(
      ms([win({ kind: 'allow', schedule: '0 9 * * *', duration: '8h' })], '2026-01-10T18:00:00Z'),
      '2026-01-11T09:00:00.000Z',
    ));
  it('after overlapping deny windows, and skipping an allow window a deny covers', () =>
    assert.equal(
      ms(
        [
          win({}),
          win({ schedule: '30 22 * * *', duration: '1h' }),
          win({ kind: 'allow', schedule: '0 23 * * *', duration: '2h' }),
        ],
        '2026-01-10T22:10:00Z',
      ),
      '2026-01-10T23:30:00.000Z',
    ));
  it('in the window time zone', () =>
    assert.equal(
      ms([win({ timeZone: 'America/New_York' })], '2026-01-11T03:15:00Z'),
      '2026-01-11T04:00:00.000Z',
    ));
  it('never, for a deny window always open', () =>
    assert.equal(ms([win({ schedule: '* * * * *', duration: '2m' })], '2026-01-10T12:00:00Z'), undefined));
});

describe('heldMessage', () => {
  it('names the window and when syncs open', () => {
    const ws = appWindows([win({ description: 'release freeze', timeZone: 'Europe/Paris' })], app);
    const v = syncWindowVerdict(ws, { manual: false, atMs: at('2026-01-10T21:30:00Z') });
    assert.equal(v.allowed, false);
    assert.equal(
      heldMessage('Automated sync', v, at('2026-01-10T22:00:00Z')),
      `Automated sync is blocked by sync window: deny window 0 "release freeze" (schedule '0 22 * * *', duration 1h, timeZone Europe/Paris) is active; syncs are allowed again at 2026-01-10T22:00:00Z`,
    );
  });
  it('outside allow windows', () => {
    const ws = appWindows([win({ kind: 'allow' })], app);
    const v = syncWindowVerdict(ws, { manual: false, atMs: at('2026-01-10T12:00:00Z') });
    assert.match(
      heldMessage('Automated sync', v, undefined),
      /: outside allow window 0 \(.*; no window allows it/,
    );
  });
});
