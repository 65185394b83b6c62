/**
 * Writing and deleting the target Secret (server-side apply). Owner and Orphan apply the whole Secret
 * with field manager `capstan` and then remove keys someone added by hand; Merge applies only this
 * ExternalSecret's keys into a Secret that must already exist. Every refusal (another owner, a Secret
 * capstan did not create, an immutable target) is a SyncError and nothing is written.
 */
import { serverSideApply, deleteObject } from '../kube/apply';
import { isNotFound } from '../kube/client';
import type { KubeObject } from '../kube/object';
import type { RenderedSecret } from '../templates';
import { corePath, SECRETS } from './api';
import {
  LABEL_OWNER,
  MSG_DELETE_ORPHANED,
  MSG_DELETE_SECRET,
  MSG_MERGE_MISSING,
  MSG_UPDATE_IMMUTABLE,
  MSG_UPDATE_SECRET,
} from './constants';
import type { ExternalSecretContext } from './context';
import { asSyncError, SyncError } from './errors';
import { ownerLabelValue } from './hash';
import { createdFor, ownershipProblem } from './policies';
import { desiredSecret, extraKeys, fieldManagerFor, immutableConflict, secretUpToDate } from './target';
import type { CreationPolicy, ExternalSecretObject, SecretObject } from './types';

/** What a write did. */
export type WriteOutcome = 'created' | 'updated' | 'unchanged';

/** Fails when the ExternalSecret may not write the existing Secret (see `policies.ts`). */
export function assertWritable(
  existing: SecretObject | undefined,
  es: ExternalSecretObject,
  policy: CreationPolicy,
): void {
  const problem = ownershipProblem(existing, es, policy);
  if (problem) throw new SyncError(MSG_UPDATE_SECRET, problem);
  if (policy === 'Merge' && !existing) {
    const name = es.spec.target?.name || es.metadata.name;
    throw new SyncError(
      MSG_MERGE_MISSING,
      `Secret "${name}" does not exist in namespace "${es.metadata.namespace}"`,
      true,
    );
  }
}

async function removeExtraKeys(
  ctx: ExternalSecretContext,
  applied: SecretObject,
  keys: string[],
): Promise<void> {
  const data: Record<string, null> = {};
  for (const k of keys) data[k] = null;
  await ctx.client.request('PATCH', corePath('secrets', applied.metadata.namespace, applied.metadata.name), {
    body: { metadata: { resourceVersion: applied.metadata.resourceVersion }, data },
    contentType: 'application/merge-patch+json',
  });
}

/**
 * Writes the target Secret for creationPolicy Owner, Orphan or Merge.
 * @param existing - the live Secret (undefined: missing).
 * @param rendered - data, labels, annotations and type to write.
 * @throws SyncError when the write is refused or fails.
 */
export async function writeSecret(
  ctx: ExternalSecretContext,
  es: ExternalSecretObject,
  existing: SecretObject | undefined,
  rendered: RenderedSecret,
  policy: Exclude<CreationPolicy, 'None'>,
): Promise<WriteOutcome> {
  assertWritable(existing, es, policy);
  const desired = desiredSecret({ es, rendered, policy, existing });
  if (existing && secretUpToDate(existing, desired, es, policy)) return 'unchanged';
  if (existing && immutableConflict(existing, desired, es, policy)) {
    throw new SyncError(
      MSG_UPDATE_IMMUTABLE,
      `Secret "${existing.metadata.name}" is immutable and its data would change`,
    );
  }
  try {
    const applied = (await serverSideApply(ctx.client, SECRETS, desired as unknown as KubeObject, {
      fieldManager: fieldManagerFor(es, policy),
      force: true,
    })) as unknown as SecretObject;
    const extra = policy === 'Merge' ? [] : extraKeys(applied, desired);
    if (extra.length) await removeExtraKeys(ctx, applied, extra);
  } catch (err) {
    throw asSyncError(err, MSG_UPDATE_SECRET, `Secret "${desired.metadata.name}"`);
  }
  return existing ? 'updated' : 'created';
}

/**
 * Deletes the target Secret (deletionPolicy Delete with creationPolicy Owner), only when capstan
 * created it for this ExternalSecret.
 * @returns true when a Secret was deleted.
 */
export async function deleteTargetSecret(
  ctx: ExternalSecretContext,
  es: ExternalSecretObject,
  existing: SecretObject | undefined,
): Promise<boolean> {
  if (!existing) return false;
  if (!createdFor(existing, es)) {
    throw new SyncError(
      MSG_DELETE_SECRET,
      `Secret "${existing.metadata.name}" was not created by this ExternalSecret`,
    );
  }
  try {
    await deleteObject(ctx.client, SECRETS, existing.metadata.namespace, existing.metadata.name);
    return true;
  } catch (err) {
    if (isNotFound(err)) return false;
    throw asSyncError(err, MSG_DELETE_SECRET, `Secret "${existing.metadata.name}"`);
  }
}

/**
 * Whether this ExternalSecret may have left Secrets under an earlier target name: only when its status
 * binds a Secret of another name (the target was renamed). A new ExternalSecret (no binding yet) or one
 * whose binding is the current target has none, so the LIST by owner label that
 * {@link deleteOrphanedSecrets} makes is skipped: a cold start of 1,000 ExternalSecrets in one namespace
 * made 1,000 such LISTs, each growing with the namespace. ESO reads that list from its informer cache.
 * @param target - the current target Secret's name.
 */
export function mayHaveOrphans(es: ExternalSecretObject, target: string): boolean {
  const bound = es.status?.binding?.name;
  return !!bound && bound !== target;
}

/**
 * Deletes the Secrets this ExternalSecret created with creationPolicy Owner under an earlier target
 * name (ESO's `deleteOrphanedSecrets`): found by ESO's owner label, and deleted only when capstan
 * created them for this ExternalSecret.
 * @param keep - the current target's name.
 * @returns the names deleted.
 */
export async function deleteOrphanedSecrets(
  ctx: ExternalSecretContext,
  es: ExternalSecretObject,
  keep: string,
): Promise<string[]> {
  const { namespace, name } = es.metadata;
  const deleted: string[] = [];
  try {
    const list = await ctx.client.request<{ items?: SecretObject[] }>(
      'GET',
      `/api/v1/namespaces/${encodeURIComponent(namespace)}/secrets`,
      { query: { labelSelector: `${LABEL_OWNER}=${ownerLabelValue(namespace, name)}` } },
    );
    for (const s of list.items ?? []) {
      if (s.metadata.name === keep || !createdFor(s, es)) continue;
      await deleteObject(ctx.client, SECRETS, namespace, s.metadata.name).catch((err: unknown) => {
        if (!isNotFound(err)) throw err;
      });
      deleted.push(s.metadata.name);
    }
  } catch (err) {
    throw asSyncError(err, MSG_DELETE_ORPHANED);
  }
  return deleted;
}
