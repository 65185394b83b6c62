/**
 * capstan's entry point: configuration, logger, the /healthz /readyz /metrics server, and the
 * operators selected by `--controllers`.
 */
import http from 'node:http';
import { parseConfig, Config } from './config';
import { createLogger, Logger } from './log';
import { KubeClient, loadKubeConfig } from './kube/client';
import { Discovery } from './kube/discovery';
import { LiveCache } from './kube/livecache';
import { GitRepoCache } from './sources/git';
import { ApplicationOperator } from './application/operator';
import { AppProjectOperator } from './appproject/operator';
import { ProjectStore } from './appproject/store';
import { RepoCredentialStore } from './application/repocreds';
import { MANAGED_SELECTOR } from './sync/tracking';
import { createContext, ExternalSecretOperator, startExternalSecretOperators } from './externalsecret';
import type { EventTap } from './kube/eventtap';
import { startClusterExternalSecretOperator } from './clusterexternalsecret';
import { startPushSecretOperator } from './pushsecret';
import { registry } from './runtime/metrics';
import type { GitWebhook } from './webhook';
import { LeaderElector } from './runtime/leader';
import { setJqTimeout } from './diff/jqworker';
import { flushEvents } from './kube/events';

interface Stoppable {
  stop(): void;
}

function serveHealth(config: Config, log: Logger, ready: () => boolean): http.Server | undefined {
  if (!config.metricsPort) return undefined;
  const server = http.createServer((req, res) => {
    if (req.url === '/healthz') return void res.end('ok');
    if (req.url === '/readyz') {
      res.statusCode = ready() ? 200 : 503;
      return void res.end(ready() ? 'ok' : 'starting');
    }
    if (req.url === '/metrics') {
      registry.metrics().then(
        (text) => {
          res.setHeader('Content-Type', registry.contentType);
          res.end(text);
        },
        () => {
          res.statusCode = 500;
          res.end();
        },
      );
      return;
    }
    res.statusCode = 404;
    res.end();
  });
  server.listen(config.metricsPort, () =>
    log.info(`Serving /healthz, /readyz and /metrics on port ${config.metricsPort}.`),
  );
  return server;
}

async function main(): Promise<void> {
  const config = parseConfig(process.argv.slice(2));
  const log = createLogger(config.logLevel, config.logFormat);
  setJqTimeout(config.jqTimeoutMs);
  // The operators' watch clients load the default kubeconfig chain (as kubectl): point it at ours.
  if (config.kubeconfig) process.env.KUBECONFIG = config.kubeconfig;
  const client = new KubeClient(loadKubeConfig(config.kubeconfig));
  const discovery = new Discovery(client);
  const live = new LiveCache(
    client,
    MANAGED_SELECTOR,
    (rt, err) =>
      log.warn(`Watch of ${rt.plural}.${rt.group} failed; retrying.`, { error: (err as Error).message }),
    { watchNamespaces: config.watchNamespaces },
  );
  const stoppables: Stoppable[] = [live];
  // Ready as soon as this replica is up: a standby waiting for the Lease is ready too, or a rolling
  // update would wait for a new pod that cannot lead before the old one is gone.
  const server = serveHealth(config, log, () => true);
  // The git webhook (webhook/) serves on every replica, a standby too: it sets refresh annotations, which
  // the leader acts on, until the Application operator runs here (useOperator below). Its ls-remote
  // forget reaches the Application operator once that runs here.
  let forgetRevisions = (_repoURLs: string[]): void => undefined;
  let webhook: GitWebhook | undefined;
  if (config.gitWebhookPort) {
    const { startGitWebhook } = await import('./webhook');
    webhook = await startGitWebhook(config, {
      client: new KubeClient(client.kubeConfig),
      controllerNamespace: config.controllerNamespace,
      watchNamespaces: config.watchNamespaces,
      forgetRevisions: (urls) => forgetRevisions(urls),
      log,
    });
    stoppables.push(webhook);
  }
  let elector: LeaderElector | undefined;
  if (config.leaderElect) {
    // The Lease itself is written through a client of its own; every other write of the process goes
    // through `client`, fenced: it is refused (LeadershipLostError) unless this replica renewed the
    // Lease within the renew deadline, so a leader that lost the Lease, even one paused and resumed,
    // never writes again. Without --leader-elect there is no fence.
    elector = new LeaderElector(new KubeClient(client.kubeConfig), log, {
      namespace: config.controllerNamespace,
      leaseDurationMs: config.leaderLeaseDurationMs,
      renewIntervalMs: config.leaderRenewIntervalMs,
    });
    client.setWriteFence(elector.fence);
    await elector.acquire(() => {
      // The fence is latched shut already; stop the work and exit once the log line is out.
      stoppables.forEach((s) => s.stop());
      setTimeout(() => process.exit(1), 200);
    });
    stoppables.push(elector);
  }
  // One informer of AppProjects, read by the Application operator and run by the AppProject operator
  // (`application` implies `appproject`, see config.ts).
  const projects = new ProjectStore(client, config.controllerNamespace, {
    onError: (err) =>
      log.warn('Watch of appprojects.argoproj.io failed; retrying.', { error: (err as Error).message }),
  });
  stoppables.push(projects);
  if (config.controllers.includes('appproject')) {
    const op = new AppProjectOperator(
      client,
      projects,
      {
        controllerNamespace: config.controllerNamespace,
        impersonation: config.impersonation,
        watchNamespaces: config.watchNamespaces,
      },
      log,
      config.concurrency,
    );
    await op.start();
    stoppables.push(op);
  }
  if (config.controllers.includes('application')) {
    const git = new GitRepoCache({
      cacheDir: config.cacheDir,
      log,
      checkoutLimits: { maxBytes: config.maxRepoBytes, maxFiles: config.maxRepoFiles },
      idleRepoMs: config.repoCacheIdleMs,
      // one ls-remote per repository and revision per refresh interval (sources/revisioncache.ts)
      revisionCacheMs: config.refreshIntervalMs,
    });
    stoppables.push(git.startIdleEviction());
    forgetRevisions = (urls) => git.revisions.forget(urls);
    const repoCreds = new RepoCredentialStore(client, config.controllerNamespace, log);
    stoppables.push(repoCreds);
    const op = new ApplicationOperator(
      {
        client,
        discovery,
        live,
        git,
        repoCreds,
        projects,
        log,
        settings: {
          controllerNamespace: config.controllerNamespace,
          refreshIntervalMs: config.refreshIntervalMs,
          refreshJitterMs: config.refreshJitterMs,
          helmBinary: config.helmBinary,
          renderTimeoutMs: config.renderTimeoutMs,
          helmValuesFileSchemes: config.helmValuesFileSchemes,
          kustomizeAllowRemote: config.kustomizeAllowRemote,
          kustomizeEnableHelm: config.kustomizeEnableHelm,
          allowLocalRepos: config.allowLocalRepos,
          impersonation: config.impersonation,
          renderLimits: { maxBytes: config.maxManifestBytes, maxObjects: config.maxObjects },
          renderCacheBytes: config.renderCacheBytes,
          watchNamespaces: config.watchNamespaces,
        },
      },
      log,
      config.concurrency,
    );
    await op.start();
    stoppables.push(op);
    // The leader's webhook refreshes in-process from here on: no annotation written, no watch of its own.
    webhook?.useOperator({
      apps: () => op.watchedApps(),
      refresh: (namespace, name) => op.refreshApp(namespace, name),
    });
  }
  // One context for the ExternalSecret family: the ExternalSecret and PushSecret operators share its
  // per-store rate limiter, so that reads and pushes of one store share the store's budget.
  const esContext = createContext(client, log, {
    storeRatePerSecond: config.storeRateLimit,
    providerLimits: config.providerLimits,
    watchNamespaces: config.watchNamespaces,
    allowGenericTargets: config.allowGenericTargets,
  });
  let externalSecretTap: EventTap | undefined;
  if (config.controllers.includes('externalsecret')) {
    const ops = await startExternalSecretOperators(
      client,
      log,
      config.concurrency,
      esContext.settings,
      esContext,
    );
    stoppables.push(...ops);
    // the ClusterExternalSecret operator reads this watch instead of opening a second one
    externalSecretTap = ops.find((op) => op instanceof ExternalSecretOperator)?.externalSecretTap;
  }
  // cluster-scoped: a scoped install (--watch-namespaces) does not run it, as ClusterSecretStores
  if (config.controllers.includes('clusterexternalsecret') && !config.watchNamespaces.length) {
    stoppables.push(
      await startClusterExternalSecretOperator(client, log, config.concurrency, externalSecretTap),
    );
  }
  if (config.controllers.includes('pushsecret')) {
    stoppables.push(await startPushSecretOperator(esContext, config.concurrency));
  }
  log.info(`capstan started: ${config.controllers.join(', ')} against ${client.server}.`);
  if (config.watchNamespaces.length)
    log.info(`Watching only namespaces ${config.watchNamespaces.join(', ')} (--watch-namespaces).`);
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info(`Received ${signal}; stopping.`);
    stoppables.forEach((s) => s.stop());
    server?.close();
    // A leader hands the Lease over (a self-upgrade's new pod takes over at once, see README "Upgrade
    // capstan"): fence shut, in-flight writes drained (5 s at most), Lease released. Bounded: the
    // chart's grace period is 30 s.
    const exitTimer = setTimeout(() => process.exit(0), 12_000);
    // Queued Kubernetes Events go out first (3 s at most), before a leader's write fence closes.
    void flushEvents(3_000)
      .then(() => elector?.release(() => client.drainWrites(5_000)) ?? false)
      .finally(() => {
        clearTimeout(exitTimer);
        setTimeout(() => process.exit(0), 200);
      });
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
}

main().catch((err: unknown) => {
  process.stderr.write(`capstan failed to start: ${(err as Error).message}\n`);
  process.exit(1);
});
