import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { App } from './api';
import { unsupportedSpecProblems } from './unsupported';

function app(spec: Record<string, unknown>): App {
  return {
    apiVersion: 'argoproj.io/v1alpha1',
    kind: 'Application',
    metadata: { name: 'a', namespace: 'argocd' },
    spec: { project: 'default', destination: { namespace: 'x' }, ...spec },
  } as unknown as App;
}

const source = { repoURL: 'https://git.example.com/r.git', path: 'p' };

describe('unsupportedSpecProblems', () => {
  it('is empty for an app without unsupported fields', () => {
    assert.deepEqual(unsupportedSpecProblems(app({ source })), []);
  });

  it('names spec.sourceHydrator', () => {
    const problems = unsupportedSpecProblems(
      app({
        sourceHydrator: {
          drySource: { repoURL: source.repoURL, targetRevision: 'main', path: 'dry' },
          syncSource: { targetBranch: 'env/prod', path: 'app' },
        },
      }),
    );
    assert.equal(problems.length, 1);
    assert.match(problems[0], /^spec\.sourceHydrator is not supported by capstan yet: .*nothing is applied/);
  });

  it('names tagPrefix on the source or the source position', () => {
    assert.match(
      unsupportedSpecProblems(app({ source: { ...source, tagPrefix: 'v' } }))[0],
      /^spec\.source\.tagPrefix /,
    );
    const multi = app({ sources: [source, { ...source, tagPrefix: 'app-b/', targetRevision: '1.0.*' }] });
    assert.match(unsupportedSpecProblems(multi)[0], /^spec\.sources\[1\]\.tagPrefix .*semver/);
  });
});
