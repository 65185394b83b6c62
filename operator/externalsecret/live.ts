/**
 * What a reconcile knows of its target Secret before it decides, read as cheaply as is safe
 * (issue 10 §2 P7; cache.ts):
 *
 * | the managed-Secret informer shows              | known    | GET |
 * |------------------------------------------------|----------|-----|
 * | no Secret of that name (Owner, Orphan)         | `absent` | no: the write is create-only, so an unlabelled Secret of that name is read then, never overwritten |
 * | the version capstan's last write left          | `ours`   | no: it is in sync; a refresh due reads it before comparing |
 * | another version, or the informer is not ready  | `read`   | yes |
 * | creationPolicy Merge (targets are not capstan's) | `read` | yes |
 *
 * creationPolicy None has no target: `read` with nothing. A generic target (`spec.target.manifest`,
 * manifest.ts) is always read with a GET after its kind is resolved (capstan watches Secrets only).
 */
import type { ResourceType } from '../kube/discovery';
import type { KubeObject } from '../kube/object';
import { getSecret } from './api';
import type { ExternalSecretContext } from './context';
import { genericResource, readGenericObject } from './generic';
import { genericTargetOf, type ManifestRef } from './manifest';
import { targetName } from './refs';
import type { CreationPolicy, ExternalSecretObject, SecretObject } from './types';

/** The target Secret as far as the reconcile knows it (see the module comment). */
export interface TargetState {
  /** known - `read` (GET answered: `existing` or missing), `absent` (inferred), `ours` (inferred in sync). */
  known: 'read' | 'absent' | 'ours';
  /** existing - the live Secret when it was read. */
  existing?: SecretObject;
  /** generic - a generic target: its kind, resource type and the live object (undefined: missing). */
  generic?: { ref: ManifestRef; rt: ResourceType; object?: KubeObject };
}

/**
 * Learns the target's state (see the module comment).
 * @param opts.get - always read it with a GET (a refresh about to compare or delete).
 * @throws KubeApiError of the GET (the queue retries); SyncError for a generic target whose kind
 *   cannot be used or read.
 */
export async function readTarget(
  ctx: ExternalSecretContext,
  es: ExternalSecretObject,
  creation: CreationPolicy,
  opts: { get?: boolean } = {},
): Promise<TargetState> {
  const ref = genericTargetOf(es);
  if (ref) {
    const rt = await genericResource(ctx, ref);
    const object = creation === 'None' ? undefined : await readGenericObject(ctx, es, rt);
    return { known: 'read', generic: { ref, rt, object } };
  }
  if (creation === 'None') return { known: 'read' };
  const { namespace } = es.metadata;
  const name = targetName(es);
  const targets = ctx.cache?.targets;
  if (targets && !opts.get) {
    const meta = targets.get(namespace, name);
    if (!meta && creation !== 'Merge') return { known: 'absent' };
    if (meta && ctx.cache?.written.isOwnWrite(meta)) return { known: 'ours' };
  }
  return { known: 'read', existing: await getSecret(ctx.client, namespace, name) };
}
