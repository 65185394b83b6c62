/**
 * Annotation keys the sync engine reads, as Argo CD and Helm spell them.
 */

/** Sync wave: an integer, default 0, may be negative (Argo CD). */
export const SYNC_WAVE_ANNOTATION = 'argocd.argoproj.io/sync-wave';
/** Hook types, comma-separated: PreSync, Sync, PostSync, SyncFail, PostDelete, Skip (Argo CD). */
export const HOOK_ANNOTATION = 'argocd.argoproj.io/hook';
/** Hook delete policies, comma-separated: HookSucceeded, HookFailed, BeforeHookCreation (Argo CD). */
export const HOOK_DELETE_POLICY_ANNOTATION = 'argocd.argoproj.io/hook-delete-policy';
/** Per-resource sync options, comma-separated `Name=value` (Argo CD). */
export const SYNC_OPTIONS_ANNOTATION = 'argocd.argoproj.io/sync-options';
/** Helm hook types, comma-separated (pre-install, post-upgrade, ...). */
export const HELM_HOOK_ANNOTATION = 'helm.sh/hook';
/** Helm hook weight: the wave fallback for Helm hooks. */
export const HELM_HOOK_WEIGHT_ANNOTATION = 'helm.sh/hook-weight';
/** Helm hook delete policies (hook-succeeded, hook-failed, before-hook-creation). */
export const HELM_HOOK_DELETE_POLICY_ANNOTATION = 'helm.sh/hook-delete-policy';
