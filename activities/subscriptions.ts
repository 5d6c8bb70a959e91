/** The self-healing schedules' activities: checking and repairing the webhook subscription, backfilling bookings. */
import { heartbeat, log, sleep } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import type { CalendlyApiClient } from '../src/calendly/api-client';
import { inspectSubscriptions, type SubscriptionInspection, type SubscriptionTarget } from '../src/subscriptions/inspection';
import { reconnectSubscription, type ReconnectResult } from '../src/subscriptions/reconnect';
import { syncBookings, type SyncSummary } from '../src/subscriptions/sync-bookings';
import { withActivityFailures } from './calendly';

export interface SubscriptionActivityDependencies {
  calendly: CalendlyApiClient;
  temporal: Client;
  taskQueue: string;
  subscriptionTarget: SubscriptionTarget;
}

/** ISO date-times: the workflow computes the window from its own clock. */
export interface BackfillWindow {
  from: string;
  to: string;
}

export function createSubscriptionActivities({ calendly, temporal, taskQueue, subscriptionTarget }: SubscriptionActivityDependencies) {
  return {
    async inspectWebhookSubscription(): Promise<SubscriptionInspection> {
      return await withActivityFailures(() => inspectSubscriptions(calendly, subscriptionTarget.callbackUrl));
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
