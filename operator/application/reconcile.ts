/**
 * One reconcile of one Application, level-based (it reads the app and the world, never the event), in the
 * same shape as the ExternalSecret operator's:
 *
 *   load (the operator's cache, else one GET) -> deletion (finalizer) | skip-reconcile -> take the refresh
 *   request -> validate (InvalidSpecError, terminal) -> compare (desired.ts + assess.ts; ComparisonError:
 *   nothing in the cluster changes, retried with backoff) -> observe (warnings, orphans, app-of-apps
 *   cycle) -> decide (decision.ts: ONE discriminated Decision) -> operate (operation.ts: start and/or one
 *   engine step) -> assess again when the operation wrote (no new render) -> status (ONE write, only
 *   when something changed) and events, as the reconcile's tail (no worker held) -> requeue.
 *
 * A cold sync of an app whose plan is one wave without hooks therefore starts, applies, finishes and
 * writes status once in one reconcile (issue 10 §2).
 */
import { ApplicationContext } from './context';
import { comparedTo, comparisonStatus, projectDenialConditions, writeStatus } from './status';
import {
  OperationStep,
  abortRunningOperation,
  operationFields,
  recordOperationEvents,
  runOperation,
  runningOperation,
} from './operation';
import { AppCondition, ConditionType } from './conditions';
import { Comparison, appSources, clearRenderCache, compareApp } from './compare';
import { assess } from './assess';
import { appInstanceName, trackedBy } from '../sync/tracking';
import { AppCycle, cycleCondition, findAppCycle, rendersApplications } from './ancestry';
import { App, setFinalizers, patchApp, REFRESH_ANNOTATION, SKIP_RECONCILE_ANNOTATION } from './api';
import { SELF_HEAL_RESET_MS, SyncRequest } from './autosync';
import { handleDeletion, needsPostDeleteFinalizer, POST_DELETE_FINALIZER } from './deletion';
import { checkProject } from './project';
import { orphanedResourceWarning } from './orphans';
import { localRepoScope, repoURLProblems } from './remotes';
import { destinationProblem } from './destination';
import { sourcesProblems } from './sources';
import { validateResource } from '../validation/validate';
import { ReconcileResult } from '../runtime/workqueue';
import { unsupportedSpecProblems } from './unsupported';
import { Decision, decide, decisionConditions, requeueAfter } from './decision';
import { loadApp, readApp, refreshSince, refreshTaken, wrote } from './appcache';
import {
  LOG_COMPARISON_FAILED,
  LOG_INVALID_SPEC,
  comparisonErrorMessage,
  repeatedResourceMessage,
  sharedResourceMessage,
} from './messages';

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
  const app = await loadApp(ctx, namespace, name);
  if (!app) return {};
  if (app.metadata.deletionTimestamp) return handleDeletion(ctx, app);
  if (app.metadata.annotations?.[SKIP_RECONCILE_ANNOTATION] === 'true') return {};
  const hard = await takeRefresh(ctx, app);
  return reconcileLive(ctx, app, hard);
}

/**
 * Takes an explicit refresh request before the work, so that a status saying "refreshed" never shows next
 * to a pending refresh annotation (and a refresh asked during this run is not lost: it re-queues). A
 * refresh, a new manual sync or a retry at the newest commit reads the repositories' current commits, not
 * the shared answers of this refresh interval (sources/revisioncache.ts). A request made in this process
 * (the git webhook on the leader, appcache.ts requestRefresh) counts as the annotation: it shows on this
 * reconcile's copy of the app as the annotation it stands for (never written), so that status records
 * `reconciledAt` for it (status.ts) as for the annotation.
 * @returns true for a hard refresh.
 */
async function takeRefresh(ctx: ApplicationContext, app: App): Promise<boolean> {
  const { namespace, name } = app.metadata;
  const annotated = app.metadata.annotations?.[REFRESH_ANNOTATION];
  const asked = ctx.apps?.takeRefreshRequest(namespace, name);
  // A listing started after the request was first seen answers it (shared by refreshes asked together).
  const since = refreshSince(
    annotated ? (ctx.apps?.refreshSeenAt(namespace, name) ?? null) : undefined,
    asked,
  );
  if (annotated)
    wrote(
      ctx,
      await patchApp(ctx.client, app, { metadata: { annotations: { [REFRESH_ANNOTATION]: null } } }),
    );
  const refresh = refreshTaken(annotated, asked);
  if (asked && refresh)
    app.metadata.annotations = { ...app.metadata.annotations, [REFRESH_ANNOTATION]: refresh };
  if (refresh || (app.operation && !runningOperation(app)) || retriesAtNewest(app)) {
    ctx.revisions?.forget(
      appSources(app).map((s) => s.repoURL),
      since,
    );
  }
  return refresh === 'hard';
}

async function reconcileLive(ctx: ApplicationContext, app: App, hard: boolean): Promise<ReconcileResult> {
  const now = new Date().toISOString();
  const problems = await validate(ctx, app);
  if (problems.length) return invalid(ctx, app, problems, now);
  if (hard) clearRenderCache();
  const instance = appInstanceName(
    app.metadata.namespace,
    app.metadata.name,
    ctx.settings.controllerNamespace,
  );
  const cmp = await compare(ctx, app, instance, hard, now);
  if (needsPostDeleteFinalizer(app, cmp.hooks)) {
    wrote(
      ctx,
      await setFinalizers(ctx.client, app, [...(app.metadata.finalizers ?? []), POST_DELETE_FINALIZER]),
    );
  }
  const { conditions, cycle } = await observe(ctx, app, cmp, instance);
  cmp.healthyApps = cycle?.members;
  const decision = decide(app, cmp, {
    windows: ctx.projects.get(app.spec.project)?.spec?.syncWindows,
    healAttempts: healAttempts(app),
  });
  const step = await operate(ctx, app, instance, cmp, decision);
  // What the operation wrote shows in this status: the desired state is assessed again (nothing is
  // rendered again; live objects include the sync's own writes, sync/recent.ts).
  const after = step ? await afterOperation(ctx, app, instance, cmp) : cmp;
  after.healthyApps = cmp.healthyApps;
  // The events go out beside the status write (best effort, never failing the reconcile). Both report
  // what this reconcile did and need no worker: they are the reconcile's tail (runtime/workqueue.ts), so
  // a worker that applied a revert takes the next app while they run (100 drifts at once are reverted
  // sooner); the app is not reconciled again before they end, and a failed status write is retried.
  const tail = Promise.all([
    writeStatus(
      ctx,
      app,
      { ...comparisonStatus(app, after, cycle), ...operationFields(app, step) },
      [...conditions, ...decisionConditions(decision)],
      now,
    ),
    recordOperationEvents(ctx, app, step),
  ]);
  tail.catch(() => undefined); // awaited by the work queue, which retries the reconcile on a rejection
  return { requeueAfterMs: requeueAfter(app, decision, step, refreshDelay(ctx)), tail };
}

/**
 * The comparison after an operation step: the same desired state assessed again, unless it holds a kind
 * the server did not serve (its CRD may have come with this sync): then the objects are placed again.
 */
async function afterOperation(
  ctx: ApplicationContext,
  app: App,
  instance: string,
  cmp: Comparison,
): Promise<Comparison> {
  const unplaced = cmp.desired?.targets.some((t) => !t.resource.rt && !t.resource.denied);
  if (!cmp.desired || unplaced) return compareApp(ctx, app, instance);
  return assess(ctx, app, instance, cmp.desired);
}

/**
 * The validate step: the spec (schema, destination, sources, fields capstan does not support, repository
 * URLs) and the project; every problem is reported, nothing is applied.
 */
async function validate(ctx: ApplicationContext, app: App): Promise<string[]> {
  const invalidSpec = validateResource('Application', app);
  if (!invalidSpec.valid) return [invalidSpec.message];
  const destination = destinationProblem(app.spec.destination);
  if (destination) return [destination];
  return [
    ...sourcesProblems(app.spec.sources),
    ...unsupportedSpecProblems(app),
    ...repoURLProblems(app, ctx.settings, localRepoScope(ctx, app)),
    ...(await checkProject(ctx, app)),
  ];
}

/**
 * An invalid app: InvalidSpecError, sync Unknown, nothing applied. As Argo CD, an operation running when
 * the app became invalid (a tightened project) fails now; its end is written in the same status write.
 */
async function invalid(
  ctx: ApplicationContext,
  app: App,
  problems: string[],
  now: string,
): Promise<ReconcileResult> {
  const message = problems.join('; ');
  ctx.log.warn(LOG_INVALID_SPEC, { app: key(app), reason: message });
  const aborted = await abortRunningOperation(ctx, app, message);
  await writeStatus(
    ctx,
    app,
    { sync: { status: 'Unknown' }, ...operationFields(app, aborted) },
    [{ type: ConditionType.InvalidSpecError, message }],
    now,
  );
  await recordOperationEvents(ctx, app, aborted);
  return {};
}

/**
 * The compare step; a failure is reported as ComparisonError (sync Unknown, nothing in the cluster
 * changes) and thrown, so that the work queue retries with backoff.
 */
async function compare(
  ctx: ApplicationContext,
  app: App,
  instance: string,
  hard: boolean,
  now: string,
): Promise<Comparison> {
  try {
    return await compareApp(ctx, app, instance, { hard });
  } catch (err) {
    const error = (err as Error).message;
    ctx.log.warn(LOG_COMPARISON_FAILED, { app: key(app), error });
    await writeStatus(
      ctx,
      app,
      { sync: { status: 'Unknown', comparedTo: comparedTo(app) } },
      [{ type: ConditionType.ComparisonError, message: comparisonErrorMessage(error) }],
      now,
    );
    throw err;
  }
}

/**
 * The observe step: the conditions a comparison reports (shared and repeated resources, project
 * refusals, orphaned resources) and the app-of-apps cycle the app is on.
 */
async function observe(
  ctx: ApplicationContext,
  app: App,
  cmp: Comparison,
  instance: string,
): Promise<{ conditions: AppCondition[]; cycle?: AppCycle }> {
  const conditions: AppCondition[] = [
    ...sharedResourceWarnings(cmp, instance),
    ...repeatedResourceWarnings(app, cmp),
    ...projectDenialConditions(cmp),
  ];
  const orphans = await orphanedResourceWarning(ctx, app, ctx.projects.get(app.spec.project)?.spec);
  if (orphans) conditions.push(orphans);
  const cycle = await appCycle(ctx, app, cmp);
  if (cycle) conditions.push(cycleCondition(cycle));
  return { conditions, cycle };
}

/** The operate step: starts or continues the operation the decision names; nothing for the others. */
async function operate(
  ctx: ApplicationContext,
  app: App,
  instance: string,
  cmp: Comparison,
  decision: Decision,
): Promise<OperationStep | undefined> {
  if (decision.kind === 'continue') return runOperation(ctx, app, instance, cmp, undefined);
  if (decision.kind !== 'start') return undefined;
  const request = decision.request;
  countSelfHeal(app, request);
  if (request.selfHeal) request.autoHealAttemptsCount = selfHealAttempts.get(key(app));
  return runOperation(ctx, app, instance, cmp, request);
}

/** The periodic refresh interval plus jitter, in ms. */
function refreshDelay(ctx: ApplicationContext): number {
  return ctx.settings.refreshIntervalMs + Math.floor(Math.random() * ctx.settings.refreshJitterMs);
}

/**
 * The app-of-apps cycle the app is on (application/ancestry.ts), looked for only when the app deploys
 * Applications (no cycle is possible otherwise, and plain apps cost no reads).
 */
async function appCycle(ctx: ApplicationContext, app: App, cmp: Comparison): Promise<AppCycle | undefined> {
  if (!rendersApplications(cmp.resources)) return undefined;
  return findAppCycle(app, ctx.settings.controllerNamespace, (ns, name) => readApp(ctx, ns, name));
}

/** SharedResourceWarning for each desired object whose live tracking id names another app (Argo CD). */
function sharedResourceWarnings(cmp: Comparison, instance: string): AppCondition[] {
  return cmp.resources
    .filter((r) => r.target && r.live && trackedBy(r.live) && trackedBy(r.live) !== instance)
    .map((r) => ({
      type: ConditionType.SharedResourceWarning,
      message: sharedResourceMessage(r.kind, r.name, trackedBy(r.live!)!, instance),
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
    message: repeatedResourceMessage(r, multi),
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
