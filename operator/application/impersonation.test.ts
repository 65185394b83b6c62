import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ImpersonationError, impersonatedUser } from './impersonation';
import type { ApplicationContext } from './context';
import type { App } from './api';

const app = (destNs?: string): Pick<App, 'metadata' | 'spec'> =>
  ({
    metadata: { name: 'guestbook', namespace: 'argocd' },
    spec: {
      project: 'team-a',
      destination: { server: 'https://kubernetes.default.svc', namespace: destNs },
    },
  }) as unknown as App;

function ctx(
  impersonation: boolean,
  projectSpec?: object,
): Pick<ApplicationContext, 'settings' | 'projects'> {
  return {
    settings: { impersonation } as ApplicationContext['settings'],
    projects: {
      get: (name: string) =>
        projectSpec && name === 'team-a' ? { metadata: { name }, spec: projectSpec } : undefined,
    } as unknown as ApplicationContext['projects'],
  };
}

describe('impersonatedUser', () => {
  it('is undefined with --impersonation off, whatever the project says', () => {
    const spec = {
      destinationServiceAccounts: [{ server: '*', namespace: '*', defaultServiceAccount: 'sa' }],
    };
    assert.equal(impersonatedUser(ctx(false, spec), app('team-a')), undefined);
  });

  it("is the project's matching service account, in the destination namespace", () => {
    const spec = {
      destinationServiceAccounts: [
        { server: 'https://kubernetes.default.svc', namespace: 'team-a', defaultServiceAccount: 'deployer' },
        { server: '*', namespace: '*', defaultServiceAccount: 'ops:fallback' },
      ],
    };
    assert.equal(impersonatedUser(ctx(true, spec), app('team-a')), 'system:serviceaccount:team-a:deployer');
    assert.equal(impersonatedUser(ctx(true, spec), app('team-b')), 'system:serviceaccount:ops:fallback');
  });

  it("fails with Argo CD's message when nothing matches or the project is missing (no fallback to capstan)", () => {
    const spec = {
      destinationServiceAccounts: [{ server: '*', namespace: 'team-b', defaultServiceAccount: 'sa' }],
    };
    for (const c of [ctx(true, spec), ctx(true, {}), ctx(true)]) {
      assert.throws(
        () => impersonatedUser(c, app('team-a')),
        (err: unknown) =>
          err instanceof ImpersonationError &&
          err.message ===
            'failed to find a matching service account to impersonate: no matching service account found for destination server https://kubernetes.default.svc and namespace team-a',
      );
    }
  });
});
