// Leader election on a coordination.k8s.io Lease (upstream: client-go's
// tools/leaderelection with its LeaseLock). Every candidate tries to acquire the Lease
// every retryPeriod; the holder renews it every retryPeriod and gives up leadership when
// it could not renew for renewDeadline; another candidate takes the Lease once it has
// seen the same record unchanged for leaseDuration (by its own clock, so clocks need not
// agree). Only the holder runs the guarded work.
import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import type { Lease } from 'kubernetes-types/coordination/v1.js';
import { resourceByPath } from '../machinery/resources.js';
import { StatusError } from '../machinery/status.js';
import type { ApiTransport } from './transport.js';

const LEASES = resourceByPath('coordination.k8s.io', 'v1', 'leases')!;

/** Upstream's defaults for kube-controller-manager and kube-scheduler. */
export const LEASE_DURATION_MS = 15_000;
export const RENEW_DEADLINE_MS = 10_000;
export const RETRY_PERIOD_MS = 2_000;

export interface LeaderElectionOptions {
  namespace: string;
  name: string;
  /** This candidate; default `<hostname>_<uuid>` as upstream. */
  identity?: string;
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
  /** Runs when this candidate becomes the leader. */
  onStartedLeading: () => Promise<void> | void;
  /** Runs when it stops being the leader (lost the Lease, or stop()); must stop the work. */
  onStoppedLeading: () => Promise<void> | void;
  log?: (msg: string) => void;
}

/** MicroTime as the API serializes it. */
function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/(\.\d{3})Z$/, '$1000Z');
}

export class LeaderElector {
  readonly identity: string;
  private readonly leaseDurationMs: number;
  private readonly renewDeadlineMs: number;
  private readonly retryPeriodMs: number;
  private leading = false;
  private stopped = false;
  /** The record last seen and when (local clock): the Lease is free once it stays unchanged for leaseDuration. */
  private observed?: { key: string; at: number };
  private timer?: NodeJS.Timeout;
  private lastRenew = 0;
  private loop?: Promise<void>;
  private wake?: () => void;

  constructor(
    private readonly transport: ApiTransport,
    private readonly opts: LeaderElectionOptions,
  ) {
    this.identity = opts.identity ?? `${hostname()}_${randomUUID()}`;
    this.leaseDurationMs = opts.leaseDurationMs ?? LEASE_DURATION_MS;
    this.renewDeadlineMs = opts.renewDeadlineMs ?? RENEW_DEADLINE_MS;
    this.retryPeriodMs = opts.retryPeriodMs ?? RETRY_PERIOD_MS;
  }

  isLeader(): boolean {
    return this.leading;
  }

  start(): void {
    this.loop ??= this.run();
  }

  private log(msg: string): void {
    (this.opts.log ?? console.error)(`leaderelection ${this.opts.namespace}/${this.opts.name}: ${msg}`);
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.wake = resolve;
      this.timer = setTimeout(resolve, ms);
    });
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      let ok = false;
      try {
        ok = await this.tryAcquireOrRenew();
      } catch (err) {
        if (!this.stopped) this.log(`error retrieving or updating the lease: ${(err as Error).message}`);
      }
      if (this.stopped) break;
      const now = Date.now();
      if (ok) {
        this.lastRenew = now;
        if (!this.leading) {
          this.leading = true;
          this.log(`${this.identity} acquired the lease`);
          try {
            await this.opts.onStartedLeading();
          } catch (err) {
            this.log(`starting the leader's work failed: ${(err as Error).message}`);
          }
        }
      } else if (this.leading && now - this.lastRenew > this.renewDeadlineMs) {
        this.log(`${this.identity} failed to renew the lease within ${this.renewDeadlineMs / 1000}s: leadership lost`);
        await this.stepDown();
      }
      // Upstream's JitterUntil: a candidate retries with up to 20 % jitter.
      await this.sleep(this.leading ? this.retryPeriodMs : this.retryPeriodMs * (1 + Math.random() * 0.2));
    }
  }

  private async stepDown(): Promise<void> {
    if (!this.leading) return;
    this.leading = false;
    try {
      await this.opts.onStoppedLeading();
    } catch (err) {
      this.log(`stopping the leader's work failed: ${(err as Error).message}`);
    }
  }

  /** One round of upstream's tryAcquireOrRenew: true when this candidate holds the Lease afterwards. */
  private async tryAcquireOrRenew(): Promise<boolean> {
    const now = Date.now();
    let lease: Lease | undefined;
    try {
      lease = await this.transport.get<Lease>(LEASES, this.opts.namespace, this.opts.name);
    } catch (err) {
      if (!(err instanceof StatusError && err.code === 404)) throw err;
    }
    const spec = {
      holderIdentity: this.identity,
      leaseDurationSeconds: Math.round(this.leaseDurationMs / 1000),
      acquireTime: microTime(now),
      renewTime: microTime(now),
      leaseTransitions: 0,
    };
    if (!lease) {
      try {
        await this.transport.create<Lease>(LEASES, this.opts.namespace, {
          apiVersion: 'coordination.k8s.io/v1',
          kind: 'Lease',
          metadata: { name: this.opts.name, namespace: this.opts.namespace },
          spec,
        });
      } catch (err) {
        if (err instanceof StatusError && err.code === 409) return false;
        throw err;
      }
      this.observed = { key: JSON.stringify(spec), at: now };
      return true;
    }
    const cur = lease.spec ?? {};
    const key = JSON.stringify([cur.holderIdentity, cur.renewTime, cur.leaseDurationSeconds]);
    if (this.observed?.key !== key) this.observed = { key, at: now };
    const holder = cur.holderIdentity ?? '';
    const mine = holder === this.identity;
    const durationMs = (cur.leaseDurationSeconds ?? 0) * 1000;
    if (!mine && holder !== '' && this.observed.at + durationMs > now) return false;
    const next: Lease = {
      ...lease,
      spec: {
        ...cur,
        holderIdentity: this.identity,
        leaseDurationSeconds: spec.leaseDurationSeconds,
        renewTime: spec.renewTime,
        acquireTime: mine ? cur.acquireTime : spec.acquireTime,
        leaseTransitions: mine ? (cur.leaseTransitions ?? 0) : (cur.leaseTransitions ?? 0) + 1,
      },
    };
    try {
      await this.transport.update<Lease>(LEASES, this.opts.namespace, next);
    } catch (err) {
      if (err instanceof StatusError && err.code === 409) return false;
      throw err;
    }
    this.observed = { key: JSON.stringify([next.spec!.holderIdentity, next.spec!.renewTime, next.spec!.leaseDurationSeconds]), at: now };
    return true;
  }

  /**
   * Stops competing: the guarded work is stopped and a held Lease released (upstream's
   * ReleaseOnCancel), so another candidate takes over at once instead of after leaseDuration.
   */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.wake?.();
    await this.loop;
    const wasLeading = this.leading;
    await this.stepDown();
    if (!wasLeading) return;
    try {
      const lease = await this.transport.get<Lease>(LEASES, this.opts.namespace, this.opts.name);
      if (lease.spec?.holderIdentity !== this.identity) return;
      const now = microTime(Date.now());
      await this.transport.update<Lease>(LEASES, this.opts.namespace, { ...lease, spec: { ...lease.spec, holderIdentity: '', leaseDurationSeconds: 1, renewTime: now, acquireTime: now } });
    } catch (err) {
      this.log(`releasing the lease: ${(err as Error).message}`);
    }
  }
}
