/**
 * Command-line configuration (commander). Every flag has an environment variable fallback so the Helm
 * chart can set either.
 */
import { Command, Option } from 'commander';
import os from 'node:os';
import path from 'node:path';
import { LogFormat } from './log';
import { addProviderOptions, providerLimitsFromOptions } from './providers/options';
import type { ProviderLimits } from './providers/netpolicy';
import { parseWatchNamespaces } from './kube/scope';
import { addCeilingOptions, ceilingsFromOptions, type CeilingConfig } from './common/limitsoptions';
import { addWebhookOptions, webhookFromOptions, type WebhookConfig } from './webhook/options';

/**
 * The operators capstan can run; `--controllers` selects a subset. `application` implies `appproject`: apps
 * read their projects from the AppProject operator's cache, and old flag values keep working.
 */
export const CONTROLLERS = [
  'application',
  'appproject',
  'externalsecret',
  'clusterexternalsecret',
  'pushsecret',
] as const;

/** The selected operators with what they imply: `application` brings `appproject` along. */
export function impliedControllers(selected: string[]): string[] {
  return selected.includes('application') && !selected.includes('appproject')
    ? [...selected, 'appproject']
    : selected;
}

/** The process configuration. */
export interface Config extends CeilingConfig, WebhookConfig {
  kubeconfig?: string;
  controllers: string[];
  controllerNamespace: string;
  /**
   * `--watch-namespaces`: the only namespaces capstan watches and deploys to (a tenant install with
   * namespaced Roles, as Argo CD's namespaced install and ESO's scopedNamespace; see kube/scope.ts).
   * Empty: cluster-wide.
   */
  watchNamespaces: string[];
  /** Periodic refresh of each app, in ms. */
  refreshIntervalMs: number;
  /** Jitter added to each refresh, in ms. */
  refreshJitterMs: number;
  /** Apps reconciled at once. */
  concurrency: number;
  /** Where git clones and snapshots are cached. */
  cacheDir: string;
  helmBinary: string;
  /** Timeout of one render, in ms. */
  renderTimeoutMs: number;
  /** Deadline of one jq evaluation of `ignoreDifferences[].jqPathExpressions`, in ms (`--jq-timeout`, seconds). */
  jqTimeoutMs: number;
  logLevel: string;
  logFormat: LogFormat;
  /** Port of /healthz, /readyz and /metrics; 0 turns the server off. */
  metricsPort: number;
  /** Provider requests a second per secret store (ExternalSecrets); 0: unlimited. */
  storeRateLimit: number;
  /**
   * ExternalSecrets may write other kinds than Secrets (`spec.target.manifest`, ESO's generic targets),
   * as ESO's `--unsafe-allow-generic-targets`; off by default.
   */
  allowGenericTargets: boolean;
  /** Network policy, deadlines and response cap of provider calls (`--webhook-*`, `--provider-*`). */
  providerLimits: ProviderLimits;
  /** Run the operators only while holding the `capstan-leader` Lease in the controller namespace. */
  leaderElect: boolean;
  /** How long the Lease is valid without renewal, in ms (`--leader-lease-duration`, seconds). */
  leaderLeaseDurationMs: number;
  /** How often the leader renews the Lease (and a candidate retries), in ms (`--leader-renew-interval`). */
  leaderRenewIntervalMs: number;
  /** URL schemes Helm value files may use, lower case (Argo CD's `helm.valuesFileSchemes`); `[]`: none. */
  helmValuesFileSchemes: string[];
  /** Kustomize may fetch remote bases and files that the app's project permits. */
  kustomizeAllowRemote: boolean;
  /** Kustomize may inflate `helmCharts` (kustomize `--enable-helm`). */
  kustomizeEnableHelm: boolean;
  /** Applications may use `file://` URLs and local paths as repoURL. */
  allowLocalRepos: boolean;
  /**
   * Sync with impersonation (Argo CD's `application.sync.impersonation.enabled`): every apply, prune and
   * hook of an app runs as the service account its project's `destinationServiceAccounts` maps it to.
   */
  impersonation: boolean;
}

/** The flags that let rendering reach beyond an app's repository; all closed by default but Argo CD's schemes. */
function addRemoteInputOptions(cmd: Command, env: NodeJS.ProcessEnv): Command {
  return cmd
    .option(
      '--helm-values-file-schemes <list>',
      "URL schemes Helm value files may use, as Argo CD's helm.valuesFileSchemes ('': none)",
      env.CAPSTAN_HELM_VALUES_FILE_SCHEMES ?? 'https,http',
    )
    .option(
      '--kustomize-allow-remote',
      "let kustomizations fetch remote bases and files that the app's project sourceRepos permit",
      env.CAPSTAN_KUSTOMIZE_ALLOW_REMOTE === 'true',
    )
    .option(
      '--kustomize-enable-helm',
      'let kustomizations inflate helmCharts (kustomize --enable-helm)',
      env.CAPSTAN_KUSTOMIZE_ENABLE_HELM === 'true',
    )
    .option(
      '--allow-local-repos',
      'let Applications use file:// URLs and local paths as repoURL (demos and tests only)',
      env.CAPSTAN_ALLOW_LOCAL_REPOS === 'true',
    );
}

type RemoteInputs = Pick<
  Config,
  'helmValuesFileSchemes' | 'kustomizeAllowRemote' | 'kustomizeEnableHelm' | 'allowLocalRepos'
>;

/** The parsed values of {@link addRemoteInputOptions}: schemes trimmed and lower-cased, `''` none. */
function remoteInputsFromOptions(o: Record<string, unknown>): RemoteInputs {
  return {
    helmValuesFileSchemes: String(o.helmValuesFileSchemes)
      .split(',')
      .map((s) => s.trim().toLowerCase())
      .filter(Boolean),
    kustomizeAllowRemote: Boolean(o.kustomizeAllowRemote),
    kustomizeEnableHelm: Boolean(o.kustomizeEnableHelm),
    allowLocalRepos: Boolean(o.allowLocalRepos),
  };
}

/**
 * Parses argv into a {@link Config}.
 * @throws commander's error on an unknown flag or a bad value (the process prints usage and exits).
 */
export function parseConfig(argv: string[]): Config {
  const env = process.env;
  const cmd = new Command('capstan')
    .description('GitOps operator: Argo CD Applications and External Secrets in one process.')
    .option(
      '--kubeconfig <path>',
      'kubeconfig file (default: KUBECONFIG, ~/.kube/config, or in-cluster)',
      env.KUBECONFIG,
    )
    .option(
      '--controllers <list>',
      `operators to run: ${CONTROLLERS.join(',')}`,
      env.CAPSTAN_CONTROLLERS ?? CONTROLLERS.join(','),
    )
    .option(
      '--controller-namespace <ns>',
      'namespace capstan runs in (repository Secrets, AppProjects)',
      env.POD_NAMESPACE ?? 'argocd',
    )
    .option(
      '--watch-namespaces <list>',
      "only namespaces to watch and deploy to, e.g. team-a,team-b (Applications also in the controller namespace; '': all)",
      env.CAPSTAN_WATCH_NAMESPACES ?? '',
    )
    .option(
      '--refresh-interval <seconds>',
      'periodic refresh of each Application',
      env.CAPSTAN_REFRESH_INTERVAL ?? '120',
    )
    .option(
      '--refresh-jitter <seconds>',
      'random delay added to each refresh',
      env.CAPSTAN_REFRESH_JITTER ?? '60',
    )
    // 30: one queue does the work of Argo CD's 20 status and 10 operation processors; measured in bench P1
    // (README Performance: 30 workers sync faster than 10 at 200 and 1,000 apps, about 1 MiB more RSS).
    .option('--concurrency <n>', 'Applications reconciled at once', env.CAPSTAN_CONCURRENCY ?? '30')
    .option(
      '--cache-dir <path>',
      'git clone cache',
      env.CAPSTAN_CACHE_DIR ?? path.join(os.tmpdir(), 'capstan-cache'),
    )
    .option('--helm <path>', 'helm binary', env.HELM_BINARY ?? 'helm')
    .option(
      '--render-timeout <seconds>',
      'timeout of one helm/kustomize render',
      env.CAPSTAN_RENDER_TIMEOUT ?? '90',
    )
    .option(
      '--jq-timeout <seconds>',
      "deadline of one ignoreDifferences jq evaluation, as Argo CD's controller.ignore.normalizer.jq.timeout",
      env.CAPSTAN_JQ_TIMEOUT ?? '1',
    )
    .option('--log-level <level>', 'error, warn, info or debug', env.CAPSTAN_LOG_LEVEL ?? 'info')
    .addOption(
      new Option('--log-format <format>', 'json or text')
        .choices(['json', 'text'])
        .default(env.CAPSTAN_LOG_FORMAT ?? 'text'),
    )
    .option(
      '--metrics-port <port>',
      'port of /healthz, /readyz, /metrics (0: off)',
      env.CAPSTAN_METRICS_PORT ?? '8080',
    )
    .option(
      '--leader-elect',
      'hold a Lease before running the operators (for more than one replica)',
      env.CAPSTAN_LEADER_ELECT === 'true',
    )
    .option(
      '--leader-lease-duration <seconds>',
      'Lease validity without renewal; the leader stops writing after two thirds of it',
      env.CAPSTAN_LEADER_LEASE_DURATION ?? '15',
    )
    .option(
      '--leader-renew-interval <seconds>',
      'how often the leader renews the Lease and a standby retries',
      env.CAPSTAN_LEADER_RENEW_INTERVAL ?? '5',
    )
    .option(
      '--store-rate-limit <n>',
      'provider requests a second per secret store (0: unlimited)',
      env.CAPSTAN_STORE_RATE_LIMIT ?? '10',
    )
    .option(
      '--unsafe-allow-generic-targets',
      "let ExternalSecrets write other kinds than Secrets (spec.target.manifest), as ESO's flag of that name",
      env.CAPSTAN_UNSAFE_ALLOW_GENERIC_TARGETS === 'true',
    )
    .option(
      '--impersonation',
      "sync each app as the service account its project's destinationServiceAccounts names (Argo CD's sync with impersonation)",
      env.CAPSTAN_IMPERSONATION === 'true',
    )
    .exitOverride();
  addProviderOptions(cmd, env);
  addCeilingOptions(cmd, env);
  addRemoteInputOptions(cmd, env);
  addWebhookOptions(cmd, env);
  cmd.parse(argv, { from: 'user' });
  const o = cmd.opts<Record<string, string>>();
  const num = (name: string, v: string): number => {
    const n = Number(v);
    if (!Number.isFinite(n) || n < 0) throw new Error(`--${name} must be a non-negative number, got "${v}"`);
    return n;
  };
  const positive = (name: string, v: string): number => {
    const n = num(name, v);
    if (n === 0) throw new Error(`--${name} must be greater than 0, got "${v}"`);
    return n;
  };
  const controllers = o.controllers
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const unknown = controllers.filter((c) => !(CONTROLLERS as readonly string[]).includes(c));
  if (unknown.length)
    throw new Error(
      `--controllers: unknown operator(s) ${unknown.join(', ')}; known: ${CONTROLLERS.join(', ')}`,
    );
  return {
    kubeconfig: o.kubeconfig,
    controllers: impliedControllers(controllers),
    controllerNamespace: o.controllerNamespace,
    watchNamespaces: parseWatchNamespaces(o.watchNamespaces),
    refreshIntervalMs: num('refresh-interval', o.refreshInterval) * 1000,
    refreshJitterMs: num('refresh-jitter', o.refreshJitter) * 1000,
    concurrency: Math.max(1, num('concurrency', o.concurrency)),
    cacheDir: o.cacheDir,
    helmBinary: o.helm,
    renderTimeoutMs: num('render-timeout', o.renderTimeout) * 1000,
    jqTimeoutMs: positive('jq-timeout', o.jqTimeout) * 1000,
    ...ceilingsFromOptions(o),
    logLevel: o.logLevel,
    logFormat: o.logFormat as LogFormat,
    metricsPort: num('metrics-port', o.metricsPort),
    storeRateLimit: num('store-rate-limit', o.storeRateLimit),
    allowGenericTargets: Boolean(o.unsafeAllowGenericTargets),
    providerLimits: providerLimitsFromOptions(o),
    leaderElect: Boolean(o.leaderElect),
    impersonation: Boolean(o.impersonation),
    ...remoteInputsFromOptions(o),
    ...webhookFromOptions(o),
    leaderLeaseDurationMs: num('leader-lease-duration', o.leaderLeaseDuration) * 1000,
    leaderRenewIntervalMs: num('leader-renew-interval', o.leaderRenewInterval) * 1000,
  };
}
