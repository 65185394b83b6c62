/**
 * Reading, writing and deleting a generic target (manifest.ts): the kind is resolved by discovery, the
 * object is read with a GET and written by server-side apply (field manager `capstan`). Every refusal
 * (an unknown or cluster-scoped kind, an object capstan did not create, RBAC) is a SyncError naming the
 * kind and object, and nothing is written.
 */
import { deleteObject, serverSideApply } from '../kube/apply';
import { isNotFound, KubeApiError, type KubeClient } from '../kube/client';
import { Discovery, resourcePath, UnknownKindError, type ResourceType } from '../kube/discovery';
import type { KubeObject } from '../kube/object';
import type { RenderedSecret } from '../templates';
import { MSG_DELETE_SECRET, MSG_IS_OWNED, MSG_UPDATE_SECRET, SECRET_FIELD_MANAGER } from './constants';
import type { ExternalSecretContext } from './context';
import { asSyncError, SyncError } from './errors';
import { desiredObject, objectUpToDate, type ManifestRef } from './manifest';
import { controllerOf, createdFor } from './policies';
import { targetName } from './refs';
import type { CreationPolicy, ExternalSecretObject, SecretObject } from './types';
import type { WriteOutcome } from './write';

/** ESO's summary for a generic target that cannot be used. */
export const MSG_GENERIC_TARGET = 'could not use target manifest';

const discoveries = new WeakMap<KubeClient, Discovery>();

function discoveryOf(client: KubeClient): Discovery {
  let d = discoveries.get(client);
  if (!d) discoveries.set(client, (d = new Discovery(client)));
  return d;
}

/** `ConfigMap "name"`, for messages. */
function describe(kind: string, name: string): string {
  return `${kind} "${name}"`;
}

/** A readable refusal of the API server (RBAC above all): what capstan may not do to which kind. */
function apiRefusal(err: unknown, summary: string, verb: string, rt: ResourceType, name: string): SyncError {
  if (err instanceof KubeApiError && err.status === 403) {
    return new SyncError(
      summary,
      `capstan may not ${verb} ${rt.plural}${rt.group ? `.${rt.group}` : ''} (${describe(rt.kind, name)}): ` +
        "grant it to capstan's service account (the chart's rbac.externalSecretRules or genericTargets)",
    );
  }
  return asSyncError(err, summary, describe(rt.kind, name));
}

/**
 * The resource type of a generic target.
 * @throws SyncError: the kind is not served (retryable: its CRD may come), or it is cluster-scoped (terminal).
 */
export async function genericResource(ctx: ExternalSecretContext, ref: ManifestRef): Promise<ResourceType> {
  let rt: ResourceType;
  try {
    rt = await discoveryOf(ctx.client).resourceFor(ref.apiVersion, ref.kind);
  } catch (err) {
    if (err instanceof UnknownKindError)
      throw new SyncError(
        MSG_GENERIC_TARGET,
        `spec.target.manifest: kind ${ref.kind} of ${ref.apiVersion} is not served by the API server`,
        true,
      );
    throw asSyncError(err, MSG_GENERIC_TARGET);
  }
  if (!rt.namespaced)
    throw new SyncError(
      MSG_GENERIC_TARGET,
      `spec.target.manifest: ${ref.kind} is cluster-scoped; only namespaced kinds can be targets (as ESO)`,
    );
  return rt;
}

/**
 * Reads the generic target.
 * @returns the object, or undefined when it does not exist.
 * @throws SyncError (RBAC refusal, API error).
 */
export async function readGenericObject(
  ctx: ExternalSecretContext,
  es: ExternalSecretObject,
  rt: ResourceType,
): Promise<KubeObject | undefined> {
  const name = targetName(es);
  try {
    return await ctx.client.request<KubeObject>('GET', resourcePath(rt, es.metadata.namespace, name));
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw apiRefusal(err, MSG_GENERIC_TARGET, 'read', rt, name);
  }
}

/** Why the ExternalSecret must not write `obj` (as ownershipProblem in policies.ts, for any kind). */
function ownership(obj: KubeObject, es: ExternalSecretObject): string | undefined {
  const asSecret = obj as unknown as SecretObject;
  const ctrl = controllerOf(asSecret);
  if (ctrl?.kind === 'ExternalSecret' && ctrl.name !== es.metadata.name)
    return `${MSG_IS_OWNED}: ${describe(obj.kind, obj.metadata.name ?? '')} is controlled by ExternalSecret "${String(ctrl.name)}"`;
  if (createdFor(asSecret, es)) return undefined;
  return `${describe(obj.kind, obj.metadata.name ?? '')} already exists and was not created by this ExternalSecret; capstan does not take it over`;
}

/** What {@link writeGenericObject} needs. */
export interface GenericWrite {
  /** rt - the target's resource type. */
  rt: ResourceType;
  /** ref - `spec.target.manifest`. */
  ref: ManifestRef;
  /** existing - the live object (undefined: missing). */
  existing?: KubeObject;
  /** rendered - the template's output (or the fetched keys). */
  rendered: RenderedSecret;
  /** policy - Owner or Orphan (Merge is a spec problem, None writes nothing). */
  policy: Exclude<CreationPolicy, 'None' | 'Merge'>;
}

/**
 * Writes the generic target when it differs from what capstan would write.
 * @throws SyncError when the write is refused (ownership, RBAC) or fails.
 */
export async function writeGenericObject(
  ctx: ExternalSecretContext,
  es: ExternalSecretObject,
  w: GenericWrite,
): Promise<WriteOutcome> {
  if (w.existing) {
    const problem = ownership(w.existing, es);
    if (problem) throw new SyncError(MSG_UPDATE_SECRET, problem);
  }
  const desired = desiredObject({ es, ref: w.ref, rendered: w.rendered, policy: w.policy });
  if (w.existing && objectUpToDate(w.existing, desired, es)) return 'unchanged';
  try {
    await serverSideApply(ctx.client, w.rt, desired, { fieldManager: SECRET_FIELD_MANAGER, force: true });
  } catch (err) {
    throw apiRefusal(err, MSG_UPDATE_SECRET, 'write', w.rt, desired.metadata.name ?? '');
  }
  return w.existing ? 'updated' : 'created';
}

/**
 * Deletes the generic target (deletionPolicy Delete, creationPolicy Owner), only when capstan created it
 * for this ExternalSecret.
 * @returns true when an object was deleted.
 */
export async function deleteGenericObject(
  ctx: ExternalSecretContext,
  es: ExternalSecretObject,
  rt: ResourceType,
  existing: KubeObject | undefined,
): Promise<boolean> {
  if (!existing) return false;
  const name = existing.metadata.name ?? '';
  if (!createdFor(existing as unknown as SecretObject, es))
    throw new SyncError(
      MSG_DELETE_SECRET,
      `${describe(rt.kind, name)} was not created by this ExternalSecret`,
    );
  try {
    await deleteObject(ctx.client, rt, es.metadata.namespace, name);
    return true;
  } catch (err) {
    if (isNotFound(err)) return false;
    throw apiRefusal(err, MSG_DELETE_SECRET, 'delete', rt, name);
  }
}
