/**
 * Leader election on a `coordination.k8s.io/v1` Lease, as client-go's leaderelection does: one
 * replica holds the Lease and runs the operators; the others wait and take over when the holder stops
 * renewing for `leaseDurationMs`. A leader that cannot renew within the renew deadline exits, so that
 * two replicas never reconcile at once (Kubernetes restarts it and it queues up as a candidate again).
 *
 * "The old leader stops writing" is a guarantee, not a race between its renew timer and its work:
 * {@link LeaderElector.fence} is installed as the KubeClient's write fence, and every mutating request
 * first checks that the last successful renewal (the renewTime this replica wrote) is younger than the
 * renew deadline, i.e. the lease duration minus a safety margin. A candidate takes over only once the
 * full lease duration has passed, on its own clock, since it last saw the Lease change (after that
 * renewal was written), so the old leader's last write precedes the takeover by at least the margin,
 * whatever the skew between the two clocks. A leader paused (SIGSTOP, a long GC, a frozen VM) and resumed
 * after a takeover finds its renewal too old on the clock and never writes again, even once. The one
 * window left is a pause longer than the margin between the check and the bytes leaving the socket;
 * the check is made synchronously right before the request is created to keep it to microseconds.
 */
import os from 'node:os';
import { KubeClient, LeadershipLostError, WriteFence, isConflict, isNotFound } from '../kube/client';
import { Logger } from '../log';

/** Options of {@link LeaderElector}. */
export interface LeaderElectionOptions {
  namespace: string;
  /** Lease name (default `capstan-leader`). */
  name?: string;
  /** This replica's identity (default hostname_pid). */
  identity?: string;
  /** How long a Lease is valid without renewal, in ms (default 15 s). */
  leaseDurationMs?: number;
  /** Renew interval, in ms (default 5 s). */
  renewIntervalMs?: number;
  /**
   * How long after its last successful renewal the leader still writes, in ms (default two thirds of
   * the lease duration, as client-go's 10 s renew deadline for a 15 s lease). Must be below
   * `leaseDurationMs`: the difference is the safety margin against a takeover.
   */
  renewDeadlineMs?: number;
  /** The clock, in ms since the epoch (default Date.now); tests inject one. */
  now?: () => number;
}

/**
 * True while a leader may still write: its last successful renewal, at `lastRenewAt` (ms), is younger
 * than `renewDeadlineMs` at `now` (ms). False before the first renewal.
 */
export function withinRenewDeadline(
  lastRenewAt: number | undefined,
  now: number,
  renewDeadlineMs: number,
): boolean {
  return lastRenewAt !== undefined && now - lastRenewAt < renewDeadlineMs;
}

interface Lease {
  metadata: { name: string; namespace: string; resourceVersion?: string };
  spec?: {
    holderIdentity?: string;
    leaseDurationSeconds?: number;
    renewTime?: string;
    acquireTime?: string;
    leaseTransitions?: number;
  };
}

/** Microsecond RFC 3339 time, as the Lease API's MicroTime wants. */
const microTime = (ms: number) => new Date(ms).toISOString().replace('Z', '000Z');

/** Acquires and keeps a Lease. */
export class LeaderElector {
  private readonly name: string;
  private readonly identity: string;
  private readonly leaseDurationMs: number;
  private readonly renewIntervalMs: number;
  private readonly renewDeadlineMs: number;
  private readonly now: () => number;
  private timer?: NodeJS.Timeout;
  /** The renewTime (ms) of this replica's last successful create/renew of the Lease. */
  private lastRenewAt?: number;
  private lost = false;
  /** Set by {@link release}: the fence is shut for good, without reporting a loss. */
  private released = false;
  /** The other holder's Lease record last seen, and when (this clock), for {@link expired}. */
  private observed?: { record: string; at: number };
  private renewing = false;
  private onLost: () => void = () => process.exit(1);

  constructor(
    private readonly client: KubeClient,
    private readonly log: Logger,
    private readonly opts: LeaderElectionOptions,
  ) {
    this.name = opts.name ?? 'capstan-leader';
    this.identity = opts.identity ?? `${os.hostname()}_${process.pid}`;
    this.leaseDurationMs = opts.leaseDurationMs ?? 15_000;
    this.renewIntervalMs = opts.renewIntervalMs ?? 5_000;
    this.renewDeadlineMs = opts.renewDeadlineMs ?? Math.round((this.leaseDurationMs * 2) / 3);
    if (this.renewDeadlineMs >= this.leaseDurationMs)
      throw new Error(
        `renewDeadlineMs (${this.renewDeadlineMs}) must be below leaseDurationMs (${this.leaseDurationMs})`,
      );
    if (this.renewIntervalMs >= this.renewDeadlineMs)
      throw new Error(
        `the leader renew interval (${this.renewIntervalMs} ms) must be below the renew deadline ` +
          `(${this.renewDeadlineMs} ms, two thirds of the lease duration)`,
      );
    this.now = opts.now ?? Date.now;
  }

  /** This replica's identity in the Lease's holderIdentity. */
  get holderIdentity(): string {
    return this.identity;
  }

  /**
   * The write fence to install with `KubeClient.setWriteFence`: a write passes only while this replica
   * holds the Lease within its renew deadline. The first refused write reports the loss (once:
   * `onLost`, default exit) and every later one is refused too, whatever renewals follow.
   */
  readonly fence: WriteFence = {
    check: (method, path) => {
      if (this.released)
        throw new LeadershipLostError(`Leader Lease released for shutdown; refusing ${method} ${path}.`);
      if (!this.lost && withinRenewDeadline(this.lastRenewAt, this.now(), this.renewDeadlineMs)) return;
      const reason =
        this.lastRenewAt === undefined
          ? 'this replica never held the leader Lease'
          : `the leader Lease was last renewed ${((this.now() - this.lastRenewAt) / 1000).toFixed(1)}s ago, ` +
            `past the ${(this.renewDeadlineMs / 1000).toFixed(1)}s renew deadline`;
      if (this.lastRenewAt !== undefined) this.loseLeadership(reason);
      throw new LeadershipLostError(`Leadership lost: ${reason}; refusing ${method} ${path}.`);
    },
  };

  /** True while this replica may write (see {@link fence}). */
  isLeader(): boolean {
    return (
      !this.released && !this.lost && withinRenewDeadline(this.lastRenewAt, this.now(), this.renewDeadlineMs)
    );
  }

  private get path(): string {
    return `/apis/coordination.k8s.io/v1/namespaces/${encodeURIComponent(this.opts.namespace)}/leases`;
  }

  /**
   * Resolves once this replica holds the Lease, then keeps renewing it every `renewIntervalMs`; once
   * the last successful renewal is older than the renew deadline (renewals failed, another replica
   * took over, or this process was paused) it logs "Leadership lost", stops, and calls `onLost`
   * (default: exit the process), once. A write through a fenced client after that throws.
   */
  async acquire(onLost: () => void = () => process.exit(1)): Promise<void> {
    this.onLost = onLost;
    this.log.info(
      `Waiting to become leader (Lease ${this.opts.namespace}/${this.name}, identity ${this.identity}).`,
    );
    while (!(await this.tryAcquireOrRenew().catch(() => false))) {
      await new Promise((r) => setTimeout(r, this.renewIntervalMs));
    }
    this.log.info('Became leader.');
    this.timer = setInterval(() => {
      // Checked before this round's renewal: a process resumed after a pause must not count a renewal
      // it makes now as continuity with the old one (another replica may have led in between).
      if (!withinRenewDeadline(this.lastRenewAt, this.now(), this.renewDeadlineMs)) {
        this.loseLeadership(
          `the leader Lease was last renewed ${((this.now() - (this.lastRenewAt ?? 0)) / 1000).toFixed(1)}s ago, ` +
            `past the ${(this.renewDeadlineMs / 1000).toFixed(1)}s renew deadline`,
        );
        return;
      }
      if (this.renewing) return; // one renewal at a time: a slow API server must not pile them up
      this.renewing = true;
      this.tryAcquireOrRenew()
        .catch((err: unknown) =>
          this.log.warn('Renewing the leader Lease failed; retrying.', { error: (err as Error).message }),
        )
        .finally(() => (this.renewing = false));
    }, this.renewIntervalMs);
    this.timer.unref();
  }

  /** Reports the loss once, stops renewing, latches the fence shut, and calls `onLost`. */
  private loseLeadership(reason: string): void {
    if (this.lost) return;
    this.lost = true;
    this.stop();
    this.log.error(`Leadership lost: ${reason}; stopping without another write.`, {
      lease: `${this.opts.namespace}/${this.name}`,
      identity: this.identity,
    });
    this.onLost();
  }

  /** Stops renewing (the Lease then expires after its duration; {@link release} hands it over at once). */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  /**
   * Hands the Lease over on a clean shutdown (the SIGTERM a rolling update sends the old pod), as
   * client-go's `ReleaseOnCancel`: the write fence is shut for good (every later write of this process
   * is refused), `drain` waits for the writes already sent, then the Lease is written with an empty
   * holderIdentity and a 1 s duration, so that a standby takes over at its next attempt (within its
   * renew interval) instead of after a full lease duration. Nothing is written when this replica does
   * not hold the Lease within its renew deadline (a standby, or a leader that lost it).
   * @param drain - waits for in-flight writes (`KubeClient.drainWrites`); resolves with those left.
   * @returns true when the Lease was released; false when there was nothing to release or it failed
   *   (the Lease then expires on its own after its duration).
   */
  async release(drain: () => Promise<number> = async () => 0): Promise<boolean> {
    const held = this.isLeader();
    this.released = true;
    this.stop();
    if (!held) return false;
    const left = await drain();
    if (left > 0)
      this.log.warn(`Releasing the leader Lease with ${left} write(s) still unanswered.`, {
        lease: `${this.opts.namespace}/${this.name}`,
      });
    try {
      const lease = await this.client.request<Lease>('GET', `${this.path}/${this.name}`);
      if (lease.spec?.holderIdentity !== this.identity) return false;
      const now = microTime(this.now());
      await this.client.request('PUT', `${this.path}/${this.name}`, {
        body: {
          ...lease,
          spec: {
            holderIdentity: '',
            leaseDurationSeconds: 1,
            acquireTime: now,
            renewTime: now,
            leaseTransitions: lease.spec.leaseTransitions ?? 0,
          },
        },
      });
      this.log.info('Released the leader Lease.', { lease: `${this.opts.namespace}/${this.name}` });
      return true;
    } catch (err) {
      this.log.warn('Releasing the leader Lease failed; it expires on its own.', {
        error: (err as Error).message,
      });
      return false;
    }
  }

  /** One attempt: create, renew ours, or take over an expired Lease. True when we hold it. */
  private async tryAcquireOrRenew(): Promise<boolean> {
    if (this.lost) return false;
    const now = this.now();
    const spec = (transitions: number, acquireTime: string) => ({
      holderIdentity: this.identity,
      leaseDurationSeconds: Math.ceil(this.leaseDurationMs / 1000),
      acquireTime,
      renewTime: microTime(now),
      leaseTransitions: transitions,
    });
    let lease: Lease;
    try {
      lease = await this.client.request<Lease>('GET', `${this.path}/${this.name}`);
    } catch (err) {
      if (!isNotFound(err)) throw err;
      const body = {
        apiVersion: 'coordination.k8s.io/v1',
        kind: 'Lease',
        metadata: { name: this.name },
        spec: spec(0, microTime(now)),
      };
      return this.write('POST', this.path, body, now);
    }
    const s = lease.spec ?? {};
    const ours = s.holderIdentity === this.identity;
    if (!ours && !this.expired(s)) return false;
    const body = {
      ...lease,
      spec: ours
        ? spec(s.leaseTransitions ?? 0, s.acquireTime ?? microTime(now))
        : spec((s.leaseTransitions ?? 0) + 1, microTime(now)),
    };
    return this.write('PUT', `${this.path}/${this.name}`, body, now);
  }

  /**
   * Whether another holder's Lease has expired, judged as client-go does: by this replica's own clock
   * since it last saw the record change (holder or renewTime), never by comparing the holder's
   * renewTime with this clock, so clock skew between nodes cannot make a standby take over while the
   * leader may still write. A standby that has just started therefore waits one full lease duration.
   */
  private expired(s: NonNullable<Lease['spec']>): boolean {
    if (!s.holderIdentity) return true;
    const now = this.now();
    const record = `${s.holderIdentity}|${s.renewTime ?? ''}|${s.leaseDurationSeconds ?? ''}`;
    if (record !== this.observed?.record) this.observed = { record, at: now };
    return now > this.observed.at + (s.leaseDurationSeconds ?? 15) * 1000;
  }

  /** Writes the Lease with renewTime `renewAt`; on success that is the fence's new reference. */
  private async write(
    method: 'POST' | 'PUT',
    path: string,
    body: unknown,
    renewAt: number,
  ): Promise<boolean> {
    try {
      await this.client.request(method, path, { body });
      // The renewTime written, not the time the answer came: other replicas count from it.
      if (!this.lost) this.lastRenewAt = Math.max(this.lastRenewAt ?? 0, renewAt);
      return true;
    } catch (err) {
      // Someone else created or updated the Lease first: not ours this round.
      if (isConflict(err)) return false;
      throw err;
    }
  }
}
