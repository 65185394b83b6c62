/** The remote-input flags of `parseConfig`: value file schemes, kustomize remotes and Helm, local repos. */
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { parseConfig } from './config';

const ENV = [
  'CAPSTAN_HELM_VALUES_FILE_SCHEMES',
  'CAPSTAN_KUSTOMIZE_ALLOW_REMOTE',
  'CAPSTAN_KUSTOMIZE_ENABLE_HELM',
  'CAPSTAN_ALLOW_LOCAL_REPOS',
];

function remoteFlags(argv: string[]) {
  const c = parseConfig(argv);
  return {
    schemes: c.helmValuesFileSchemes,
    allowRemote: c.kustomizeAllowRemote,
    enableHelm: c.kustomizeEnableHelm,
    allowLocal: c.allowLocalRepos,
  };
}

describe('remote input flags', () => {
  const saved = Object.fromEntries(ENV.map((k) => [k, process.env[k]]));
  afterEach(() => {
    for (const k of ENV) {
      if (saved[k] === undefined) delete process.env[k];
      else process.env[k] = saved[k];
    }
  });

  it("default to Argo CD's value file schemes and nothing else remote or local", () => {
    for (const k of ENV) delete process.env[k];
    assert.deepEqual(remoteFlags([]), {
      schemes: ['https', 'http'],
      allowRemote: false,
      enableHelm: false,
      allowLocal: false,
    });
  });

  it('take flags; an empty scheme list allows none; schemes are trimmed and lower-cased', () => {
    assert.deepEqual(
      remoteFlags([
        '--helm-values-file-schemes=',
        '--kustomize-allow-remote',
        '--kustomize-enable-helm',
        '--allow-local-repos',
      ]),
      { schemes: [], allowRemote: true, enableHelm: true, allowLocal: true },
    );
    assert.deepEqual(remoteFlags(['--helm-values-file-schemes', 'HTTPS, s3']).schemes, ['https', 's3']);
  });

  it('fall back to the environment', () => {
    process.env.CAPSTAN_HELM_VALUES_FILE_SCHEMES = '';
    process.env.CAPSTAN_KUSTOMIZE_ALLOW_REMOTE = 'true';
    process.env.CAPSTAN_KUSTOMIZE_ENABLE_HELM = 'false';
    process.env.CAPSTAN_ALLOW_LOCAL_REPOS = 'true';
    assert.deepEqual(remoteFlags([]), {
      schemes: [],
      allowRemote: true,
      enableHelm: false,
      allowLocal: true,
    });
  });
});
