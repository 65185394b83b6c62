/**
 * Repository credentials from Secrets, as Argo CD declares them: Secrets in the controller's namespace
 * labelled `argocd.argoproj.io/secret-type: repository` (one repository, exact `url`) or
 * `repo-creds` (a credential template for every repository whose URL starts with `url`), with keys
 * `url`, `username`, `password`, `sshPrivateKey`, `insecure`. Values are never logged.
 */
import { ApplicationContext } from './context';
import { RepoCredentials, matchRepoCredentials } from '../sources/credentials';

/** Argo CD's label that marks repository Secrets. */
export const SECRET_TYPE_LABEL = 'argocd.argoproj.io/secret-type';

interface SecretList {
  items: Array<{ metadata: { labels?: Record<string, string> }; data?: Record<string, string> }>;
}

const decode = (v: string | undefined): string | undefined =>
  v === undefined ? undefined : Buffer.from(v, 'base64').toString('utf8');

/**
 * The credentials for a repository URL, or undefined for anonymous access.
 * @throws KubeApiError when the Secrets cannot be listed.
 */
export async function resolveRepoCredentials(
  ctx: ApplicationContext,
  repoURL: string,
): Promise<RepoCredentials | undefined> {
  const list = await ctx.client.request<SecretList>(
    'GET',
    `/api/v1/namespaces/${encodeURIComponent(ctx.settings.controllerNamespace)}/secrets`,
    { query: { labelSelector: `${SECRET_TYPE_LABEL} in (repository,repo-creds)` } },
  );
  const entries = list.items
    .map((s) => {
      const d = s.data ?? {};
      const type: 'repository' | 'repo-creds' =
        s.metadata.labels?.[SECRET_TYPE_LABEL] === 'repo-creds' ? 'repo-creds' : 'repository';
      const creds: RepoCredentials = {
        username: decode(d.username),
        password: decode(d.password),
        sshPrivateKey: decode(d.sshPrivateKey),
        insecure: decode(d.insecure) === 'true',
        insecureIgnoreHostKey: decode(d.insecureIgnoreHostKey) === 'true',
      };
      return { url: decode(d.url) ?? '', type, creds };
    })
    .filter((e) => e.url);
  return matchRepoCredentials(repoURL, entries);
}
