/**
 * No secret value anywhere (issue 7 §2): distinctive canary values are seeded into a fake SecretStore
 * and a fake ClusterSecretStore, a Secret read by the kubernetes provider, repository credentials (a
 * Basic-auth repository served by e2e/harness/httpgit.ts), a password in a repository URL, and Helm
 * values given inline in Applications (`helm.valuesObject` and `helm.parameters`). The ExternalSecret
 * and repo-creds flows run to success, failing flows run to their error (a wrong password, a value that
 * is not JSON, a missing property, a forbidden key, templates that fail on a value, among them
 * Handlebars' `{{log x}}`), and then capstan's whole log, every Event of the
 * cluster and every status of every Application, ExternalSecret, SecretStore and ClusterSecretStore are
 * scanned. A hit fails the test naming where it is (file line, object and field), never the value.
 *
 * Runs inside the shared run (it reads `CAPSTAN_E2E_OPERATOR_LOG`), so it also scans what the other
 * suites left until then, for their distinctive secret values.
 *
 * Not scanned: the Applications' copies of their own spec in status (`comparedTo.source`,
 * `history[].source`, `operationState.operation`, `operationState.syncResult.source`), which Argo CD
 * keeps too: they repeat what the app author wrote in the same object, readable by the same people.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startGitServer, type GitServer } from '../harness/gitserver';
import { waitFor } from '../harness/wait';
import { startHttpGit, type HttpGitServer } from '../harness/httpgit';
import {
  FIXTURES,
  controllerNamespace,
  createApp,
  createNamespace,
  getApp,
  kube,
  uniqueName,
  type AppObject,
} from './lib';
import {
  assertSecretValues,
  clusterStorePath,
  createClusterSecretStore,
  createExternalSecret,
  createSecret,
  createSecretStore,
  esPath,
  read,
  readyOf,
  remove,
  storePath,
  type EsObject,
} from './externalsecret-lib';

/** A value found nowhere else: `capstan-canary-<what>-<random hex>`. */
const canary = (what: string): string => `capstan-canary-${what}-${randomBytes(8).toString('hex')}`;

/** The seeded values, by where they were seeded (the label is what a failure prints). */
const CANARIES = {
  'fake SecretStore data': canary('fake'),
  'fake SecretStore non-JSON data': canary('raw'),
  'fake ClusterSecretStore data': canary('cluster'),
  'kubernetes provider source Secret': canary('k8s'),
  'repo-creds password': canary('repo'),
  'repository Secret wrong password': canary('wrong'),
  'password in a repository URL': canary('url'),
  'helm.valuesObject password': canary('values'),
  'helm.parameters token': canary('param'),
};

/** Distinctive secret values other suites use; what they left until now is scanned too. */
const OTHER_SUITES = { "other suites' s3cret": 's3cret', "repocreds suite's e2e-token": 'e2e-token' };

/** Every needle: the value as is and base64-encoded (a logged Secret's `data` would show the latter). */
function needles(): Array<{ label: string; value: string }> {
  const all = { ...CANARIES, ...OTHER_SUITES };
  return Object.entries(all).flatMap(([label, value]) => [
    { label, value },
    { label: `${label} (base64)`, value: Buffer.from(value).toString('base64') },
  ]);
}

/** One place where a needle was found; never carries the value. */
interface Hit {
  where: string;
  label: string;
}

/** The hits in a text, with 1-based line numbers. */
function scanText(text: string, where: string): Hit[] {
  const hits: Hit[] = [];
  const list = needles();
  text.split('\n').forEach((line, i) => {
    for (const n of list)
      if (line.includes(n.value)) hits.push({ where: `${where} line ${i + 1}`, label: n.label });
  });
  return hits;
}

/** The hits in a JSON value, with the field path (`status.conditions[0].message`). */
function scanJson(value: unknown, where: string, at = ''): Hit[] {
  if (typeof value === 'string') {
    return needles()
      .filter((n) => value.includes(n.value))
      .map((n) => ({ where: `${where} ${at || '(value)'}`, label: n.label }));
  }
  if (Array.isArray(value)) return value.flatMap((v, i) => scanJson(v, where, `${at}[${i}]`));
  if (value && typeof value === 'object') {
    return Object.entries(value).flatMap(([k, v]) => scanJson(v, where, at ? `${at}.${k}` : k));
  }
  return [];
}

/** An Application's status without the copies of its own spec (see the file comment). */
function appStatusWithoutSpecCopies(app: AppObject): unknown {
  const status = structuredClone(app.status ?? {}) as Record<string, Record<string, unknown> | undefined>;
  const sync = status.sync as { comparedTo?: Record<string, unknown> } | undefined;
  if (sync?.comparedTo) sync.comparedTo = { ...sync.comparedTo, source: undefined, sources: undefined };
  const history = status.history as unknown as Array<Record<string, unknown>> | undefined;
  history?.forEach((h) => Object.assign(h, { source: undefined, sources: undefined }));
  const op = status.operationState as
    { operation?: unknown; syncResult?: Record<string, unknown> } | undefined;
  if (op) op.operation = undefined;
  if (op?.syncResult) op.syncResult = { ...op.syncResult, source: undefined, sources: undefined };
  return status;
}

/** Every object of a list path, all namespaces. */
async function list<T>(apiPath: string): Promise<T[]> {
  return (await kube().request<{ items: T[] }>('GET', apiPath)).items;
}

interface Scanned {
  metadata: { name: string; namespace?: string; annotations?: Record<string, string> };
  status?: unknown;
}

/** Scans the status and annotations of every object of a kind (what capstan writes there). */
async function scanKind(apiPath: string, kind: string): Promise<Hit[]> {
  return (await list<Scanned>(apiPath)).flatMap((o) => {
    const where = `${kind} ${o.metadata.namespace ? o.metadata.namespace + '/' : ''}${o.metadata.name}`;
    const status = kind === 'Application' ? appStatusWithoutSpecCopies(o as AppObject) : o.status;
    return [
      ...scanJson(status, where, 'status'),
      ...scanJson(o.metadata.annotations, where, 'metadata.annotations'),
    ];
  });
}

/** Scans every Event of the cluster (core and events.k8s.io, all namespaces), whole. */
async function scanEvents(): Promise<Hit[]> {
  const core = await list<Scanned & { reason?: string }>('/api/v1/events');
  const newer = await list<Scanned & { reason?: string }>('/apis/events.k8s.io/v1/events');
  return [...core, ...newer].flatMap((e) =>
    scanJson(e, `Event ${e.metadata.namespace ?? ''}/${e.metadata.name} (${e.reason ?? ''})`),
  );
}

/** A ServiceAccount in `ns` that may get the Secret `db` of `remote` (kubernetes provider). */
async function reader(ns: string, remote: string): Promise<void> {
  await kube().request('POST', `/api/v1/namespaces/${ns}/serviceaccounts`, {
    body: { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'reader', namespace: ns } },
  });
  const rbac = `/apis/rbac.authorization.k8s.io/v1/namespaces/${remote}`;
  await kube().request('POST', `${rbac}/roles`, {
    body: {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'Role',
      metadata: { name: 'secret-reader', namespace: remote },
      rules: [{ apiGroups: [''], resources: ['secrets'], verbs: ['get'], resourceNames: ['db'] }],
    },
  });
  await kube().request('POST', `${rbac}/rolebindings`, {
    body: {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name: 'secret-reader', namespace: remote },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'secret-reader' },
      subjects: [{ kind: 'ServiceAccount', name: 'reader', namespace: ns }],
    },
  });
}

/** Creates a repository Secret (Argo CD's labels) in capstan's namespace. */
async function repoSecret(
  name: string,
  type: 'repository' | 'repo-creds',
  values: Record<string, string>,
): Promise<void> {
  await createSecret(controllerNamespace(), name, values, {
    labels: { 'argocd.argoproj.io/secret-type': type },
  });
}

const hasComparisonError = (a: AppObject): boolean =>
  !!a.status?.conditions?.some((c) => c.type === 'ComparisonError');

/**
 * Waits for an Application; unlike lib.ts's waitForApp, a timeout shows only sync, health and the
 * condition types, since a status that leaks would otherwise print the value into the test output.
 */
async function waitForApp(
  ns: string,
  name: string,
  pred: (a: AppObject) => boolean,
  what: string,
): Promise<void> {
  let last: AppObject | undefined;
  await waitFor(
    async () => {
      last = await getApp(ns, name);
      return pred(last);
    },
    { timeoutMs: 90_000, what: `Application ${ns}/${name}: ${what}` },
  ).catch((err: unknown) => {
    const conditions = last?.status?.conditions?.map((c) => c.type).join(', ');
    const state = `sync ${last?.status?.sync?.status}, health ${last?.status?.health?.status}, conditions [${conditions}]`;
    throw new Error(`${(err as Error).message}; last: ${state}`);
  });
}

/** Waits for an ExternalSecret's or store's Ready status; a timeout shows its reason, not its message. */
async function waitForReady(apiPath: string, status: 'True' | 'False', reason?: string): Promise<void> {
  let last: EsObject | undefined;
  await waitFor(
    async () => {
      last = await read<EsObject>(apiPath);
      const ready = readyOf(last);
      return ready?.status === status && (!reason || ready.reason === reason);
    },
    { timeoutMs: 90_000, what: `${apiPath} Ready=${status}${reason ? ` (${reason})` : ''}` },
  ).catch((err: unknown) => {
    throw new Error(
      `${(err as Error).message}; last: Ready=${readyOf(last)?.status} (${readyOf(last)?.reason})`,
    );
  });
}

describe('no secret value in logs, events or status', () => {
  let git: GitServer;
  let http: HttpGitServer;
  const clusterStore = uniqueName('scan-cluster');
  // The scan's own project (Argo CD's permissive default plus sourceNamespaces), so that it does not
  // depend on how the run configured `default`.
  const project = uniqueName('secretscan');
  const projectPath = `/apis/argoproj.io/v1alpha1/namespaces/${controllerNamespace()}/appprojects`;
  before(async () => {
    await kube().request('POST', projectPath, {
      body: {
        apiVersion: 'argoproj.io/v1alpha1',
        kind: 'AppProject',
        metadata: { name: project, namespace: controllerNamespace() },
        spec: {
          sourceRepos: ['*'],
          destinations: [{ server: '*', namespace: '*' }],
          clusterResourceWhitelist: [{ group: '*', kind: '*' }],
          sourceNamespaces: ['*'],
        },
      },
    });
    git = await startGitServer();
    http = await startHttpGit({
      root: path.join(git.dir, 'repos'),
      username: 'deploy',
      password: CANARIES['repo-creds password'],
    });
  });
  after(async () => {
    await remove(clusterStorePath(clusterStore));
    await remove(`${projectPath}/${project}`);
    await http?.stop();
    await git?.stop();
  });

  test('ExternalSecret flows (fake, cluster fake, kubernetes), successful and failing', async () => {
    const ns = uniqueName('scan-es');
    const remote = uniqueName('scan-es-remote');
    for (const n of [ns, remote]) await createNamespace(n);
    await createSecretStore(ns, 'fake', {
      fake: {
        data: [
          { key: 'db', value: JSON.stringify({ password: CANARIES['fake SecretStore data'] }) },
          { key: 'raw', value: CANARIES['fake SecretStore non-JSON data'] },
        ],
      },
    });
    await createClusterSecretStore(clusterStore, {
      provider: { fake: { data: [{ key: 'db', value: CANARIES['fake ClusterSecretStore data'] }] } },
    });
    await createSecret(remote, 'db', { password: CANARIES['kubernetes provider source Secret'] });
    await reader(ns, remote);
    await createSecretStore(ns, 'remote', {
      kubernetes: { remoteNamespace: remote, auth: { serviceAccount: { name: 'reader' } } },
    });
    const ok = [
      {
        name: 'fake',
        store: { name: 'fake' },
        data: [{ secretKey: 'pw', remoteRef: { key: 'db', property: 'password' } }],
      },
      { name: 'raw', store: { name: 'fake' }, data: [{ secretKey: 'pw', remoteRef: { key: 'raw' } }] },
      {
        name: 'cluster',
        store: { name: clusterStore, kind: 'ClusterSecretStore' },
        data: [{ secretKey: 'pw', remoteRef: { key: 'db' } }],
      },
      {
        name: 'k8s',
        store: { name: 'remote' },
        data: [{ secretKey: 'pw', remoteRef: { key: 'db', property: 'password' } }],
      },
    ];
    const failing = [
      // A value that is not JSON, extracted or read by property: the parse error must not quote it.
      { name: 'raw-extract', store: { name: 'fake' }, dataFrom: [{ extract: { key: 'raw' } }] },
      {
        name: 'raw-property',
        store: { name: 'fake' },
        data: [{ secretKey: 'pw', remoteRef: { key: 'raw', property: 'x' } }],
      },
      // A missing property of a JSON value (the error may name keys, not the others' values).
      {
        name: 'fake-missing',
        store: { name: 'fake' },
        data: [{ secretKey: 'pw', remoteRef: { key: 'db', property: 'nope' } }],
      },
      {
        name: 'k8s-missing',
        store: { name: 'remote' },
        data: [{ secretKey: 'pw', remoteRef: { key: 'db', property: 'nope' } }],
      },
      // Templates that fail on the value: Handlebars' built-in `log` printed its argument to stdout
      // (capstan's log); helpers that reject a value must not quote it.
      ...['{{log pw}}', '{{ fromJson pw }}', '{{ b64dec pw }}'].map((tpl, i) => ({
        name: `tpl-${i}`,
        store: { name: 'fake' },
        data: [{ secretKey: 'pw', remoteRef: { key: 'raw' } }],
        target: { template: { engineVersion: 'handlebars', data: { out: tpl } } },
      })),
      // The same with Go templates (ESO's engine, the default): `fail` with a value as its message,
      // functions that reject the value, a comparison of the value with a number.
      ...[
        '{{ fail .pw }}',
        '{{ .pw | fromJson }}',
        '{{ .pw | b64dec }}',
        '{{ .pw | pkcs12key }}',
        '{{ eq .pw 1 }}',
      ].map((tpl, i) => ({
        name: `gotpl-${i}`,
        store: { name: 'fake' },
        data: [{ secretKey: 'pw', remoteRef: { key: 'raw' } }],
        target: { template: { data: { out: tpl } } },
      })),
      // A key the service account may not read (a provider error).
      {
        name: 'k8s-forbidden',
        store: { name: 'remote' },
        data: [{ secretKey: 'pw', remoteRef: { key: 'other' } }],
      },
    ];
    for (const es of [...ok, ...failing]) {
      await createExternalSecret(ns, es.name, {
        refreshInterval: '2s',
        secretStoreRef: es.store,
        ...('data' in es ? { data: es.data } : {}),
        ...('dataFrom' in es ? { dataFrom: es.dataFrom } : {}),
        ...('target' in es ? { target: es.target } : {}),
      });
    }
    for (const es of ok) await waitForReady(esPath(ns, es.name), 'True', 'SecretSynced');
    await assertSecretValues(ns, 'k8s', { pw: CANARIES['kubernetes provider source Secret'] });
    await assertSecretValues(ns, 'raw', { pw: CANARIES['fake SecretStore non-JSON data'] });
    for (const es of failing) await waitForReady(esPath(ns, es.name), 'False');
    await waitForReady(storePath(ns, 'remote'), 'True');
  });

  test('repository credentials: a repo-creds password that works, a wrong one, one in the URL', async () => {
    const ns = uniqueName('scan-repo');
    await createNamespace(ns);
    for (const r of ['good', 'bad', 'url'])
      await git.createRepo(`${ns}-${r}`, path.join(FIXTURES, 'apps-child'));
    const base = http.baseUrl;
    await repoSecret(`${ns}-creds`, 'repo-creds', {
      url: `${base}/${ns}-good`,
      username: 'deploy',
      password: CANARIES['repo-creds password'],
    });
    await repoSecret(`${ns}-bad`, 'repository', {
      url: `${base}/${ns}-bad.git`,
      username: 'deploy',
      password: CANARIES['repository Secret wrong password'],
    });
    // An unencoded @ and / in the password: a redaction that stopped at the first @ or / leaked the rest.
    const withUserinfo = base.replace(
      'http://',
      `http://deploy:p@ss/${CANARIES['password in a repository URL']}@`,
    );
    const spec = (repoURL: string) => ({
      project,
      source: { repoURL, targetRevision: 'main', path: '.' },
      destination: { server: 'https://kubernetes.default.svc', namespace: ns },
      syncPolicy: { automated: {} },
    });
    await createApp(ns, 'good', spec(`${base}/${ns}-good.git`));
    await createApp(ns, 'bad', spec(`${base}/${ns}-bad.git`));
    await createApp(ns, 'url', spec(`${withUserinfo}/${ns}-url.git`));
    await waitForApp(ns, 'good', (a) => a.status?.sync?.status === 'Synced', 'Synced with the repo-creds');
    await waitForApp(ns, 'bad', hasComparisonError, 'ComparisonError with the wrong password');
    await waitForApp(
      ns,
      'url',
      (a) =>
        !!a.status?.conditions?.some((c) => c.type === 'ComparisonError' || c.type === 'InvalidSpecError'),
      'an error condition for the URL with a password',
    );
  });

  test('Helm values given inline: valuesObject and parameters', async () => {
    const ns = uniqueName('scan-helm');
    await createNamespace(ns);
    const repo = await git.createRepo(ns, path.join(FIXTURES, 'secret-chart'));
    await createApp(ns, 'app', {
      project,
      source: {
        repoURL: repo.url,
        targetRevision: 'main',
        path: '.',
        helm: {
          valuesObject: { password: CANARIES['helm.valuesObject password'] },
          parameters: [{ name: 'token', value: CANARIES['helm.parameters token'] }],
        },
      },
      destination: { server: 'https://kubernetes.default.svc', namespace: ns },
      syncPolicy: { automated: {} },
    });
    await waitForApp(ns, 'app', (a) => a.status?.sync?.status === 'Synced', 'Synced');
    await assertSecretValues(ns, 'helm-credentials', {
      password: CANARIES['helm.valuesObject password'],
      token: CANARIES['helm.parameters token'],
    });
  });

  test('scan: capstan log, every Event, every status', async (t) => {
    const logPath = process.env.CAPSTAN_E2E_OPERATOR_LOG;
    assert.ok(logPath, 'CAPSTAN_E2E_OPERATOR_LOG is set by e2e/run.ts');
    const log = fs.readFileSync(logPath, 'utf8');
    const hits = [
      ...scanText(log, `capstan log ${logPath}`),
      ...(await scanEvents()),
      ...(await scanKind('/apis/argoproj.io/v1alpha1/applications', 'Application')),
      ...(await scanKind('/apis/external-secrets.io/v1/externalsecrets', 'ExternalSecret')),
      ...(await scanKind('/apis/external-secrets.io/v1/secretstores', 'SecretStore')),
      ...(await scanKind('/apis/external-secrets.io/v1/clustersecretstores', 'ClusterSecretStore')),
    ];
    t.diagnostic(
      `scanned ${log.split('\n').length} log lines, Events and statuses for ${needles().length} needles`,
    );
    assert.deepEqual(
      hits.map((h) => `${h.label}: ${h.where}`),
      [],
      'a secret value appears in these places (values not shown)',
    );
  });
});
