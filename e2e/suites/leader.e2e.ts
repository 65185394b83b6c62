/**
 * Leader election on a real Lease: one elector leads, a second waits, and takes over once the first
 * stops renewing for the lease duration.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LeaderElector } from '../../operator/runtime/leader';
import { silentLogger } from '../../operator/log';
import { waitFor } from '../harness/wait';
import { createNamespace, getObject, kube, uniqueName } from './lib';

test('a second replica takes over the Lease only after the leader stops renewing', async () => {
  const ns = uniqueName('leader');
  await createNamespace(ns);
  const opts = { namespace: ns, name: 'capstan-leader', leaseDurationMs: 2000, renewIntervalMs: 300 };
  const first = new LeaderElector(kube(), silentLogger(), { ...opts, identity: 'first' });
  const second = new LeaderElector(kube(), silentLogger(), { ...opts, identity: 'second' });
  let firstLost = false;
  await first.acquire(() => (firstLost = true));
  let secondLeads = false;
  const waiting = second.acquire().then(() => (secondLeads = true));
  // Wait for a renewal made more than a lease duration after the second started: without renewals the
  // second would have taken the Lease by then.
  const leasePath = `/apis/coordination.k8s.io/v1/namespaces/${ns}/leases/capstan-leader`;
  const mustRenewAfter = Date.now() + opts.leaseDurationMs + 500;
  await waitFor(
    async () =>
      Date.parse(((await getObject(leasePath))?.spec as { renewTime?: string })?.renewTime ?? '') >
        mustRenewAfter || undefined,
    { timeoutMs: 20_000, what: 'the leader renewing past a lease duration' },
  );
  assert.equal(secondLeads, false, 'the second replica waits while the leader renews');
  const lease = await getObject(leasePath);
  assert.equal((lease?.spec as { holderIdentity: string }).holderIdentity, 'first');
  const stoppedAt = Date.now();
  first.stop();
  await waiting;
  const tookMs = Date.now() - stoppedAt;
  second.stop();
  assert.ok(tookMs >= 1000, `took over after the lease expired (${tookMs} ms)`);
  const after = await getObject(`/apis/coordination.k8s.io/v1/namespaces/${ns}/leases/capstan-leader`);
  assert.equal((after?.spec as { holderIdentity: string }).holderIdentity, 'second');
  assert.equal((after?.spec as { leaseTransitions: number }).leaseTransitions, 1);
  assert.equal(firstLost, false);
});
