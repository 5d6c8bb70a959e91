import { log, proxyActivities } from '@temporalio/workflow';
import type { Activities, ConnectionRef, SubscriptionCheckResult } from '../src/contract';
import { RETRY_A_FEW_TIMES } from './retry-policy';

const { inspectWebhookSubscription, repairWebhookSubscription } = proxyActivities<Activities>({
  startToCloseTimeout: '1 minute',
  retry: RETRY_A_FEW_TIMES,
});

/**
 * Run by the subscription check schedule: re-creates the webhook subscription when it is missing, listens to the
 * wrong events, or was disabled by Calendly after 24 h of failed deliveries (it cannot be re-enabled). Problems a new
 * subscription would not fix (deliveries failing right now, subscriptions at other URLs) are logged for a person.
 */
export async function checkWebhookSubscription(connection: ConnectionRef): Promise<SubscriptionCheckResult> {
  // Runs started before every account was a connection have no argument: the activities read it as the personal token's.
  const inspection = await inspectWebhookSubscription(connection);
  const { problems } = inspection;
  if (inspection.repairable) {
    const repaired = await repairWebhookSubscription(connection);
    log.warn('Webhook subscription re-created', { problems, subscriptionUri: repaired.subscription?.uri });
    return { problems, repaired: true, subscriptionUri: repaired.subscription?.uri ?? null };
  }
  if (problems.length) log.warn('Webhook subscription needs attention: run npm run subscription:verify', { problems });
  return { problems, repaired: false, subscriptionUri: inspection.ours?.uri ?? null };
}
