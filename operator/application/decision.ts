/**
 * The "decide" step of an Application reconcile: from the app and its comparison, what to do about a sync
 * operation, as ONE discriminated {@link Decision}; and the "requeue" step: when to reconcile again. Both
 * pure (the clock and the project's sync windows are inputs), so every branch is unit-tested
 * (decision.test.ts).
 */
import type { OperationState } from '../../generated/application';
import type { App } from './api';
import { automatedSyncDecision, backoffStep, retryPolicy, SyncRequest, syncWindowHold } from './autosync';
import type { Comparison } from './compare';
import { AppCondition, ConditionType } from './conditions';
import { manualRequest, runningOperation } from './operation';

/** Half a second past a window's opening, so that the next look is inside the open window. */
export const WINDOW_MARGIN_MS = 500;

/** What a reconcile does about a sync operation. */
export type Decision =
  /** No operation to run or start (automated sync off, or nothing out of sync). */
  | { kind: 'none' }
  /** An automated sync that backs off (self-heal, or a retry of a failed one): look again after `waitMs`. */
  | { kind: 'wait'; waitMs: number }
  /** An automated sync refused (Argo CD's SyncError condition), for example a retry limit reached. */
  | { kind: 'refused'; message: string }
  /** A sync, new or running, held by the project's sync windows (SyncWindowBlocked); `waitMs` until they open. */
  | { kind: 'held'; message: string; waitMs?: number }
  /** Start an operation for this request (a manual one, or an automated sync decision). */
  | { kind: 'start'; request: SyncRequest }
  /** Advance the running operation by one step. */
  | { kind: 'continue'; state: OperationState };

/** What {@link decide} reads besides the app and its comparison. */
export interface DecideInput {
  /** The project's sync windows. */
  windows?: Parameters<typeof syncWindowHold>[0];
  /** Self-heal syncs in a row so far. */
  healAttempts: number;
  /** The current time in ms (tests). */
  now?: number;
}

/**
 * The decision: continue a running operation (Argo CD refuses a new one meanwhile), else start one for a
 * manual request or an automated sync decision. As Argo CD, a sync (new or running) waits while the
 * project's windows block it, unless their syncOverrun lets a running one finish.
 */
export function decide(app: App, cmp: Comparison, input: DecideInput): Decision {
  const running = runningOperation(app);
  if (running) {
    const manual = !running.operation.initiatedBy?.automated;
    return heldBy(input, app, manual, true) ?? { kind: 'continue', state: running };
  }
  const asked = app.operation?.sync
    ? manualRequest(app)
    : automatedSyncDecision(app, cmp, input.healAttempts, input.now);
  if (!asked) return { kind: 'none' };
  if ('waitMs' in asked) return { kind: 'wait', waitMs: asked.waitMs };
  if (asked.skipReason) return { kind: 'refused', message: asked.skipReason };
  return heldBy(input, app, asked.manual, false) ?? { kind: 'start', request: asked };
}

function heldBy(input: DecideInput, app: App, manual: boolean, running: boolean): Decision | undefined {
  const hold = syncWindowHold(input.windows, app, { manual, running, now: input.now });
  if (!hold) return undefined;
  return {
    kind: 'held',
    message: hold.message,
    ...(hold.waitMs === undefined ? {} : { waitMs: hold.waitMs + WINDOW_MARGIN_MS }),
  };
}

/** The conditions a decision reports: SyncError for a refused sync, SyncWindowBlocked for a held one. */
export function decisionConditions(d: Decision): AppCondition[] {
  if (d.kind === 'refused') return [{ type: ConditionType.SyncError, message: d.message }];
  if (d.kind === 'held') return [{ type: ConditionType.SyncWindowBlocked, message: d.message }];
  return [];
}

/**
 * When to reconcile again, never later than `refreshMs` (the periodic refresh plus jitter): while an
 * operation runs, when it asks; after a failed automated sync, its retry backoff; a wait or a held sync,
 * when it ends.
 * @param operation - the operation's state after this reconcile and its requeue delay, if one ran.
 */
export function requeueAfter(
  app: App,
  d: Decision,
  operation: { state: OperationState; requeueAfterMs?: number } | undefined,
  refreshMs: number,
): number {
  if (operation?.state.phase === 'Running' && operation.requeueAfterMs !== undefined)
    return Math.min(operation.requeueAfterMs, refreshMs);
  if (operation?.state.phase === 'Failed' && operation.state.operation.initiatedBy?.automated)
    return Math.min(backoffStep(retryPolicy(app).backoff, operation.state.retryCount ?? 0), refreshMs);
  if (d.kind === 'wait' || d.kind === 'held') return Math.min(d.waitMs ?? Infinity, refreshMs);
  return refreshMs;
}
