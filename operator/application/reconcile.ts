/**
 * One reconcile of one Application, level-based (it reads the app and the world, never the event):
 *
 *   get app -> deletion (finalizer) | skip-reconcile | validate (InvalidSpecError, terminal)
 *   -> project check -> compare (ComparisonError: nothing in the cluster changes, retried with backoff)
 *   -> sync when an operation asks for it or automated sync decides so -> status -> requeue after the
 *   refresh interval plus jitter.
 */
import { ApplicationContext } from './context';
import { AppCondition, ConditionType, mergeConditions } from './conditions';
import { Comparison, ManagedResource, clearRenderCache, compareApp } from './compare';
import { appInstanceName, trackedBy } from './tracking';
import {
  App,
  setFinalizers,
  getApp,
  patchApp,
  patchAppStatus,
  REFRESH_ANNOTATION,
  SKIP_RECONCILE_ANNOTATION,
} from './api';
import { automatedSyncDecision, SELF_HEAL_RESET_MS, SyncRequest } from './autosync';
import { handleDeletion, needsPostDeleteFinalizer, POST_DELETE_FINALIZER } from './deletion';
import { checkProject } from './project';
import { destinationProblem } from './destination';
import { validateResource } from '../validation/validate';
import { SyncOutcome } from '../sync/sync';
import { mergeIgnoredFromLive } from '../diff/ignore';
import { executeSync } from '../sync/engine';
import { planSync } from '../sync/plan';
import { aggregateHealth, assessHealth } from '../health';
import { ReconcileResult } from '../runtime/workqueue';
import { ApplicationStatus, ComparedTo, ResourceStatus, RevisionHistory } from '../../generated/application';

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
  try {
    return await reconcileLive(ctx, app, refresh === 'hard');
  } finally {
    if (refresh)
      await patchApp(ctx.client, app, { metadata: { annotations: { [REFRESH_ANNOTATION]: null } } });
  }
}

async function reconcileLive(ctx: ApplicationContext, app: App, hard: boolean): Promise<ReconcileResult> {
  const now = new Date().toISOString();
  const invalid = validateResource('Application', app);
  const destination = invalid.valid ? destinationProblem(app.spec.destination) : undefined;
  const problems = !invalid.valid
    ? [invalid.message]
    : destination
      ? [destination]
      : await checkProject(ctx, app);
  if (problems.length) {
    ctx.log.warn('Application spec is invalid; nothing will be applied.', {
      app: key(app),
      reason: problems.join('; '),
    });
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
  const decision = app.operation?.sync
    ? manualRequest(app)
    : automatedSyncDecision(app, cmp, selfHealAttempts.get(key(app)) ?? 0);
  const request = decision && 'manual' in decision ? decision : undefined;
  let extra: ApplicationStatus = {};
  const conditions: AppCondition[] = [];
  if (request?.skipReason) conditions.push({ type: ConditionType.SyncError, message: request.skipReason });
  conditions.push(...sharedResourceWarnings(cmp, instance));
  if (request && !request.skipReason) {
    countSelfHeal(app, request);
    extra = await sync(ctx, app, instance, cmp, request);
    cmp = await compareApp(ctx, app, instance);
  }
  await writeStatus(ctx, app, { ...extra, ...comparisonStatus(app, cmp) }, conditions, now);
  const refresh = ctx.settings.refreshIntervalMs + Math.floor(Math.random() * ctx.settings.refreshJitterMs);
  return { requeueAfterMs: decision && 'waitMs' in decision ? Math.min(decision.waitMs, refresh) : refresh };
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

/** Self-heal syncs per app since its last quiet period (process memory: a restart starts afresh). */
const selfHealAttempts = new Map<string, number>();

function countSelfHeal(app: App, request: SyncRequest): void {
  if (!request.selfHeal) return selfHealAttempts.delete(key(app)) as unknown as void;
  const finished = Date.parse(app.status?.operationState?.finishedAt ?? '') || 0;
  const quiet = Date.now() - finished > SELF_HEAL_RESET_MS;
  selfHealAttempts.set(key(app), quiet ? 1 : (selfHealAttempts.get(key(app)) ?? 0) + 1);
}

function key(app: App): string {
  return `${app.metadata.namespace}/${app.metadata.name}`;
}

function comparedTo(app: App): ComparedTo {
  return { source: app.spec.source, sources: app.spec.sources, destination: app.spec.destination };
}

function comparisonStatus(app: App, cmp: Comparison): ApplicationStatus {
  const multi = !!app.spec.sources?.length;
  return {
    sync: {
      status: cmp.status,
      comparedTo: comparedTo(app),
      ...(multi ? { revisions: cmp.revisions } : { revision: cmp.revisions[0] }),
    },
    ...(multi ? { sourceTypes: cmp.sourceTypes } : { sourceType: cmp.sourceTypes[0] }),
    resources: cmp.resources.map(resourceStatus),
    health: appHealth(cmp),
  };
}

/** The app's health: the worst health of its resources (hooks and prune candidates left out). */
function appHealth(cmp: Comparison): NonNullable<ApplicationStatus['health']> {
  const h = aggregateHealth(cmp.resources.filter((r) => !r.requiresPruning).map((r) => assessHealth(r.live)));
  return h.message ? { status: h.status, message: h.message } : { status: h.status };
}

function resourceStatus(r: ManagedResource): ResourceStatus {
  return {
    group: r.group || undefined,
    version: r.version,
    kind: r.kind,
    namespace: r.namespace || undefined,
    name: r.name,
    status: r.status,
    ...healthOf(r),
    ...(r.requiresPruning ? { requiresPruning: true } : {}),
  };
}

function healthOf(r: ManagedResource): Pick<ResourceStatus, 'health'> {
  if (r.requiresPruning) return {};
  const h = assessHealth(r.live);
  if (!h) return {};
  return { health: h.message ? { status: h.status, message: h.message } : { status: h.status } };
}

async function writeStatus(
  ctx: ApplicationContext,
  app: App,
  status: ApplicationStatus,
  conditions: AppCondition[],
  now: string,
): Promise<void> {
  await patchAppStatus(ctx.client, app, {
    ...status,
    conditions: mergeConditions(app.status?.conditions as AppCondition[] | undefined, conditions, now),
    reconciledAt: now,
  });
}

function manualRequest(app: App): SyncRequest {
  const op = app.operation?.sync ?? {};
  return {
    manual: true,
    revision: op.revision,
    source: op.source,
    prune: op.prune ?? false,
    dryRun: op.dryRun ?? false,
    resources: op.resources,
    initiatedBy: app.operation?.initiatedBy ?? { username: 'unknown' },
  };
}

/** `PrunePropagationPolicy=foreground|background|orphan` (Argo CD; default foreground). */
function propagationPolicy(app: App): 'Foreground' | 'Background' | 'Orphan' {
  const opt = (app.spec.syncPolicy?.syncOptions ?? []).find((o) => o.startsWith('PrunePropagationPolicy='));
  const v = opt?.split('=')[1]?.toLowerCase();
  return v === 'background' ? 'Background' : v === 'orphan' ? 'Orphan' : 'Foreground';
}

function hasSyncOption(app: App, option: string): boolean {
  return (app.spec.syncPolicy?.syncOptions ?? []).includes(option);
}

function selected(resources: ManagedResource[], filter: SyncRequest['resources']): ManagedResource[] {
  if (!filter?.length) return resources;
  return resources.filter((r) =>
    filter.some(
      (f) =>
        (f.group ?? '') === r.group &&
        f.kind === r.kind &&
        f.name === r.name &&
        (!f.namespace || f.namespace === r.namespace),
    ),
  );
}

/** Runs one sync operation and returns the status fields it changes (operationState, history). */
async function sync(
  ctx: ApplicationContext,
  app: App,
  instance: string,
  cmp: Comparison,
  req: SyncRequest,
): Promise<ApplicationStatus> {
  const startedAt = new Date().toISOString();
  const operation = {
    sync: {
      revision: req.revision ?? cmp.revisions[0],
      prune: req.prune,
      syncOptions: app.spec.syncPolicy?.syncOptions,
    },
    initiatedBy: req.initiatedBy,
  };
  await patchAppStatus(ctx.client, app, {
    operationState: { operation, phase: 'Running', message: 'one or more tasks are running', startedAt },
  });
  let outcome: SyncOutcome;
  let revisions = cmp.revisions;
  try {
    // A rollback as `argocd app rollback` writes it: the revision and source of a history entry.
    const syncApp = req.source
      ? { ...app, spec: { ...app.spec, source: req.source, sources: undefined } }
      : app;
    const target =
      req.revision || req.source
        ? await compareApp(ctx, syncApp, instance, { revisionOverride: req.revision })
        : cmp;
    revisions = target.revisions;
    if (
      req.manual &&
      app.spec.syncPolicy?.automated &&
      app.spec.syncPolicy.automated.enabled !== false &&
      (target.revisions[0] !== cmp.revisions[0] || req.source)
    ) {
      // As Argo CD: automated sync would undo a rollback at once.
      throw new Error('rollback cannot be initiated when auto-sync is enabled');
    }
    const dest = app.spec.destination.namespace;
    outcome = req.dryRun
      ? { phase: 'Succeeded', message: 'successfully synced (dry run)', resources: [] }
      : await executeSync(
          ctx,
          planSync(selected(target.resources, req.resources), req.resources?.length ? [] : target.hooks, {
            pruneLast: hasSyncOption(app, 'PruneLast=true'),
          }),
          {
            prune: req.prune,
            syncOptions: app.spec.syncPolicy?.syncOptions,
            appInstance: instance,
            prunePropagationPolicy: propagationPolicy(app),
            prepare: hasSyncOption(app, 'RespectIgnoreDifferences=true')
              ? (r) => mergeIgnoredFromLive(r.target!, r.live, app.spec.ignoreDifferences ?? [])
              : undefined,
            createNamespace:
              hasSyncOption(app, 'CreateNamespace=true') && dest
                ? { name: dest, ...(app.spec.syncPolicy?.managedNamespaceMetadata ?? {}) }
                : undefined,
            onProgress: (resources) =>
              patchAppStatus(ctx.client, app, {
                operationState: {
                  operation,
                  phase: 'Running',
                  message: 'one or more tasks are running',
                  startedAt,
                  syncResult: { resources },
                },
              }),
          },
        );
  } catch (err) {
    outcome = { phase: 'Failed', message: (err as Error).message, resources: [] };
  }
  const finishedAt = new Date().toISOString();
  ctx.log.info(`Sync ${outcome.phase.toLowerCase()}: ${outcome.message}`, {
    app: key(app),
    revision: revisions[0],
  });
  const multi = !!app.spec.sources?.length && !req.source;
  const syncResult = {
    resources: outcome.resources,
    ...(multi
      ? { revisions, sources: app.spec.sources }
      : { revision: revisions[0], source: req.source ?? app.spec.source }),
  };
  const status: ApplicationStatus = {
    operationState: {
      operation,
      phase: outcome.phase,
      message: outcome.message,
      startedAt,
      finishedAt,
      syncResult,
      ...(req.retryCount ? { retryCount: req.retryCount } : {}),
    },
  };
  if (outcome.phase === 'Succeeded' && !req.dryRun)
    status.history = appendHistory(app, revisions, startedAt, finishedAt, req);
  if (req.manual) await patchApp(ctx.client, app, { operation: null });
  return status;
}

function appendHistory(
  app: App,
  revisions: string[],
  startedAt: string,
  finishedAt: string,
  req: SyncRequest,
): RevisionHistory[] {
  const history = [...(app.status?.history ?? [])];
  const id = history.reduce((max, h) => Math.max(max, Number(h.id ?? 0)), -1) + 1;
  const multi = !!app.spec.sources?.length && !req.source;
  history.push({
    id,
    deployStartedAt: startedAt,
    deployedAt: finishedAt,
    initiatedBy: req.initiatedBy,
    ...(multi
      ? { revisions, sources: app.spec.sources }
      : { revision: revisions[0], source: req.source ?? app.spec.source }),
  });
  const limit = app.spec.revisionHistoryLimit ?? 10;
  return history.slice(Math.max(0, history.length - limit));
}
