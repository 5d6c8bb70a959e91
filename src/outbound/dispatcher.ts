/**
 * The worker's outbound webhook dispatcher: wakes the workflow of every endpoint with deliveries its workflow was not
 * told of (deliverEndpointEvents, one per endpoint, which sends them in order). Woken by the outbox NOTIFY (a new
 * event may have deliveries), by a settled or replayed delivery, at start (catch-up after downtime) and every sweep
 * interval (a missed NOTIFY, Temporal or the database down meanwhile). It sweeps at most once a second, so that the
 * events of that second reach each endpoint's workflow as one wake: Temporal actions per wake, not per event.
 * Workflow IDs come from the endpoint ids, so any number of workers wake each endpoint's one workflow. An organization
 * has at most `maxInFlightPerOrganization` endpoints at work (across all workers); a settled delivery wakes it.
 */
import type { MikroORM } from '@mikro-orm/postgresql';
import { OutboxListener } from '../broadcaster/outbox-listener';
import { OUTBOUND_SETTLED_CHANNEL, outboundEndpointsToWake } from '../database/outbound-webhooks';
import type { Logger } from '../logger';
import { wakeOutboundEndpoint, type OutboundDispatch } from './dispatch';

const BATCH = 100;
/** the shortest time between two sweeps: one wake per endpoint carries the events of this long */
const GATHER_MS = 1_000;

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
  const { orm, logger, sweepIntervalSeconds } = options;
  let sweeping: Promise<void> | undefined;
  let wokenWhileSweeping = false;
  let gathering: NodeJS.Timeout | undefined;
  let lastSweep = 0;
  let stopped = false;

  /**
   * Batch after batch while each endpoint of the last one was woken. `periodic`: also endpoints whose workflow is at
   * work but has left deliveries waiting a whole interval (it may have been terminated: one is started if none runs).
   */
  async function sweep(periodic: boolean): Promise<void> {
    for (;;) {
      const em = orm.em.fork();
      const endpoints = await outboundEndpointsToWake(em, BATCH, options.maxInFlightPerOrganization, periodic ? sweepIntervalSeconds : null);
      for (const endpoint of endpoints) await wakeOutboundEndpoint(em, options, endpoint, endpoint.atWork);
      if (endpoints.length) logger.debug({ endpoints: endpoints.length, deliveries: endpoints.reduce((n, { deliveryIds }) => n + deliveryIds.length, 0) }, 'Outbound endpoints woken');
      if (stopped || endpoints.length < BATCH) return;
    }
  }

  function run(periodic: boolean): void {
    if (stopped) return;
    if (sweeping) {
      wokenWhileSweeping = true;
      return;
    }
    lastSweep = Date.now();
    sweeping = sweep(periodic)
      .catch((error: unknown) => logger.warn({ err: error }, 'Could not dispatch outbound deliveries; trying again at the next sweep'))
      .finally(() => {
        sweeping = undefined;
        if (wokenWhileSweeping) {
          wokenWhileSweeping = false;
          wake();
        }
      });
  }

  function wake(): void {
    if (stopped || gathering) return;
    gathering = setTimeout(() => {
      gathering = undefined;
      run(false);
    }, Math.max(0, lastSweep + GATHER_MS - Date.now()));
  }

  const listener = new OutboxListener({
    databaseUrl: options.databaseUrl,
    logger,
    onWake: wake,
    applicationName: 'calendly-bookings outbound dispatcher',
    channels: { [OUTBOUND_SETTLED_CHANNEL]: wake },
  });
  listener.start();
  const timer = setInterval(() => run(true), sweepIntervalSeconds * 1000);
  return {
    async stop() {
      stopped = true;
      clearInterval(timer);
      clearTimeout(gathering);
      await listener.stop();
      await sweeping;
    },
  };
}
