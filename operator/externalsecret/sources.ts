/**
 * The ConfigMaps and Secrets that `spec.target.template.templateFrom` names, read from the
 * ExternalSecret's namespace for the template engine (which is pure and reads nothing itself).
 */
import { templateSourceNames, type ExternalSecretTemplate, type TemplateSources } from '../templates';
import { getConfigMapData, getSecret } from './api';
import { MSG_FETCH_TEMPLATE_FROM } from './constants';
import type { ExternalSecretContext } from './context';
import { SyncError } from './errors';
import type { ExternalSecretObject } from './types';

/**
 * Reads the template sources of an ExternalSecret.
 * @throws SyncError naming a missing ConfigMap or Secret (retryable: it may be created later).
 */
export async function readTemplateSources(
  ctx: ExternalSecretContext,
  es: ExternalSecretObject,
): Promise<TemplateSources> {
  const template = es.spec.target?.template as ExternalSecretTemplate | undefined;
  const names = templateSourceNames(template);
  const ns = es.metadata.namespace;
  const sources: Required<TemplateSources> = { configMaps: {}, secrets: {} };
  for (const name of names.configMaps) {
    const data = await getConfigMapData(ctx.client, ns, name);
    if (!data)
      throw new SyncError(
        MSG_FETCH_TEMPLATE_FROM,
        `ConfigMap "${name}" not found in namespace "${ns}"`,
        true,
      );
    sources.configMaps[name] = data;
  }
  for (const name of names.secrets) {
    const secret = await getSecret(ctx.client, ns, name);
    if (!secret)
      throw new SyncError(MSG_FETCH_TEMPLATE_FROM, `Secret "${name}" not found in namespace "${ns}"`, true);
    const decoded: Record<string, Buffer> = {};
    for (const [k, v] of Object.entries(secret.data ?? {})) decoded[k] = Buffer.from(v, 'base64');
    sources.secrets[name] = decoded;
  }
  return sources;
}
