/**
 * The sync plan, as gitops-engine's `syncTasks`: every object becomes a task with a phase and a wave,
 * and tasks run phase by phase (PreSync, Sync, PostSync; SyncFail only when the sync fails), wave by
 * wave (lowest first), and inside a wave applies first in install kind order, then prunes in reverse
 * kind order. A prune runs in the wave of the live object, or after every wave with `PruneLast=true`.
 */
import { ManagedResource } from './resource';
import { ResourceResult, SyncOutcome, optionsFor, resultLine } from './sync';
import { HookType } from './hooks';
import { compareByKindAndName } from './order';
import { syncWave } from './waves';

/** The phases of a sync. */
export type SyncPhase = 'PreSync' | 'Sync' | 'PostSync' | 'SyncFail';
const PHASES: SyncPhase[] = ['PreSync', 'Sync', 'PostSync', 'SyncFail'];

/** One unit of sync work. */
export interface SyncTask {
  phase: SyncPhase;
  wave: number;
  /** `apply` an app resource, `prune` a tracked object no longer in git, or run a `hook`. */
  action: 'apply' | 'prune' | 'hook';
  resource: ManagedResource;
  /** The hook type the task runs as (hooks only). */
  hookType?: HookType;
}

/** Options that shape the plan. */
export interface PlanOptions {
  /** App-level `PruneLast=true`. */
  pruneLast?: boolean;
}

/**
 * Builds the ordered task list.
 * @param resources - compared app resources (desired and/or live; `requiresPruning` marks prunes).
 * @param hooks - hook objects with their types, from the rendered manifests.
 */
export function planSync(
  resources: ManagedResource[],
  hooks: Array<{ resource: ManagedResource; types: HookType[] }>,
  opts: PlanOptions = {},
): SyncTask[] {
  const tasks: SyncTask[] = [];
  for (const r of resources) {
    if (r.target) tasks.push({ phase: 'Sync', wave: syncWave(r.target), action: 'apply', resource: r });
    else if (r.requiresPruning && r.live)
      tasks.push({ phase: 'Sync', wave: syncWave(r.live), action: 'prune', resource: r });
  }
  const lastWave = Math.max(0, ...tasks.map((t) => t.wave));
  for (const t of tasks) {
    if (t.action === 'prune' && (opts.pruneLast || optionsFor(t.resource, {}).has('PruneLast=true'))) {
      t.wave = lastWave + 1;
    }
  }
  for (const h of hooks) {
    for (const type of h.types) {
      if (type === 'PostDelete' || type === 'Skip') continue;
      const phase: SyncPhase = type;
      tasks.push({
        phase,
        wave: syncWave(h.resource.target!),
        action: 'hook',
        resource: h.resource,
        hookType: type,
      });
    }
  }
  return tasks.sort(compareTasks);
}

function compareTasks(a: SyncTask, b: SyncTask): number {
  const byPhase = PHASES.indexOf(a.phase) - PHASES.indexOf(b.phase);
  if (byPhase || a.wave !== b.wave) return byPhase || a.wave - b.wave;
  const rank = (t: SyncTask) => (t.action === 'prune' ? 1 : 0);
  if (rank(a) !== rank(b)) return rank(a) - rank(b);
  const oa = (a.resource.target ?? a.resource.live)!;
  const ob = (b.resource.target ?? b.resource.live)!;
  // Prunes delete in reverse install order (workloads before the namespaces and CRDs they need).
  return a.action === 'prune' ? compareByKindAndName(ob, oa) : compareByKindAndName(oa, ob);
}

/** Groups tasks of one phase by wave, lowest wave first. */
export function wavesOf(tasks: SyncTask[], phase: SyncPhase): SyncTask[][] {
  const byWave = new Map<number, SyncTask[]>();
  for (const t of tasks.filter((x) => x.phase === phase))
    byWave.set(t.wave, [...(byWave.get(t.wave) ?? []), t]);
  return [...byWave.entries()].sort((a, b) => a[0] - b[0]).map(([, ts]) => ts);
}

/** Argo CD's (gitops-engine's) message of a sync with a task its project refuses. */
export const TASKS_NOT_VALID = 'one or more synchronization tasks are not valid';

/**
 * The outcome of a sync whose plan holds objects the app's project refuses (`ManagedResource.denied`), as
 * gitops-engine's permission validator: the whole sync fails before any task runs, so no permitted object
 * of any wave is touched either. Chosen over applying the permitted objects: the project changed or git
 * asks for something outside it, and half an app is worse than the last synced one (Argo CD does the same).
 * @param tasks - the plan.
 * @param results - the result lines so far (kept; the refused tasks get a SyncFailed line each).
 * @returns the Failed outcome, or undefined when the project permits every task.
 */
export function refusedByProject(tasks: SyncTask[], results: ResourceResult[]): SyncOutcome | undefined {
  const refused = tasks.filter((t) => t.resource.denied);
  if (!refused.length) return undefined;
  const lines = refused.map((t) => ({
    ...resultLine(t.resource, 'SyncFailed', t.resource.denied!),
    syncPhase: t.phase,
    ...(t.hookType ? { hookType: t.hookType } : {}),
  }));
  const reasons = [...new Set(refused.map((t) => t.resource.denied!))];
  const more = reasons.length > 3 ? ` and ${reasons.length - 3} more` : '';
  return {
    phase: 'Failed',
    message: `${TASKS_NOT_VALID}: ${reasons.slice(0, 3).join('; ')}${more}`,
    resources: [...results, ...lines],
  };
}
