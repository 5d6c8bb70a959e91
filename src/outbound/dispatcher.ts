/**
 * The worker's outbound webhook dispatcher: starts a `deliverOutboundEvent` workflow for every pending delivery
 * that has none yet. Woken by the outbox NOTIFY (a new event may have deliveries), at start (catch-up after
 * downtime) and every sweep interval (a missed NOTIFY, Temporal or the database down meanwhile). Workflow IDs come
 * from the delivery ids, so any number of workers dispatch each delivery once. An organization has at most
 * `maxInFlightPerOrganization` deliveries dispatched and not settled (across all workers); a settled one wakes it.
 */
import type { MikroORM } from '@mikro-orm/postgresql';
import { OutboxListener } from '../broadcaster/outbox-listener';
import { OUTBOUND_SETTLED_CHANNEL, undispatchedOutboundDeliveries } from '../database/outbound-webhooks';
import type { Logger } from '../logger';
import { startOutboundDelivery, type OutboundDispatch } from './dispatch';

const BATCH = 100;

export interface OutboundDispatcherOptions extends OutboundDispatch {
  orm: MikroORM;
  databaseUrl: string;
  logger: Logger;
  sweepIntervalSeconds: number;
}

export interface OutboundDispatcher {
  stop(): Promise<void>;
}

export function startOutboundDispatcher(options: OutboundDispatcherOptions): OutboundDispatcher {
  const { orm, logger } = options;
  let sweeping: Promise<void> | undefined;
  let wokenWhileSweeping = false;
  let stopped = false;

  async function sweep(): Promise<void> {
    // Batch after batch while every delivery of the last one was started; one whose workflow runs already waits for the next wake.
    for (;;) {
      const em = orm.em.fork();
      const ids = await undispatchedOutboundDeliveries(em, BATCH, options.maxInFlightPerOrganization);
      let started = 0;
      for (const id of ids) if (await startOutboundDelivery(em, options, id)) started++;
      if (started) logger.debug({ started }, 'Outbound deliveries dispatched');
      if (stopped || ids.length < BATCH || started < ids.length) return;
    }
  }

  function wake(): void {
    if (stopped) return;
    if (sweeping) {
      wokenWhileSweeping = true;
      return;
    }
    sweeping = sweep()
      .catch((error: unknown) => logger.warn({ err: error }, 'Could not dispatch outbound deliveries; trying again at the next sweep'))
      .finally(() => {
        sweeping = undefined;
        if (wokenWhileSweeping) {
          wokenWhileSweeping = false;
          wake();
        }
      });
  }

  const listener = new OutboxListener({
    databaseUrl: options.databaseUrl,
    logger,
    onWake: wake,
    applicationName: 'calendly-bookings outbound dispatcher',
    channels: { [OUTBOUND_SETTLED_CHANNEL]: wake },
  });
  listener.start();
  const timer = setInterval(wake, options.sweepIntervalSeconds * 1000);
  return {
    async stop() {
      stopped = true;
      clearInterval(timer);
      await listener.stop();
      await sweeping;
    },
  };
}
