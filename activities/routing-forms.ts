/** Leads from routing forms: a delivered submission stored, and what Calendly allows this connection recorded on it. */
import type { MikroORM } from '@mikro-orm/postgresql';
import { ROUTING_FORM_EVENT, type WebhookSubscription } from '../src/calendly/schemas';
import type { Activities, RoutingFormSubmissionDelivery, SavedRoutingFormSubmission } from '../src/contract';
import { findConnection, recordRoutingFormsState } from '../src/database/connections';
import { recordAcceptedFormDelivery } from '../src/database/deliveries';
import { saveRoutingFormSubmission } from '../src/database/routing-form-submissions';
import type { CalendlyAccounts } from './calendly-accounts';
import { withActivityFailures } from './calendly';

const NOT_SUBSCRIBED =
  `Calendly refused ${ROUTING_FORM_EVENT} to this connection (403: the token lacks routing_forms:read, or the plan has no routing forms): ` +
  'submissions come in only through the sync and the reconcile schedule, where Calendly lets the token list them.';

export function createRoutingFormActivities(orm: MikroORM, accounts: CalendlyAccounts): Pick<Activities, 'recordAcceptedFormDelivery' | 'saveRoutingFormSubmission'> {
  return {
    async recordAcceptedFormDelivery(delivery: RoutingFormSubmissionDelivery, workflowId: string): Promise<void> {
      await recordAcceptedFormDelivery(orm.em.fork(), delivery, workflowId);
    },

    async saveRoutingFormSubmission({ submission, connectionId }: Pick<RoutingFormSubmissionDelivery, 'submission' | 'connectionId'>): Promise<SavedRoutingFormSubmission> {
      const organization = await withActivityFailures(() => accounts.organizationOfConnection(connectionId));
      // The delivery names the form by URI only; the sync fills its name in.
      return saveRoutingFormSubmission(orm.em.fork(), submission, organization, null);
    },
  };
}

/** What the connection's subscription says about routing form submissions, recorded for GET /api/connection. */
export async function recordRoutingFormsOf(orm: MikroORM, connectionId: string, subscription: WebhookSubscription): Promise<void> {
  if (subscription.events.includes(ROUTING_FORM_EVENT)) return recordRoutingFormsState(orm.em.fork(), connectionId, 'subscribed', null);
  // A refusal to list them (recorded by a sync) says more than the subscription does: kept.
  if ((await findConnection(orm.em.fork(), connectionId))?.routingForms === 'unavailable') return;
  await recordRoutingFormsState(orm.em.fork(), connectionId, 'unavailable', NOT_SUBSCRIBED);
}
