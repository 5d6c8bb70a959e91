/**
 * What a refused webhook request costs: a counter in memory, never a database write of its own.
 *
 * - `calendly_webhook_refusals_total{reason}` (GET /metrics) counts each one.
 * - The counts per minute and reason are added to `refused_requests` every FLUSH_INTERVAL_MS and when the receiver
 *   stops, in one statement; a flush that fails keeps its counts for the next one and changes no answer.
 * - The log is sampled: the first refusal of each reason in a minute is logged with its trackingId (never the
 *   body), and each flush logs how many there were.
 * - Each refusal spends a point of its client address (rate-limiter-flexible, in memory, per receiver); an address
 *   out of points is answered 429 until its minute is over, without its body being read (see webhook-route.ts).
 */
import { RateLimiterMemory } from 'rate-limiter-flexible';
import type { RefusalCount } from '../database/refusals';
import type { Logger } from '../logger';
import { webhookRefusals } from './metrics';

const FLUSH_INTERVAL_MS = 10_000;
const MINUTE_MS = 60_000;

export interface RefusalLogOptions {
  /** refused requests an address may make per minute; the next ones are answered 429 */
  refusalsPerMinute: number;
  /** adds counts to `refused_requests`; a rejection keeps them for the next flush */
  write: (counts: RefusalCount[]) => Promise<void>;
  logger: Logger;
  flushIntervalMs?: number;
}

export interface Refusal {
  reason: string;
  status: number;
  trackingId: string;
  address: string;
  signature?: string;
}

interface Pending {
  minute: number;
  reason: string;
  count: number;
  /** refusals of this minute and reason not logged one by one */
  unlogged: number;
}

export class RefusalLog {
  private readonly limiter: RateLimiterMemory;
  private readonly pending = new Map<string, Pending>();
  /** (minute, reason) already logged one by one; pruned as minutes pass */
  private readonly sampled = new Set<string>();
  private readonly timer: NodeJS.Timeout;
  private flushing: Promise<void> = Promise.resolve();
  private stopped = false;

  constructor(private readonly options: RefusalLogOptions) {
    this.limiter = new RateLimiterMemory({ points: options.refusalsPerMinute, duration: 60 });
    this.timer = setInterval(() => void this.flush(), options.flushIntervalMs ?? FLUSH_INTERVAL_MS);
    // Never what keeps a process alive: stop() flushes what is left.
    this.timer.unref();
  }

  /** Milliseconds until the address may be refused normally again, or undefined while it has points left. */
  async limitedFor(address: string): Promise<number | undefined> {
    const state = await this.limiter.get(address);
    return state && state.msBeforeNext > 0 && state.consumedPoints >= this.options.refusalsPerMinute ? state.msBeforeNext : undefined;
  }

  /** Counts a refusal; one that was not already a 429 spends a point of its address. */
  record(refusal: Refusal): void {
    webhookRefusals.inc({ reason: refusal.reason });
    if (refusal.reason !== 'rate_limited') {
      // Rejects once the points are spent: that is what limitedFor reads, nothing to handle here.
      this.limiter.consume(refusal.address).catch(() => undefined);
    }
    const minute = Math.floor(Date.now() / MINUTE_MS) * MINUTE_MS;
    const key = `${minute} ${refusal.reason}`;
    const entry = this.pending.get(key) ?? { minute, reason: refusal.reason, count: 0, unlogged: 0 };
    entry.count += 1;
    this.pending.set(key, entry);
    if (this.sampled.has(key)) {
      entry.unlogged += 1;
      return;
    }
    this.sampled.add(key);
    this.options.logger.warn(
      { status: refusal.status, code: refusal.reason, signature: refusal.signature, trackingId: refusal.trackingId, address: refusal.address },
      'Webhook delivery refused (the first of its reason this minute; the others are counted)',
    );
  }

  /** Adds the counts so far to the database; never rejects. Flushes run one at a time. */
  flush(): Promise<void> {
    this.flushing = this.flushing.then(() => this.writePending());
    return this.flushing;
  }

  /** Stops the timer and flushes what is left (the receiver's shutdown, before the database closes). */
  async stop(): Promise<void> {
    if (this.stopped) return this.flushing;
    this.stopped = true;
    clearInterval(this.timer);
    await this.flush();
  }

  private async writePending(): Promise<void> {
    const currentMinute = Math.floor(Date.now() / MINUTE_MS) * MINUTE_MS;
    for (const key of this.sampled) {
      if (Number(key.slice(0, key.indexOf(' '))) < currentMinute) this.sampled.delete(key);
    }
    if (this.pending.size === 0) return;
    const batch = [...this.pending.values()];
    this.pending.clear();
    try {
      await this.options.write(batch.map(({ minute, reason, count }) => ({ minute: new Date(minute), reason, count })));
      for (const { minute, reason, count, unlogged } of batch) {
        this.options.logger.info({ minute: new Date(minute).toISOString(), reason, count, unlogged }, 'Webhook refusals counted');
      }
    } catch (error) {
      // Keep them for the next flush, merged with what arrived meanwhile.
      for (const entry of batch) {
        const key = `${entry.minute} ${entry.reason}`;
        const current = this.pending.get(key);
        this.pending.set(key, current ? { ...entry, count: entry.count + current.count, unlogged: entry.unlogged + current.unlogged } : entry);
      }
      this.options.logger.error({ err: error, kept: batch.length }, 'Could not store the refusal counts; they are kept for the next flush');
    }
  }
}
