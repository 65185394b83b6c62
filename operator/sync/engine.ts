/**
 * The sync engine: runs a {@link planSync} plan phase by phase and wave by wave, as Argo CD does.
 *
 * - A wave's tasks run (apply, prune, create hook), then the engine waits until every applied object
 *   of the wave is healthy and every hook of the wave has completed, before the next wave or phase.
 *   Hooks are always waited for; the health of the last wave's resources is not (the sync is done when
 *   its work is applied and its hooks have completed).
 * - A failed apply, a failed hook, or a resource that turns Degraded while the engine waits fails the
 *   sync: nothing of the later waves and phases runs, and the SyncFail hooks run.
 * - Hooks: named hooks with `BeforeHookCreation` (the default) are deleted and recreated; hooks with
 *   `generateName` are created anew; `HookSucceeded` / `HookFailed` delete the hook once it has
 *   succeeded / failed.
 *
 * capstan differs from Argo CD in one place, on purpose: a resource that is Degraded while a later wave
 * waits for it fails the sync with a message, instead of leaving the operation Running forever.
 */
import { serverSideApply, deleteObject } from '../kube/apply';
import { isNotFound } from '../kube/client';
import { resourcePath } from '../kube/discovery';
import { KubeObject } from '../kube/object';
import { assessHealth } from '../health';
import { ManagedResource } from '../application/compare';
import { hookDeletePolicies } from './hooks';
import { SyncPhase, SyncTask, wavesOf } from './plan';
import {
  ResourceResult,
  SyncDeps,
  SyncOptions,
  SyncOutcome,
  applyOne,
  ensureNamespace,
  pruneOne,
  resultLine,
} from './sync';

/** Options of one run of the engine. */
export interface EngineOptions extends SyncOptions {
  /** How long to wait for a wave to become healthy or a hook to complete, in ms (default 10 min). */
  waveTimeoutMs?: number;
  /** Poll interval while waiting, in ms (default 500). */
  pollMs?: number;
  /** Called after each wave with the results so far (to show progress in operationState). */
  onProgress?: (results: ResourceResult[]) => Promise<void>;
}

class SyncFailure extends Error {}

/**
 * Runs the tasks. Never throws for the failure of one object: the outcome says what failed.
 * @returns Succeeded or Failed with a message and one result line per task.
 */
export async function executeSync(
  deps: SyncDeps,
  tasks: SyncTask[],
  opts: EngineOptions,
): Promise<SyncOutcome> {
  const results: ResourceResult[] = [];
  if (opts.createNamespace) await ensureNamespace(deps, opts.createNamespace, results);
  try {
    const phases: SyncPhase[] = ['PreSync', 'Sync', 'PostSync'];
    const steps = phases.flatMap((phase) => wavesOf(tasks, phase));
    for (let i = 0; i < steps.length; i++) {
      await runWave(deps, steps[i], opts, results);
      // Hooks are always waited for; resources' health only when a later wave depends on it.
      await waitWave(deps, steps[i], opts, results, i < steps.length - 1);
      await opts.onProgress?.(results);
    }
    return { phase: 'Succeeded', message: 'successfully synced (all tasks run)', resources: results };
  } catch (err) {
    const message = err instanceof SyncFailure ? err.message : `sync failed: ${(err as Error).message}`;
    for (const wave of wavesOf(tasks, 'SyncFail')) {
      await runWave(deps, wave, opts, results).catch(() => undefined);
      await waitWave(deps, wave, opts, results, false).catch(() => undefined);
    }
    return { phase: 'Failed', message, resources: results };
  }
}

async function runWave(
  deps: SyncDeps,
  wave: SyncTask[],
  opts: EngineOptions,
  results: ResourceResult[],
): Promise<void> {
  for (const t of wave) {
    const line =
      t.action === 'apply'
        ? await applyOne(deps, t.resource, opts)
        : t.action === 'prune'
          ? await pruneOne(deps, t.resource, opts)
          : await startHook(deps, t);
    results.push(t.action === 'hook' ? { ...line, syncPhase: t.phase } : { ...line, syncPhase: t.phase });
  }
  const failed = results.find((r) => r.status === 'SyncFailed');
  if (failed) throw new SyncFailure(`one or more objects failed to apply, reason: ${failed.message}`);
}

/** Creates a hook (deleting the previous one first under BeforeHookCreation) and records its name. */
async function startHook(deps: SyncDeps, t: SyncTask): Promise<ResourceResult> {
  const obj = t.resource.target as KubeObject;
  const rt = t.resource.rt ?? (await deps.discovery.resourceFor(obj.apiVersion, obj.kind));
  t.resource.rt = rt;
  const policies = hookDeletePolicies(obj);
  try {
    if (obj.metadata.name) {
      if (policies.includes('BeforeHookCreation')) await deleteAndWait(deps, t.resource, obj.metadata.name);
      await serverSideApply(deps.client, rt, obj);
    } else {
      const created = await deps.client.request<KubeObject>(
        'POST',
        resourcePath(rt, obj.metadata.namespace),
        { body: obj },
      );
      t.resource.name = created.metadata.name ?? '';
    }
  } catch (err) {
    return {
      ...resultLine(t.resource, 'SyncFailed', (err as Error).message),
      hookType: t.hookType,
      hookPhase: 'Failed',
    };
  }
  t.resource.name ||= obj.metadata.name ?? '';
  return {
    ...resultLine(t.resource, 'Synced', `${obj.kind.toLowerCase()}/${t.resource.name} created`),
    hookType: t.hookType,
    hookPhase: 'Running',
  };
}

async function deleteAndWait(deps: SyncDeps, r: ManagedResource, name: string): Promise<void> {
  try {
    await deleteObject(deps.client, r.rt!, r.namespace || undefined, name, 'Foreground');
  } catch (err) {
    if (isNotFound(err)) return;
    throw err;
  }
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (!(await readLive(deps, r, name))) return;
    await sleep(250);
  }
  throw new Error(`hook ${name} was not deleted within 60 s`);
}

async function readLive(deps: SyncDeps, r: ManagedResource, name: string): Promise<KubeObject | undefined> {
  try {
    return await deps.client.request<KubeObject>('GET', resourcePath(r.rt!, r.namespace || undefined, name));
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

const sleep = (ms: number) => new Promise((res) => setTimeout(res, ms));

/**
 * Waits until each applied object of the wave is healthy and each hook has completed; applies hook
 * delete policies. Throws SyncFailure on a failed hook, a Degraded resource or the timeout.
 */
async function waitWave(
  deps: SyncDeps,
  wave: SyncTask[],
  opts: EngineOptions,
  results: ResourceResult[],
  resourcesToo = true,
): Promise<void> {
  const deadline = Date.now() + (opts.waveTimeoutMs ?? 600_000);
  const pending = new Set(wave.filter((t) => t.action === 'hook' || (resourcesToo && t.action === 'apply')));
  while (pending.size) {
    for (const t of [...pending]) {
      const done = await checkTask(deps, t, results);
      if (done) pending.delete(t);
    }
    if (!pending.size) return;
    if (Date.now() > deadline) {
      const names = [...pending].map((t) => `${t.resource.kind}/${t.resource.name}`).join(', ');
      throw new SyncFailure(
        `timed out after ${Math.round((opts.waveTimeoutMs ?? 600_000) / 1000)} s waiting for ${names} to become healthy`,
      );
    }
    await sleep(opts.pollMs ?? 500);
  }
}

/** True when the task is finished; throws SyncFailure when it failed. */
async function checkTask(deps: SyncDeps, t: SyncTask, results: ResourceResult[]): Promise<boolean> {
  const live = await readLive(deps, t.resource, t.resource.name);
  const health = assessHealth(live);
  if (t.action === 'apply') {
    if (!health || health.status === 'Healthy') return true;
    if (health.status === 'Degraded')
      throw new SyncFailure(`${t.resource.kind}/${t.resource.name} is Degraded: ${health.message ?? ''}`);
    return false;
  }
  // A hook: Healthy means completed (a Job Complete, a Pod Succeeded); Degraded means failed.
  const status = health?.status ?? 'Healthy';
  if (status !== 'Healthy' && status !== 'Degraded') return false;
  const succeeded = status === 'Healthy';
  const line = results.find(
    (r) =>
      r.hookType === t.hookType &&
      r.kind === t.resource.kind &&
      r.name === t.resource.name &&
      r.hookPhase === 'Running',
  );
  if (line) {
    line.hookPhase = succeeded ? 'Succeeded' : 'Failed';
    line.message = succeeded
      ? `${t.resource.kind.toLowerCase()}/${t.resource.name} succeeded`
      : `${t.resource.kind}/${t.resource.name} failed: ${health?.message ?? ''}`;
    if (!succeeded) line.status = 'SyncFailed';
  }
  const policies = hookDeletePolicies(t.resource.target!);
  if ((succeeded && policies.includes('HookSucceeded')) || (!succeeded && policies.includes('HookFailed'))) {
    await deleteObject(
      deps.client,
      t.resource.rt!,
      t.resource.namespace || undefined,
      t.resource.name,
      'Background',
    ).catch(() => undefined);
  }
  if (!succeeded)
    throw new SyncFailure(
      `${t.phase} hook ${t.resource.kind}/${t.resource.name} failed: ${health?.message ?? ''}`,
    );
  return true;
}
