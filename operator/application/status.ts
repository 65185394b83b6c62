/**
 * The Application status capstan writes: sync state and revision(s), resources with their health, app
 * health, conditions and `reconciledAt`, as Argo CD's `status` shape.
 */
import { ApplicationStatus, ComparedTo, ResourceStatus } from '../../generated/application';
import { aggregateHealth, assessHealth } from '../health';
import { isDeepStrictEqual } from 'node:util';
import { App, REFRESH_ANNOTATION, patchAppStatus } from './api';
import { Comparison, ManagedResource } from './compare';
import { AppCondition, ConditionType, mergeConditions } from './conditions';
import { ApplicationContext } from './context';
import { AppCycle, cycleHealth } from './ancestry';
import { wrote } from './appcache';

/** What the comparison was made against, as Argo CD's `status.sync.comparedTo`. */
export function comparedTo(app: App): ComparedTo {
  return { source: app.spec.source, sources: app.spec.sources, destination: app.spec.destination };
}

/**
 * The status fields a comparison sets: sync, source type(s), resources with health, app health.
 * @param cycle - the app-of-apps cycle the app is on ({@link findAppCycle}): the Applications on it count
 * as Healthy, in the resources' health and the app's.
 */
export function comparisonStatus(app: App, cmp: Comparison, cycle?: AppCycle): ApplicationStatus {
  const multi = !!app.spec.sources?.length;
  return {
    sync: {
      status: cmp.status,
      comparedTo: comparedTo(app),
      ...(multi ? { revisions: cmp.revisions } : { revision: cmp.revisions[0] }),
    },
    ...(multi ? { sourceTypes: cmp.sourceTypes } : { sourceType: cmp.sourceTypes[0] }),
    resources: cmp.resources.map((r) => resourceStatus(r, cycle)),
    health: appHealth(cmp, cycle),
  };
}

/** The app's health: the worst health of its resources (hooks and prune candidates left out). */
function appHealth(cmp: Comparison, cycle: AppCycle | undefined): NonNullable<ApplicationStatus['health']> {
  const h = aggregateHealth(
    cmp.resources.filter((r) => !r.requiresPruning).map((r) => cycleHealth(cycle, r) ?? assessHealth(r.live)),
  );
  return h.message ? { status: h.status, message: h.message } : { status: h.status };
}

function resourceStatus(r: ManagedResource, cycle: AppCycle | undefined): ResourceStatus {
  return {
    group: r.group || undefined,
    version: r.version,
    kind: r.kind,
    namespace: r.namespace || undefined,
    name: r.name,
    status: r.status,
    ...healthOf(r, cycle),
    ...(r.requiresPruning ? { requiresPruning: true } : {}),
  };
}

function healthOf(r: ManagedResource, cycle: AppCycle | undefined): Pick<ResourceStatus, 'health'> {
  if (r.requiresPruning) return {};
  const h = cycleHealth(cycle, r) ?? assessHealth(r.live);
  if (!h) return {};
  return { health: h.message ? { status: h.status, message: h.message } : { status: h.status } };
}

/**
 * One InvalidSpecError condition per distinct refusal of the app's project (Argo CD's message, then the
 * objects it refuses, at most 5 named), for rendered resources and hooks alike. Argo CD reports per-object
 * problems of a comparison as InvalidSpecError too; the sync refuses to run while any is present.
 * @param cmp - the comparison, whose refused resources carry `denied`.
 */
export function projectDenialConditions(cmp: Comparison): AppCondition[] {
  const byReason = new Map<string, string[]>();
  for (const r of [...cmp.resources, ...cmp.hooks.map((h) => h.resource)]) {
    if (!r.denied) continue;
    const what = `${r.kind}/${r.namespace ? `${r.namespace}/` : ''}${r.name || r.target?.metadata.generateName || ''}`;
    byReason.set(r.denied, [...(byReason.get(r.denied) ?? []), what]);
  }
  return [...byReason].map(([reason, objects]) => {
    const more = objects.length > 5 ? ` and ${objects.length - 5} more` : '';
    return {
      type: ConditionType.InvalidSpecError,
      message: `${reason} (${objects.slice(0, 5).join(', ')}${more})`,
    };
  });
}

/**
 * A refresh that changes nothing in status still records `reconciledAt` once it is this many refresh
 * intervals old (a liveness mark for people and alerts), and never more often.
 */
export const RECONCILED_AT_HEARTBEAT_INTERVALS = 5;

/**
 * Patches status with `conditions` (merged, keeping transition times) and `reconciledAt`, unless the
 * patch would change nothing but `reconciledAt`: a periodic refresh that finds nothing new writes
 * nothing (at 1,000 apps that was about 1,900 writes in 5 idle minutes). Status is written anyway when
 * the reconcile answers an explicit refresh (the `argocd.argoproj.io/refresh` annotation, still on `app`
 * as read at the start: the caller sees `reconciledAt` move, as in Argo CD) or when `reconciledAt` is
 * {@link RECONCILED_AT_HEARTBEAT_INTERVALS} refresh intervals old. Argo CD writes `reconciledAt` on every
 * refresh; capstan does better on API writes and says so in the README.
 *
 * The patch carries only the fields that differ from `app.status` ({@link changedFields}): an explicit
 * refresh that changes nothing sends `reconciledAt` alone instead of the resources list, health and sync
 * again. Argo CD's persistAppStatus also sends a merge patch of the difference from the app it read.
 * Sound because capstan is the one writer of status and `app` is at least as new as its last write (the
 * app cache keeps what each write answered and ignores older watch events, appcache.ts); a field someone
 * else changed meanwhile keeps their value until capstan's value for it changes.
 * @param app - the app as read at the start of this reconcile, its status kept current by earlier writes.
 * @param now - RFC 3339 time of this reconcile.
 */
export async function writeStatus(
  ctx: ApplicationContext,
  app: App,
  status: ApplicationStatus,
  conditions: AppCondition[],
  now: string,
): Promise<void> {
  const next = {
    ...status,
    conditions: mergeConditions(app.status?.conditions as AppCondition[] | undefined, conditions, now),
  };
  if (!statusWriteNeeded(app, next, now, ctx.settings.refreshIntervalMs)) return;
  const changed = changedFields(app.status, JSON.parse(JSON.stringify(next)) as unknown) ?? {};
  wrote(ctx, await patchAppStatus(ctx.client, app, { ...(changed as object), reconciledAt: now }));
}

/**
 * The part of the JSON merge patch `patch` (RFC 7386) that changes `live`: keys whose value would stay as
 * it is are left out, at any depth of nested objects; a changed array or scalar is kept whole (a merge
 * patch replaces arrays). Applying the result to `live` gives the same object as applying `patch`.
 * @returns undefined when `patch` changes nothing.
 */
export function changedFields(live: unknown, patch: unknown): unknown {
  if (mergePatchIsNoop(live, patch)) return undefined;
  if (!isObject(patch) || !isObject(live)) return patch;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(patch)) {
    const c = changedFields(live[k], v);
    if (c !== undefined) out[k] = c;
  }
  return out;
}

/**
 * Whether {@link writeStatus} must patch: the status would change, the reconcile answers a refresh
 * request, or `reconciledAt` is older than the heartbeat (or missing).
 * @param next - the status fields to merge-patch, without `reconciledAt`.
 * @param refreshIntervalMs - the periodic refresh interval (`--refresh-interval`) in ms.
 */
export function statusWriteNeeded(
  app: App,
  next: ApplicationStatus,
  now: string,
  refreshIntervalMs: number,
): boolean {
  if (app.metadata.annotations?.[REFRESH_ANNOTATION]) return true;
  const age = Date.parse(now) - Date.parse(app.status?.reconciledAt ?? '');
  if (!(age < refreshIntervalMs * RECONCILED_AT_HEARTBEAT_INTERVALS)) return true;
  // JSON round trip: undefined fields are not sent, so they do not count as changes.
  return !mergePatchIsNoop(app.status, JSON.parse(JSON.stringify(next)) as unknown);
}

/** True when applying the JSON merge patch `patch` (RFC 7386) to `live` leaves it as it is. */
export function mergePatchIsNoop(live: unknown, patch: unknown): boolean {
  if (patch === null) return live === undefined || live === null;
  if (isObject(patch)) {
    if (!isObject(live)) return false;
    return Object.entries(patch).every(([k, v]) => mergePatchIsNoop(live[k], v));
  }
  return isDeepStrictEqual(live, patch);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
