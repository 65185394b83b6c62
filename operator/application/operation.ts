/**
 * One sync operation of an Application, as Argo CD's `operation` / `operationState`: plan the tasks
 * (phases, waves, hooks, prunes), run them with the sync engine while `operationState` shows progress,
 * then record the outcome, `history` (capped by `revisionHistoryLimit`) and clear a manual operation.
 */
import { ApplicationStatus, RevisionHistory } from '../../generated/application';
import { mergeIgnoredFromLiveBounded } from '../diff/ignore';
import { EngineOptions, executeSync } from '../sync/engine';
import { planSync } from '../sync/plan';
import { ResourceResult, SyncOutcome } from '../sync/sync';
import { App, patchApp, patchAppStatus } from './api';
import { recordEvent } from '../kube/events';
import { SyncRequest } from './autosync';
import { Comparison, ManagedResource, compareApp } from './compare';
import { ApplicationContext } from './context';

const key = (app: App): string => `${app.metadata.namespace}/${app.metadata.name}`;

/** The sync request of the top-level `operation.sync` field (a manual sync or a rollback). */
export function manualRequest(app: App): SyncRequest {
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
export async function runSyncOperation(
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
  const running = (resources?: ResourceResult[]) =>
    patchAppStatus(ctx.client, app, {
      operationState: {
        operation,
        phase: 'Running',
        message: 'one or more tasks are running',
        startedAt,
        ...(resources ? { syncResult: { resources } } : {}),
      },
    });
  await running();
  const subject = { apiVersion: 'argoproj.io/v1alpha1', kind: 'Application', metadata: app.metadata };
  const who = req.initiatedBy.automated
    ? 'automated sync'
    : `sync by ${req.initiatedBy.username ?? 'unknown'}`;
  await recordEvent(ctx.client, ctx.log, subject, {
    type: 'Normal',
    reason: 'OperationStarted',
    message: `Initiated ${who} to ${operation.sync.revision}`,
  });
  let outcome: SyncOutcome;
  let revisions = cmp.revisions;
  try {
    const target = await syncTarget(ctx, app, instance, cmp, req);
    revisions = target.revisions;
    outcome = req.dryRun
      ? { phase: 'Succeeded', message: 'successfully synced (dry run)', resources: [] }
      : await executeSync(ctx, planFor(app, target, req), engineOptions(app, instance, req, running));
  } catch (err) {
    outcome = { phase: 'Failed', message: (err as Error).message, resources: [] };
  }
  const finishedAt = new Date().toISOString();
  ctx.log.info(`Sync ${outcome.phase.toLowerCase()}: ${outcome.message}`, {
    app: key(app),
    revision: revisions[0],
  });
  // As Argo CD: OperationCompleted, Normal when it succeeded, Warning when it did not.
  await recordEvent(ctx.client, ctx.log, subject, {
    type: outcome.phase === 'Succeeded' ? 'Normal' : 'Warning',
    reason: 'OperationCompleted',
    message: `Sync operation to ${revisions[0]} ${outcome.phase === 'Succeeded' ? 'succeeded' : `failed: ${outcome.message}`}`,
  });
  const status: ApplicationStatus = {
    operationState: {
      operation,
      phase: outcome.phase,
      message: outcome.message,
      startedAt,
      finishedAt,
      syncResult: { resources: outcome.resources, ...deployed(app, req, revisions) },
      ...(req.retryCount ? { retryCount: req.retryCount } : {}),
    },
  };
  if (outcome.phase === 'Succeeded' && !req.dryRun)
    status.history = appendHistory(app, revisions, startedAt, finishedAt, req);
  if (req.manual) await patchApp(ctx.client, app, { operation: null });
  return status;
}

/**
 * What the operation syncs: the comparison already made, or one at the requested revision and source
 * (a rollback as `argocd app rollback` writes it: the revision and source of a history entry).
 * @throws when a rollback is asked while automated sync is on (Argo CD refuses it: automated sync
 *   would undo it at once).
 */
async function syncTarget(
  ctx: ApplicationContext,
  app: App,
  instance: string,
  cmp: Comparison,
  req: SyncRequest,
): Promise<Comparison> {
  if (!req.revision && !req.source) return cmp;
  const syncApp = req.source
    ? { ...app, spec: { ...app.spec, source: req.source, sources: undefined } }
    : app;
  const target = await compareApp(ctx, syncApp, instance, { revisionOverride: req.revision });
  const automated = app.spec.syncPolicy?.automated;
  const rollback = target.revisions[0] !== cmp.revisions[0] || !!req.source;
  if (req.manual && automated && automated.enabled !== false && rollback) {
    throw new Error('rollback cannot be initiated when auto-sync is enabled');
  }
  return target;
}

/** The task plan: a selective sync runs only the named resources and no hooks (as Argo CD). */
function planFor(app: App, target: Comparison, req: SyncRequest) {
  return planSync(selected(target.resources, req.resources), req.resources?.length ? [] : target.hooks, {
    pruneLast: hasSyncOption(app, 'PruneLast=true'),
  });
}

/** The engine's options from the app's sync policy. */
function engineOptions(
  app: App,
  instance: string,
  req: SyncRequest,
  onProgress: (resources: ResourceResult[]) => Promise<void>,
): EngineOptions {
  const dest = app.spec.destination.namespace;
  return {
    prune: req.prune,
    syncOptions: app.spec.syncPolicy?.syncOptions,
    appInstance: instance,
    prunePropagationPolicy: propagationPolicy(app),
    prepare: hasSyncOption(app, 'RespectIgnoreDifferences=true')
      ? (r) => mergeIgnoredFromLiveBounded(r.target!, r.live, app.spec.ignoreDifferences ?? [])
      : undefined,
    createNamespace:
      hasSyncOption(app, 'CreateNamespace=true') && dest
        ? { name: dest, ...(app.spec.syncPolicy?.managedNamespaceMetadata ?? {}) }
        : undefined,
    onProgress,
  };
}

/** The revision(s) and source(s) an operation deployed, as syncResult and history record them. */
function deployed(
  app: App,
  req: SyncRequest,
  revisions: string[],
): Pick<RevisionHistory, 'revision' | 'revisions' | 'source' | 'sources'> {
  return app.spec.sources?.length && !req.source
    ? { revisions, sources: app.spec.sources }
    : { revision: revisions[0], source: req.source ?? app.spec.source };
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
  history.push({
    id,
    deployStartedAt: startedAt,
    deployedAt: finishedAt,
    initiatedBy: req.initiatedBy,
    ...deployed(app, req, revisions),
  });
  const limit = app.spec.revisionHistoryLimit ?? 10;
  return history.slice(Math.max(0, history.length - limit));
}
