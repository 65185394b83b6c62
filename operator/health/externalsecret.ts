/**
 * ExternalSecret health (ESO `external-secrets.io`), close to Argo CD's built-in
 * `resource_customizations/external-secrets.io/ExternalSecret/health.lua`.
 */
import type { KubeObject } from '../kube/object';
import { conditionText, conditionsOf, findCondition } from './conditions';
import { health, type HealthStatus } from './types';

/**
 * Health of an ExternalSecret (any API version), from its `Ready` condition:
 * - True → Healthy with its message ("Secret was synced");
 * - False → Degraded with "reason: message" (e.g. "SecretSyncedError: could not get secret data from
 *   provider"); conditions carry key names at most, never secret values, so this is safe to show;
 * - Unknown → Progressing;
 * - no Ready condition yet → Progressing "Waiting for the first sync".
 *
 * Differences from Argo CD's Lua: the Degraded message adds the reason, and the `refreshPolicy: OnChange`
 * rule (Ready counts only if it transitioned after `status.refreshTime`) is left out: ESO keeps
 * `lastTransitionTime` when a refresh succeeds again, so under that rule a secret that synced again
 * successfully reads Progressing until its Ready condition next changes (Argo CD's own
 * `progressing_onchange.yaml` fixture is such a secret).
 * @param live - the live ExternalSecret.
 */
export function externalSecretHealth(live: KubeObject): HealthStatus {
  const ready = findCondition(conditionsOf(live), 'Ready');
  if (!ready) return health('Progressing', 'Waiting for the first sync');
  switch (ready.status) {
    case 'True':
      return health('Healthy', ready.message);
    case 'False':
      return health('Degraded', conditionText(ready));
    default:
      return health('Progressing', conditionText(ready) || 'Waiting for the first sync');
  }
}
