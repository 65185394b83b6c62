/**
 * `spec.syncWindows` of an ExternalSecret (ESO): when *periodic* refreshes may run, in UTC.
 *
 * - `kind: allow`: a periodic refresh runs only while at least one window is open;
 *   `kind: deny`: never while one is open.
 * - A window opens at each firing of `schedule` (5-field cron, or `@yearly`/`@annually`, `@monthly`,
 *   `@weekly`, `@daily`/`@midnight`, `@hourly`, `@every D`) and stays open for `duration`. As robfig's
 *   `@every D` fires D after any instant, such a window is always open when D <= duration, never otherwise.
 * - Only the periodic refresh of `refreshPolicy: Periodic` (or unset) is held: the first sync, a spec,
 *   label or annotation change, a retry after an error and the repair of a drifted or deleted Secret run
 *   at once. A held refresh runs when the windows next allow it.
 *
 * Schedules are parsed as the AppProject windows' are (croner, robfig's field syntax).
 */
import type { ExternalSecret } from '../../generated/externalsecret';
import {
  compileSchedule,
  nextAllowed,
  syncWindowVerdict,
  type ParsedSyncWindow,
} from '../appproject/syncwindows';
import { parseGoDuration } from '../common/goduration';
import { syncedResourceVersion } from './refresh';

const NICKNAMES: Record<string, string> = {
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
  '@monthly': '0 0 1 * *',
  '@weekly': '0 0 * * 0',
  '@daily': '0 0 * * *',
  '@midnight': '0 0 * * *',
  '@hourly': '0 * * * *',
};

/** A window reduced to "always open", "never open" (`@every`) or a cron window. */
type Window = { always: boolean } | ParsedSyncWindow;

function parseWindows(es: ExternalSecret): { windows: Window[]; problems: string[] } {
  const sw = es.spec.syncWindows;
  const windows: Window[] = [];
  const problems: string[] = [];
  if (!sw) return { windows, problems };
  const kind = sw.kind;
  sw.windows.forEach((w, i) => {
    const at = `spec.syncWindows.windows[${i}]`;
    const durationMs = parseGoDuration(w.duration ?? '');
    if (durationMs === undefined || durationMs <= 0) {
      problems.push(`${at}.duration: "${w.duration}" is not a positive Go duration (8h, 90m)`);
      return;
    }
    const every = /^@every\s+(\S+)$/.exec(w.schedule.trim());
    if (every) {
      const ms = parseGoDuration(every[1]);
      if (ms === undefined || ms <= 0)
        problems.push(`${at}.schedule: "${w.schedule}" has no valid @every duration`);
      else windows.push({ always: ms <= durationMs });
      return;
    }
    try {
      const cron = compileSchedule(NICKNAMES[w.schedule.trim()] ?? w.schedule);
      windows.push({ index: i, spec: { kind }, kind, durationMs, cron });
    } catch (err) {
      problems.push(`${at}.schedule: ${(err as Error).message}`);
    }
  });
  return { windows, problems };
}

/** Problems of `spec.syncWindows` (for the spec check), each naming the field. */
export function syncWindowProblems(es: ExternalSecret): string[] {
  return parseWindows(es).problems;
}

/** Whether the windows allow a refresh at `atMs`, and when they next do. */
function allowedAt(es: ExternalSecret, atMs: number): { allowed: boolean; nextMs?: number } {
  const { windows } = parseWindows(es);
  const kind = es.spec.syncWindows?.kind;
  if (!windows.length) return { allowed: true };
  const anyAlways = windows.some((w) => 'always' in w && w.always);
  const cron = windows.filter((w): w is ParsedSyncWindow => !('always' in w));
  if (anyAlways) return { allowed: kind === 'allow' };
  if (!cron.length) return { allowed: kind === 'deny' };
  if (syncWindowVerdict(cron, { manual: false, atMs }).allowed) return { allowed: true };
  return { allowed: false, nextMs: nextAllowed(cron, { manual: false, atMs }) };
}

/**
 * How long a due periodic refresh is held by `spec.syncWindows`.
 * @param now - epoch ms.
 * @returns ms until the windows allow it (at most a day, then looked at again), or undefined when the
 *   refresh is not held (no windows, windows allow it, or the refresh is not a periodic one).
 */
export function refreshHeldMs(es: ExternalSecret, now: number): number | undefined {
  if (!es.spec.syncWindows) return undefined;
  if ((es.spec.refreshPolicy ?? 'Periodic') !== 'Periodic') return undefined;
  const synced = es.status?.syncedResourceVersion;
  if (!synced || synced !== syncedResourceVersion(es)) return undefined; // first sync or a change
  const verdict = allowedAt(es, now);
  if (verdict.allowed) return undefined;
  const DAY = 86_400_000;
  return Math.min(DAY, Math.max(1000, (verdict.nextMs ?? now + DAY) - now));
}
