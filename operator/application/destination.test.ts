import { test } from 'node:test';
import assert from 'node:assert/strict';
import { destinationProblem } from './destination';

test('the in-cluster destination by server or by name is accepted', () => {
  assert.equal(destinationProblem({ server: 'https://kubernetes.default.svc' }), undefined);
  assert.equal(destinationProblem({ server: 'https://kubernetes.default.svc/' }), undefined);
  assert.equal(destinationProblem({ name: 'in-cluster' }), undefined);
});

test('other clusters and ambiguous destinations are refused with Argo CD messages', () => {
  assert.match(destinationProblem({ server: 'https://10.0.0.1:6443' }) ?? '', /no clusters with this URL/);
  assert.match(destinationProblem({ name: 'prod' }) ?? '', /no clusters with this name: prod/);
  assert.match(
    destinationProblem({ name: 'in-cluster', server: 'https://kubernetes.default.svc' }) ?? '',
    /both name and server/,
  );
});
