/**
 * The self-healing schedules of one connection (the personal token connection's are created by the worker at
 * start-up, an OAuth connection's by its set-up): reconcile its bookings, and check its webhook subscription.
 * SKIP: a run still going when the next is due makes that one pointless. Catch-up covers one interval: after Temporal
 * was down, one late run is enough, as every run looks at the whole window.
 */
import { ScheduleOverlapPolicy, type ScheduleOptions } from '@temporalio/client';
import type { Config } from '../src/config';
import { CALENDLY_CONNECTION } from '../src/contract';
import { checkWebhookSubscription, reconcileBookings } from '../workflows';

export function accountScheduleOptions(
  taskQueue: string,
  settings: Config['schedules'],
  ids: { reconcile: string; subscriptionCheck: string },
  connectionId: string,
): ScheduleOptions[] {
  const { reconcileEveryMinutes, reconcileLookBackHours, reconcileLookAheadDays, subscriptionCheckEveryMinutes } = settings;
  const typedSearchAttributes = [{ key: CALENDLY_CONNECTION, value: connectionId }];
  const whose = `connection ${connectionId}'s`;
  return [
    {
      scheduleId: ids.reconcile,
      spec: { intervals: [{ every: `${reconcileEveryMinutes} minutes` }] },
      action: {
        type: 'startWorkflow',
        workflowType: reconcileBookings,
        workflowId: ids.reconcile,
        taskQueue,
        args: [{ lookBackHours: reconcileLookBackHours, lookAheadDays: reconcileLookAheadDays, connectionId }],
        typedSearchAttributes,
      },
      policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: `${reconcileEveryMinutes} minutes` },
      state: {
        note: `Feeds ${whose} bookings that never arrived as webhooks from the Calendly API: events starting from ${reconcileLookBackHours} h ago to ${reconcileLookAheadDays} days ahead.`,
      },
    },
    {
      scheduleId: ids.subscriptionCheck,
      spec: { intervals: [{ every: `${subscriptionCheckEveryMinutes} minutes` }] },
      action: {
        type: 'startWorkflow',
        workflowType: checkWebhookSubscription,
        workflowId: ids.subscriptionCheck,
        taskQueue,
        args: [{ connectionId }],
        typedSearchAttributes,
      },
      policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: `${subscriptionCheckEveryMinutes} minutes` },
      state: { note: `Re-creates ${whose} Calendly webhook subscription when it is missing, wrong, or disabled by Calendly.` },
    },
  ];
}
