/**
 * PushSecret (ESO's `external-secrets.io/v1alpha1` PushSecret): writes the keys of a Kubernetes Secret
 * (or a generator's output) into the stores whose provider can write (fake, kubernetes, and those
 * that implement `SecretsClient.pushSecret`), as ESO's controller:
 *
 * ```yaml
 * apiVersion: external-secrets.io/v1alpha1
 * kind: PushSecret
 * metadata: { name: pushsecret-example, namespace: default }
 * spec:
 *   updatePolicy: Replace          # or IfNotExists
 *   deletionPolicy: Delete         # remote values go with the PushSecret and with removed entries
 *   refreshInterval: 1h
 *   secretStoreRefs: [{ name: backend, kind: SecretStore }]
 *   selector: { secret: { name: pokedex-credentials } }
 *   data:
 *     - match: { secretKey: best-pokemon, remoteRef: { remoteKey: my-first-parameter } }
 * ```
 */
import type { KubeClient } from '../kube/client';
import type { Logger } from '../log';
import { createContext, type ExternalSecretSettings } from '../externalsecret/context';
import { PushSecretOperator } from './operator';

export { PushSecretOperator } from './operator';
export { reconcilePushSecret, pushSecretProblems, dueInMs, refreshIntervalMs } from './reconcile';
export { decide, statusRef, storeStatusKey, reverseKeys } from './plan';

/**
 * Starts the PushSecret operator (its own store rate limiter); resolves once its watch is open.
 * @param settings - the ExternalSecret family's settings (watch namespaces, provider limits, rate).
 */
export async function startPushSecretOperator(
  client: KubeClient,
  log: Logger,
  concurrency: number,
  settings: Partial<ExternalSecretSettings> = {},
): Promise<PushSecretOperator> {
  const op = new PushSecretOperator(createContext(client, log, settings), log, concurrency);
  await op.start();
  return op;
}
