import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { KubeApiError } from '../kube/client';
import { chartCredentials, hostCertificates } from './chartsource';
import type { ApplicationContext } from './context';

/** A context whose Secret lookup knows `secrets` by URL and whose API serves `configMap` (or 404). */
function fakeCtx(
  secrets: Record<string, { username: string }>,
  configMap?: Record<string, string>,
  ns = `ns-${Math.random()}`,
): Pick<ApplicationContext, 'repoCreds' | 'client' | 'settings'> {
  return {
    repoCreds: { lookup: async (url: string) => secrets[url] } as unknown as ApplicationContext['repoCreds'],
    client: {
      request: async (_method: string, path: string) => {
        assert.equal(path, `/api/v1/namespaces/${encodeURIComponent(ns)}/configmaps/argocd-tls-certs-cm`);
        if (!configMap) throw new KubeApiError(404, 'NotFound', 'not found');
        return { data: configMap };
      },
    } as unknown as ApplicationContext['client'],
    settings: { controllerNamespace: ns } as ApplicationContext['settings'],
  };
}

describe('chart credentials', () => {
  test('oci:// finds a Secret written without the prefix (enableOCI form); an exact one wins', async () => {
    const ctx = fakeCtx({ 'reg.io/charts': { username: 'bare' } });
    assert.deepEqual(await chartCredentials(ctx, 'oci://reg.io/charts', 'p'), { username: 'bare' });
    const both = fakeCtx({
      'reg.io/charts': { username: 'bare' },
      'oci://reg.io/charts': { username: 'oci' },
    });
    assert.deepEqual(await chartCredentials(both, 'oci://reg.io/charts', 'p'), { username: 'oci' });
    assert.equal(await chartCredentials(ctx, 'https://other.io', 'p'), undefined);
  });

  test('CA certificates come from argocd-tls-certs-cm by host name; a missing ConfigMap is none', async () => {
    const ctx = fakeCtx({}, { 'charts.example.com': 'PEM\n' });
    assert.equal(await hostCertificates(ctx, 'https://charts.example.com:8443/stable'), 'PEM');
    assert.equal(await hostCertificates(ctx, 'oci://other.example.com/x'), undefined);
    assert.deepEqual(await chartCredentials(ctx, 'https://Charts.Example.com/x', 'p'), { caData: 'PEM' });
    assert.equal(await hostCertificates(fakeCtx({}), 'https://charts.example.com'), undefined);
  });
});
