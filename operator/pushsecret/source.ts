/**
 * The source of a PushSecret (ESO `spec.selector`): a Secret of its namespace by name, every Secret
 * matching a label selector (pushed one after another, in name order, as ESO's loop), or a
 * generator's output (a new value on every refresh). Then `spec.template`, rendered as an
 * ExternalSecret's template over the source's keys.
 */
import { createHash } from 'node:crypto';
import type { PushSecret } from '../../generated/pushsecret';
import { getSecret } from '../externalsecret/api';
import type { ExternalSecretContext } from '../externalsecret/context';
import { SyncError } from '../externalsecret/errors';
import { labelSelectorMatches } from '../externalsecret/namespaces';
import { readTemplateSources } from '../externalsecret/sources';
import type { ExternalSecretObject, SecretObject } from '../externalsecret/types';
import { generate } from '../generators';
import type { KubeClient } from '../kube/client';
import type { PushSourceSecret } from '../providers';
import { renderTemplate, type ExternalSecretTemplate } from '../templates';
import { MSG_SOURCE, MSG_TEMPLATE } from './constants';

function decoded(secret: SecretObject): PushSourceSecret {
  const data: Record<string, Buffer> = {};
  for (const [k, v] of Object.entries(secret.data ?? {})) data[k] = Buffer.from(v, 'base64');
  return {
    data,
    type: secret.type,
    labels: secret.metadata.labels,
    annotations: secret.metadata.annotations,
  };
}

/** What a PushSecret pushes from, and the version of it (see {@link sourceVersion}). */
export interface PushSources {
  /** secrets - the source Secrets (or the generator's output), in name order. */
  secrets: PushSourceSecret[];
  /** version - {@link sourceVersion} of the source Secrets; unset for a generator (a new value each read). */
  version?: string;
}

/**
 * A version of a set of source Secrets: a digest of their names, uids and resourceVersions (never of
 * their values, so the status it is written to reveals nothing). Any change of a source Secret, one
 * Secret more or less matching a label selector, or a Secret deleted and made again changes it; this
 * is how a change of the source is pushed at once instead of at the next `refreshInterval`.
 */
export function sourceVersion(secrets: Pick<SecretObject, 'metadata'>[]): string {
  const lines = secrets
    .map((s) => `${s.metadata.name}/${s.metadata.uid ?? ''}/${s.metadata.resourceVersion ?? ''}`)
    .sort();
  return createHash('sha256').update(lines.join('\n')).digest('hex').slice(0, 32);
}

/**
 * Reads the source(s).
 * @throws SyncError (retryable) when the named Secret or the generator does not exist; terminal for a
 *   generator with impossible settings.
 */
export async function readSources(client: KubeClient, ps: PushSecret): Promise<PushSources> {
  const ns = String(ps.metadata.namespace);
  const { secret, generatorRef } = ps.spec.selector;
  if (generatorRef) {
    try {
      return { secrets: [{ data: await generate(client, ns, generatorRef), type: 'Opaque' }] };
    } catch (err) {
      const retryable = (err as { retryable?: boolean }).retryable ?? true;
      throw new SyncError(
        MSG_SOURCE,
        `${generatorRef.kind} "${generatorRef.name}": ${(err as Error).message}`,
        retryable,
      );
    }
  }
  if (secret?.name) {
    const found = await getSecret(client, ns, secret.name);
    if (!found)
      throw new SyncError(MSG_SOURCE, `Secret "${secret.name}" not found in namespace "${ns}"`, true);
    return { secrets: [decoded(found)], version: sourceVersion([found]) };
  }
  if (secret?.selector) {
    const selector = secret.selector;
    const list = await client.request<{ items?: SecretObject[] }>(
      'GET',
      `/api/v1/namespaces/${encodeURIComponent(ns)}/secrets`,
    );
    const matched = (list.items ?? [])
      .filter((s) => labelSelectorMatches(selector, s.metadata.labels ?? {}))
      .sort((a, b) => (a.metadata.name < b.metadata.name ? -1 : 1));
    return { secrets: matched.map(decoded), version: sourceVersion(matched) };
  }
  throw new SyncError(MSG_SOURCE, 'spec.selector must name a secret (name or selector) or a generatorRef');
}

/**
 * Applies `spec.template` to a source (ESO `applyTemplate`): the rendered data (and type) replace the
 * source's. The ConfigMaps and Secrets of `templateFrom` are read from the PushSecret's namespace.
 * @throws SyncError naming the template or a missing templateFrom source.
 */
export async function applyTemplate(
  client: KubeClient,
  ps: PushSecret,
  source: PushSourceSecret,
): Promise<PushSourceSecret> {
  const template = ps.spec.template as ExternalSecretTemplate | undefined;
  if (!template) return source;
  // readTemplateSources reads only the namespace and target.template of its ExternalSecret argument
  const holder = { metadata: ps.metadata, spec: { target: { template } } } as unknown as ExternalSecretObject;
  const sources = await readTemplateSources({ client } as ExternalSecretContext, holder);
  try {
    const rendered = renderTemplate(template, source.data, sources);
    return { ...source, data: rendered.data, type: rendered.type ?? source.type };
  } catch (err) {
    throw new SyncError(MSG_TEMPLATE, (err as Error).message);
  }
}
