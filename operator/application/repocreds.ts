/**
 * Repository credentials from Secrets, as Argo CD declares them: Secrets in the controller's namespace
 * labelled `argocd.argoproj.io/secret-type: repository` (one repository, exact `url`) or
 * `repo-creds` (a credential template for every repository whose URL starts with `url`), with keys
 * `url`, `username`, `password`, `sshPrivateKey`, `insecure`, `insecureIgnoreHostKey`. They are
 * mirrored by one informer on that namespace (no list per refresh); values are never logged.
 *
 * Project-scoped repositories (Argo CD's `project` key): a Secret with `project: team-a` is usable
 * only by apps of AppProject `team-a`. As Argo CD's `getRepositorySecret`, a Secret of the app's own
 * project wins over an unscoped one for the same URL, and Secrets of other projects are never used.
 * capstan applies the same rule to `repo-creds` templates (Argo CD ignores `project` there) and goes
 * one step further: when the only Secrets that match a URL belong to other projects, the app is
 * refused instead of trying anonymous access. Otherwise another project's app could read the
 * repository from capstan's shared clone cache (a full commit SHA already fetched with the owner's
 * credentials needs no network access) and render it.
 */
import { KubeClient } from '../kube/client';
import { Informer } from '../kube/informer';
import { KubeObject } from '../kube/object';
import { Logger } from '../log';
import {
  RepoCredentialSecret,
  RepoCredentials,
  matchRepoCredentials,
  redactURL,
} from '../sources/credentials';

/** Argo CD's label that marks repository Secrets. */
export const SECRET_TYPE_LABEL = 'argocd.argoproj.io/secret-type';

const decode = (v: string | undefined): string | undefined =>
  v === undefined ? undefined : Buffer.from(v, 'base64').toString('utf8');

/** A repository Secret as the matcher wants it, with its `project` key (empty: every project). */
export interface ScopedRepoCredentialSecret extends RepoCredentialSecret {
  /** The AppProject whose apps alone may use it (Argo CD's project-scoped repositories); undefined: all. */
  project?: string;
}

/** An app may not use a repository: only Secrets of other projects declare it. */
export class RepoProjectScopeError extends Error {
  override name = 'RepoProjectScopeError';
}

/** A repository Secret as the matcher wants it; undefined without a `url`. */
export function toRepoCredentialSecret(secret: KubeObject): ScopedRepoCredentialSecret | undefined {
  const d = (secret.data ?? {}) as Record<string, string>;
  const url = decode(d.url);
  if (!url) return undefined;
  const type = secret.metadata.labels?.[SECRET_TYPE_LABEL] === 'repo-creds' ? 'repo-creds' : 'repository';
  const creds: RepoCredentials = {
    username: decode(d.username),
    password: decode(d.password),
    sshPrivateKey: decode(d.sshPrivateKey),
    insecure: decode(d.insecure) === 'true',
    insecureIgnoreHostKey: decode(d.insecureIgnoreHostKey) === 'true',
    // Helm repositories (`type: helm`): TLS client certificate and OCI registries.
    ...(d.tlsClientCertData ? { tlsClientCertData: decode(d.tlsClientCertData) } : {}),
    ...(d.tlsClientCertKey ? { tlsClientCertKey: decode(d.tlsClientCertKey) } : {}),
    ...(decode(d.enableOCI) === 'true' ? { enableOCI: true } : {}),
    ...(decode(d.insecureOCIForceHttp) === 'true' ? { insecureOCIForceHttp: true } : {}),
  };
  const project = decode(d.project)?.trim() || undefined;
  return { url, type, creds, ...(project ? { project } : {}) };
}

/**
 * The credentials an app of `project` uses for `repoURL`, from the decoded Secrets (pure).
 *
 * Argo CD's matching (exact `repository` first, else the longest `repo-creds` prefix) over the Secrets
 * of the app's project and the unscoped ones; at the same URL or prefix length, the project's own
 * Secret wins over an unscoped one.
 * @param repoURL - the source's repository URL.
 * @param project - the app's `spec.project`.
 * @param secrets - every repository Secret of the controller's namespace.
 * @returns the credentials, or undefined for anonymous access.
 * @throws RepoProjectScopeError when no usable Secret matches the URL but one of another project does
 *   (the message names neither that project nor any value).
 */
export function credentialsForProject(
  repoURL: string,
  project: string,
  secrets: ReadonlyArray<ScopedRepoCredentialSecret>,
): RepoCredentials | undefined {
  const own = secrets.filter((s) => s.project === project);
  const shared = secrets.filter((s) => s.project === undefined);
  // The matcher takes the first exact match and the first of equally long prefixes: own ones first.
  const creds = matchRepoCredentials(repoURL, [...own, ...shared]);
  if (creds) return creds;
  const foreign = secrets.filter((s) => s.project !== undefined && s.project !== project);
  if (matchRepoCredentials(repoURL, foreign)) {
    throw new RepoProjectScopeError(
      `repository ${redactURL(repoURL)} is scoped to another project: its repository Secret's project key ` +
        `does not name project '${project}', so apps of '${project}' may not use it`,
    );
  }
  return undefined;
}

/** The repository Secrets of the controller's namespace, kept current by a watch. */
export class RepoCredentialStore {
  private readonly informer: Informer;

  constructor(client: KubeClient, namespace: string, log: Logger) {
    this.informer = new Informer(
      client,
      { group: '', version: 'v1', kind: 'Secret', plural: 'secrets', namespaced: true },
      `${SECRET_TYPE_LABEL} in (repository,repo-creds)`,
      () => undefined,
      {
        namespace,
        onError: (err) =>
          log.warn('Watch of repository Secrets failed; retrying.', { error: (err as Error).message }),
      },
    );
  }

  /**
   * The credentials an app of `project` uses for a repository URL, or undefined for anonymous access
   * (see {@link credentialsForProject}).
   * @param repoURL - the source's repository URL.
   * @param project - the app's `spec.project`: Secrets scoped to other projects are never used.
   * @throws KubeApiError when the Secrets cannot be listed the first time; RepoProjectScopeError when
   *   only Secrets of other projects match the URL.
   */
  async lookup(repoURL: string, project: string): Promise<RepoCredentials | undefined> {
    await this.informer.start();
    const entries = this.informer
      .list()
      .map(toRepoCredentialSecret)
      .filter((e): e is ScopedRepoCredentialSecret => !!e);
    return credentialsForProject(repoURL, project, entries);
  }

  /** Stops the watch. */
  stop(): void {
    this.informer.stop();
  }
}
