/**
 * Git metrics, as Argo CD's repo-server reports them (`argocd_git_request_total`,
 * `argocd_git_request_duration_seconds`), under capstan's prefix on the shared registry.
 */
import client from 'prom-client';
import { registry } from '../common/metrics';
import { withoutUserinfo } from './credentials';

/** The kinds of network request capstan makes to a git server (Argo CD's `request_type` values). */
export type GitRequestType = 'ls-remote' | 'fetch';

/**
 * Git requests by repository and type, as Argo CD's `argocd_git_request_total{repo,request_type}`:
 * one per remote listing (`ls-remote`, how `targetRevision` is resolved) and one per fetch, failed or not.
 */
export const gitRequests = new client.Counter({
  name: 'capstan_git_request_total',
  help: 'Git requests (ls-remote, fetch) by repository, as argocd_git_request_total.',
  labelNames: ['repo', 'request_type'],
  registers: [registry],
});

/**
 * Duration of git requests in seconds, as Argo CD's `argocd_git_request_duration_seconds{repo,request_type}`
 * (the same buckets: 0.1 s to 60 s).
 */
export const gitRequestDuration = new client.Histogram({
  name: 'capstan_git_request_duration_seconds',
  help: 'Duration of git requests in seconds, as argocd_git_request_duration_seconds.',
  labelNames: ['repo', 'request_type'],
  buckets: [0.1, 0.25, 0.5, 1, 2, 4, 10, 20, 60],
  registers: [registry],
});

/**
 * Counts one git request and starts its timer.
 * @param repo - the repository URL; user info (credentials) is removed before it becomes a label.
 * @returns a function to call when the request ends (it observes the duration in seconds).
 */
export function startGitRequest(repo: string, type: GitRequestType): () => void {
  const labels = { repo: withoutUserinfo(repo), request_type: type };
  gitRequests.inc(labels);
  return gitRequestDuration.startTimer(labels);
}
