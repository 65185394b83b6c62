/**
 * The sync engine as a state machine, as gitops-engine's `SyncContext`: each call of {@link stepSync}
 * advances one sync operation as far as it can without waiting, then returns. A worker never sleeps
 * or polls while a wave becomes healthy or a hook runs: the caller persists the progress (the result
 * lines, Argo CD's `operationState.syncResult.resources`) and calls again later (a requeue, or the
 * watch of the objects waited for). Everything the machine needs to resume is in those result lines,
 * so a restarted process continues an operation from the Application's status:
 *
 * - the plan (phases PreSync, Sync, PostSync; waves, lowest first) is recomputed from the operation's
 *   revision at every step; a task is done when it has a result line;
 * - the current step is the last wave with any result line (earlier waves were complete when the
 *   machine moved past them); its tasks without a line run, its pending applies (steps.ts: a CRD until
 *   Established, a `Replace=true,Force=true` object until its deletion has ended) are checked once, then
 *   the wave is checked once: every applied object healthy (only when a later wave depends on it), every
 *   pending apply done and every hook completed;
 * - a failed apply, a failed hook, a Degraded resource while a later wave waits, or a wave that
 *   waits longer than the wave timeout fails the sync: no later wave runs, the SyncFail hooks run
 *   (and are waited for, as Argo CD), and the operation ends Failed with the first failure's message;
 * - hooks: named hooks with `BeforeHookCreation` (the default) are deleted and recreated, hooks with
 *   `generateName` are created anew; `HookSucceeded` / `HookFailed` delete the hook once it has
 *   succeeded / failed. A named hook found live carrying this operation's id is adopted, never run a
 *   second time (a process that died between creating it and recording it).
 *
 * Transient API failures (the API server unreachable, 5xx, 429) are thrown, not recorded: the result
 * lines recorded so far stay, the caller retries with backoff, and the step resumes with the tasks
 * that have no line yet. So an API server outage never applies a wave twice and never fails a sync.
 *
 * capstan differs from Argo CD in one place, on purpose: a resource that is Degraded while a later wave
 * waits for it, or a wave that waits longer than the wave timeout (default 10 minutes), fails the
 * sync with a message, instead of leaving the operation Running forever.
 */
import { serverSideApply, deleteObject } from '../kube/apply';
import { isNotFound } from '../kube/client';
import { isTransient } from '../kube/errors';
import { resourcePath } from '../kube/discovery';
import { KubeObject } from '../kube/object';
import { assessHealth } from '../health';
import { ManagedResource } from './resource';
import { hookDeletePolicies } from './hooks';
import { SyncPhase, SyncTask, refusedByProject, wavesOf } from './plan';
import { batchesOf } from './waves';
import { isPending } from './steps';
import {
  ResourceResult,
  SyncDeps,
  SyncOptions,
  SyncOutcome,
  applyOne,
  advancePending,
  ensureNamespace,
  pruneOne,
  resultLine,
} from './sync';

/** Annotation capstan stamps on each hook it creates: the id of the operation that created it. */
export const HOOK_OPERATION_ANNOTATION = 'capstan.dev/sync-operation';

/** Default time a wave may wait for health or hooks, in ms (10 minutes). */
export const DEFAULT_WAVE_TIMEOUT_MS = 600_000;

/** How soon to look again at a wave that is still waiting, in ms (watch events usually come first). */
export const DEFAULT_CHECK_INTERVAL_MS = 1_000;

/** Options of one step of the engine. */
export interface EngineOptions extends SyncOptions {
  /**
   * Identifies the operation (for example the app's uid and the operation's `startedAt`): stamped on
   * hooks so that a resumed operation adopts the hooks it already created.
   */
  operationId: string;
  /** How long one wave may wait for health or hooks, in ms (default 10 min). */
  waveTimeoutMs?: number;
  /** How soon to check a waiting wave again, in ms (default 1 s). */
  checkIntervalMs?: number;
  /**
   * Applications (`namespace/name`) that a wave counts as Healthy without reading them: those on an
   * app-of-apps cycle with the app (they manage it, so their health waits for this sync to end).
   */
  healthyApps?: ReadonlySet<string>;
  /**
   * Persists the result lines so far. Called after hooks are created (so that a crash never creates
   * them twice) and before a transient failure is thrown; the lines a step returns are the caller's to
   * persist. Best effort: a failure is not fatal here.
   */
  onProgress?: (results: ResourceResult[]) => Promise<void>;
  /** The current time in ms (tests). */
  now?: () => number;
}

/** The persisted state of an operation that the engine reads back. */
export interface SyncProgress {
  /** The result lines recorded so far (`operationState.syncResult.resources`). */
  results: ResourceResult[];
  /**
   * When the operation already failed and is running its SyncFail hooks: the failure's message
   * (`operationState.message`). Detected by the caller from a SyncFail result line.
   */
  failure?: string;
}

/** What one step did. */
export type StepResult =
  | {
      /** Still running: persist `results` and `message`, call again after `requeueAfterMs`. */
      state: 'Running';
      results: ResourceResult[];
      message: string;
      /** Set once the operation has failed and is running its SyncFail hooks. */
      failure?: string;
      requeueAfterMs: number;
    }
  | { state: 'Done'; outcome: SyncOutcome };

class SyncFailure extends Error {}

/** When each waiting wave was first seen waiting, by operation and step (process memory). */
const waveStarted = new Map<string, number>();
const WAVE_STARTED_MAX = 10_000;

/**
 * Advances a sync operation as far as it can without waiting.
 * @param deps - API client, discovery, logger.
 * @param tasks - the plan ({@link planSync}) at the operation's revision.
 * @param progress - the result lines recorded so far and the failure being handled, if any.
 * @param opts - sync options, operation id, timeouts, progress sink.
 * @returns Running (with the lines and when to call again) or Done (Succeeded or Failed).
 * @throws on transient API failures (the caller retries; recorded lines stay valid).
 */
export async function stepSync(
  deps: SyncDeps,
  tasks: SyncTask[],
  progress: SyncProgress,
  opts: EngineOptions,
): Promise<StepResult> {
  // Copies of the lines: a check updates a hook's line in place, and the caller's lines are the app's
  // status as read (its status patch carries only what differs from them).
  const results = progress.results.map((line) => ({ ...line }));
  // As gitops-engine, every task is checked against the app's project before any runs: a refused object
  // fails the sync before it writes anything (also in a later step, when the project was tightened).
  const refused = refusedByProject(tasks, results);
  if (refused) return { state: 'Done', outcome: refused };
  if (progress.failure !== undefined) return stepFailing(deps, tasks, results, progress.failure, opts);
  if (results.length === 0 && opts.createNamespace)
    await ensureNamespace(deps, opts.createNamespace, results);
  try {
    const steps = (['PreSync', 'Sync', 'PostSync'] as SyncPhase[]).flatMap((phase) => wavesOf(tasks, phase));
    for (let i = currentStep(steps, results); i < steps.length; i++) {
      await runMissing(deps, steps[i], results, opts);
      // Hooks are always waited for; resources' health only when a later wave depends on it.
      const waiting = await checkWave(deps, steps[i], results, i < steps.length - 1, opts.healthyApps);
      if (waiting.length) {
        enforceWaveTimeout(opts, i, waiting);
        // The caller persists the returned lines with the rest of its status (one write per step).
        return running(results, `waiting for ${describe(waiting)}`, opts);
      }
      waveStarted.delete(`${opts.operationId}/${i}`);
    }
    forgetWaves(opts.operationId);
    return {
      state: 'Done',
      outcome: { phase: 'Succeeded', message: 'successfully synced (all tasks run)', resources: results },
    };
  } catch (err) {
    if (!(err instanceof SyncFailure) && isTransient(err)) {
      await opts.onProgress?.(results).catch(() => undefined);
      throw err;
    }
    const message = err instanceof SyncFailure ? err.message : `sync failed: ${(err as Error).message}`;
    forgetWaves(opts.operationId);
    return stepFailing(deps, tasks, results, message, opts);
  }
}

/** The SyncFail hooks after a failure: run them, wait for them, then end Failed with `failure`. */
async function stepFailing(
  deps: SyncDeps,
  tasks: SyncTask[],
  results: ResourceResult[],
  failure: string,
  opts: EngineOptions,
): Promise<StepResult> {
  const failed = (): StepResult => {
    forgetWaves(`${opts.operationId}/fail`);
    return { state: 'Done', outcome: { phase: 'Failed', message: failure, resources: results } };
  };
  const steps = wavesOf(tasks, 'SyncFail');
  const failOpts = { ...opts, operationId: `${opts.operationId}/fail` };
  try {
    for (let i = currentStep(steps, results); i < steps.length; i++) {
      await runMissing(deps, steps[i], results, failOpts, true);
      const waiting = await checkWave(deps, steps[i], results, false);
      if (waiting.length) {
        enforceWaveTimeout(failOpts, i, waiting);
        return { state: 'Running', results, message: failure, failure, requeueAfterMs: checkInterval(opts) };
      }
    }
  } catch (err) {
    if (!(err instanceof SyncFailure) && isTransient(err)) throw err;
    // A SyncFail hook that fails or times out ends the operation with the original failure.
  }
  return failed();
}

function running(results: ResourceResult[], message: string, opts: EngineOptions): StepResult {
  return {
    state: 'Running',
    results,
    message,
    requeueAfterMs: checkInterval(opts),
  };
}

function checkInterval(opts: EngineOptions): number {
  return opts.checkIntervalMs ?? DEFAULT_CHECK_INTERVAL_MS;
}

/**
 * The index of the step to work on: the last step with any result line (earlier steps were complete
 * when the machine moved past them), or 0.
 */
export function currentStep(steps: SyncTask[][], results: ResourceResult[]): number {
  for (let i = steps.length - 1; i >= 0; i--) {
    if (steps[i].some((t) => resultOf(t, results))) return i;
  }
  return 0;
}

/**
 * The result line of a task, matched by phase, kind, namespace and name (hooks also by hook type; a
 * `generateName` hook by its name prefix).
 */
export function resultOf(t: SyncTask, results: ResourceResult[]): ResourceResult | undefined {
  const r = t.resource;
  const generateName = !r.name && t.action === 'hook' ? (r.target?.metadata.generateName ?? '') : undefined;
  return results.find(
    (line) =>
      line.syncPhase === t.phase &&
      line.kind === r.kind &&
      (line.group ?? '') === (r.group ?? '') &&
      (line.namespace ?? '') === (r.namespace ?? '') &&
      (t.action === 'hook' ? line.hookType === t.hookType : !line.hookType) &&
      (generateName !== undefined
        ? generateName !== '' && line.name.startsWith(generateName)
        : line.name === r.name),
  );
}

/** Most tasks of one batch ({@link batchesOf}) that run at the same time, per operation. */
export const WAVE_CONCURRENCY = 10;

/**
 * Runs the tasks of a wave that have no result line yet, batch by batch ({@link batchesOf}), up to
 * {@link WAVE_CONCURRENCY} tasks of a batch at a time, then checks the batch's pending applies once
 * ({@link advancePending}); throws SyncFailure when one failed. A batch with a hook not created yet or a
 * pending apply keeps the later batches waiting (a custom resource waits for its CRD). Result lines
 * are recorded in plan order. A transient failure of one task is thrown only after the other tasks of
 * its batch ended and their lines were recorded (they never run twice).
 */
async function runMissing(
  deps: SyncDeps,
  wave: SyncTask[],
  results: ResourceResult[],
  opts: EngineOptions,
  failing = false,
): Promise<void> {
  for (const batch of batchesOf(wave)) {
    const todo: SyncTask[] = [];
    for (const t of batch) {
      const done = resultOf(t, results);
      // A resumed hook created with generateName: its live name is the recorded one.
      if (done && t.action === 'hook' && !t.resource.name) t.resource.name = done.name;
      if (!done) todo.push(t);
    }
    const now = (opts.now ?? Date.now)();
    const settled = await mapBounded(todo, WAVE_CONCURRENCY, (t) => runTask(deps, t, opts, now));
    let pending = record(settled, todo, results);
    // Record a created hook at once: a process that dies now must not create it a second time.
    if (todo.some((t) => t.action === 'hook')) await opts.onProgress?.(results).catch(() => undefined);
    if (await advanceBatch(deps, batch, results, opts, now)) pending = true;
    // A hook waits for its previous run to be deleted (BeforeHookCreation): later batches wait with it,
    // and the wave check sees the hook without a line as still waited for.
    if (pending) break;
  }
  const failed = wave.map((t) => resultOf(t, results)).find((r) => r?.status === 'SyncFailed');
  if (failed && !failing)
    throw new SyncFailure(`one or more objects failed to apply, reason: ${failed.message}`);
}

/**
 * Records the lines of tasks that ran, in plan order; throws the first rejection after recording the rest.
 * @returns true when a task has no line yet (a hook waiting for its previous run to be deleted).
 */
function record(
  settled: PromiseSettledResult<ResourceResult | undefined>[],
  todo: SyncTask[],
  results: ResourceResult[],
): boolean {
  let thrown: PromiseRejectedResult | undefined;
  let pending = false;
  settled.forEach((s, i) => {
    if (s.status === 'rejected') thrown ??= s;
    else if (s.value) results.push({ ...s.value, syncPhase: todo[i].phase });
    else pending = true;
  });
  if (thrown) throw thrown.reason;
  return pending;
}

/** Runs one task; undefined while a hook waits for its previous run to be deleted. */
function runTask(
  deps: SyncDeps,
  t: SyncTask,
  opts: EngineOptions,
  now: number,
): Promise<ResourceResult | undefined> {
  if (t.action === 'apply') return applyOne(deps, t.resource, opts, now);
  if (t.action === 'prune') return pruneOne(deps, t.resource, opts);
  return startHook(deps, t, opts.operationId);
}

/**
 * Checks each pending apply of a batch once (those just written too: a deletion without finalizers has
 * often ended already) and replaces its line with the answer. A transient failure is thrown after the
 * other checks' lines were recorded.
 * @returns true when an apply of the batch is still pending.
 */
async function advanceBatch(
  deps: SyncDeps,
  batch: SyncTask[],
  results: ResourceResult[],
  opts: EngineOptions,
  now: number,
): Promise<boolean> {
  const due = batch.filter((t) => t.action === 'apply' && isPending(resultOf(t, results)));
  if (!due.length) return false;
  const settled = await mapBounded(due, WAVE_CONCURRENCY, (t) =>
    advancePending(deps, t.resource, resultOf(t, results)!, opts, now),
  );
  let thrown: PromiseRejectedResult | undefined;
  settled.forEach((s, i) => {
    if (s.status === 'rejected') thrown ??= s;
    else results[results.indexOf(resultOf(due[i], results)!)] = { ...s.value, syncPhase: due[i].phase };
  });
  if (thrown) throw thrown.reason;
  return due.some((t) => isPending(resultOf(t, results)));
}

/** Runs `fn` on every item, at most `limit` at a time; settles like Promise.allSettled, in item order. */
async function mapBounded<T, R>(
  items: T[],
  limit: number,
  fn: (item: T) => Promise<R>,
): Promise<PromiseSettledResult<R>[]> {
  const out: PromiseSettledResult<R>[] = new Array(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      try {
        out[i] = { status: 'fulfilled', value: await fn(items[i]) };
      } catch (reason) {
        out[i] = { status: 'rejected', reason };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/**
 * Creates a hook, stamped with the operation id; adopts a live hook that already carries this
 * operation's id. Under BeforeHookCreation a previous run of the hook is deleted first (foreground, so
 * that its Pods go with it) and the hook is created by a later step once that object is gone: the
 * worker never waits for the deletion (the wave timeout bounds a deletion that never ends).
 * @returns the hook's result line, or undefined while the previous run is being deleted.
 */
async function startHook(
  deps: SyncDeps,
  t: SyncTask,
  operationId: string,
): Promise<ResourceResult | undefined> {
  const target = t.resource.target as KubeObject;
  const obj: KubeObject = {
    ...target,
    metadata: {
      ...target.metadata,
      annotations: { ...target.metadata.annotations, [HOOK_OPERATION_ANNOTATION]: operationId },
    },
  };
  const rt = t.resource.rt ?? (await deps.discovery.resourceFor(obj.apiVersion, obj.kind));
  t.resource.rt = rt;
  const policies = hookDeletePolicies(obj);
  try {
    if (obj.metadata.name) {
      const live = await readLive(deps, t.resource, obj.metadata.name);
      if (live?.metadata.annotations?.[HOOK_OPERATION_ANNOTATION] === operationId) {
        return hookLine(t, 'Synced', `${obj.kind.toLowerCase()}/${obj.metadata.name} adopted`, 'Running');
      }
      if (live && policies.includes('BeforeHookCreation')) {
        if (!live.metadata.deletionTimestamp) await deletePrevious(deps, t.resource, obj.metadata.name);
        return undefined;
      }
      await serverSideApply(deps.client, rt, obj);
    } else {
      const created = await deps.client.request<KubeObject>(
        'POST',
        resourcePath(rt, obj.metadata.namespace),
        {
          body: obj,
        },
      );
      t.resource.name = created.metadata.name ?? '';
    }
  } catch (err) {
    if (isTransient(err)) throw err;
    return { ...hookLine(t, 'SyncFailed', (err as Error).message, 'Failed') };
  }
  t.resource.name ||= obj.metadata.name ?? '';
  return hookLine(t, 'Synced', `${obj.kind.toLowerCase()}/${t.resource.name} created`, 'Running');
}

function hookLine(
  t: SyncTask,
  status: ResourceResult['status'],
  message: string,
  hookPhase: NonNullable<ResourceResult['hookPhase']>,
): ResourceResult {
  return { ...resultLine(t.resource, status, message), hookType: t.hookType, hookPhase };
}

/** Deletes the previous run of a hook in the foreground (a Job with its Pods); gone already is fine. */
async function deletePrevious(deps: SyncDeps, r: ManagedResource, name: string): Promise<void> {
  try {
    await deleteObject(deps.client, r.rt!, r.namespace || undefined, name, 'Foreground');
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
}

async function readLive(deps: SyncDeps, r: ManagedResource, name: string): Promise<KubeObject | undefined> {
  try {
    return await deps.client.request<KubeObject>('GET', resourcePath(r.rt!, r.namespace || undefined, name));
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

/**
 * Checks a wave once: every hook completed and (with `resourcesToo`) every applied object healthy.
 * Applies hook delete policies.
 * @returns the tasks still waited for (empty: the wave is complete).
 * @throws SyncFailure on a failed hook or a Degraded resource.
 */
async function checkWave(
  deps: SyncDeps,
  wave: SyncTask[],
  results: ResourceResult[],
  resourcesToo: boolean,
  healthyApps?: ReadonlySet<string>,
): Promise<SyncTask[]> {
  const waiting: SyncTask[] = [];
  for (const t of wave) {
    // Checked once already by runMissing in this step.
    if (t.action === 'apply' && isPending(resultOf(t, results))) {
      waiting.push(t);
      continue;
    }
    if (t.action === 'apply' && countedHealthy(t, healthyApps)) continue;
    if (t.action === 'hook' || (resourcesToo && t.action === 'apply')) {
      if (!(await checkTask(deps, t, results))) waiting.push(t);
    }
  }
  return waiting;
}

/** True when the task is finished; throws SyncFailure when it failed. */
async function checkTask(deps: SyncDeps, t: SyncTask, results: ResourceResult[]): Promise<boolean> {
  const line = resultOf(t, results);
  // A hook without a line is not created yet (its previous run is still being deleted): what is live
  // under its name is that previous run, never this operation's hook.
  if (t.action === 'hook' && !line) return false;
  if (t.action === 'hook' && line && line.hookPhase !== 'Running') {
    if (line.hookPhase === 'Failed')
      throw new SyncFailure(`${t.phase} hook ${t.resource.kind}/${line.name} failed`);
    return true;
  }
  if (!t.resource.rt) {
    const obj = (t.resource.target ?? t.resource.live) as KubeObject;
    t.resource.rt = await deps.discovery.resourceFor(obj.apiVersion, obj.kind);
  }
  const live = await readLive(deps, t.resource, t.resource.name);
  return t.action === 'apply' ? checkApplied(t, live) : checkHook(deps, t, live, line);
}

/** Whether the task applies an Application listed in `healthyApps` (an app-of-apps cycle). */
function countedHealthy(t: SyncTask, healthyApps: ReadonlySet<string> | undefined): boolean {
  const r = t.resource;
  return (
    !!healthyApps &&
    r.group === 'argoproj.io' &&
    r.kind === 'Application' &&
    healthyApps.has(`${r.namespace}/${r.name}`)
  );
}

/** An applied object is done when Healthy (or without health); Degraded fails the sync. */
function checkApplied(t: SyncTask, live: KubeObject | undefined): boolean {
  const health = assessHealth(live);
  if (!health || health.status === 'Healthy') return true;
  if (health.status === 'Degraded')
    throw new SyncFailure(`${t.resource.kind}/${t.resource.name} is Degraded: ${health.message ?? ''}`);
  return false;
}

/**
 * A hook: Healthy means completed (a Job Complete, a Pod Succeeded), Degraded means failed; a hook
 * that is gone was deleted after it completed (by its policy or by hand). Records the hook's phase in
 * its result line and applies its delete policy.
 */
async function checkHook(
  deps: SyncDeps,
  t: SyncTask,
  live: KubeObject | undefined,
  line: ResourceResult | undefined,
): Promise<boolean> {
  const health = assessHealth(live);
  const status = health?.status ?? 'Healthy';
  if (status !== 'Healthy' && status !== 'Degraded') return false;
  const succeeded = status === 'Healthy';
  const name = `${t.resource.kind}/${t.resource.name}`;
  if (line) {
    line.hookPhase = succeeded ? 'Succeeded' : 'Failed';
    line.message = succeeded ? `${name.toLowerCase()} succeeded` : `${name} failed: ${health?.message ?? ''}`;
    if (!succeeded) line.status = 'SyncFailed';
  }
  const policies = hookDeletePolicies(t.resource.target!);
  const policy = succeeded ? 'HookSucceeded' : 'HookFailed';
  if (live && policies.includes(policy)) {
    await deleteObject(
      deps.client,
      t.resource.rt!,
      t.resource.namespace || undefined,
      t.resource.name,
      'Background',
    ).catch(() => undefined);
  }
  if (!succeeded) throw new SyncFailure(`${t.phase} hook ${name} failed: ${health?.message ?? ''}`);
  return true;
}

/** Fails the sync when wave `i` has waited longer than the wave timeout (first seen: now). */
function enforceWaveTimeout(opts: EngineOptions, i: number, waiting: SyncTask[]): void {
  const now = (opts.now ?? Date.now)();
  const key = `${opts.operationId}/${i}`;
  if (!waveStarted.has(key)) {
    if (waveStarted.size >= WAVE_STARTED_MAX) waveStarted.delete(waveStarted.keys().next().value as string);
    waveStarted.set(key, now);
  }
  const timeout = opts.waveTimeoutMs ?? DEFAULT_WAVE_TIMEOUT_MS;
  if (now - waveStarted.get(key)! > timeout) {
    waveStarted.delete(key);
    throw new SyncFailure(`timed out after ${Math.round(timeout / 1000)} s waiting for ${describe(waiting)}`);
  }
}

function forgetWaves(operationId: string): void {
  for (const key of [...waveStarted.keys()]) if (key.startsWith(`${operationId}/`)) waveStarted.delete(key);
}

function describe(tasks: SyncTask[]): string {
  const names = tasks.map((t) => `${t.resource.kind}/${t.resource.name}`);
  const shown = names.slice(0, 5).join(', ');
  const more = names.length > 5 ? ` and ${names.length - 5} more` : '';
  return `${shown}${more} to become healthy`;
}

/**
 * Runs an operation to its end in one call, checking waiting waves every `pollMs`. Only for work that
 * has no Application status to resume from (PostDelete hooks while an app is deleted).
 * @returns Succeeded or Failed with the result lines.
 */
export async function runToCompletion(
  deps: SyncDeps,
  tasks: SyncTask[],
  opts: EngineOptions & { pollMs?: number },
): Promise<SyncOutcome> {
  let progress: SyncProgress = { results: [] };
  for (;;) {
    let step: StepResult;
    try {
      step = await stepSync(deps, tasks, progress, opts);
    } catch (err) {
      return {
        phase: 'Failed',
        message: `sync failed: ${(err as Error).message}`,
        resources: progress.results,
      };
    }
    if (step.state === 'Done') return step.outcome;
    progress = { results: step.results, failure: step.failure };
    await new Promise((res) => setTimeout(res, opts.pollMs ?? 500));
  }
}
