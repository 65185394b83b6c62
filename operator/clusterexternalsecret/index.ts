/**
 * ClusterExternalSecret (ESO's `external-secrets.io/v1` ClusterExternalSecret): one ExternalSecret with
 * the same spec in every namespace the ClusterExternalSecret selects, created as namespaces come or get
 * the labels, removed as they go or lose them, and removed with the ClusterExternalSecret (owner
 * references). `--controllers clusterexternalsecret`; cluster-wide installs only.
 *
 * ```yaml
 * apiVersion: external-secrets.io/v1
 * kind: ClusterExternalSecret
 * metadata: { name: db }
 * spec:
 *   externalSecretName: db
 *   namespaceSelectors: [{ matchLabels: { team: a } }]
 *   namespaces: [tools]
 *   refreshTime: 1m
 *   externalSecretSpec: { secretStoreRef: { name: vault, kind: ClusterSecretStore }, data: [...] }
 * ```
 */
import type { KubeClient } from '../kube/client';
import type { EventTap } from '../kube/eventtap';
import type { Logger } from '../log';
import { ClusterExternalSecretOperator } from './operator';

export { ClusterExternalSecretOperator } from './operator';
export { reconcileClusterExternalSecret, cesProblems, refreshMs } from './reconcile';
export { decide, targetNamespaces, desiredExternalSecret, controlledBy, externalSecretName } from './plan';

/**
 * Starts the ClusterExternalSecret operator; resolves once its watches are open.
 * @param concurrency - ClusterExternalSecrets reconciled at once.
 * @param externalSecretTap - the ExternalSecret operator's watch, when it runs in this process (one
 *   watch of every ExternalSecret instead of two); without it the operator opens its own.
 */
export async function startClusterExternalSecretOperator(
  client: KubeClient,
  log: Logger,
  concurrency: number,
  externalSecretTap?: EventTap,
): Promise<ClusterExternalSecretOperator> {
  const op = new ClusterExternalSecretOperator(
    { client, log, now: Date.now },
    log,
    concurrency,
    externalSecretTap,
  );
  await op.start();
  return op;
}
