/**
 * The AppProject status capstan writes. Argo CD's AppProject status has only `jwtTokensByRole` (left as the
 * user or Argo CD wrote it); capstan adds `conditions`, because without an API server the project object is
 * the only place an admin can see that a project is invalid, uses fields capstan does not enforce, or is
 * kept from deletion by the apps that still use it.
 */
import { isDeepStrictEqual } from 'node:util';
import { KubeClient, isNotFound } from '../kube/client';
import { AppCondition, mergeConditions } from '../application/conditions';
import type { AppProjectObject } from './store';

/** The condition types of an AppProject. */
export const ProjectConditionType = {
  /** The spec breaks the schema or Argo CD's project rules; the apps of the project are not synced. */
  InvalidSpecError: 'InvalidSpecError',
  /** Fields capstan accepts but does not enforce are set (from `unsupportedProjectFields`). */
  UnsupportedFields: 'UnsupportedFields',
  /** The project is being deleted but applications still reference it; the finalizer keeps it. */
  DeletionBlocked: 'DeletionBlocked',
} as const;

/** The `InvalidSpecError` message of a project with problems: every problem, joined. */
export function invalidProjectMessage(problems: string[]): string {
  return `The project is invalid, so none of its applications is synced: ${problems.join('; ')}`;
}

/** The `DeletionBlocked` message: who still uses the project (at most 10 apps named, then a count). */
export function deletionBlockedMessage(apps: string[]): string {
  const shown = apps.slice(0, 10).join(', ');
  const more = apps.length > 10 ? ` and ${apps.length - 10} more` : '';
  return `The project is deleted once no application references it; still referenced by ${apps.length} application(s): ${shown}${more}`;
}

/**
 * The conditions a project should carry.
 * @param problems - validation problems (`field.path: problem`).
 * @param unsupported - unsupported fields in use (`spec.field: why`).
 * @param blockingApps - `namespace/name` of the apps that keep a deleting project; empty otherwise.
 */
export function projectConditions(
  problems: string[],
  unsupported: string[],
  blockingApps: string[],
): AppCondition[] {
  const out: AppCondition[] = [];
  if (problems.length)
    out.push({ type: ProjectConditionType.InvalidSpecError, message: invalidProjectMessage(problems) });
  if (unsupported.length)
    out.push({
      type: ProjectConditionType.UnsupportedFields,
      message: `Accepted but not enforced by capstan: ${unsupported.join('; ')}`,
    });
  if (blockingApps.length)
    out.push({ type: ProjectConditionType.DeletionBlocked, message: deletionBlockedMessage(blockingApps) });
  return out;
}

const path = (namespace: string, name: string): string =>
  `/apis/argoproj.io/v1alpha1/namespaces/${encodeURIComponent(namespace)}/appprojects/${encodeURIComponent(name)}`;

/**
 * Writes `status.conditions` when they differ from the project's (merged: an unchanged condition keeps its
 * `lastTransitionTime`), so that a quiet project costs no writes. A vanished project is ignored.
 * @returns whether a write was made.
 * @throws KubeApiError on API failures other than NotFound (the queue retries).
 */
export async function writeProjectConditions(
  client: KubeClient,
  project: AppProjectObject,
  wanted: AppCondition[],
  now: string,
): Promise<boolean> {
  const previous = (project.status as { conditions?: AppCondition[] } | undefined)?.conditions;
  const next = mergeConditions(previous, wanted, now);
  // Key order differs between what the API server returns and what we build: compare structurally.
  if (isDeepStrictEqual(previous ?? [], next)) return false;
  try {
    await client.request('PATCH', path(project.metadata.namespace ?? '', project.metadata.name) + '/status', {
      // A merge patch replaces the array whole; `null` removes the field when no condition is left.
      body: { status: { conditions: next.length ? next : null } },
      contentType: 'application/merge-patch+json',
    });
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
  return true;
}

/**
 * Replaces the project's finalizers, guarded by resourceVersion (a conflict is retried by the queue).
 * A vanished project is ignored.
 */
export async function setProjectFinalizers(
  client: KubeClient,
  project: AppProjectObject,
  finalizers: string[],
): Promise<void> {
  try {
    await client.request('PATCH', path(project.metadata.namespace ?? '', project.metadata.name), {
      body: { metadata: { finalizers, resourceVersion: project.metadata.resourceVersion } },
      contentType: 'application/merge-patch+json',
    });
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
}

/** The AppProject collection path of a namespace (for creating the default project). */
export function projectsPath(namespace: string): string {
  return `/apis/argoproj.io/v1alpha1/namespaces/${encodeURIComponent(namespace)}/appprojects`;
}

/** The path of one AppProject. */
export function projectPath(namespace: string, name: string): string {
  return path(namespace, name);
}
