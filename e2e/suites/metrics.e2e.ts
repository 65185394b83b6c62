/**
 * Metrics and logs as users read them (issue 9 §5), on a private control plane with its own capstan
 * serving `/metrics` on a free port: after an automated sync of a git app and a refresh of an
 * ExternalSecret of the fake provider, one scrape shows the anchors' metrics under capstan's prefix with
 * the anchors' labels and values (argocd_app_info, argocd_app_sync_total, argocd_git_request_*,
 * argocd_app_reconcile; ESO's externalsecret_sync_calls_total and externalsecret_status_condition;
 * controller-runtime's workqueue_*). capstan's log goes to a file (not a terminal): it holds no ANSI
 * colour codes, and the sync's line carries app, revision and durationMs.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { freePorts } from '../harness/process';
import { waitFor } from '../harness/wait';
import type { GitRepo } from '../harness/gitserver';
import { FaultEnv, createAppOn, createNamespaceOn, startFaultEnv, waitForAppsOn } from './faults-lib';
import { FIXTURES, type AppObject } from './lib';

const NS = 'metrics-apps';
const DEST = 'metrics-dest';
const ES_NS = 'metrics-es';
const ES_API = '/apis/external-secrets.io/v1';

let env: FaultEnv;
let port: number;
let repo: GitRepo;

/** One sample of the Prometheus text format: name, labels, value. */
interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Parses the Prometheus text exposition format (label values without escaped quotes suffice here). */
function parse(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)) labels[l[1]] = l[2];
    samples.push({ name: m[1], labels, value: Number(m[3]) });
  }
  return samples;
}

async function scrape(): Promise<Sample[]> {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`);
  assert.equal(res.status, 200);
  return parse(await res.text());
}

/** The samples named `name` whose labels include `labels`. */
function find(samples: Sample[], name: string, labels: Record<string, string> = {}): Sample[] {
  return samples.filter(
    (s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v),
  );
}

/** Waits until a scrape has a sample `name` with `labels` whose value satisfies `ok`; returns the scrape. */
async function waitForSample(
  name: string,
  labels: Record<string, string>,
  ok: (v: number) => boolean = (v) => v >= 1,
): Promise<Sample[]> {
  let last: Sample[] = [];
  try {
    return await waitFor(
      async () => {
        last = await scrape();
        return find(last, name, labels).some((s) => ok(s.value)) ? last : undefined;
      },
      { timeoutMs: 30_000, what: `${name}${JSON.stringify(labels)} on /metrics` },
    );
  } catch (err) {
    const seen = last.filter((s) => s.name === name).map((s) => JSON.stringify(s));
    throw new Error(`${(err as Error).message}\nseen: ${seen.join('\n') || '(none)'}`);
  }
}

before(async () => {
  [port] = await freePorts(1);
  env = await startFaultEnv({ operatorArgs: ['--metrics-port', String(port)] });
  repo = await env.git.createRepo('metrics', path.join(FIXTURES, 'plain'));
  await createNamespaceOn(env.kube, NS);
  await createNamespaceOn(env.kube, DEST);
  await createNamespaceOn(env.kube, ES_NS);
});

after(async () => {
  await env?.stop();
});

describe('metrics and logs after a sync', () => {
  test('the Application metrics mirror Argo CD: app_info, app_sync_total, git requests, app_reconcile, workqueue', async () => {
    await createAppOn(env.kube, NS, 'web', {
      project: 'default',
      source: { repoURL: repo.url, targetRevision: 'main', path: '.' },
      destination: { server: 'https://kubernetes.default.svc', namespace: DEST },
      syncPolicy: { automated: { prune: true } },
    });
    const sha = await repo.headSha();
    await waitForAppsOn(
      env.kube,
      NS,
      ['web'],
      (a: AppObject) =>
        a.status?.sync?.status === 'Synced' &&
        a.status.health?.status === 'Healthy' &&
        a.status.operationState?.phase === 'Succeeded',
      { what: 'Synced, Healthy, operation Succeeded', timeoutMs: 60_000 },
    );

    // argocd_app_info: the status the app has now (the watch saw the status write).
    const samples = await waitForSample('capstan_app_info', {
      namespace: NS,
      name: 'web',
      sync_status: 'Synced',
      health_status: 'Healthy',
    });
    assert.deepEqual(find(samples, 'capstan_app_info', { name: 'web' })[0].labels, {
      namespace: NS,
      name: 'web',
      project: 'default',
      autosync_enabled: 'true',
      repo: repo.url,
      dest_server: 'https://kubernetes.default.svc',
      dest_namespace: DEST,
      sync_status: 'Synced',
      health_status: 'Healthy',
    });
    assert.equal(find(samples, 'capstan_app_info', { name: 'web' }).length, 1, 'one series per app');

    // argocd_app_sync_total: exactly the one operation that ran, Succeeded.
    const syncs = find(samples, 'capstan_app_sync_total', { namespace: NS, name: 'web' });
    assert.deepEqual(
      syncs.map((s) => [s.labels.phase, s.value]),
      [['Succeeded', 1]],
    );

    // argocd_git_request_total and _duration_seconds: the listing that resolved main and the fetch of it.
    for (const type of ['ls-remote', 'fetch']) {
      const labels = { repo: repo.url, request_type: type };
      assert.ok(find(samples, 'capstan_git_request_total', labels)[0]?.value >= 1, `${type} counted`);
      const count = find(samples, 'capstan_git_request_duration_seconds_count', labels)[0]?.value;
      assert.equal(count, find(samples, 'capstan_git_request_total', labels)[0].value, `${type} timed`);
    }

    // argocd_app_reconcile: every reconcile of the app observed under its namespace and destination.
    const reconciles = find(samples, 'capstan_app_reconcile_count', {
      namespace: NS,
      dest_server: 'https://kubernetes.default.svc',
    });
    assert.ok(reconciles[0]?.value >= 1, 'app reconciles observed');

    // controller-runtime's workqueue metrics, by operator.
    assert.ok(find(samples, 'capstan_workqueue_adds_total', { name: 'application' })[0]?.value >= 1);
    assert.equal(find(samples, 'capstan_workqueue_depth', { name: 'application' }).length, 1);
    assert.ok(
      find(samples, 'capstan_workqueue_queue_duration_seconds_count', { name: 'application' })[0]?.value >= 1,
    );

    // The log went to a file: no colour codes, and the sync's line has app, revision and durationMs.
    const log = fs.readFileSync(env.logPath, 'utf8');
    assert.ok(!log.includes('\u001b['), 'ANSI escape codes in a log that is not a terminal');
    const line = log.split('\n').find((l) => l.includes('Sync succeeded') && l.includes(`"app":"${NS}/web"`));
    assert.ok(line, 'a "Sync succeeded" line for the app');
    assert.match(line, new RegExp(`"revision":"${sha}"`));
    assert.match(line, /"durationMs":\d+/);
  });

  test('the ExternalSecret metrics mirror ESO: sync_calls_total and status_condition', async () => {
    await env.kube.request('POST', `${ES_API}/namespaces/${ES_NS}/secretstores`, {
      body: {
        apiVersion: 'external-secrets.io/v1',
        kind: 'SecretStore',
        metadata: { name: 'fake', namespace: ES_NS },
        spec: { provider: { fake: { data: [{ key: 'api-key', value: 'not-logged' }] } } },
      },
    });
    await env.kube.request('POST', `${ES_API}/namespaces/${ES_NS}/externalsecrets`, {
      body: {
        apiVersion: 'external-secrets.io/v1',
        kind: 'ExternalSecret',
        metadata: { name: 'api', namespace: ES_NS },
        spec: {
          refreshInterval: '1h',
          secretStoreRef: { name: 'fake', kind: 'SecretStore' },
          data: [{ secretKey: 'key', remoteRef: { key: 'api-key' } }],
        },
      },
    });
    const samples = await waitForSample('capstan_externalsecret_status_condition', {
      namespace: ES_NS,
      name: 'api',
      condition: 'Ready',
      status: 'True',
    });
    assert.equal(
      find(samples, 'capstan_externalsecret_status_condition', {
        namespace: ES_NS,
        name: 'api',
        condition: 'Ready',
        status: 'False',
      })[0]?.value,
      0,
    );
    const calls = find(samples, 'capstan_externalsecret_sync_calls_total', { namespace: ES_NS, name: 'api' });
    assert.ok(calls[0]?.value >= 1, 'reconciles counted');
    assert.equal(
      find(samples, 'capstan_externalsecret_sync_calls_error', { namespace: ES_NS, name: 'api' }).length,
      0,
      'no failed reconcile',
    );
    assert.ok(find(samples, 'capstan_workqueue_adds_total', { name: 'externalsecret' })[0]?.value >= 1);
  });
});
