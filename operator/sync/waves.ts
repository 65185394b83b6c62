/**
 * Sync waves, as Argo CD: `argocd.argoproj.io/sync-wave` (an integer, default 0, may be negative) orders
 * the work inside a phase; each wave starts only once the previous one is synced and healthy. A Helm
 * hook without a wave annotation uses its `helm.sh/hook-weight`.
 */
import { KubeObject } from '../kube/object';
import { HELM_HOOK_ANNOTATION, HELM_HOOK_WEIGHT_ANNOTATION, SYNC_WAVE_ANNOTATION } from './annotations';

const parseWave = (value: string | undefined): number | undefined => {
  if (value === undefined) return undefined;
  const n = Number(value.trim());
  return Number.isInteger(n) ? n : undefined;
};

/** The sync wave of an object (a malformed annotation counts as 0, as Argo CD's parse failure does). */
export function syncWave(obj: KubeObject): number {
  const annotations = obj.metadata.annotations ?? {};
  const wave = parseWave(annotations[SYNC_WAVE_ANNOTATION]);
  if (wave !== undefined) return wave;
  if (annotations[HELM_HOOK_ANNOTATION]) return parseWave(annotations[HELM_HOOK_WEIGHT_ANNOTATION]) ?? 0;
  return 0;
}
