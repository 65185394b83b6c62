/**
 * Writing and deleting the target Secret (server-side apply). Owner and Orphan apply the whole Secret
 * with field manager `capstan` and then remove keys someone added by hand; Merge applies only this
 * ExternalSecret's keys into a Secret that must already exist. Every refusal (another owner, a Secret
 * capstan did not create, an immutable target) is a SyncError and nothing is written.
 */
import { serverSideApply, deleteObject } from '../kube/apply';
import { isConflict, isNotFound } from '../kube/client';
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
): Promise<SecretObject> {
  const data: Record<string, null> = {};
  for (const k of keys) data[k] = null;
  return ctx.client.request<SecretObject>(
    'PATCH',
    corePath('secrets', applied.metadata.namespace, applied.metadata.name),
    {
      body: { metadata: { resourceVersion: applied.metadata.resourceVersion }, data },
      contentType: 'application/merge-patch+json',
    },
  );
}

/**
 * The resourceVersion a create-only apply carries (see {@link writeSecret}). It is a precondition: the
 * API server applies to an existing object only when its resourceVersion matches, and no object ever
 * has etcd's initial revision 1 (the first write is revision 2), so an existing Secret refuses the apply
 * (409 Conflict) while a missing one is created (a create ignores the precondition). Checked against
 * the real API server: a Secret created by hand stays untouched, a missing one is created with
 * managedFields `capstan`/`Apply`, as any apply.
 */
export const CREATE_ONLY_RESOURCE_VERSION = '1';

/** A create-only write found a Secret of that name: read it and write again knowing it. */
export class TargetExistsError extends Error {
  override name = 'TargetExistsError';
}

/** Server-side applies the Secret; with `createOnly`, only when none of that name exists. */
async function applySecret(
  ctx: ExternalSecretContext,
  es: ExternalSecretObject,
  desired: SecretObject,
  policy: Exclude<CreationPolicy, 'None'>,
  createOnly: boolean,
): Promise<SecretObject> {
  const fieldManager = fieldManagerFor(es, policy);
  if (!createOnly) {
    return (await serverSideApply(ctx.client, SECRETS, desired as unknown as KubeObject, {
      fieldManager,
      force: true,
    })) as unknown as SecretObject;
  }
  // kube/apply.ts drops resourceVersion from what it applies: the precondition needs its own request
  const body = {
    ...desired,
    metadata: { ...desired.metadata, resourceVersion: CREATE_ONLY_RESOURCE_VERSION },
  };
  try {
    return await ctx.client.request<SecretObject>(
      'PATCH',
      corePath('secrets', desired.metadata.namespace, desired.metadata.name),
      {
        body,
        contentType: 'application/apply-patch+yaml',
        query: { fieldManager, force: true, fieldValidation: 'Strict' },
      },
    );
  } catch (err) {
    if (isConflict(err)) throw new TargetExistsError(desired.metadata.name);
    throw err;
  }
}

/**
 * Applies the desired Secret (then removes keys added by hand, Owner and Orphan) and records the versions
 * these writes left, so that their watch events are known as capstan's own (cache.ts).
 * @throws SyncError; TargetExistsError (create-only).
 */
async function applyAndRecord(
  ctx: ExternalSecretContext,
  es: ExternalSecretObject,
  w: { desired: SecretObject; policy: Exclude<CreationPolicy, 'None'>; createOnly: boolean },
): Promise<void> {
  const { desired, policy, createOnly } = w;
  const { namespace, name } = desired.metadata;
  const written: Array<string | undefined> = [];
  ctx.cache?.written.begin(namespace, name);
  try {
    let applied = await applySecret(ctx, es, desired, policy, createOnly);
    written.push(applied.metadata.resourceVersion);
    const extra = policy === 'Merge' ? [] : extraKeys(applied, desired);
    if (extra.length) applied = await removeExtraKeys(ctx, applied, extra);
    written.push(applied.metadata.resourceVersion);
  } catch (err) {
    if (err instanceof TargetExistsError) throw err;
    throw asSyncError(err, MSG_UPDATE_SECRET, `Secret "${name}"`);
  } finally {
    const cache = ctx.cache?.written;
    if (cache?.end(namespace, name, written)) cache.onForeignChange?.(namespace, name);
  }
}

/**
 * Writes the target Secret for creationPolicy Owner, Orphan or Merge, and records the resourceVersion
 * the write left (cache.ts: its informer event is then known as capstan's own).
 * @param live.existing - the live Secret (undefined: missing).
 * @param live.createOnly - `existing` was not read, only inferred from the managed-Secret informer (which
 *   cannot see a Secret without capstan's label): the apply creates the Secret or fails with
 *   TargetExistsError, it never writes over a Secret it has not read.
 * @param rendered - data, labels, annotations and type to write.
 * @throws SyncError when the write is refused or fails; TargetExistsError (createOnly).
 */
export async function writeSecret(
  ctx: ExternalSecretContext,
  es: ExternalSecretObject,
  live: { existing?: SecretObject; createOnly?: boolean },
  rendered: RenderedSecret,
  policy: Exclude<CreationPolicy, 'None'>,
): Promise<WriteOutcome> {
  const { existing, createOnly = false } = live;
  assertWritable(existing, es, policy);
  const desired = desiredSecret({ es, rendered, policy, existing });
  if (existing && secretUpToDate(existing, desired, es, policy)) return 'unchanged';
  if (existing && immutableConflict(existing, desired, es, policy)) {
    throw new SyncError(
      MSG_UPDATE_IMMUTABLE,
      `Secret "${existing.metadata.name}" is immutable and its data would change`,
    );
  }
  await applyAndRecord(ctx, es, { desired, policy, createOnly: createOnly && !existing });
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
