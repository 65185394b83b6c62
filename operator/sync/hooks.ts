/**
 * Resource hooks, as Argo CD: an object annotated `argocd.argoproj.io/hook: PreSync|Sync|PostSync|
 * SyncFail|PostDelete|Skip` (a comma list is allowed) is a hook, run in that phase instead of being
 * applied as part of the app; `Skip` means "never apply". Helm hooks map as Argo CD documents:
 * pre-install/pre-upgrade -> PreSync, post-install/post-upgrade -> PostSync, post-delete ->
 * PostDelete, crd-install -> an ordinary resource; other Helm hooks (pre-delete, pre/post-rollback,
 * test) are not supported and such objects are left out. Argo CD's annotation wins over Helm's.
 *
 * ```yaml
 * metadata:
 *   annotations:
 *     argocd.argoproj.io/hook: PreSync
 *     argocd.argoproj.io/hook-delete-policy: HookSucceeded
 * ```
 */
import { KubeObject } from '../kube/object';
import {
  HELM_HOOK_ANNOTATION,
  HELM_HOOK_DELETE_POLICY_ANNOTATION,
  HOOK_ANNOTATION,
  HOOK_DELETE_POLICY_ANNOTATION,
} from './annotations';

/** Argo CD's hook types. */
export type HookType = 'PreSync' | 'Sync' | 'PostSync' | 'SyncFail' | 'PostDelete' | 'Skip';
/** Argo CD's hook delete policies. */
export type HookDeletePolicy = 'HookSucceeded' | 'HookFailed' | 'BeforeHookCreation';

const HOOK_TYPES: readonly HookType[] = ['PreSync', 'Sync', 'PostSync', 'SyncFail', 'PostDelete', 'Skip'];
const HELM_TO_ARGO: Record<string, HookType | 'resource'> = {
  'pre-install': 'PreSync',
  'pre-upgrade': 'PreSync',
  'post-install': 'PostSync',
  'post-upgrade': 'PostSync',
  'post-delete': 'PostDelete',
  'crd-install': 'resource',
};
const HELM_DELETE_TO_ARGO: Record<string, HookDeletePolicy> = {
  'hook-succeeded': 'HookSucceeded',
  'hook-failed': 'HookFailed',
  'before-hook-creation': 'BeforeHookCreation',
};

const list = (value: string | undefined): string[] =>
  (value ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

/** What an object is to a sync. */
export type HookClass =
  | { kind: 'resource' }
  | { kind: 'hook'; types: HookType[] }
  | { kind: 'skip' }
  /** Only Helm hooks capstan (like Argo CD) does not support: the object is left out. */
  | { kind: 'unsupported'; helmHooks: string[] };

/** Classifies an object: an ordinary resource, a hook (with its types), skipped, or unsupported. */
export function classifyHook(obj: KubeObject): HookClass {
  const annotations = obj.metadata.annotations ?? {};
  const argo = list(annotations[HOOK_ANNOTATION]).filter((t): t is HookType =>
    (HOOK_TYPES as string[]).includes(t),
  );
  if (argo.includes('Skip')) return { kind: 'skip' };
  if (argo.length) return { kind: 'hook', types: argo };
  const helm = list(annotations[HELM_HOOK_ANNOTATION]);
  if (!helm.length) return { kind: 'resource' };
  const mapped = helm.map((h) => HELM_TO_ARGO[h]).filter((t): t is HookType | 'resource' => !!t);
  if (mapped.includes('resource')) return { kind: 'resource' };
  const types = [...new Set(mapped as HookType[])];
  return types.length ? { kind: 'hook', types } : { kind: 'unsupported', helmHooks: helm };
}

/**
 * Delete policies of a hook: Argo CD's annotation, else Helm's, else `BeforeHookCreation` (the default
 * in both).
 */
export function hookDeletePolicies(obj: KubeObject): HookDeletePolicy[] {
  const annotations = obj.metadata.annotations ?? {};
  const argo = list(annotations[HOOK_DELETE_POLICY_ANNOTATION]).filter((p): p is HookDeletePolicy =>
    ['HookSucceeded', 'HookFailed', 'BeforeHookCreation'].includes(p),
  );
  if (argo.length) return argo;
  const helm = list(annotations[HELM_HOOK_DELETE_POLICY_ANNOTATION])
    .map((p) => HELM_DELETE_TO_ARGO[p])
    .filter((p): p is HookDeletePolicy => !!p);
  return helm.length ? helm : ['BeforeHookCreation'];
}
