import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { KubeObject } from '../kube/object';
import { appProjection } from './appindex';

describe('appProjection', () => {
  it('keeps what the match reads and the resourceVersion; drops status, managedFields and the rest of spec', () => {
    const app = {
      apiVersion: 'argoproj.io/v1alpha1',
      kind: 'Application',
      metadata: {
        name: 'web',
        namespace: 'argocd',
        resourceVersion: '42',
        annotations: { 'argocd.argoproj.io/manifest-generate-paths': '.' },
        labels: { team: 'a' },
        managedFields: [{ manager: 'kubectl' }],
      },
      spec: {
        project: 'default',
        source: { repoURL: 'https://github.com/org/repo', targetRevision: 'main', path: 'web' },
        destination: { namespace: 'web' },
      },
      status: { resources: [{ kind: 'ConfigMap', name: 'x' }] },
    } as unknown as KubeObject;
    assert.deepEqual(appProjection(app), {
      apiVersion: 'argoproj.io/v1alpha1',
      kind: 'Application',
      metadata: {
        name: 'web',
        namespace: 'argocd',
        resourceVersion: '42',
        annotations: { 'argocd.argoproj.io/manifest-generate-paths': '.' },
      },
      spec: {
        source: { repoURL: 'https://github.com/org/repo', targetRevision: 'main', path: 'web' },
        sources: undefined,
      },
    });
  });
});
