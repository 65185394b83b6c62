/**
 * One sync operation of an Application, as Argo CD's `operation` / `operationState`, driven one step
 * per reconcile (the engine is a state machine, see ../sync/engine.ts):
 *
 *   start   a manual request (the top-level `operation` field) or an automated sync decision becomes
 *           a fresh `operationState` (phase Running, the operation, the resolved revision(s) and
 *           source(s) in `syncResult`), written in one status write before anything is applied;
 *   step    each reconcile recomputes the plan at the operation's revision and lets the engine advance
 *           it; progress (the result lines) is written to `operationState.syncResult.resources`;
 *   finish  the manual `operation` field is cleared, then ONE status write records the outcome and
 *           `history` (capped by `revisionHistoryLimit`). Until that write succeeds the state stays
 *           Running, so a crash or an API failure at any point is resumed by the next reconcile (of
 *           this process or the next one) and never leaves an operation Running forever.
 *
 * Status is written as a JSON merge patch, in which an absent key keeps its old value: every write of
 * `operationState` therefore sets the keys it does not use to null ({@link operationStatePatch}), so a
 * new operation never shows the previous one's `finishedAt`, `retryCount` or revision.
 */
import { isDeepStrictEqual } from 'node:util';
import { Operation, OperationState, RevisionHistory } from '../../generated/application';
import { mergeIgnoredFromLiveBounded } from '../diff/ignore';
import { EngineOptions, StepResult, stepSync } from '../sync/engine';
import { planSync } from '../sync/plan';
import { ResourceResult, SyncOutcome } from '../sync/sync';
import { App, patchApp, patchAppStatus } from './api';
import { EventNote, recordEvent } from '../kube/events';
import { SyncRequest } from './autosync';
import { Comparison, ManagedResource, compareApp } from './compare';
import { ApplicationContext } from './context';
import { wrote } from './appcache';
import { changedFields } from './status';
import { ProjectPermissionError } from './project';
import { SourcesError } from './sources';
import { ImpersonationError, writerFor } from './impersonation';
import { KubeClient } from '../kube/client';
import { replacingPatch } from '../common/mergepatch';
import { syncTotal } from '../runtime/metrics';

const key = (app: App): string => `${app.metadata.namespace}/${app.metadata.name}`;

/** The message of an operation whose tasks are being run (Argo CD's wording). */
export const RUNNING_MESSAGE = 'one or more tasks are running';
/** The outcome of an operation that asks for `argocd app sync --local`. */
export const MSG_LOCAL_MANIFESTS =
  'operation.sync.manifests (argocd app sync --local) is not supported by capstan yet: nothing was ' +
  'applied; commit the manifests to git and sync again';
/** The outcome of a dry-run operation. */
export const MSG_DRY_RUN = 'successfully synced (dry run)';

/** The sync request of the top-level `operation.sync` field (a manual sync or a rollback). */
export function manualRequest(app: App): SyncRequest {
  return requestOf(app.operation ?? {}, true);
}

/** The request an operation carries (`operation` or `operationState.operation`). */
function requestOf(op: Operation, manual: boolean): SyncRequest {
  const sync = op.sync ?? {};
  return {
    manual,
    revision: sync.revision,
    source: sync.source,
    revisions: sync.revisions,
    sources: sync.sources,
    prune: sync.prune ?? false,
    dryRun: sync.dryRun ?? false,
    resources: sync.resources,
    initiatedBy: op.initiatedBy ?? { username: 'unknown' },
  };
}

/** The operation in progress (`operationState.phase` Running), or undefined. */
export function runningOperation(app: App): OperationState | undefined {
  const state = app.status?.operationState;
  return state?.phase === 'Running' ? state : undefined;
}

/**
 * The `operationState` as a merge patch over the one the app's status holds: every key of the old
 * state that the new one lacks (at any depth) is set to null, so that nothing of an earlier operation
 * (`finishedAt`, `retryCount`, a revision, an initiator) survives the patch.
 * @param prev - the operation state the status holds now, if any.
 * @param state - the complete new operation state.
 * @returns the value to send as `status.operationState` in a JSON merge patch.
 */
export function operationStatePatch(prev: OperationState | undefined, state: OperationState): unknown {
  return replacingPatch(prev, state);
}

/**
 * What an operation did in one reconcile. Nothing of it is written yet (but the progress of created
 * hooks): the reconcile writes `state` and `history` with the rest of status in ONE status write, then
 * records `events`.
 */
export interface OperationStep {
  /** The operation state after this reconcile: Running, or the final Succeeded / Failed one. */
  state: OperationState;
  /** The new `status.history`, when the operation succeeded (and was no dry run). */
  history?: RevisionHistory[];
  /** While Running: look again after this many ms. */
  requeueAfterMs?: number;
  /** The events to record once status is written (Argo CD's OperationStarted / OperationCompleted). */
  events: EventNote[];
}

/** The status fields of an operation step, as a merge patch over the app's status. */
export function operationFields(app: App, step: OperationStep | undefined): Record<string, unknown> {
  if (!step) return {};
  return {
    operationState: operationStatePatch(app.status?.operationState, step.state),
    ...(step.history ? { history: step.history } : {}),
  };
}

/** Writes an operation state alone (the progress of created hooks, which must survive a crash). */
async function writeOperationState(ctx: ApplicationContext, app: App, state: OperationState): Promise<void> {
  // Only what changed (status.ts changedFields): the operation and its start are not sent again.
  const patch = { operationState: operationStatePatch(app.status?.operationState, state) };
  const changed = changedFields(app.status, JSON.parse(JSON.stringify(patch)) as unknown);
  if (changed) await patchAppStatus(ctx.client, app, changed as Record<string, unknown>);
  // Later writes of this reconcile read the app's status: keep it current.
  app.status = { ...app.status, operationState: state };
}

/**
 * Runs the app's operation for one reconcile: starts one for `request` when none is running (Argo CD
 * refuses a new one meanwhile), then advances it by one engine step; an operation whose plan is one wave
 * without hooks starts and finishes here.
 * @param request - the sync to start (a manual request or an automated sync decision); undefined to
 *   continue the running operation.
 * @throws on transient failures (git, API): a running operation stays Running and the next reconcile resumes.
 */
export async function runOperation(
  ctx: ApplicationContext,
  app: App,
  instance: string,
  cmp: Comparison,
  request: SyncRequest | undefined,
): Promise<OperationStep> {
  let state = runningOperation(app);
  let target: Comparison | undefined;
  const events: EventNote[] = [];
  if (!state) {
    if (!request) throw new Error('no operation is running and none was asked for');
    const begun = await startOperation(ctx, app, instance, cmp, request);
    if ('failed' in begun)
      return finishOperation(ctx, app, { state: begun.failed, req: request }, begun.outcome, events);
    ({ state, target } = begun);
    // Argo CD's API server records a manual sync's start when it is asked; an automated sync's start is
    // recorded only when it does not also end in this reconcile (one event per step).
    if (request.manual) events.push(startedEvent(app, request, state));
  }
  const req = requestOf(state.operation, !state.operation.initiatedBy?.automated);
  const step = await stepOnce(ctx, app, instance, cmp, { state, req, started: target });
  if (step.state === 'Running') {
    if (target && !request?.manual) events.push(startedEvent(app, req, state));
    const next: OperationState = {
      ...state,
      message: step.message,
      syncResult: { ...state.syncResult, resources: step.results },
    };
    return { state: next, requeueAfterMs: step.requeueAfterMs, events };
  }
  return finishOperation(ctx, app, { state, req }, step.outcome, events);
}

/**
 * A new operation: what it syncs (its target comparison) and its fresh Running state (phase Running, the
 * operation, the resolved revision(s) and source(s) in `syncResult`).
 * @returns the Running state and target; or, when the target cannot be resolved (for example a rollback
 *   while automated sync is on), the state and outcome to end it Failed with.
 */
async function startOperation(
  ctx: ApplicationContext,
  app: App,
  instance: string,
  cmp: Comparison,
  req: SyncRequest,
): Promise<{ state: OperationState; target: Comparison } | { failed: OperationState; outcome: SyncOutcome }> {
  const operation: Operation =
    req.manual && app.operation
      ? app.operation
      : {
          sync: {
            // As Argo CD's autoSync: a multi-source app's operation names every source's revision.
            ...(app.spec.sources?.length ? { revisions: cmp.revisions } : { revision: cmp.revisions[0] }),
            prune: req.prune,
            syncOptions: app.spec.syncPolicy?.syncOptions,
            // As Argo CD, a self-heal operation records which attempt in a row it is, and the resources
            // it heals (a selective sync of what is not Synced, kept by every later step).
            ...(req.autoHealAttemptsCount ? { autoHealAttemptsCount: req.autoHealAttemptsCount } : {}),
            ...(req.resources?.length ? { resources: req.resources } : {}),
          },
          initiatedBy: req.initiatedBy,
        };
  const base: OperationState = {
    operation,
    phase: 'Running',
    message: RUNNING_MESSAGE,
    startedAt: new Date().toISOString(),
    ...(req.retryCount ? { retryCount: req.retryCount } : {}),
  };
  try {
    const target = await syncTarget(ctx, app, instance, cmp, req);
    return {
      state: { ...base, syncResult: { resources: [], ...deployed(app, req, target.revisions) } },
      target,
    };
  } catch (err) {
    const failed = { ...base, syncResult: { resources: [], ...deployed(app, req, cmp.revisions) } };
    return { failed, outcome: { phase: 'Failed', message: (err as Error).message, resources: [] } };
  }
}

/**
 * Ends the running operation Failed with `message`, writing nothing more to the cluster, as Argo CD fails an
 * operation whose app has become invalid (for example refused by a project tightened while it ran);
 * otherwise it would stay Running until the app is valid again and then resume unexpectedly.
 * @returns the final step (to write with status), or undefined when no operation is running.
 */
export async function abortRunningOperation(
  ctx: ApplicationContext,
  app: App,
  message: string,
): Promise<OperationStep | undefined> {
  const state = runningOperation(app);
  if (!state) return undefined;
  const req = requestOf(state.operation, !state.operation.initiatedBy?.automated);
  const resources = (state.syncResult?.resources ?? []) as ResourceResult[];
  return finishOperation(ctx, app, { state, req }, { phase: 'Failed', message, resources }, []);
}

/** One engine step at the operation's revision(s) and source(s). */
async function stepOnce(
  ctx: ApplicationContext,
  app: App,
  instance: string,
  cmp: Comparison,
  { state, req, started }: { state: OperationState; req: SyncRequest; started?: Comparison },
): Promise<StepResult> {
  // `argocd app sync --local` syncs manifests sent with the operation instead of git's; capstan has no
  // such path yet, so the operation fails before anything is written rather than syncing git instead.
  if (state.operation.sync?.manifests?.length) {
    return { state: 'Done', outcome: { phase: 'Failed', message: MSG_LOCAL_MANIFESTS, resources: [] } };
  }
  if (req.dryRun) {
    return { state: 'Done', outcome: { phase: 'Succeeded', message: MSG_DRY_RUN, resources: [] } };
  }
  const results = (state.syncResult?.resources ?? []) as ResourceResult[];
  // With --impersonation every write of the sync acts as the project's service account; without a
  // matching one the operation fails before anything is written (Argo CD).
  let writer: KubeClient;
  try {
    writer = writerFor(ctx, app);
  } catch (err) {
    if (!(err instanceof ImpersonationError)) throw err;
    return { state: 'Done', outcome: { phase: 'Failed', message: err.message, resources: results } };
  }
  let target: Comparison;
  try {
    // The target resolved when the operation started in this reconcile is not compared a second time.
    target = started ?? (await operationTarget(ctx, app, instance, cmp, state, req));
  } catch (err) {
    // The project no longer permits what the operation compares (its source, or the project is gone or
    // invalid): the operation ends Failed here instead of being retried forever while Running.
    if (!(err instanceof ProjectPermissionError || err instanceof SourcesError)) throw err;
    return { state: 'Done', outcome: { phase: 'Failed', message: err.message, resources: results } };
  }
  // A SyncFail line means the operation already failed and runs its SyncFail hooks.
  const failure = results.some((r) => r.syncPhase === 'SyncFail')
    ? (state.message ?? 'sync failed')
    : undefined;
  const progress = (lines: ResourceResult[]) =>
    writeOperationState(ctx, app, {
      ...state,
      syncResult: { ...state.syncResult, resources: lines },
    });
  return stepSync(
    { ...ctx, client: writer },
    planFor(app, target, req),
    { results, failure },
    {
      ...withoutExistingNamespace(app, target, req, engineOptions(app, instance, state, req, progress)),
      healthyApps: cmp.healthyApps,
    },
  );
}

/** The engine's options without the namespace apply when {@link namespaceExists}. */
function withoutExistingNamespace(
  app: App,
  target: Comparison,
  req: SyncRequest,
  options: EngineOptions,
): EngineOptions {
  return namespaceExists(app, target, req) ? { ...options, createNamespace: undefined } : options;
}

/**
 * True when a selective sync (a self-heal) needs no `CreateNamespace=true` apply: every object it selects
 * exists, so their namespace does, and no managedNamespaceMetadata asks for labels or annotations on it.
 * As gitops-engine, which adds the namespace task only when the namespace is missing or its managed metadata
 * differs; a full sync still applies it (one request, and it restores that metadata).
 */
export function namespaceExists(app: App, target: Comparison, req: SyncRequest): boolean {
  if (!req.resources?.length || app.spec.syncPolicy?.managedNamespaceMetadata) return false;
  const dest = app.spec.destination.namespace;
  const chosen = selected(target.resources, req.resources);
  return chosen.length > 0 && chosen.every((r) => r.live && r.namespace === dest);
}

/**
 * Ends an operation: clears a manual `operation` field (only the one this operation ran), and returns the
 * final state, the history and the OperationCompleted event for the reconcile's one status write. Cleared
 * first: the request is never run twice; if the status write then fails, the cluster is as the sync left
 * it and the next reconcile reports it (the operation's result line is what is lost).
 */
async function finishOperation(
  ctx: ApplicationContext,
  app: App,
  { state, req }: { state: OperationState; req: SyncRequest },
  outcome: SyncOutcome,
  events: EventNote[],
): Promise<OperationStep> {
  const finishedAt = new Date().toISOString();
  ctx.log.info(`Sync ${outcome.phase.toLowerCase()}: ${outcome.message}`, {
    app: key(app),
    revision: state.syncResult?.revision ?? state.syncResult?.revisions?.[0],
    // The whole operation, all its steps (reconciles) included, as Argo CD's "duration" of a sync.
    durationMs: Date.parse(finishedAt) - Date.parse(state.startedAt),
  });
  if (req.manual && app.operation && sameOperation(app.operation, state.operation)) {
    wrote(ctx, await patchApp(ctx.client, app, { operation: null }));
  }
  const final: OperationState = {
    ...state,
    phase: outcome.phase,
    message: outcome.message,
    finishedAt,
    syncResult: { ...state.syncResult, resources: outcome.resources },
  };
  const history =
    outcome.phase === 'Succeeded' && !req.dryRun ? appendHistory(app, state, finishedAt) : undefined;
  countSync(app, final);
  return { state: final, ...(history ? { history } : {}), events: [...events, completedEvent(app, final)] };
}

/** True when the `operation` field is the request an operation state was started from. */
function sameOperation(a: Operation, b: Operation): boolean {
  return isDeepStrictEqual(JSON.parse(JSON.stringify(a)), JSON.parse(JSON.stringify(b)));
}

function subject(app: App) {
  return { apiVersion: 'argoproj.io/v1alpha1', kind: 'Application', metadata: app.metadata };
}

/** The revision(s) an event names: every source's, in order, for a multi-source app; else the one. */
function revisionsText(app: App, revisions: string[] | undefined): string {
  if (!revisions?.length) return '';
  return app.spec.sources?.length ? revisions.join(', ') : revisions[0];
}

/** As Argo CD: OperationStarted, "Initiated automated sync to <revision>" or "Initiated sync by <user> ...". */
function startedEvent(app: App, req: SyncRequest, state: OperationState): EventNote {
  const who = req.initiatedBy.automated
    ? 'automated sync'
    : `sync by ${req.initiatedBy.username ?? 'unknown'}`;
  const sr = state.syncResult ?? {};
  const revisions = sr.revisions?.length ? sr.revisions : sr.revision ? [sr.revision] : [];
  return {
    type: 'Normal',
    reason: 'OperationStarted',
    message: `Initiated ${who} to ${revisionsText(app, revisions)}`,
  };
}

/** As Argo CD: OperationCompleted, Normal when it succeeded, Warning when it did not. */
function completedEvent(app: App, state: OperationState): EventNote {
  const revision = revisionsText(app, state.syncResult?.revisions) || (state.syncResult?.revision ?? '');
  const ok = state.phase === 'Succeeded';
  return {
    type: ok ? 'Normal' : 'Warning',
    reason: 'OperationCompleted',
    message: `Sync operation to ${revision} ${ok ? 'succeeded' : `failed: ${state.message ?? ''}`}`,
  };
}

/** Counts an ended operation in `capstan_app_sync_total` (Argo CD's argocd_app_sync_total). */
function countSync(app: App, state: OperationState): void {
  syncTotal.inc({
    namespace: app.metadata.namespace ?? '',
    name: app.metadata.name ?? '',
    project: app.spec.project || 'default',
    dest_server: app.spec.destination.server ?? app.spec.destination.name ?? '',
    phase: state.phase,
  });
}

/**
 * Records the events of an operation step (after the status write), best effort: they are queued and
 * sent in the background (kube/events.ts), so the worker does not wait for them.
 */
export async function recordOperationEvents(
  ctx: ApplicationContext,
  app: App,
  step: OperationStep | undefined,
): Promise<void> {
  for (const note of step?.events ?? []) await recordEvent(ctx.client, ctx.log, subject(app), note);
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

/**
 * What a new operation syncs: the comparison already made, or one at the requested revision and
 * source (a rollback as `argocd app rollback` writes it: the revision and source of a history entry; for a
 * multi-source app the revisions and sources of the entry, Argo CD ignoring `revision` and `source` there).
 * @throws when a rollback is asked while automated sync is on (Argo CD refuses it: automated sync
 *   would undo it at once); SourcesError for a multi-source request Argo CD refuses (more revisions than
 *   sources, a bad or unknown ref).
 */
async function syncTarget(
  ctx: ApplicationContext,
  app: App,
  instance: string,
  cmp: Comparison,
  req: SyncRequest,
): Promise<Comparison> {
  const target = await requestedTarget(ctx, app, instance, req);
  if (!target) return cmp;
  const automated = app.spec.syncPolicy?.automated;
  if (req.manual && automated && automated.enabled !== false && isRollback(app, cmp, target, req)) {
    throw new Error('rollback cannot be initiated when auto-sync is enabled');
  }
  return target;
}

/** The comparison at a request's own revision(s) or source(s); undefined when it asks for none. */
async function requestedTarget(
  ctx: ApplicationContext,
  app: App,
  instance: string,
  req: SyncRequest,
): Promise<Comparison | undefined> {
  if (app.spec.sources?.length) {
    if (!req.sources?.length && asSpecSays(req.revisions, app.spec.sources)) return undefined;
    return compareApp(ctx, withSources(app, req), instance, { revisionOverrides: multiRevisions(app, req) });
  }
  // `argocd app sync` names the app's own targetRevision: the comparison this reconcile made already is it.
  if (!req.source && asSpecSays(req.revision ? [req.revision] : [], [app.spec.source])) return undefined;
  return compareApp(ctx, withSource(app, req), instance, { revisionOverride: req.revision });
}

/** True when every requested revision is empty or the targetRevision of the source at its position. */
function asSpecSays(
  revisions: string[] | undefined,
  sources: Array<{ targetRevision?: string } | undefined>,
): boolean {
  return (revisions ?? []).every((r, i) => !r || (i < sources.length && r === sources[i]?.targetRevision));
}

/** True when a request syncs other revisions or sources than the app's own (a rollback). */
export function isRollback(app: App, cmp: Comparison, target: Comparison, req: SyncRequest): boolean {
  return app.spec.sources?.length
    ? !isDeepStrictEqual(target.revisions, cmp.revisions) || !!req.sources?.length
    : target.revisions[0] !== cmp.revisions[0] || !!req.source;
}

/** The app with a rollback's source in place of its own (single-source apps). */
function withSource(app: App, req: SyncRequest): App {
  return req.source ? { ...app, spec: { ...app.spec, source: req.source, sources: undefined } } : app;
}

/** The app with a rollback's sources in place of its own (multi-source apps). */
function withSources(app: App, req: SyncRequest): App {
  return req.sources?.length
    ? { ...app, spec: { ...app.spec, source: undefined, sources: req.sources } }
    : app;
}

/**
 * A multi-source request's revisions, one per source position at most.
 * @throws SourcesError when it names more revisions than there are sources.
 */
export function multiRevisions(app: App, req: SyncRequest): string[] | undefined {
  const count = (req.sources?.length ? req.sources : app.spec.sources)?.length ?? 0;
  if ((req.revisions?.length ?? 0) > count) {
    throw new SourcesError(
      `operation.sync.revisions has ${req.revisions!.length} entries for ${count} sources: one per source at most`,
    );
  }
  return req.revisions;
}

/**
 * What a running operation syncs: the revision(s) and source(s) recorded when it started, whatever
 * git's branch says now (as Argo CD, an operation finishes at the revision it started with).
 */
async function operationTarget(
  ctx: ApplicationContext,
  app: App,
  instance: string,
  cmp: Comparison,
  state: OperationState,
  req: SyncRequest,
): Promise<Comparison> {
  const sr = state.syncResult ?? {};
  const revisions = sr.revisions?.length ? sr.revisions : sr.revision ? [sr.revision] : cmp.revisions;
  const multi = !!app.spec.sources?.length;
  const other = multi ? !!req.sources?.length : !!req.source;
  if (!other && isDeepStrictEqual(revisions, cmp.revisions)) return cmp;
  const target = multi ? withSources(app, req) : withSource(app, req);
  return compareApp(ctx, target, instance, { revisionOverrides: revisions });
}

/** The task plan: a selective sync runs only the named resources and no hooks (as Argo CD). */
function planFor(app: App, target: Comparison, req: SyncRequest) {
  return planSync(selected(target.resources, req.resources), req.resources?.length ? [] : target.hooks, {
    pruneLast: hasSyncOption(app, 'PruneLast=true'),
  });
}

/** The engine's options from the app's sync policy and the operation. */
function engineOptions(
  app: App,
  instance: string,
  state: OperationState,
  req: SyncRequest,
  onProgress: (resources: ResourceResult[]) => Promise<void>,
): EngineOptions {
  const dest = app.spec.destination.namespace;
  return {
    operationId: `${app.metadata.uid ?? key(app)}/${state.startedAt}`,
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

/** The revision(s) and source(s) an operation deploys, as syncResult and history record them. */
export function deployed(
  app: App,
  req: SyncRequest,
  revisions: string[],
): Pick<RevisionHistory, 'revision' | 'revisions' | 'source' | 'sources'> {
  return app.spec.sources?.length
    ? { revisions, sources: req.sources?.length ? req.sources : app.spec.sources }
    : { revision: revisions[0], source: req.source ?? app.spec.source };
}

function appendHistory(app: App, state: OperationState, finishedAt: string): RevisionHistory[] {
  const history = [...(app.status?.history ?? [])];
  const id = history.reduce((max, h) => Math.max(max, Number(h.id ?? 0)), -1) + 1;
  const sr = state.syncResult ?? {};
  history.push({
    id,
    deployStartedAt: state.startedAt,
    deployedAt: finishedAt,
    initiatedBy: state.operation.initiatedBy,
    ...(sr.revisions?.length
      ? { revisions: sr.revisions, sources: sr.sources }
      : { revision: sr.revision, source: sr.source }),
  });
  const limit = app.spec.revisionHistoryLimit ?? 10;
  return history.slice(Math.max(0, history.length - limit));
}
