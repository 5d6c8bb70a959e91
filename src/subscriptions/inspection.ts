/**
 * What "connected" means: the organization has one webhook subscription at this system's URL, active, listening to
 * exactly SUBSCRIBED_EVENTS (HANDLED_EVENTS alone where Calendly refused the routing form event before), and no
 * subscription elsewhere that receives invitee events too. Calendly allows one subscription per URL, so the one at
 * our URL is the only candidate.
 */
import type { CalendlyApiClient } from '../calendly/api-client';
import { HANDLED_EVENTS, SUBSCRIBED_EVENTS, type WebhookSubscription } from '../calendly/schemas';
import type { Config } from '../config';
import type { SubscriptionInspection, SubscriptionProblem } from '../contract';

/** Where Calendly must deliver, and the key it must sign with. */
export interface SubscriptionTarget {
  callbackUrl: string;
  signingKey: string;
}

/** The receiver's URL, and the first configured key: during a rotation, put the new key first and run reconnect --recreate. */
export function subscriptionTargetOf(config: Config): SubscriptionTarget {
  return { callbackUrl: config.webhookUrl, signingKey: config.calendly.signingKeys[0] };
}

const sameAs = (expected: readonly string[], events: readonly string[]): boolean =>
  events.length === expected.length && expected.every((event) => events.includes(event));

/**
 * SUBSCRIBED_EVENTS; or, once Calendly refused the routing form event to this connection (`withoutRoutingForms`),
 * HANDLED_EVENTS alone too, so that the check does not delete and re-create ours to be refused again every time.
 */
export const sameEvents = (events: readonly string[], withoutRoutingForms = false): boolean =>
  sameAs(SUBSCRIBED_EVENTS, events) || (withoutRoutingForms && sameAs(HANDLED_EVENTS, events));

const receivesInviteeEvents = (subscription: WebhookSubscription): boolean =>
  subscription.events.some((event) => (HANDLED_EVENTS as readonly string[]).includes(event));

export function isRight(subscription: WebhookSubscription, callbackUrl: string, withoutRoutingForms = false): boolean {
  return subscription.callback_url === callbackUrl && subscription.state === 'active' && sameEvents(subscription.events, withoutRoutingForms);
}

/** Every organization-scope subscription, all pages. */
async function organizationSubscriptions(calendly: CalendlyApiClient, organization: string): Promise<WebhookSubscription[]> {
  const subscriptions: WebhookSubscription[] = [];
  for await (const page of calendly.listWebhookSubscriptions({ organization, scope: 'organization' })) subscriptions.push(...page);
  return subscriptions;
}

/** `withoutRoutingForms`: Calendly refused the routing form event to this connection before (see sameEvents). */
export async function inspectSubscriptions(calendly: CalendlyApiClient, callbackUrl: string, withoutRoutingForms = false): Promise<SubscriptionInspection> {
  const user = await calendly.getCurrentUser();
  const subscriptions = await organizationSubscriptions(calendly, user.current_organization);
  return inspectionOf(subscriptions, { organization: user.current_organization, user: user.uri, callbackUrl, withoutRoutingForms });
}

function inspectionOf(
  subscriptions: WebhookSubscription[],
  { organization, user, callbackUrl, withoutRoutingForms }: Pick<SubscriptionInspection, 'organization' | 'user' | 'callbackUrl' | 'withoutRoutingForms'>,
): SubscriptionInspection {
  const ours = subscriptions.find((subscription) => subscription.callback_url === callbackUrl) ?? null;
  const others = subscriptions.filter((subscription) => subscription !== ours && receivesInviteeEvents(subscription));
  const problems: SubscriptionProblem[] = [];
  if (!ours) problems.push('missing');
  else if (ours.state === 'disabled') problems.push('disabled');
  else if (!sameEvents(ours.events, withoutRoutingForms)) problems.push('wrong-events');
  else if (ours.retry_started_at !== null) problems.push('failing');
  if (others.length) problems.push('other-subscriptions');
  const repairable = problems.some((problem) => problem === 'missing' || problem === 'disabled' || problem === 'wrong-events');
  return { organization, user, callbackUrl, withoutRoutingForms, ours, others, problems, repairable };
}

/** One line per subscription, for people: `<uri> <url> <state> [events]`. */
export function describeSubscription(subscription: WebhookSubscription): string {
  const retrying = subscription.retry_started_at ? `, retrying since ${subscription.retry_started_at}` : '';
  return `${subscription.callback_url} (${subscription.state}${retrying}; ${[...subscription.events].sort().join(', ')}) ${subscription.uri}`;
}
