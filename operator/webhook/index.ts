/**
 * Argo CD's git webhook for Applications (Argo CD docs, "Git Webhook Configuration"): a git provider
 * posts each push to `/api/webhook`, and every Application that tracks the pushed branch or tag of that
 * repository is refreshed at once instead of at its next periodic refresh.
 *
 *   POST /api/webhook  (X-GitHub-Event: push, X-Hub-Signature-256: sha256=...)
 *     -> server.ts     provider from the headers, body capped, shared secret checked (signature.ts,
 *                      secrets.ts: `argocd-secret` keys webhook.github.secret, ...)
 *     -> payload.ts    repository URLs, branch or tag, default branch touched, changed files
 *     -> refresh.ts    the Applications (appindex.ts: an informer); the pushed repository's ls-remote answers forgotten;
 *                      `argocd.argoproj.io/refresh: normal` on each app that match.ts selects (repository,
 *                      revision, manifest-generate-paths)
 *     -> the Application operator refreshes those apps as after any refresh annotation.
 * On the leader, once the Application operator runs ({@link GitWebhook.useOperator}), the apps come from
 * the operator's cache (the webhook's informer stops) and each refresh is asked in-process: no
 * annotation is written or removed.
 */
import type http from 'node:http';
import { KubeClient } from '../kube/client';
import { appNamespaces } from '../kube/scope';
import type { Logger } from '../log';
import { AppIndex } from './appindex';
import { PushRefresher, kubeRefreshTarget, localRefreshTarget, type LocalApps } from './refresh';
import { WebhookSecretSource } from './secrets';
import { WEBHOOK_PATH, startWebhookServer } from './server';
import type { WebhookConfig } from './options';

export type { WebhookConfig } from './options';
export type { LocalApps } from './refresh';

/** What {@link startGitWebhook} needs from the process. */
export interface GitWebhookDeps {
  /** A client for the Applications and `argocd-secret`; writes should not be fenced (see refresh.ts). */
  client: KubeClient;
  controllerNamespace: string;
  watchNamespaces: string[];
  /** Forgets shared `ls-remote` answers (the Application operator's revision cache), when it runs here. */
  forgetRevisions: (repoURLs: string[]) => void;
  log: Logger;
}

/** A running webhook server. */
export interface GitWebhook {
  server: http.Server;
  refresher: PushRefresher;
  /**
   * Refreshes through the Application operator of this process from now on (called on the leader once
   * it runs): its cache replaces the webhook's informer, and a refresh is asked in-process.
   */
  useOperator(local: LocalApps): void;
  stop(): void;
}

/**
 * Starts the webhook server on `config.gitWebhookPort`.
 * @throws Error when the port cannot be bound.
 */
export async function startGitWebhook(config: WebhookConfig, deps: GitWebhookDeps): Promise<GitWebhook> {
  const namespaces = appNamespaces(deps.controllerNamespace, deps.watchNamespaces);
  const index = new AppIndex(deps.client, namespaces, deps.log);
  index.start();
  const target = kubeRefreshTarget(deps.client, namespaces, deps.forgetRevisions, index);
  const refresher = new PushRefresher(target, deps.log);
  const secrets = new WebhookSecretSource(deps.client, deps.controllerNamespace);
  const server = await startWebhookServer({
    port: config.gitWebhookPort,
    maxPayloadBytes: config.gitWebhookMaxPayloadBytes,
    secrets: () => secrets.get(),
    refresher,
    log: deps.log,
  });
  deps.log.info(`Serving the git webhook on port ${config.gitWebhookPort}, POST ${WEBHOOK_PATH}.`);
  return {
    server,
    refresher,
    useOperator(local) {
      refresher.retarget(localRefreshTarget(local, deps.forgetRevisions));
      index.stop();
      deps.log.info('The git webhook refreshes Applications in-process (this replica leads).');
    },
    stop: () => {
      index.stop();
      server.close();
    },
  };
}
