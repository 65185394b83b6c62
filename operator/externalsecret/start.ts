/**
 * Starting the ExternalSecret family in one process (`--controllers=externalsecret`): the SecretStore,
 * ClusterSecretStore and ExternalSecret operators, each with its own watches and queue, sharing one
 * context (so a store's rate limit holds across them).
 */
import type { KubeClient } from '../kube/client';
import type { Logger } from '../log';
import { isScoped } from '../kube/scope';
import { createContext, type ExternalSecretContext, type ExternalSecretSettings } from './context';
import { ExternalSecretOperator } from './operator';
import { ClusterSecretStoreOperator, SecretStoreOperator } from './store-operator';

/** Something main() stops on shutdown. */
export interface StoppableOperator {
  stop(): void;
}

/**
 * Starts the three operators; resolves once their watches are open.
 * @param concurrency - keys reconciled at once per operator.
 * @param settings - overrides of the defaults (refresh intervals, rate limit, backoff).
 * @param ctx - a context to share (main.ts gives the PushSecret operator the same one, so that its
 *   pushes and these reads of a store share the store's rate limit); default: a new one of `settings`.
 */
export async function startExternalSecretOperators(
  client: KubeClient,
  log: Logger,
  concurrency: number,
  settings: Partial<ExternalSecretSettings> = {},
  ctx: ExternalSecretContext = createContext(client, log, settings),
): Promise<StoppableOperator[]> {
  // A scoped install (--watch-namespaces) does not watch ClusterSecretStores, as ESO's scopedNamespace.
  const operators = [
    new SecretStoreOperator(ctx, log, concurrency),
    ...(isScoped(ctx.settings.watchNamespaces)
      ? []
      : [new ClusterSecretStoreOperator(ctx, log, concurrency)]),
    new ExternalSecretOperator(ctx, log, concurrency),
  ];
  const started: StoppableOperator[] = [];
  try {
    for (const op of operators) {
      await op.start();
      started.push(op);
    }
  } catch (err) {
    started.forEach((op) => op.stop());
    throw err;
  }
  return started;
}
