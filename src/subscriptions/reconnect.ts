/**
 * Makes the organization's webhook subscriptions right: one active subscription at our URL with exactly
 * SUBSCRIBED_EVENTS (HANDLED_EVENTS alone where Calendly refuses the routing form event), signed with our key. The right one is created before anything stale is deleted, so a failure half
 * way leaves a working subscription behind, never none. Running it again when connected only reads.
 */
import { CalendlyApiError, type CalendlyApiClient } from '../calendly/api-client';
import { HANDLED_EVENTS, ROUTING_FORM_EVENT, SUBSCRIBED_EVENTS, type WebhookSubscription } from '../calendly/schemas';
import {
  describeSubscription,
  inspectSubscriptions,
  isRight,
  sameEvents,
  type SubscriptionTarget,
} from './inspection';
import type { ReconnectResult, ReconnectStep, SubscriptionInspection } from '../contract';

export interface ReconnectOptions {
  calendly: CalendlyApiClient;
  target: SubscriptionTarget;
  /** Delete subscriptions at other URLs that receive invitee events. The scheduled health check leaves them to a person. */
  removeOthers: boolean;
  /** Replace ours even when it is right: the only way to switch it to a new signing key (Calendly never returns keys). */
  recreate?: boolean;
  dryRun?: boolean;
  report?: (line: string) => void;
  /**
   * Calendly refused the routing form event to this connection before: ours without it is right (the scheduled check
   * passes it, so that it does not re-create ours to be refused again). A set-up or a person's reconnect tries again.
   */
  withoutRoutingForms?: boolean;
}

function planReconnect(
  inspection: SubscriptionInspection,
  { removeOthers, recreate = false }: Pick<ReconnectOptions, 'removeOthers' | 'recreate'>,
): ReconnectStep[] {
  const { ours, others, callbackUrl, withoutRoutingForms } = inspection;
  const steps: ReconnectStep[] = [];
  // A failing but otherwise right subscription is kept: re-creating it would drop the deliveries Calendly is retrying.
  if (!ours || !isRight(ours, callbackUrl, withoutRoutingForms) || recreate) {
    if (ours) steps.push({ action: 'delete', subscription: ours, reason: replacementReason(ours, withoutRoutingForms) });
    steps.push({ action: 'create', url: callbackUrl });
  }
  if (removeOthers) {
    for (const other of others) steps.push({ action: 'delete', subscription: other, reason: 'another URL receives invitee events' });
  }
  return steps;
}

export async function reconnectSubscription(options: ReconnectOptions): Promise<ReconnectResult> {
  const { calendly, target, dryRun = false, report = () => {} } = options;
  const inspection = await inspectSubscriptions(calendly, target.callbackUrl, options.withoutRoutingForms);
  report(`Organization: ${inspection.organization}`);
  report(`Webhook URL:  ${target.callbackUrl}`);
  report(`Events:       ${SUBSCRIBED_EVENTS.join(', ')}${inspection.withoutRoutingForms ? ` (or without ${ROUTING_FORM_EVENT}, which Calendly refused before)` : ''}`);
  if (inspection.ours) report(`At this URL:  ${describeSubscription(inspection.ours)}`);
  for (const other of inspection.others) report(`Elsewhere:    ${describeSubscription(other)}`);

  const steps = planReconnect(inspection, options);
  if (!steps.length) {
    report(`Already connected: nothing to change.${inspection.others.length ? ' Subscriptions at other URLs were left alone.' : ''}`);
    return { changed: false, steps, subscription: inspection.ours, inspection };
  }
  if (dryRun) {
    for (const step of steps) report(`Would ${describeStep(step)}`);
    report('Dry run: nothing was changed.');
    return { changed: true, steps, subscription: null, inspection };
  }

  let subscription = inspection.ours;
  for (const step of steps) {
    report(`${step.action === 'create' ? 'Creating' : 'Deleting'}: ${describeStep(step)}`);
    if (step.action === 'delete') await deleteIfPresent(calendly, step.subscription.uri, report);
    else subscription = await createOrTakeOver(calendly, inspection, target, report);
  }
  report(`Connected: ${subscription?.uri ?? ''}`);
  return { changed: true, steps, subscription, inspection };
}

function replacementReason(ours: WebhookSubscription, withoutRoutingForms: boolean): string {
  if (ours.state === 'disabled') return 'disabled by Calendly';
  if (!sameEvents(ours.events, withoutRoutingForms)) return 'listens to the wrong events';
  return 'replaced as asked (--recreate)';
}

function describeStep(step: ReconnectStep): string {
  if (step.action === 'create') return `create a subscription at ${step.url} for ${SUBSCRIBED_EVENTS.join(', ')}`;
  return `delete ${step.subscription.uri} at ${step.subscription.callback_url} (${step.reason})`;
}

/*
 * Calendly has no update and allows one subscription per URL, so a wrong one at our URL must be deleted before the
 * right one can be created: for the milliseconds in between nothing delivers here. A disabled subscription delivered
 * nothing anyway; for one with the wrong events, a booking in that gap is picked up by the reconcile schedule.
 */
async function createOrTakeOver(
  calendly: CalendlyApiClient,
  { organization, user }: SubscriptionInspection,
  { callbackUrl, signingKey }: SubscriptionTarget,
  report: (line: string) => void,
): Promise<WebhookSubscription> {
  const create = () => createWithOrWithoutRoutingForms(calendly, { url: callbackUrl, organization, signingKey }, report);
  try {
    return await create();
  } catch (error) {
    if (!(error instanceof CalendlyApiError) || error.status !== 409) throw error;
    report(`Calendly answered 409 (${error.message}): a subscription at this URL exists that the organization's list did not show.`);
    const existing = await subscriptionAt(calendly, organization, user, callbackUrl);
    if (!existing) {
      throw new Error(`Calendly reports a subscription at ${callbackUrl} that this token cannot list (group scope?): delete it in Calendly, then run again`);
    }
    if (existing.scope === 'organization' && isRight(existing, callbackUrl, true)) {
      report(`It was created a moment ago and is right: keeping ${existing.uri}`);
      return existing;
    }
    report(`Deleting ${describeSubscription(existing)} to create the organization's subscription in its place`);
    await deleteIfPresent(calendly, existing.uri, report);
    return await create();
  }
}

/**
 * Calendly refuses the routing form event with a 403 to a token without routing_forms:read (or a plan without routing
 * forms): the invitee events are subscribed without it then, and submissions come only through the sync's poll (if
 * Calendly lets the token list them). A 403 for the invitee events too (a free plan) is thrown.
 */
async function createWithOrWithoutRoutingForms(
  calendly: CalendlyApiClient,
  subscription: { url: string; organization: string; signingKey: string },
  report: (line: string) => void,
): Promise<WebhookSubscription> {
  try {
    return await calendly.createWebhookSubscription({ ...subscription, events: SUBSCRIBED_EVENTS });
  } catch (error) {
    if (!(error instanceof CalendlyApiError) || error.status !== 403) throw error;
    report(`Calendly refused ${ROUTING_FORM_EVENT} (403: ${error.message}); subscribing to the invitee events without it.`);
    return await calendly.createWebhookSubscription({ ...subscription, events: HANDLED_EVENTS });
  }
}

/** The organization list first (a concurrent create), then the token user's own subscriptions (scope user). */
async function subscriptionAt(calendly: CalendlyApiClient, organization: string, user: string, url: string): Promise<WebhookSubscription | undefined> {
  for (const query of [{ organization, scope: 'organization' as const }, { organization, scope: 'user' as const, user }]) {
    for await (const page of calendly.listWebhookSubscriptions(query)) {
      const found = page.find((subscription) => subscription.callback_url === url);
      if (found) return found;
    }
  }
  return undefined;
}

async function deleteIfPresent(calendly: CalendlyApiClient, subscriptionUri: string, report: (line: string) => void): Promise<void> {
  try {
    await calendly.deleteWebhookSubscription(subscriptionUri);
  } catch (error) {
    if (!(error instanceof CalendlyApiError) || error.status !== 404) throw error;
    report(`${subscriptionUri} was already gone.`);
  }
}
