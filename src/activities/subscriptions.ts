/** The self-healing schedules' activities: checking and repairing the webhook subscription, backfilling bookings. */
import { heartbeat, log, sleep } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import type { CalendlyApiClient } from '../calendly/api-client';
import type { Activities, BackfillWindow, ReconnectResult, SubscriptionInspection, SyncSummary } from '../contract';
import { syncBookings } from '../deliveries/backfill';
import { inspectSubscriptions, type SubscriptionTarget } from '../subscriptions/inspection';
import { reconnectSubscription } from '../subscriptions/reconnect';
import { withActivityFailures } from './calendly';
import { subscriptionProblems } from './metrics';

export interface SubscriptionActivityDependencies {
  calendly: CalendlyApiClient;
  temporal: Client;
  taskQueue: string;
  subscriptionTarget: SubscriptionTarget;
}

export function createSubscriptionActivities({
  calendly,
  temporal,
  taskQueue,
  subscriptionTarget,
}: SubscriptionActivityDependencies): Pick<Activities, 'inspectWebhookSubscription' | 'repairWebhookSubscription' | 'backfillBookings'> {
  return {
    async inspectWebhookSubscription(): Promise<SubscriptionInspection> {
      const inspection = await withActivityFailures(() => inspectSubscriptions(calendly, subscriptionTarget.callbackUrl));
      for (const problem of inspection.problems) subscriptionProblems.inc({ problem });
      return inspection;
    },

    /** Re-creates ours when it is missing, disabled or wrong; subscriptions at other URLs are left to a person. */
    async repairWebhookSubscription(): Promise<ReconnectResult> {
      const report = (line: string) => {
        log.info(line);
      };
      return await withActivityFailures(() => reconnectSubscription({ calendly, target: subscriptionTarget, removeOthers: false, report }));
    },

    /** Idempotent: a retry lists again and finds what the failed attempt started already known. */
    async backfillBookings({ from, to }: BackfillWindow): Promise<SyncSummary> {
      return await withActivityFailures(() =>
        syncBookings({
          calendly,
          temporal,
          taskQueue,
          window: { from: new Date(from), to: new Date(to) },
          report(line) {
            heartbeat();
            log.info(line);
          },
          async sleep(ms) {
            heartbeat();
            await sleep(ms);
          },
        }),
      );
    },
  };
}
