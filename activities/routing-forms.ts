/** Leads from routing forms: a delivered submission stored, and what Calendly allows this connection recorded on it. */
import { log } from '@temporalio/activity';
import type { MikroORM } from '@mikro-orm/postgresql';
import { CalendlyApiError } from '../src/calendly/api-client';
import { ROUTING_FORM_EVENT, type WebhookSubscription } from '../src/calendly/schemas';
import type { Activities, RoutingFormSubmissionDelivery, SavedRoutingFormSubmission, SyncSummary } from '../src/contract';
import { findConnection, recordRoutingFormsState } from '../src/database/connections';
import { recordAcceptedFormDelivery } from '../src/database/deliveries';
import { saveRoutingFormSubmission } from '../src/database/routing-form-submissions';
import { syncRoutingFormSubmissions, type RoutingFormSyncOptions } from '../src/deliveries/routing-form-sync';
import type { CalendlyAccounts } from './calendly-accounts';
import { withActivityFailures } from './calendly';

const NOT_SUBSCRIBED =
  `Calendly refused ${ROUTING_FORM_EVENT} to this connection (403: the token lacks routing_forms:read, or the plan has no routing forms): ` +
  'submissions come in only through the sync and the reconcile schedule, where Calendly lets the token list them.';
const NOT_LISTED =
  'Calendly refuses to list routing forms to this connection (403: the token lacks routing_forms:read, or the plan has no routing forms): ' +
  'routing form submissions do not come in; reconnect with routing_forms:read to get them.';

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

/**
 * The sync's routing form part. Calendly's 403 does not fail the sync (its bookings were fed): it is recorded on the
 * connection and reported, and the summary says null.
 */
export async function syncRoutingForms(
  orm: MikroORM,
  connectionId: string,
  options: Omit<RoutingFormSyncOptions, 'em'>,
): Promise<SyncSummary['routingFormSubmissions']> {
  try {
    return await syncRoutingFormSubmissions({ ...options, em: orm.em });
  } catch (error) {
    if (!(error instanceof CalendlyApiError) || error.status !== 403) throw error;
    log.warn('Calendly refused to list routing forms: no routing form submissions for this connection', { connectionId, status: error.status });
    options.report('Routing forms: Calendly answered 403 (no routing_forms:read, or no routing forms on this plan); skipped.');
    await recordRoutingFormsState(orm.em.fork(), connectionId, 'unavailable', NOT_LISTED);
    return null;
  }
}
