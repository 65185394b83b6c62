import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DestinationServiceAccount, serviceAccountToImpersonate } from './serviceaccounts';

const SERVER = 'https://cluster-api.example.com';

/** The cases of Argo CD's TestDeriveServiceAccountToImpersonate (util/settings), plus capstan's own. */
const cases: Array<{
  name: string;
  entries: DestinationServiceAccount[] | undefined;
  app?: { namespace: string; destinationNamespace?: string };
  want?: string;
  error?: RegExp;
}> = [
  {
    name: 'matching server and namespace',
    entries: [{ server: SERVER, namespace: 'dest-ns', defaultServiceAccount: 'test-sa' }],
    want: 'system:serviceaccount:dest-ns:test-sa',
  },
  {
    name: 'glob patterns',
    entries: [{ server: '*', namespace: '*', defaultServiceAccount: 'test-sa' }],
    app: { namespace: 'argocd', destinationNamespace: 'any-ns' },
    want: 'system:serviceaccount:any-ns:test-sa',
  },
  {
    name: 'service account with its namespace',
    entries: [{ server: SERVER, namespace: 'dest-ns', defaultServiceAccount: 'other-ns:deploy-sa' }],
    want: 'system:serviceaccount:other-ns:deploy-sa',
  },
  {
    name: "empty destination namespace: the Application's namespace",
    entries: [{ server: '*', namespace: '', defaultServiceAccount: 'test-sa' }],
    app: { namespace: 'app-ns', destinationNamespace: '' },
    want: 'system:serviceaccount:app-ns:test-sa',
  },
  {
    name: 'no matching entry',
    entries: [
      { server: 'https://other-server.com', namespace: 'other-ns', defaultServiceAccount: 'test-sa' },
    ],
    error:
      /no matching service account found for destination server https:\/\/cluster-api.example.com and namespace dest-ns$/,
  },
  { name: 'empty list', entries: [], error: /no matching service account found/ },
  { name: 'no field at all', entries: undefined, error: /no matching service account found/ },
  {
    name: 'invalid characters',
    entries: [{ server: '*', namespace: '*', defaultServiceAccount: 'bad*sa' }],
    error: /default service account contains invalid chars 'bad\*sa'/,
  },
  {
    name: 'blank service account',
    entries: [{ server: '*', namespace: '*', defaultServiceAccount: '  ' }],
    error: /default service account contains invalid chars/,
  },
  {
    name: 'a slash is refused',
    entries: [{ server: '*', namespace: '*', defaultServiceAccount: 'ns/sa' }],
    error: /default service account contains invalid chars/,
  },
  {
    name: 'malformed server glob',
    entries: [{ server: '[', namespace: 'dest-ns', defaultServiceAccount: 'test-sa' }],
    error: /invalid glob pattern for destination server/,
  },
  {
    name: 'malformed namespace glob',
    entries: [{ server: '*', namespace: '[', defaultServiceAccount: 'test-sa' }],
    error: /invalid glob pattern for destination namespace/,
  },
  {
    name: 'first match wins',
    entries: [
      { server: '*', namespace: 'dest-ns', defaultServiceAccount: 'first-sa' },
      { server: '*', namespace: '*', defaultServiceAccount: 'second-sa' },
    ],
    want: 'system:serviceaccount:dest-ns:first-sa',
  },
  {
    name: 'a later catch-all is used when the first does not match',
    entries: [
      { server: '*', namespace: 'team-a', defaultServiceAccount: 'a-deployer' },
      { server: '*', namespace: '*', defaultServiceAccount: 'default' },
    ],
    want: 'system:serviceaccount:dest-ns:default',
  },
  {
    name: 'namespace globs: team-*',
    entries: [{ server: SERVER, namespace: 'dest-*', defaultServiceAccount: 'deployer' }],
    want: 'system:serviceaccount:dest-ns:deployer',
  },
  {
    name: 'an invalid Kubernetes name is refused, not sent as a header',
    entries: [{ server: '*', namespace: '*', defaultServiceAccount: 'ns:Bad_Name' }],
    error: /default service account 'ns:Bad_Name': service account name "Bad_Name" is not a valid/,
  },
];

describe('serviceAccountToImpersonate (Argo CD DeriveServiceAccountToImpersonate)', () => {
  for (const c of cases) {
    it(c.name, () => {
      const app = c.app ?? { namespace: 'argocd', destinationNamespace: 'dest-ns' };
      if (c.error) assert.throws(() => serviceAccountToImpersonate(c.entries, app, SERVER), c.error);
      else assert.equal(serviceAccountToImpersonate(c.entries, app, SERVER), c.want);
    });
  }
});
