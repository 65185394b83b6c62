/**
 * Server-side apply (field manager `capstan`), its dry-run (the basis of diff), and delete.
 */
import { KubeClient } from './client';
import { ResourceType, resourcePath } from './discovery';
import { KubeObject } from './object';

/** capstan's field manager name in managedFields. */
export const FIELD_MANAGER = 'capstan';

/** Options of one apply. */
export interface ApplyOptions {
  /** Server-side dry run: the answer is what the object would be, nothing is stored. */
  dryRun?: boolean;
  /** Take ownership of fields other managers own (kubectl's --force-conflicts); default true. */
  force?: boolean;
  /** Field manager (default `capstan`). */
  fieldManager?: string;
  /** `Strict` (default) or `Ignore`: server-side field validation, as Argo CD's `Validate=false`. */
  fieldValidation?: 'Strict' | 'Warn' | 'Ignore';
}

/**
 * Server-side applies one object and returns the object the server stored (or would store).
 * @param obj - a complete object with name and, for namespaced types, namespace.
 * @throws KubeApiError as the API server answers (Invalid, Forbidden, Conflict, NotFound for an unknown namespace).
 */
export async function serverSideApply(
  client: KubeClient,
  rt: ResourceType,
  obj: KubeObject,
  opts: ApplyOptions = {},
): Promise<KubeObject> {
  const { metadata } = obj;
  const body: KubeObject = { ...obj, metadata: { ...metadata } };
  delete body.metadata.resourceVersion;
  delete body.metadata.managedFields;
  return client.request<KubeObject>('PATCH', resourcePath(rt, metadata.namespace, metadata.name), {
    body,
    contentType: 'application/apply-patch+yaml',
    query: {
      fieldManager: opts.fieldManager ?? FIELD_MANAGER,
      force: opts.force ?? true,
      dryRun: opts.dryRun ? 'All' : undefined,
      fieldValidation: opts.fieldValidation ?? 'Strict',
    },
  });
}

/**
 * Deletes one object.
 * @param propagationPolicy - Foreground, Background (default, as `kubectl delete`) or Orphan.
 * @throws KubeApiError (NotFound when already gone).
 */
export async function deleteObject(
  client: KubeClient,
  rt: ResourceType,
  namespace: string | undefined,
  name: string,
  propagationPolicy: 'Foreground' | 'Background' | 'Orphan' = 'Background',
): Promise<void> {
  await client.request('DELETE', resourcePath(rt, namespace, name), { query: { propagationPolicy } });
}
