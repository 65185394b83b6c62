/**
 * Argo CD's build environment: the variables its repo-server gives tools and expands in source fields
 * (`${ARGOCD_APP_REVISION}` in a Kustomize image, `$ARGOCD_APP_NAME` in a common annotation), as listed in
 * Argo CD's "Build Environment" user guide.
 */

/** What the build environment is made of. */
export interface BuildEnvInput {
  /** `metadata.name` of the Application. */
  appName: string;
  /** `metadata.namespace` of the Application (Argo CD's ARGOCD_APP_NAMESPACE is the app's namespace). */
  appNamespace: string;
  /** `spec.project`. */
  project?: string;
  /** The resolved revision (commit SHA, or chart version). */
  revision: string;
  repoURL: string;
  path?: string;
  targetRevision?: string;
  /** The destination cluster's version (`KUBE_VERSION`). */
  kubeVersion?: string;
  /** The destination cluster's API versions (`KUBE_API_VERSIONS`, comma-separated). */
  apiVersions?: string[];
}

/**
 * The variables, by name.
 * @returns ARGOCD_APP_NAME, ARGOCD_APP_NAMESPACE, ARGOCD_APP_PROJECT_NAME, ARGOCD_APP_REVISION,
 *   ARGOCD_APP_REVISION_SHORT (7 characters), ARGOCD_APP_REVISION_SHORT_8, ARGOCD_APP_SOURCE_REPO_URL,
 *   ARGOCD_APP_SOURCE_PATH, ARGOCD_APP_SOURCE_TARGET_REVISION, KUBE_VERSION, KUBE_API_VERSIONS.
 */
export function buildEnv(input: BuildEnvInput): Record<string, string> {
  return {
    ARGOCD_APP_NAME: input.appName,
    ARGOCD_APP_NAMESPACE: input.appNamespace,
    ARGOCD_APP_PROJECT_NAME: input.project ?? '',
    ARGOCD_APP_REVISION: input.revision,
    ARGOCD_APP_REVISION_SHORT: input.revision.slice(0, 7),
    ARGOCD_APP_REVISION_SHORT_8: input.revision.slice(0, 8),
    ARGOCD_APP_SOURCE_REPO_URL: input.repoURL,
    ARGOCD_APP_SOURCE_PATH: input.path ?? '',
    ARGOCD_APP_SOURCE_TARGET_REVISION: input.targetRevision ?? '',
    KUBE_VERSION: input.kubeVersion ?? '',
    KUBE_API_VERSIONS: (input.apiVersions ?? []).join(','),
  };
}
