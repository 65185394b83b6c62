/**
 * The client an app's writes go through (sync applies, prunes, hooks; the cascade delete and PostDelete
 * hooks of a deleted app): capstan's own, or, with `--impersonation`, one that acts as the service
 * account the app's project maps its destination to (Argo CD's "sync with impersonation", 2.13+).
 *
 * Reads of the comparison (live state, dry-run diffs) stay with capstan's identity, as in Argo CD,
 * whose impersonation covers the sync operation; the API server still authorizes every write as the
 * service account, so a project's least privilege holds where objects change.
 */
import { KubeClient } from '../kube/client';
import { clientActingAs } from '../kube/impersonation';
import { NO_SERVICE_ACCOUNT_PREFIX, serviceAccountToImpersonate } from '../appproject/serviceaccounts';
import type { DestinationServiceAccount } from '../appproject/serviceaccounts';
import { IN_CLUSTER_SERVER } from './destination';
import type { App } from './api';
import type { ApplicationContext } from './context';

/** No service account could be chosen for the app; the message is Argo CD's operation message. */
export class ImpersonationError extends Error {
  override name = 'ImpersonationError';
}

/**
 * The user an app's writes act as, or undefined when `--impersonation` is off.
 * @param ctx - reads `settings.impersonation` and the app's project from `projects` (informer cache).
 * @param app - the Application (its namespace, project and destination namespace).
 * @throws ImpersonationError "failed to find a matching service account to impersonate: ..." when the
 *   project (or a missing project) maps the destination to no valid service account; the sync then
 *   fails without writing anything, never falling back to capstan's own identity.
 */
export function impersonatedUser(
  ctx: Pick<ApplicationContext, 'settings' | 'projects'>,
  app: Pick<App, 'metadata' | 'spec'>,
): string | undefined {
  if (!ctx.settings.impersonation) return undefined;
  const spec = ctx.projects.get(app.spec.project)?.spec as
    { destinationServiceAccounts?: DestinationServiceAccount[] } | undefined;
  try {
    // capstan deploys only in-cluster (destination.ts): its server URL is the destination's.
    return serviceAccountToImpersonate(
      spec?.destinationServiceAccounts,
      { namespace: app.metadata.namespace, destinationNamespace: app.spec.destination.namespace },
      IN_CLUSTER_SERVER,
    );
  } catch (err) {
    throw new ImpersonationError(`${NO_SERVICE_ACCOUNT_PREFIX}: ${(err as Error).message}`);
  }
}

/**
 * The client for an app's writes (see {@link impersonatedUser}).
 * @throws ImpersonationError when impersonation is on and no service account matches.
 */
export function writerFor(ctx: ApplicationContext, app: Pick<App, 'metadata' | 'spec'>): KubeClient {
  return clientActingAs(ctx.client, impersonatedUser(ctx, app));
}
