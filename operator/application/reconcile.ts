/**
 * One reconcile of one Application, level-based (it reads the app and the world, never the event):
 *
 *   get app -> deletion (finalizer) | skip-reconcile | validate (InvalidSpecError, terminal)
 *   -> project check -> compare (ComparisonError: nothing in the cluster changes, retried with backoff)
 *   -> sync when an operation asks for it or automated sync decides so -> status -> requeue after the
 *   refresh interval plus jitter.
 */
import { ApplicationContext } from './context';
import { comparedTo, comparisonStatus, projectDenialConditions, writeStatus } from './status';
import {
  abortRunningOperation,
  advanceOperation,
  manualRequest,
  runningOperation,
  startOperation,
} from './operation';
import { AppCondition, ConditionType } from './conditions';
import { Comparison, appSources, clearRenderCache, compareApp } from './compare';
import { appInstanceName, trackedBy } from '../sync/tracking';
import { AppCycle, cycleCondition, findAppCycle, rendersApplications } from './ancestry';
import { App, setFinalizers, getApp, patchApp, REFRESH_ANNOTATION, SKIP_RECONCILE_ANNOTATION } from './api';
import {
  automatedSyncDecision,
  backoffStep,
  retryPolicy,
  SELF_HEAL_RESET_MS,
  SyncRequest,
  syncWindowHold,
} from './autosync';
import { handleDeletion, needsPostDeleteFinalizer, POST_DELETE_FINALIZER } from './deletion';
import { checkProject } from './project';
import { orphanedResourceWarning } from './orphans';
import { localRepoScope, repoURLProblems } from './remotes';
import { destinationProblem } from './destination';
import { sourcesProblems } from './sources';
import { validateResource } from '../validation/validate';
import { ReconcileResult } from '../runtime/workqueue';
import { OperationState } from '../../generated/application';
import { unsupportedSpecProblems } from './unsupported';

/**
 * Reconciles the Application `namespace/name`.
 * @returns when to run again (the periodic refresh), or nothing for terminal states.
 * @throws on transient failures (git, render, API): the work queue retries with backoff.
 */
export async function reconcileApplication(
  ctx: ApplicationContext,
  namespace: string,
  name: string,
): Promise<ReconcileResult> {
  const app = await getApp(ctx.client, namespace, name);
  if (!app) return {};
  if (app.metadata.deletionTimestamp) return handleDeletion(ctx, app);
  if (app.metadata.annotations?.[SKIP_RECONCILE_ANNOTATION] === 'true') return {};
  const refresh = app.metadata.annotations?.[REFRESH_ANNOTATION];
  // The request is taken before the work, so that a status saying "refreshed" never shows next to
  // a pending refresh annotation (and a refresh asked during this run is not lost: it re-queues).
  if (refresh) await patchApp(ctx.client, app, { metadata: { annotations: { [REFRESH_ANNOTATION]: null } } });
  // A refresh or a new manual sync reads the repositories' current commits, not the shared answers of
  // this refresh interval (revisions.ts).
  if (refresh || (app.operation && !runningOperation(app)) || retriesAtNewest(app)) {
    ctx.revisions?.forget(appSources(app).map((s) => s.repoURL));
  }
  return reconcileLive(ctx, app, refresh === 'hard');
}

async function reconcileLive(ctx: ApplicationContext, app: App, hard: boolean): Promise<ReconcileResult> {
  const now = new Date().toISOString();
  const invalid = validateResource('Application', app);
  const destination = invalid.valid ? destinationProblem(app.spec.destination) : undefined;
  const problems = !invalid.valid
    ? [invalid.message]
    : destination
      ? [destination]
      : [
          ...sourcesProblems(app.spec.sources),
          ...unsupportedSpecProblems(app),
          ...repoURLProblems(app, ctx.settings, localRepoScope(ctx, app)),
          ...(await checkProject(ctx, app)),
        ];
  if (problems.length) {
    ctx.log.warn('Application spec is invalid; nothing will be applied.', {
      app: key(app),
      reason: problems.join('; '),
    });
    // As Argo CD, an operation running when the app became invalid (a tightened project) fails now.
    await abortRunningOperation(ctx, app, problems.join('; '));
    await writeStatus(
      ctx,
      app,
      { sync: { status: 'Unknown' } },
      [{ type: ConditionType.InvalidSpecError, message: problems.join('; ') }],
      now,
    );
    return {};
  }
  if (hard) clearRenderCache();
  const instance = appInstanceName(
    app.metadata.namespace,
    app.metadata.name,
    ctx.settings.controllerNamespace,
  );
  let cmp: Comparison;
  try {
    cmp = await compareApp(ctx, app, instance, { hard });
  } catch (err) {
    const message = `Failed to load target state: ${(err as Error).message}`;
    ctx.log.warn('Comparison failed; nothing in the cluster changes.', {
      app: key(app),
      error: (err as Error).message,
    });
    await writeStatus(
      ctx,
      app,
      { sync: { status: 'Unknown', comparedTo: comparedTo(app) } },
      [{ type: ConditionType.ComparisonError, message }],
      now,
    );
    throw err;
  }
  if (needsPostDeleteFinalizer(app, cmp.hooks)) {
    await setFinalizers(ctx.client, app, [...(app.metadata.finalizers ?? []), POST_DELETE_FINALIZER]);
  }
  const conditions: AppCondition[] = [
    ...sharedResourceWarnings(cmp, instance),
    ...repeatedResourceWarnings(app, cmp),
    ...projectDenialConditions(cmp),
  ];
  const orphans = await orphanedResourceWarning(ctx, app, ctx.projects.get(app.spec.project)?.spec);
  if (orphans) conditions.push(orphans);
  const cycle = await appCycle(ctx, app, cmp);
  if (cycle) conditions.push(cycleCondition(cycle));
  cmp.healthyApps = cycle?.members;
  const refresh = ctx.settings.refreshIntervalMs + Math.floor(Math.random() * ctx.settings.refreshJitterMs);
  const op = await operate(ctx, app, instance, cmp, conditions);
  if (op.requeueAfterMs !== undefined) {
    await writeStatus(ctx, app, comparisonStatus(app, cmp, cycle), conditions, now);
    return { requeueAfterMs: Math.min(op.requeueAfterMs, refresh) };
  }
  // An operation that ended in this reconcile has its result written already: status shows the
  // cluster after it.
  if (op.state) cmp = await compareApp(ctx, app, instance);
  await writeStatus(ctx, app, comparisonStatus(app, cmp, cycle), conditions, now);
  return { requeueAfterMs: Math.min(nextRefresh(app, op, refresh), refresh) };
}

/** What {@link operate} did: the operation's state after this reconcile, if any. */
interface Operated {
  /** The operation run or continued in this reconcile (Running, or just finished). */
  state?: OperationState;
  /** The automated sync decision, when one was made. */
  decision?: ReturnType<typeof automatedSyncDecision> | SyncRequest;
  /** Set while the operation is still running: look again after this many ms. */
  requeueAfterMs?: number;
}

/**
 * Continues the operation in progress (Argo CD refuses a new one meanwhile), or starts one for a
 * manual request or an automated sync decision, and advances it by one step.
 * @param conditions - receives the SyncError of an automated sync that was refused.
 */
async function operate(
  ctx: ApplicationContext,
  app: App,
  instance: string,
  cmp: Comparison,
  conditions: AppCondition[],
): Promise<Operated> {
  let state = runningOperation(app);
  let decision: Operated['decision'];
  if (!state) {
    decision = app.operation?.sync ? manualRequest(app) : automatedSyncDecision(app, cmp, healAttempts(app));
    const request = decision && 'manual' in decision ? decision : undefined;
    if (request?.skipReason) conditions.push({ type: ConditionType.SyncError, message: request.skipReason });
    if (!request || request.skipReason) return { decision };
    const held = heldByWindow(ctx, app, conditions, request.manual);
    if (held) return held;
    countSelfHeal(app, request);
    if (request.selfHeal) request.autoHealAttemptsCount = selfHealAttempts.get(key(app));
    state = await startOperation(ctx, app, instance, cmp, request);
  }
  if (state.phase !== 'Running') return { state, decision };
  // As Argo CD, a running operation is checked at each step too: it waits while a window blocks it,
  // unless the windows' syncOverrun lets it finish.
  const held = heldByWindow(ctx, app, conditions, !state.operation.initiatedBy?.automated, true);
  if (held) return held;
  const step = await advanceOperation(ctx, app, instance, cmp, state);
  return { state: step.state, decision, requeueAfterMs: step.requeueAfterMs };
}

/**
 * Whether the project's sync windows hold the sync: then the SyncWindowBlocked condition, and a look again
 * when syncs open (or at the refresh).
 */
function heldByWindow(
  ctx: ApplicationContext,
  app: App,
  conditions: AppCondition[],
  manual: boolean,
  running = false,
): Operated | undefined {
  const windows = ctx.projects.get(app.spec.project)?.spec?.syncWindows;
  const hold = syncWindowHold(windows, app, { manual, running });
  if (!hold) return undefined;
  conditions.push({ type: ConditionType.SyncWindowBlocked, message: hold.message });
  // Half a second past the opening, so that the next look is inside the open window.
  return { decision: { waitMs: hold.waitMs === undefined ? Infinity : hold.waitMs + 500 } };
}

/** When to reconcile again: a failed automated sync after its retry backoff, a wait, or the poll. */
function nextRefresh(app: App, op: Operated, refresh: number): number {
  if (op.state?.phase === 'Failed' && op.state.operation.initiatedBy?.automated) {
    return backoffStep(retryPolicy(app).backoff, op.state.retryCount ?? 0);
  }
  return op.decision && 'waitMs' in op.decision ? op.decision.waitMs : refresh;
}

/**
 * The app-of-apps cycle the app is on (application/ancestry.ts), looked for only when the app deploys
 * Applications (no cycle is possible otherwise, and plain apps cost no reads).
 */
async function appCycle(ctx: ApplicationContext, app: App, cmp: Comparison): Promise<AppCycle | undefined> {
  if (!rendersApplications(cmp.resources)) return undefined;
  return findAppCycle(app, ctx.settings.controllerNamespace, (ns, name) => getApp(ctx.client, ns, name));
}

/** SharedResourceWarning for each desired object whose live tracking id names another app (Argo CD). */
function sharedResourceWarnings(cmp: Comparison, instance: string): AppCondition[] {
  return cmp.resources
    .filter((r) => r.target && r.live && trackedBy(r.live) && trackedBy(r.live) !== instance)
    .map((r) => ({
      type: ConditionType.SharedResourceWarning,
      message: `${r.kind}/${r.name} is part of applications ${trackedBy(r.live!)} and ${instance}`,
    }));
}

/**
 * RepeatedResourceWarning for each object rendered more than once, in Argo CD's words (the last rendering is
 * applied); a multi-source app also names the sources, as `spec.sources` indexes.
 */
function repeatedResourceWarnings(app: App, cmp: Comparison): AppCondition[] {
  const multi = !!app.spec.sources?.length;
  return (cmp.repeated ?? []).map((r) => ({
    type: ConditionType.RepeatedResourceWarning,
    message:
      `Resource ${r.key} appeared ${r.count} times among application resources.` +
      (multi ? ` Rendered by spec.sources ${r.sources.join(', ')}; the last one is applied.` : ''),
  }));
}

/**
 * `syncPolicy.retry.refresh` (Argo CD 3.x): each retry of a failed automated sync resolves targetRevision
 * again, so a fixing commit is picked up by the next retry instead of after the refresh interval.
 */
function retriesAtNewest(app: App): boolean {
  const phase = app.status?.operationState?.phase;
  return Boolean(
    app.spec.syncPolicy?.retry?.refresh &&
    app.spec.syncPolicy.automated &&
    (phase === 'Failed' || phase === 'Error'),
  );
}

/** Self-heal syncs per app since its last quiet period (process memory: a restart starts afresh). */
const selfHealAttempts = new Map<string, number>();

function countSelfHeal(app: App, request: SyncRequest): void {
  if (!request.selfHeal) return selfHealAttempts.delete(key(app)) as unknown as void;
  const finished = Date.parse(app.status?.operationState?.finishedAt ?? '') || 0;
  const quiet = Date.now() - finished > SELF_HEAL_RESET_MS;
  selfHealAttempts.set(key(app), quiet ? 1 : healAttempts(app) + 1);
}

/**
 * Self-heal syncs in a row: the count in memory, else (after a restart) the one the last self-heal
 * operation recorded in `operation.sync.autoHealAttemptsCount`, as Argo CD reads it back.
 */
function healAttempts(app: App): number {
  const recorded = app.status?.operationState?.operation?.sync?.autoHealAttemptsCount;
  return selfHealAttempts.get(key(app)) ?? Number(recorded ?? 0);
}

function key(app: App): string {
  return `${app.metadata.namespace}/${app.metadata.name}`;
}
