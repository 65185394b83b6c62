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
import type { ExternalSecretContext } from '../externalsecret/context';
import { PushSecretOperator } from './operator';

export { PushSecretOperator, SourceIndex } from './operator';
export {
  reconcilePushSecret,
  pushSecretProblems,
  dueInMs,
  refreshIntervalMs,
  sourceChanged,
} from './reconcile';
export { decide, statusRef, storeStatusKey, reverseKeys, storesToClear } from './plan';
export { sourceVersion } from './source';

/**
 * Starts the PushSecret operator; resolves once its watches are open.
 * @param ctx - the ExternalSecret family's context (client, settings, and the per-store rate limiter
 *   that the ExternalSecret operator uses too, so that reads and pushes of one store share one budget).
 * @param concurrency - PushSecrets reconciled at once.
 */
export async function startPushSecretOperator(
  ctx: ExternalSecretContext,
  concurrency: number,
): Promise<PushSecretOperator> {
  const op = new PushSecretOperator(ctx, ctx.log, concurrency);
  await op.start();
  return op;
}
