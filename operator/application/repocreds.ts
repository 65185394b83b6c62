/**
 * Repository credentials from Secrets, as Argo CD declares them: Secrets in the controller's namespace
 * labelled `argocd.argoproj.io/secret-type: repository` (one repository, exact `url`) or
 * `repo-creds` (a credential template for every repository whose URL starts with `url`), with keys
 * `url`, `username`, `password`, `sshPrivateKey`, `insecure`, `insecureIgnoreHostKey`. They are
 * mirrored by one informer on that namespace (no list per refresh); values are never logged.
 */
import { KubeClient } from '../kube/client';
import { Informer } from '../kube/informer';
import { KubeObject } from '../kube/object';
import { Logger } from '../log';
import { RepoCredentialSecret, RepoCredentials, matchRepoCredentials } from '../sources/credentials';

/** Argo CD's label that marks repository Secrets. */
export const SECRET_TYPE_LABEL = 'argocd.argoproj.io/secret-type';

const decode = (v: string | undefined): string | undefined =>
  v === undefined ? undefined : Buffer.from(v, 'base64').toString('utf8');

/** A repository Secret as the matcher wants it; undefined without a `url`. */
export function toRepoCredentialSecret(secret: KubeObject): RepoCredentialSecret | undefined {
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
  };
  return { url, type, creds };
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
   * The credentials for a repository URL, or undefined for anonymous access (Argo CD's matching:
   * exact `repository` first, else the longest `repo-creds` prefix).
   * @throws KubeApiError when the Secrets cannot be listed the first time.
   */
  async lookup(repoURL: string): Promise<RepoCredentials | undefined> {
    await this.informer.start();
    const entries = this.informer
      .list()
      .map(toRepoCredentialSecret)
      .filter((e): e is RepoCredentialSecret => !!e);
    return matchRepoCredentials(repoURL, entries);
  }

  /** Stops the watch. */
  stop(): void {
    this.informer.stop();
  }
}
