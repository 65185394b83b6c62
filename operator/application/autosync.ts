/**
 * When automated sync runs, as Argo CD's `autoSync`:
 * - only when the app is OutOfSync;
 * - a revision (and source) already synced successfully is synced again only with self-heal, after
 *   Argo CD's self-heal backoff since the last sync (2 s, x3, at most 5 min; the first drift after a
 *   quiet period is healed at once); as Argo CD, a self-heal syncs only the resources that are not
 *   Synced (a selective sync, without hooks);
 * - after a failed attempt at the same revision, again per `syncPolicy.retry` (capstan's default for
 *   automated syncs: 5 retries, 5 s, x2, at most 3 min; `limit < 0` is unlimited), then a SyncError
 *   condition says it gave up until a new commit or a manual sync;
 * - never when it would delete every resource and `allowEmpty` is off;
 * - never while the project's sync windows block it ({@link syncWindowHold}): a held sync, automated
 *   (self-heal and prune included, as Argo CD) or manual, waits with a condition naming the window and
 *   the time syncs open again.
 */
import { isDeepStrictEqual } from 'node:util';
import { App } from './api';
import { parseGoDuration } from '../common/goduration';
import { ApplicationSource } from '../../generated/application';
import { Comparison } from './compare';
import {
  appWindows,
  heldMessage,
  nextAllowed,
  SyncWindowSpec,
  syncWindowVerdict,
} from '../appproject/syncwindows';

/** A sync to run, manual (the `operation` field) or automated. */
export interface SyncRequest {
  manual: boolean;
  /** Revision to sync to instead of targetRevision (manual only). */
  revision?: string;
  /** Source to sync instead of spec.source (manual only: a rollback to a history entry). */
  source?: ApplicationSource;
  /**
   * Multi-source apps: the revision of each source (by `spec.sources` position; an empty or missing entry is
   * that source's targetRevision), instead of `revision`, which Argo CD ignores for them (manual only).
   */
  revisions?: string[];
  /** Multi-source apps: sources to sync instead of spec.sources (manual only: a rollback to a history entry). */
  sources?: ApplicationSource[];
  prune: boolean;
  dryRun: boolean;
  /** Selective sync: only these resources. */
  resources?: Array<{ group?: string; kind: string; name: string; namespace?: string }>;
  initiatedBy: { username?: string; automated?: boolean };
  /** Set when automated sync decided not to run, with the reason (reported as SyncError). */
  skipReason?: string;
  /** Which retry of a failed revision this is (0 for a first attempt). */
  retryCount?: number;
  /** A self-heal sync (a revision already synced, re-applied to revert drift). */
  selfHeal?: boolean;
  /** For a self-heal sync: how many self-heal syncs in a row it is (`operation.sync.autoHealAttemptsCount`). */
  autoHealAttemptsCount?: number;
}

/** Automated sync must wait this long (ms) before it may run; the caller requeues. */
export interface SyncWait {
  waitMs: number;
}

/** Backoff settings, in ms. */
export interface Backoff {
  durationMs: number;
  factor: number;
  maxDurationMs: number;
}

/** capstan's default retry for automated syncs. */
export const DEFAULT_RETRY = { limit: 5, backoff: { durationMs: 5_000, factor: 2, maxDurationMs: 180_000 } };
/** Argo CD's self-heal backoff. */
export const SELF_HEAL_BACKOFF: Backoff = { durationMs: 2_000, factor: 3, maxDurationMs: 300_000 };
/** After this long without a sync (ms), self-heal attempts count from zero again. */
export const SELF_HEAL_RESET_MS = 300_000;

/** The n-th step of a backoff (n from 0), capped. */
export function backoffStep(b: Backoff, n: number): number {
  return Math.min(b.maxDurationMs, b.durationMs * b.factor ** n);
}

/** A Go duration (`5s`, `3m`, `1h30m`) in ms, or `fallback` when absent or malformed. */
export function durationMs(value: string | undefined, fallback: number): number {
  return (value !== undefined ? parseGoDuration(value) : undefined) ?? fallback;
}

/** The app's retry policy, with capstan's defaults. */
export function retryPolicy(app: App): { limit: number; backoff: Backoff } {
  const r = app.spec.syncPolicy?.retry;
  if (!r) return DEFAULT_RETRY;
  const d = DEFAULT_RETRY.backoff;
  return {
    limit: r.limit ?? DEFAULT_RETRY.limit,
    backoff: {
      durationMs: durationMs(r.backoff?.duration, d.durationMs),
      factor: Number(r.backoff?.factor ?? d.factor),
      maxDurationMs: durationMs(r.backoff?.maxDuration, d.maxDurationMs),
    },
  };
}

/**
 * Decides whether automated sync runs now.
 * @param selfHealAttempts - self-heal syncs run since the last quiet period (kept by the caller).
 * @param now - current time in ms.
 * @returns a request; a request carrying `skipReason` (reported as a condition); a wait; or undefined.
 */
export function automatedSyncDecision(
  app: App,
  cmp: Comparison,
  selfHealAttempts = 0,
  now = Date.now(),
): SyncRequest | SyncWait | undefined {
  const automated = app.spec.syncPolicy?.automated;
  if (!automated || automated.enabled === false || cmp.status === 'Synced') return undefined;
  const last = app.status?.operationState;
  const finishedAt = last?.finishedAt ? Date.parse(last.finishedAt) : 0;
  if (lastSyncedSameTarget(app, cmp) && last?.phase !== 'Running') {
    if (last?.phase !== 'Succeeded') return retryDecision(app, cmp, automated.prune, now - finishedAt);
    if (!automated.selfHeal) return undefined;
    const wait = backoffStep(SELF_HEAL_BACKOFF, selfHealAttempts - 1) - (now - finishedAt);
    if (selfHealAttempts > 0 && wait > 0) return { waitMs: wait };
    return { ...base(automated.prune), selfHeal: true, resources: outOfSync(cmp) };
  }
  const targets = cmp.resources.filter((r) => r.target).length;
  const prunes = cmp.resources.filter((r) => r.requiresPruning).length;
  if (automated.prune && !automated.allowEmpty && targets === 0 && prunes > 0) {
    return {
      ...base(true),
      skipReason: 'auto-sync will wipe out all resources: refused because allowEmpty is false',
    };
  }
  return base(automated.prune);
}

function retryDecision(
  app: App,
  cmp: Comparison,
  prune: boolean | undefined,
  sinceMs: number,
): SyncRequest | SyncWait {
  const last = app.status?.operationState;
  const policy = retryPolicy(app);
  const count = last?.retryCount ?? 0;
  if (policy.limit >= 0 && count >= policy.limit) {
    const tries = count ? ` (retried ${count} times)` : '';
    return {
      ...base(prune),
      skipReason: `Failed sync attempt to ${cmp.revisions[0]}: ${last?.message ?? ''}${tries}`,
    };
  }
  const wait = backoffStep(policy.backoff, count) - sinceMs;
  if (wait > 0) return { waitMs: wait };
  return { ...base(prune), retryCount: count + 1 };
}

/** True when the last operation synced the revisions and sources the comparison is at. */
function lastSyncedSameTarget(app: App, cmp: Comparison): boolean {
  const last = app.status?.operationState?.syncResult;
  if (!last) return false;
  return app.spec.sources?.length
    ? isDeepStrictEqual(last.revisions, cmp.revisions) && isDeepStrictEqual(last.sources, app.spec.sources)
    : last.revision === cmp.revisions[0] && isDeepStrictEqual(last.source, app.spec.source);
}

/**
 * The resources a self-heal syncs: those not Synced, as Argo CD's `autoSync` fills `operation.sync.resources`
 * for a self-heal (a selective sync: the objects in sync are not applied again, and no hook runs). The
 * namespace is named too, so that a drifted object does not select its namesakes in other namespaces.
 */
export function outOfSync(cmp: Comparison): NonNullable<SyncRequest['resources']> {
  return cmp.resources
    .filter((r) => r.status !== 'Synced')
    .map((r) => ({
      ...(r.group ? { group: r.group } : {}),
      kind: r.kind,
      name: r.name,
      ...(r.namespace ? { namespace: r.namespace } : {}),
    }));
}

function base(prune: boolean | undefined): SyncRequest {
  return { manual: false, prune: !!prune, dryRun: false, initiatedBy: { automated: true } };
}

/** A sync the project's sync windows hold. */
export interface WindowHold {
  /** The condition message: which windows, and when syncs open again. */
  message: string;
  /** Look again after this many ms (when syncs open); undefined when no window opens within reach. */
  waitMs?: number;
}

/**
 * Whether the project's sync windows hold a sync of the app now (Argo CD's `CanSync`, and for a running
 * operation its `syncOverrun` rules, as the controller checks at each step of an operation).
 * @param windows - the project's `spec.syncWindows`.
 * @param opts - `manual`: the sync is a manual one (the `operation` field); `running`: it is an operation
 *   already running; `now`: epoch ms.
 * @returns the hold, or undefined when the sync may run.
 */
export function syncWindowHold(
  windows: SyncWindowSpec[] | undefined,
  app: App,
  opts: { manual: boolean; running?: boolean; now?: number },
): WindowHold | undefined {
  const now = opts.now ?? Date.now();
  const matching = appWindows(windows, { name: app.metadata.name, destination: app.spec.destination });
  const verdict = syncWindowVerdict(matching, { manual: opts.manual, running: opts.running, atMs: now });
  if (verdict.allowed) return undefined;
  const opens = nextAllowed(matching, { manual: opts.manual, atMs: now });
  const what = opts.running ? 'Sync operation' : opts.manual ? 'Manual sync' : 'Automated sync';
  return {
    message: heldMessage(what, verdict, opens),
    waitMs: opens === undefined ? undefined : opens - now,
  };
}
