/**
 * Leader election on a `coordination.k8s.io/v1` Lease, as client-go's leaderelection does: one
 * replica holds the Lease and runs the operators; the others wait and take over when the holder stops
 * renewing for `leaseDurationMs`. A leader that cannot renew in time exits, so that two replicas never
 * reconcile at once (Kubernetes restarts it and it queues up as a candidate again).
 */
import os from 'node:os';
import { KubeClient, isConflict, isNotFound } from '../kube/client';
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
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly client: KubeClient,
    private readonly log: Logger,
    private readonly opts: LeaderElectionOptions,
  ) {
    this.name = opts.name ?? 'capstan-leader';
    this.identity = opts.identity ?? `${os.hostname()}_${process.pid}`;
    this.leaseDurationMs = opts.leaseDurationMs ?? 15_000;
    this.renewIntervalMs = opts.renewIntervalMs ?? 5_000;
  }

  private get path(): string {
    return `/apis/coordination.k8s.io/v1/namespaces/${encodeURIComponent(this.opts.namespace)}/leases`;
  }

  /**
   * Resolves once this replica holds the Lease, then keeps renewing it; calls `onLost` (default: exit
   * the process) when a renewal fails for longer than the lease duration.
   */
  async acquire(onLost: () => void = () => process.exit(1)): Promise<void> {
    this.log.info(
      `Waiting to become leader (Lease ${this.opts.namespace}/${this.name}, identity ${this.identity}).`,
    );
    while (!(await this.tryAcquireOrRenew().catch(() => false))) {
      await new Promise((r) => setTimeout(r, this.renewIntervalMs));
    }
    this.log.info('Became leader.');
    let lastRenew = Date.now();
    this.timer = setInterval(() => {
      this.tryAcquireOrRenew().then(
        (ok) => {
          if (ok) lastRenew = Date.now();
        },
        () => undefined,
      );
      if (Date.now() - lastRenew > this.leaseDurationMs) {
        this.log.error('Lost the leader Lease; stopping.');
        this.stop();
        onLost();
      }
    }, this.renewIntervalMs);
    this.timer.unref();
  }

  /** Stops renewing (the Lease expires; a clean shutdown could release it too). */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  /** One attempt: create, renew ours, or take over an expired Lease. True when we hold it. */
  private async tryAcquireOrRenew(): Promise<boolean> {
    const now = Date.now();
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
      return this.write('POST', this.path, body);
    }
    const s = lease.spec ?? {};
    const ours = s.holderIdentity === this.identity;
    const renewed = s.renewTime ? Date.parse(s.renewTime) : 0;
    const expired = now > renewed + (s.leaseDurationSeconds ?? 15) * 1000;
    if (!ours && !expired) return false;
    const body = {
      ...lease,
      spec: ours
        ? spec(s.leaseTransitions ?? 0, s.acquireTime ?? microTime(now))
        : spec((s.leaseTransitions ?? 0) + 1, microTime(now)),
    };
    return this.write('PUT', `${this.path}/${this.name}`, body);
  }

  private async write(method: 'POST' | 'PUT', path: string, body: unknown): Promise<boolean> {
    try {
      await this.client.request(method, path, { body });
      return true;
    } catch (err) {
      // Someone else created or updated the Lease first: not ours this round.
      if (isConflict(err)) return false;
      throw err;
    }
  }
}
