/**
 * AppProject sync windows, with Argo CD's semantics (`SyncWindows.Matches`, `Active`, `CanSync` in
 * `pkg/apis/application/v1alpha1`, and the user guide's "Sync Windows"):
 *
 * - A window applies to an app when one of its `applications` globs matches the app's name, one of its
 *   `clusters` globs matches `destination.server` or `destination.name`, or one of its `namespaces` globs
 *   matches `destination.namespace` (OR); with `andOperator: true` every list that is set must match (AND).
 *   Globs are Argo CD's (gobwas without separators, no `!`).
 * - A window is active from each start its cron `schedule` gives (5 fields, in `timeZone`, UTC when empty)
 *   for `duration` (a Go duration): active at `t` when some start `s` has `s <= t < s + duration`.
 * - No matching window: every sync may run. An active matching `deny` window blocks syncs; when matching
 *   `allow` windows exist, syncs run only while one of them is active; deny wins over allow.
 * - A manual sync may run where blocked only when every blocking window has `manualSync: true` (all active
 *   deny windows; or, when blocked for lack of an active allow window, all inactive allow windows).
 * - `syncOverrun`: an operation already running may go on when the windows turn against it, if every
 *   active deny window has `syncOverrun` and, when no allow window is active, every inactive allow window
 *   has it (Argo CD 3.2's transition table).
 *
 * Schedules use croner (cron with IANA time zones; DST as croner handles it: a start in a skipped hour
 * happens at the end of the gap, one in a repeated hour happens once, at the first occurrence). Argo CD
 * (robfig/cron) offsets by the zone's *current* UTC offset, so for a day either side of a DST change its
 * windows are an hour off; capstan's follow the wall clock of the zone.
 */
import { Cron } from 'croner';
import { parseGoDuration } from '../common/goduration';
import { globToRegExp } from '../render/glob';

/** One `spec.syncWindows[]` entry of an AppProject (the fields read here). */
export interface SyncWindowSpec {
  /** `allow` or `deny`. */
  kind?: string;
  /** Cron expression (5 fields: minute hour day-of-month month day-of-week) of each start. */
  schedule?: string;
  /** Go duration (`1h`, `30m`) the window stays open after each start. */
  duration?: string;
  applications?: string[];
  namespaces?: string[];
  clusters?: string[];
  manualSync?: boolean;
  /** IANA zone of the schedule; UTC when empty. */
  timeZone?: string;
  /** AND the `applications`/`namespaces`/`clusters` selectors instead of OR. */
  andOperator?: boolean;
  /** Free text, only shown. */
  description?: string;
  syncOverrun?: boolean;
}

/** A window whose schedule, duration and zone parsed; `index` is its position in `spec.syncWindows`. */
export interface ParsedSyncWindow {
  index: number;
  spec: SyncWindowSpec;
  kind: 'allow' | 'deny';
  /** Duration in ms. */
  durationMs: number;
  cron: Cron;
}

/** Thrown by {@link parseSyncWindow} for a window Argo CD's validation would refuse. */
export class SyncWindowError extends Error {
  override name = 'SyncWindowError';
}

/** The app fields windows select on. */
export interface WindowedApp {
  name: string;
  destination: { server?: string; name?: string; namespace?: string };
}

/**
 * One field of robfig/cron's standard syntax: `*` or `?`, a value, or a range, each with an optional
 * `/step`, comma-separated. Letters only as three-letter month or weekday names. croner also accepts `L`,
 * `W`, `#` and `@daily`-style nicknames, which Argo CD's parser refuses: refused here too, so that a
 * project valid for capstan is valid for Argo CD.
 */
const CRON_TERM = (value: string): RegExp => new RegExp(`^(?:\\*|\\?|${value}(?:-${value})?)(?:/\\d+)?$`);
const NUM = '\\d+';
const NAME = '(?:\\d+|[A-Za-z]{3})';
const CRON_FIELDS: Array<{ name: string; term: RegExp }> = [
  { name: 'minute', term: CRON_TERM(NUM) },
  { name: 'hour', term: CRON_TERM(NUM) },
  { name: 'day of month', term: CRON_TERM(NUM) },
  { name: 'month', term: CRON_TERM(NAME) },
  { name: 'day of week', term: CRON_TERM(NAME) },
];

/**
 * Checks a cron schedule the way Argo CD parses it (robfig/cron with minute, hour, day of month, month and
 * day of week: exactly 5 fields, no seconds, no nicknames) and compiles it with croner.
 * @param schedule - the cron text.
 * @param timeZone - IANA zone, or undefined/empty for UTC.
 * @returns the compiled schedule (paused: capstan never runs jobs with it, it only asks for start times).
 * @throws SyncWindowError naming the field (`schedule` or `timeZone`) and the reason.
 */
export function compileSchedule(schedule: string, timeZone?: string): Cron {
  const fields = schedule.trim().split(/\s+/);
  if (schedule.trim() === '' || fields.length !== 5) {
    throw new SyncWindowError(
      `schedule '${schedule}' must have 5 fields (minute hour day-of-month month day-of-week), it has ${schedule.trim() === '' ? 0 : fields.length}`,
    );
  }
  fields.forEach((f, i) => {
    if (!f.split(',').every((t) => CRON_FIELDS[i].term.test(t)))
      throw new SyncWindowError(`schedule '${schedule}': invalid ${CRON_FIELDS[i].name} field '${f}'`);
  });
  // robfig's day of week is 0-6 (croner would also take 7 for Sunday).
  if (/(^|[-,])7($|[-,/])/.test(fields[4]))
    throw new SyncWindowError(`schedule '${schedule}': day of week must be 0-6 (SUN-SAT)`);
  const zone = timeZone || 'UTC';
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
  } catch {
    throw new SyncWindowError(`timeZone '${timeZone}' is not an IANA time zone (for example Europe/Paris)`);
  }
  try {
    // domAndDow false: a day matches its day of month OR its day of week when both are restricted, as in
    // Vixie cron and robfig. sloppyRanges: robfig reads `5/15` as `5-59/15`.
    return new Cron(fields.join(' '), {
      timezone: zone,
      mode: '5-part',
      domAndDow: false,
      sloppyRanges: true,
      paused: true,
    });
  } catch (err) {
    // croner counts months and days from 0 in its range errors: name the field as written instead.
    const part = /Invalid value for (\w+)/.exec((err as Error).message)?.[1];
    const index = { minute: 0, hour: 1, day: 2, month: 3, dayOfWeek: 4 }[part ?? ''];
    const why =
      index !== undefined
        ? `invalid ${CRON_FIELDS[index].name} field '${fields[index]}' (out of range)`
        : (err as Error).message.replace(/^CronPattern: /, '');
    throw new SyncWindowError(`schedule '${schedule}': ${why}`);
  }
}

/**
 * Validates and compiles one window (Argo CD's `SyncWindow.Validate`: kind, schedule, duration; capstan also
 * checks `timeZone`, which Argo CD silently replaces by UTC when unknown).
 * @param spec - the window as written in the project.
 * @param index - its position in `spec.syncWindows` (names it in messages).
 * @throws SyncWindowError whose message names the field, e.g. `duration '1 hour' is not a duration ...`.
 */
export function parseSyncWindow(spec: SyncWindowSpec, index = 0): ParsedSyncWindow {
  if (spec.kind !== 'allow' && spec.kind !== 'deny')
    throw new SyncWindowError(`kind '${spec.kind ?? ''}' must be allow or deny`);
  const cron = compileSchedule(spec.schedule ?? '', spec.timeZone);
  const durationMs = parseGoDuration(spec.duration ?? '');
  if (durationMs === undefined)
    throw new SyncWindowError(
      `duration '${spec.duration ?? ''}' is not a duration (a number and unit such as 1h, 30m or 1h30m)`,
    );
  return { index, spec, kind: spec.kind, durationMs, cron };
}

/**
 * Problems of a project's sync windows, each naming the field as `syncWindows[i].<field>: problem`; empty
 * when all are valid. For the AppProject validator.
 */
export function syncWindowProblems(windows: SyncWindowSpec[] | undefined): string[] {
  const out: string[] = [];
  (windows ?? []).forEach((w, i) => {
    try {
      parseSyncWindow(w, i);
    } catch (err) {
      const msg = (err as Error).message;
      const field = /^(kind|schedule|duration|timeZone)\b/.exec(msg)?.[1] ?? 'schedule';
      out.push(`syncWindows[${i}].${field}: ${msg}`);
    }
  });
  return out;
}

/** Argo CD's `globMatch(pattern, value, false)`: gobwas glob, `*` matches everything; malformed matches nothing. */
function windowGlob(pattern: string, value: string): boolean {
  if (pattern === '*') return true;
  try {
    return globToRegExp(pattern).matches(value);
  } catch {
    return false;
  }
}

const anyGlob = (patterns: string[], value: string | undefined): boolean =>
  value !== undefined && value !== '' && patterns.some((p) => windowGlob(p, value));

/**
 * Whether a window applies to an app (Argo CD's `SyncWindows.Matches`): selectors OR-ed, or with
 * `andOperator` every non-empty selector must match. A window with no selector applies to no app.
 */
export function windowMatches(w: SyncWindowSpec, app: WindowedApp): boolean {
  const d = app.destination;
  const checks: boolean[] = [];
  if (w.applications?.length) checks.push(w.applications.some((p) => windowGlob(p, app.name)));
  if (w.clusters?.length) checks.push(anyGlob(w.clusters, d.name) || anyGlob(w.clusters, d.server));
  if (w.namespaces?.length) checks.push(w.namespaces.some((p) => windowGlob(p, d.namespace ?? '')));
  if (checks.length === 0) return false;
  return w.andOperator ? checks.every(Boolean) : checks.some(Boolean);
}

/**
 * The start of the window's opening that covers `atMs`, or undefined when the window is inactive then.
 * @param atMs - epoch ms.
 */
export function activeSince(w: ParsedSyncWindow, atMs: number): number | undefined {
  if (w.durationMs <= 0) return undefined;
  // The first start strictly after at - duration; active when it is not later than at.
  const start = w.cron.nextRun(new Date(atMs - w.durationMs))?.getTime();
  return start !== undefined && start <= atMs ? start : undefined;
}

/** The next instant after `atMs` at which the window opens or closes, or undefined when never. */
function nextBoundary(w: ParsedSyncWindow, atMs: number): number | undefined {
  const candidates: number[] = [];
  const nextStart = w.cron.nextRun(new Date(atMs))?.getTime();
  if (nextStart !== undefined) candidates.push(nextStart);
  // The earliest end after `at` is that of the earliest opening still running at `at`.
  const since = activeSince(w, atMs);
  if (since !== undefined) candidates.push(since + w.durationMs);
  return candidates.length ? Math.min(...candidates) : undefined;
}

/** Options of {@link syncWindowVerdict}. */
export interface VerdictOptions {
  /** A manual sync (the `operation` field) rather than an automated one. */
  manual: boolean;
  /** Epoch ms to judge at (default now). */
  atMs?: number;
  /**
   * Set for an operation that is already running: `syncOverrun` windows may then let it finish.
   */
  running?: boolean;
}

/** What the windows say about a sync at one instant. */
export interface WindowVerdict {
  /** True when the sync may run (no matching window, or the windows allow it). */
  allowed: boolean;
  /** The matching windows that block it (active deny windows, or the inactive allow windows). */
  blocking: ParsedSyncWindow[];
  /** The matching windows. */
  matching: ParsedSyncWindow[];
  /** True when allowed only by `syncOverrun`. */
  overrun?: boolean;
}

/**
 * The windows of a project that apply to an app, compiled; windows that do not parse are skipped (the
 * AppProject validator reports them, and the app of an invalid project syncs nothing).
 */
export function appWindows(windows: SyncWindowSpec[] | undefined, app: WindowedApp): ParsedSyncWindow[] {
  const out: ParsedSyncWindow[] = [];
  (windows ?? []).forEach((w, i) => {
    if (!windowMatches(w, app)) return;
    try {
      out.push(parseSyncWindow(w, i));
    } catch {
      // reported by the project's validation
    }
  });
  return out;
}

/**
 * Whether the windows let a sync run at an instant (Argo CD's `CanSync`, plus `syncOverrun` for a running
 * operation).
 * @param matching - the app's windows ({@link appWindows}).
 */
export function syncWindowVerdict(matching: ParsedSyncWindow[], opts: VerdictOptions): WindowVerdict {
  const at = opts.atMs ?? Date.now();
  if (matching.length === 0) return { allowed: true, blocking: [], matching };
  const active = matching.filter((w) => activeSince(w, at) !== undefined);
  const activeDeny = active.filter((w) => w.kind === 'deny');
  const allowActive = active.some((w) => w.kind === 'allow');
  const inactiveAllows = allowActive
    ? []
    : matching.filter((w) => w.kind === 'allow' && activeSince(w, at) === undefined);
  // As CanSync: an active deny decides alone (a manual sync needs manualSync on every active deny);
  // otherwise an active allow permits; otherwise inactive allows block (manual: manualSync on all).
  const blocking = activeDeny.length ? activeDeny : inactiveAllows;
  if (blocking.length === 0) return { allowed: true, blocking, matching };
  if (opts.manual && blocking.every((w) => w.spec.manualSync)) return { allowed: true, blocking, matching };
  // Overrun: every active deny and (no allow being active) every inactive allow must allow it.
  if (opts.running && [...activeDeny, ...inactiveAllows].every((w) => w.spec.syncOverrun))
    return { allowed: true, blocking, matching, overrun: true };
  return { allowed: false, blocking, matching };
}

/**
 * The first instant after `atMs` at which the windows let an automated (or manual) sync start, found by
 * walking the windows' opening and closing instants in order.
 * @param maxSteps - how many boundaries to look at before giving up (a yearly window and many others).
 * @returns epoch ms, or undefined when the windows never allow it within `maxSteps` boundaries.
 */
export function nextAllowed(
  matching: ParsedSyncWindow[],
  opts: { manual: boolean; atMs?: number },
  maxSteps = 500,
): number | undefined {
  let t = opts.atMs ?? Date.now();
  for (let i = 0; i < maxSteps; i++) {
    if (syncWindowVerdict(matching, { manual: opts.manual, atMs: t }).allowed) return t;
    const next = matching.map((w) => nextBoundary(w, t)).filter((x): x is number => x !== undefined);
    if (next.length === 0) return undefined;
    t = Math.min(...next);
  }
  return undefined;
}

/** How a window is named in messages: `deny window 0 (schedule '0 22 * * *', duration 1h, Europe/Paris)`. */
export function describeWindow(w: ParsedSyncWindow): string {
  const parts = [`schedule '${w.spec.schedule}'`, `duration ${w.spec.duration}`];
  if (w.spec.timeZone) parts.push(`timeZone ${w.spec.timeZone}`);
  const desc = w.spec.description ? ` "${w.spec.description}"` : '';
  return `${w.kind} window ${w.index}${desc} (${parts.join(', ')})`;
}

/**
 * The message of a sync held by the windows: which windows and when syncs open again.
 * @param what - `Automated sync` or `Manual sync`.
 * @returns e.g. `Automated sync is blocked by sync window: deny window 0 (...) is active; syncs are allowed again at 2026-01-01T23:00:00Z`.
 */
export function heldMessage(what: string, verdict: WindowVerdict, opensAtMs: number | undefined): string {
  const deny = verdict.blocking.filter((w) => w.kind === 'deny');
  const allow = verdict.blocking.filter((w) => w.kind === 'allow');
  const why: string[] = [];
  if (deny.length)
    why.push(`${deny.map(describeWindow).join(', ')} ${deny.length > 1 ? 'are' : 'is'} active`);
  if (allow.length) why.push(`outside ${allow.map(describeWindow).join(', ')}`);
  const when =
    opensAtMs !== undefined
      ? `syncs are allowed again at ${new Date(opensAtMs).toISOString().replace('.000Z', 'Z')}`
      : 'no window allows it within the coming schedule';
  return `${what} is blocked by sync window: ${why.join('; ')}; ${when}`;
}
