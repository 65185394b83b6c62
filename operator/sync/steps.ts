/**
 * Pending steps of an apply: a write whose result is known only later, checked once per reconcile by
 * the engine (engine.ts) instead of a worker polling for it. Two writes have one:
 *
 * - a CustomResourceDefinition is applied, then waited for until Established (its custom resources in a
 *   later task need the API served), at most `crdEstablishTimeoutMs` (60 s by default);
 * - `Replace=true,Force=true` deletes the live object (as Argo CD's `kubectl replace --force`), waits until
 *   the deletion has ended (finalizers, foreground deletion of dependents), at most
 *   {@link REPLACE_DELETE_TIMEOUT_MS}, then creates it.
 *
 * A pending step is a result line of `operationState.syncResult.resources` with `hookPhase: Running` on a
 * non-hook line (gitops-engine marks every task whose operation is not over as Running) and `startedAt`,
 * the step's start: the timeouts are measured from status, so a restarted process resumes the wait, as
 * it resumes hooks. A line without `hookPhase` is a finished apply, as before.
 */
import type { KubeObject } from '../kube/object';
import type { ResourceResult } from './sync';

/** How long `Replace=true,Force=true` waits for the deletion of the live object to end, in ms. */
export const REPLACE_DELETE_TIMEOUT_MS = 60_000;

/** Default time an applied CRD may take to become Established, in ms. */
export const DEFAULT_CRD_ESTABLISH_TIMEOUT_MS = 60_000;

/** The SyncFailed message of a CRD that was not Established within its timeout. */
export const MSG_CRD_NOT_ESTABLISHED = 'CustomResourceDefinition did not become Established in time';

/** The kind of a pending step, from its line. */
export type PendingStage = 'deleting' | 'establishing';

/** `kind.group/name`, as kubectl and Argo CD name an object in a result message. */
export function objectRef(r: Pick<ResourceResult, 'kind' | 'group' | 'name'>): string {
  return `${r.kind.toLowerCase()}${r.group ? '.' + r.group : ''}/${r.name}`;
}

/** The message of the step that waits for the deletion of a `Replace=true,Force=true` object. */
export function deletingMessage(r: Pick<ResourceResult, 'kind' | 'group' | 'name'>): string {
  return `${objectRef(r)} deleted, waiting for the deletion to end before it is created again`;
}

/**
 * True when the line is a pending step of an apply (not a hook, not finished). `startedAt` is required:
 * gitops-engine also writes `hookPhase: Running` on resource lines (an operation Argo CD began), and those
 * are finished applies, not capstan's waits.
 */
export function isPending(line: ResourceResult | undefined): line is ResourceResult & { startedAt: string } {
  return !!line && !line.hookType && line.hookPhase === 'Running' && !!line.startedAt;
}

/** Which wait a pending line is. */
export function stageOf(line: ResourceResult): PendingStage {
  return line.message === deletingMessage(line) ? 'deleting' : 'establishing';
}

/**
 * A pending line: status Synced (the write was accepted), `hookPhase: Running`, started at `now`.
 * @param now - the step's start, in ms since the epoch.
 */
export function pendingLine(line: ResourceResult, message: string, now: number): ResourceResult {
  return { ...line, status: 'Synced', message, hookPhase: 'Running', startedAt: new Date(now).toISOString() };
}

/** The finished line of a pending step: its marks removed, `message` (or its own) kept. */
export function finishedLine(line: ResourceResult, message = line.message): ResourceResult {
  const done = { ...line, message };
  delete done.hookPhase;
  delete done.startedAt;
  return done;
}

/** The SyncFailed line of a pending step. */
export function failedLine(line: ResourceResult, message: string): ResourceResult {
  return { ...finishedLine(line, message), status: 'SyncFailed' };
}

/**
 * True when the step has waited longer than `timeoutMs`. A line without a readable start (written by
 * hand) counts as timed out: it fails rather than waiting forever.
 */
export function timedOut(line: ResourceResult, timeoutMs: number, now: number): boolean {
  const started = Date.parse(line.startedAt ?? '');
  return !Number.isFinite(started) || now - started > timeoutMs;
}

/** True when a CRD's Established condition is True (its API is served). */
export function established(crd: KubeObject | undefined): boolean {
  const conds = (crd?.status as { conditions?: Array<{ type: string; status: string }> } | undefined)
    ?.conditions;
  return (conds ?? []).some((c) => c.type === 'Established' && c.status === 'True');
}
