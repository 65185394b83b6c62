/**
 * Push payloads of the git providers, reduced to what the refresh needs: the pushed repository's URLs,
 * the branch or tag, whether it is the default branch, and the changed files. As Argo CD's
 * `util/webhook` (`ParsePushEvent`, `affectedRevisionInfo`), field by field:
 * - GitHub `push`: `repository.html_url`, `ref`, `repository.default_branch`, `commits[].added|modified|removed`;
 * - GitLab `Push Hook`, `Tag Push Hook` (and the same in a `System Hook`): `project.web_url`,
 *   `project.default_branch`; a tag push never touches the default branch;
 * - Bitbucket Cloud `repo:push`: `repository.links.html.href`, the first `push.changes[].new.name`;
 *   the payload does not say whether it is the default branch, so it counts as one (as Argo CD);
 * - Bitbucket Server `repo:refs_changed`: the http and ssh `repository.links.clone[]`, the first
 *   `changes[].ref.id`; default branch unknown, counted as touched;
 * - Gogs and Gitea `push`: `repository.html_url`, `ref`, `repository.default_branch`, commits' files;
 * - Azure DevOps `git.push`: `resource.repository.remoteUrl`, the first `resource.refUpdates[].name`,
 *   compared with `resource.repository.defaultBranch`; no files.
 * capstan also matches GitHub's and Gitea's `clone_url` and `ssh_url` (Argo CD: the web URL only), so an
 * app whose repoURL is the ssh form on another host name is found too.
 */

/** The git providers whose payloads capstan reads. */
export type Provider = 'github' | 'gitlab' | 'bitbucket' | 'bitbucketserver' | 'gogs' | 'azuredevops';

/** A provider-independent push, as Argo CD's `PushEventInfo`. */
export interface PushEvent {
  provider: Provider;
  /** URLs of the pushed repository from the payload (web URL first), without credentials checks. */
  repoURLs: string[];
  /** The branch or tag pushed, without `refs/heads/` or `refs/tags/` (`main`, `v1.2.0`). */
  revision: string;
  /** True when the push moved the repository's default branch (or the payload cannot tell). */
  touchedHead: boolean;
  /** Files added, modified or removed by the pushed commits; empty when the payload lists none. */
  changedFiles: string[];
  /** The pushed commit, when the payload names it. */
  after?: string;
}

/** A payload that is not valid JSON, or not the shape its event promises. */
export class PayloadError extends Error {
  override name = 'PayloadError';
}

type Json = Record<string, unknown>;

const obj = (v: unknown): Json => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : {});
const str = (v: unknown): string => (typeof v === 'string' ? v : '');
const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const strings = (v: unknown): string[] => list(v).filter((x): x is string => typeof x === 'string');

/**
 * The branch or tag a ref names: `refs/heads/release/v1` -> `release/v1`, `refs/tags/v1` -> `v1`; any other
 * string is returned as it is. (Argo CD's `ParseRevision` keeps what follows the second slash, the same
 * for these refs.)
 */
export function refName(ref: string): string {
  const m = /^refs\/(?:heads|tags)\/(.+)$/.exec(ref);
  return m ? m[1] : ref;
}

/** The files every commit of a GitHub, GitLab or Gogs payload added, modified or removed. */
function commitFiles(commits: unknown): string[] {
  return list(commits).flatMap((c) => {
    const commit = obj(c);
    return [...strings(commit.added), ...strings(commit.modified), ...strings(commit.removed)];
  });
}

const nonEmpty = (urls: string[]): string[] => [...new Set(urls.filter(Boolean))];

/** GitHub's `push` event. */
function githubPush(p: Json): PushEvent {
  const repo = obj(p.repository);
  const revision = refName(str(p.ref));
  return {
    provider: 'github',
    repoURLs: nonEmpty([str(repo.html_url), str(repo.clone_url), str(repo.ssh_url)]),
    revision,
    touchedHead: str(repo.default_branch) === revision,
    changedFiles: commitFiles(p.commits),
    after: str(p.after) || undefined,
  };
}

/** GitLab's push and tag push events (also inside a system hook, `object_kind` push or tag_push). */
function gitlabPush(p: Json, tag: boolean): PushEvent {
  const project = obj(p.project);
  const revision = refName(str(p.ref));
  return {
    provider: 'gitlab',
    repoURLs: nonEmpty([str(project.web_url), str(project.git_http_url), str(project.git_ssh_url)]),
    revision,
    // Argo CD: a tag push never moves the default branch.
    touchedHead: !tag && str(project.default_branch) === revision,
    changedFiles: commitFiles(p.commits),
    after: str(p.after) || undefined,
  };
}

/** Bitbucket Cloud's `repo:push`: the first change, as Argo CD. */
function bitbucketPush(p: Json): PushEvent {
  const repo = obj(p.repository);
  const change = obj(list(obj(p.push).changes)[0]);
  const next = obj(change.new);
  return {
    provider: 'bitbucket',
    repoURLs: nonEmpty([str(obj(obj(repo.links).html).href)]),
    // A deleted branch has no `new`: its old name is what apps may track.
    revision: str(next.name) || str(obj(change.old).name),
    touchedHead: true,
    changedFiles: [],
    after: str(obj(next.target).hash) || undefined,
  };
}

/** Bitbucket Server's `repo:refs_changed`: the http and ssh clone links, the first change. */
function bitbucketServerPush(p: Json): PushEvent {
  const repo = obj(p.repository);
  const clone = list(obj(repo.links).clone).map(obj);
  const change = obj(list(p.changes)[0]);
  return {
    provider: 'bitbucketserver',
    repoURLs: nonEmpty(clone.filter((l) => l.name === 'http' || l.name === 'ssh').map((l) => str(l.href))),
    revision: refName(str(obj(change.ref).id) || str(change.refId)),
    touchedHead: true,
    changedFiles: [],
    after: str(change.toHash) || undefined,
  };
}

/** Gogs' and Gitea's `push`. */
function gogsPush(p: Json): PushEvent {
  const repo = obj(p.repository);
  const revision = refName(str(p.ref));
  return {
    provider: 'gogs',
    repoURLs: nonEmpty([str(repo.html_url), str(repo.clone_url), str(repo.ssh_url)]),
    revision,
    touchedHead: str(repo.default_branch) === revision,
    changedFiles: commitFiles(p.commits),
    after: str(p.after) || undefined,
  };
}

/** Azure DevOps' `git.push` service hook event: the first ref update, as Argo CD. */
function azureDevOpsPush(p: Json): PushEvent {
  const resource = obj(p.resource);
  const repo = obj(resource.repository);
  const update = obj(list(resource.refUpdates)[0]);
  const ref = str(update.name);
  return {
    provider: 'azuredevops',
    repoURLs: nonEmpty([str(repo.remoteUrl)]),
    revision: refName(ref),
    touchedHead: ref !== '' && ref === str(repo.defaultBranch),
    changedFiles: [],
    after: str(update.newObjectId) || undefined,
  };
}

/**
 * The push an event's payload describes, or undefined for events that are not pushes (GitHub's `ping`,
 * Bitbucket Server's `diagnostics:ping`, issues, merge requests ...): those change nothing.
 * @param provider - who sent it (see signature.ts `detectProvider`).
 * @param event - the provider's event header: `X-GitHub-Event`, `X-Gitlab-Event`, `X-Event-Key`, `X-Gogs-Event`
 *   (Azure DevOps: the payload's `eventType`).
 * @param body - the JSON payload as parsed.
 * @throws PayloadError when a push names no repository URL or no ref.
 */
export function parsePush(provider: Provider, event: string, body: unknown): PushEvent | undefined {
  const p = obj(body);
  const push = pushOf(provider, event, p);
  if (!push) return undefined;
  if (!push.repoURLs.length) throw new PayloadError(`the ${provider} push payload names no repository URL`);
  if (!push.revision) throw new PayloadError(`the ${provider} push payload names no branch or tag`);
  return push;
}

/** GitLab's events, also inside a system hook (which carries the push's fields with `object_kind`). */
function gitlabEvent(event: string, p: Json): PushEvent | undefined {
  const kind = event === 'System Hook' ? str(p.object_kind) : event;
  if (kind === 'Push Hook' || kind === 'push') return gitlabPush(p, false);
  if (kind === 'Tag Push Hook' || kind === 'tag_push') return gitlabPush(p, true);
  return undefined;
}

/** Each provider's push event (by its event header), read by its reader; other events are not pushes. */
const READERS: Record<Provider, (event: string, p: Json) => PushEvent | undefined> = {
  github: (event, p) => (event === 'push' ? githubPush(p) : undefined),
  gitlab: gitlabEvent,
  bitbucket: (event, p) => (event === 'repo:push' ? bitbucketPush(p) : undefined),
  bitbucketserver: (event, p) => (event === 'repo:refs_changed' ? bitbucketServerPush(p) : undefined),
  gogs: (event, p) => (event === 'push' ? gogsPush(p) : undefined),
  azuredevops: (_event, p) => (str(p.eventType) === 'git.push' ? azureDevOpsPush(p) : undefined),
};

function pushOf(provider: Provider, event: string, p: Json): PushEvent | undefined {
  return READERS[provider](event, p);
}

/**
 * The JSON payload of a request body: `application/json`, or GitHub's form encoding
 * (`application/x-www-form-urlencoded`, the JSON in the `payload` field), which Argo CD refuses.
 * @throws PayloadError when the body is not JSON.
 */
export function decodeBody(body: Buffer, contentType: string | undefined): unknown {
  let text = body.toString('utf8');
  if ((contentType ?? '').toLowerCase().startsWith('application/x-www-form-urlencoded')) {
    text = new URLSearchParams(text).get('payload') ?? '';
  }
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new PayloadError('the payload is not valid JSON');
  }
}
