import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KubeApiError, KubeClient, LeadershipLostError, RequestOptions } from '../kube/client';
import { silentLogger } from '../log';
import { LeaderElector, withinRenewDeadline } from './leader';

/** An in-memory Lease endpoint with resourceVersion conflicts (a fake for the elector's unit tests). */
class FakeLeases {
  lease?: {
    metadata: { name: string; namespace: string; resourceVersion: string };
    spec: Record<string, unknown>;
  };
  private rv = 0;
  fail = false;

  async request<T>(method: string, _path: string, opts: RequestOptions = {}): Promise<T> {
    if (this.fail) throw new KubeApiError(0, 'TransportError', 'connect ECONNREFUSED');
    const body = opts.body as { metadata: { resourceVersion?: string }; spec: Record<string, unknown> };
    if (method === 'GET') {
      if (!this.lease) throw new KubeApiError(404, 'NotFound', 'not found');
      return structuredClone(this.lease) as T;
    }
    if (method === 'POST' && this.lease) throw new KubeApiError(409, 'AlreadyExists', 'exists');
    if (method === 'PUT' && body.metadata.resourceVersion !== this.lease?.metadata.resourceVersion)
      throw new KubeApiError(409, 'Conflict', 'conflict');
    this.lease = {
      metadata: { name: 'capstan-leader', namespace: 'ns', resourceVersion: String(++this.rv) },
      spec: body.spec,
    };
    return this.lease as T;
  }

  /** Another replica's renewal at `at` ms. */
  takeOver(identity: string, at: number): void {
    this.lease = {
      metadata: { name: 'capstan-leader', namespace: 'ns', resourceVersion: String(++this.rv) },
      spec: { holderIdentity: identity, leaseDurationSeconds: 15, renewTime: new Date(at).toISOString() },
    };
  }
}

function elector(leases: FakeLeases, clock: { t: number }, identity = 'me') {
  return new LeaderElector(leases as unknown as KubeClient, silentLogger(), {
    namespace: 'ns',
    identity,
    leaseDurationMs: 15_000,
    renewIntervalMs: 5_000, // real time: the tests end (and stop it) before it fires
    now: () => clock.t,
  });
}

test('withinRenewDeadline: strictly younger than the deadline, never before a first renewal', () => {
  assert.equal(withinRenewDeadline(undefined, 0, 10_000), false);
  assert.equal(withinRenewDeadline(1000, 1000, 10_000), true);
  assert.equal(withinRenewDeadline(1000, 10_999, 10_000), true);
  assert.equal(withinRenewDeadline(1000, 11_000, 10_000), false);
});

test('the fence refuses writes before the Lease is held, without reporting a loss', () => {
  const e = elector(new FakeLeases(), { t: 1_000_000 });
  assert.throws(
    () => e.fence.check('PATCH', '/x'),
    (err: unknown) => err instanceof LeadershipLostError && /never held/.test(err.message),
  );
  assert.equal(e.isLeader(), false);
});

test('the fence passes within the renew deadline after the last renewal and latches shut after it', async () => {
  const clock = { t: 1_000_000 };
  const leases = new FakeLeases();
  const e = elector(leases, clock);
  let lost = 0;
  await e.acquire(() => lost++);
  try {
    // Default renew deadline: two thirds of the 15 s lease.
    clock.t += 9_999;
    e.fence.check('PATCH', '/apis/argoproj.io/v1alpha1/namespaces/a/applications/x/status');
    assert.equal(e.isLeader(), true);
    clock.t += 1;
    assert.throws(
      () => e.fence.check('PATCH', '/apis/argoproj.io/v1alpha1/namespaces/a/applications/x/status'),
      (err: unknown) =>
        err instanceof LeadershipLostError &&
        /Leadership lost: the leader Lease was last renewed 10\.0s ago, past the 10\.0s renew deadline; refusing PATCH/.test(
          err.message,
        ),
    );
    assert.equal(lost, 1, 'the first refused write reports the loss');
    assert.throws(() => e.fence.check('DELETE', '/x'), LeadershipLostError);
    assert.equal(lost, 1, 'reported once');
    // Even if the Lease could be renewed again now, a lost leader stays fenced.
    clock.t = 1_000_000;
    assert.throws(() => e.fence.check('POST', '/x'), LeadershipLostError);
    assert.equal(e.isLeader(), false);
  } finally {
    e.stop();
  }
});

test('a paused leader resumed after another replica took over never writes, even once', async () => {
  const clock = { t: 1_000_000 };
  const leases = new FakeLeases();
  const old = elector(leases, clock, 'old');
  let lost = 0;
  await old.acquire(() => lost++);
  try {
    old.fence.check('PUT', '/x'); // leading
    // SIGSTOP for 20 s: the lease expires (15 s) and another replica takes it.
    clock.t += 20_000;
    leases.takeOver('new', clock.t - 1000);
    // SIGCONT: the first thing the old process tries is a write of its in-flight sync.
    assert.throws(
      () => old.fence.check('PATCH', '/apis/apps/v1/namespaces/a/deployments/web'),
      LeadershipLostError,
    );
    assert.equal(lost, 1);
  } finally {
    old.stop();
  }
});

test('the renew deadline counts from the renewTime written, and a renewal moves it', async () => {
  const clock = { t: 1_000_000 };
  const leases = new FakeLeases();
  const e = elector(leases, clock);
  await e.acquire(() => assert.fail('not lost'));
  try {
    clock.t += 5_000;
    // One renewal round through the private method the interval timer calls.
    const renew = (e as unknown as { tryAcquireOrRenew(): Promise<boolean> }).tryAcquireOrRenew.bind(e);
    assert.equal(await renew(), true);
    clock.t += 9_000; // 14 s after acquiring, 9 s after renewing
    e.fence.check('PATCH', '/x');
    // A failing renewal does not extend it.
    leases.fail = true;
    await assert.rejects(renew());
    clock.t += 1_000;
    assert.equal(e.isLeader(), false);
  } finally {
    e.stop();
  }
});

test('a renew deadline or renew interval that leaves no margin is refused', () => {
  const mk = (o: object) =>
    new LeaderElector(new FakeLeases() as unknown as KubeClient, silentLogger(), {
      namespace: 'ns',
      leaseDurationMs: 3000,
      ...o,
    });
  assert.throws(() => mk({ renewDeadlineMs: 3000 }), /must be below leaseDurationMs/);
  assert.throws(
    () => mk({ renewIntervalMs: 2000 }),
    /renew interval \(2000 ms\) must be below the renew deadline/,
  );
  mk({ renewIntervalMs: 500 });
});

test('a standby judges expiry by its own clock since the record last changed, so clock skew cannot make it take over early', async () => {
  const leases = new FakeLeases();
  const leaderClock = { t: 1_000_000 };
  const leader = elector(leases, leaderClock, 'leader');
  await leader.acquire(() => undefined);
  leader.stop(); // the test renews by hand
  // The standby's clock runs 60 s ahead: by renewTime arithmetic the Lease looks long expired.
  const standbyClock = { t: leaderClock.t + 60_000 };
  const standby = elector(leases, standbyClock, 'standby');
  const attempt = (standby as unknown as { tryAcquireOrRenew(): Promise<boolean> }).tryAcquireOrRenew.bind(
    standby,
  );
  const renew = (leader as unknown as { tryAcquireOrRenew(): Promise<boolean> }).tryAcquireOrRenew.bind(
    leader,
  );
  assert.equal(await attempt(), false, 'first sight of the record: not expired');
  for (let i = 0; i < 5; i++) {
    leaderClock.t += 5_000;
    standbyClock.t += 5_000;
    assert.equal(await renew(), true);
    assert.equal(await attempt(), false, 'the leader renews: never expired');
  }
  // The leader stops renewing: the standby takes over only a full lease duration after it last saw a change.
  standbyClock.t += 15_000;
  assert.equal(await attempt(), false);
  standbyClock.t += 1;
  assert.equal(await attempt(), true);
  assert.equal((leases.lease?.spec as { holderIdentity: string }).holderIdentity, 'standby');
  // By then the old leader's own fence has long closed (10 s renew deadline < 15 s).
  leaderClock.t += 15_001;
  assert.throws(() => leader.fence.check('PATCH', '/x'), LeadershipLostError);
  standby.stop();
});

test('release (clean shutdown): the fence shuts before the drain, the Lease is handed over, a standby takes it at once', async () => {
  const clock = { t: 1_000_000 };
  const leases = new FakeLeases();
  const leader = elector(leases, clock, 'old');
  let lost = 0;
  await leader.acquire(() => lost++);
  const standby = elector(leases, clock, 'new');
  let fenceShutDuringDrain = false;
  const released = await leader.release(async () => {
    try {
      leader.fence.check('PATCH', '/x');
    } catch (err) {
      fenceShutDuringDrain = err instanceof LeadershipLostError && /released for shutdown/.test(err.message);
    }
    return 0;
  });
  assert.equal(released, true);
  assert.ok(fenceShutDuringDrain, 'no write of the old leader passes once the release began');
  assert.equal(leases.lease?.spec.holderIdentity, '');
  assert.equal(leases.lease?.spec.leaseDurationSeconds, 1);
  assert.equal(lost, 0, 'a release is not a loss (no exit code 1)');
  assert.equal(leader.isLeader(), false);
  // The standby's first attempt takes the released Lease, with no lease duration to wait out.
  await standby.acquire(() => undefined);
  try {
    assert.equal(leases.lease?.spec.holderIdentity, 'new');
    assert.equal(standby.isLeader(), true);
  } finally {
    standby.stop();
  }
});

test('release by a replica that does not hold the Lease writes nothing', async () => {
  const clock = { t: 1_000_000 };
  const leases = new FakeLeases();
  leases.takeOver('other', clock.t);
  const rv = leases.lease?.metadata.resourceVersion;
  const e = elector(leases, clock, 'me');
  let drained = false;
  assert.equal(
    await e.release(async () => {
      drained = true;
      return 0;
    }),
    false,
  );
  assert.equal(drained, false);
  assert.equal(leases.lease?.metadata.resourceVersion, rv, 'the Lease is untouched');
  assert.equal(leases.lease?.spec.holderIdentity, 'other');
});
