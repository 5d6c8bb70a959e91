/**
 * The routing form part of a sync: the submissions made since the window's start, of every routing form of the
 * Calendly organization, stored the same idempotent way as a delivered one (one row per organization and URI), so
 * a submission whose webhook never came (or that no subscription may deliver) still makes its lead. Submissions are
 * read newest first and the reading stops at the window's start, so a sync reads what is new, not every submission.
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import { CalendlyApiError, type CalendlyApiClient, type InvalidItem, type RateLimitWait } from '../calendly/api-client';
import type { SyncSummary } from '../contract';
import { recordRoutingFormsState } from '../database/connections';
import { saveRoutingFormSubmission } from '../database/routing-form-submissions';

export interface RoutingFormSyncOptions {
  calendly: CalendlyApiClient;
  /** the Calendly organization whose routing forms are read (the sync beside it already asked Calendly for it) */
  calendlyOrganization: string;
  em: EntityManager;
  /** the organization of ours they belong to */
  organization: string;
  /** submissions made at or after */
  since: Date;
  whenRateLimited: RateLimitWait;
  report: (line: string) => void;
  /** count what would be read, store nothing */
  dryRun?: boolean;
}

const NOT_LISTED =
  'Calendly refuses to list routing forms to this connection (403: the token lacks routing_forms:read, or the plan has no routing forms): ' +
  'routing form submissions do not come in; reconnect with routing_forms:read to get them.';

/**
 * The connection's routing form submissions. Calendly's 403 does not fail the sync (its bookings were fed): it is
 * recorded on the connection (unless a dry run) and reported, and the answer is null.
 */
export async function syncConnectionRoutingForms(options: RoutingFormSyncOptions & { connectionId: string }): Promise<SyncSummary['routingFormSubmissions']> {
  try {
    return await syncRoutingFormSubmissions(options);
  } catch (error) {
    if (!(error instanceof CalendlyApiError) || error.status !== 403) throw error;
    options.report('Routing forms: Calendly answered 403 (no routing_forms:read, or no routing forms on this plan); skipped.');
    if (!options.dryRun) await recordRoutingFormsState(options.em.fork(), options.connectionId, 'unavailable', NOT_LISTED);
    return null;
  }
}

/** Throws Calendly's 403 when the token may not read routing forms (no routing_forms:read). */
async function syncRoutingFormSubmissions(options: RoutingFormSyncOptions): Promise<{ read: number; created: number }> {
  const { calendly, calendlyOrganization, em, organization, since, whenRateLimited, report, dryRun = false } = options;
  const counts = { read: 0, created: 0 };
  const skip = (item: InvalidItem) => report(`  skipped an invalid routing form record ${item.uri ?? `(#${item.index + 1} of ${item.path})`}: ${item.problem}`);
  for await (const forms of calendly.listRoutingForms(calendlyOrganization, { whenRateLimited, onInvalidItem: skip })) {
    for (const form of forms) {
      pages: for await (const submissions of calendly.listRoutingFormSubmissions(form.uri, { whenRateLimited, onInvalidItem: skip, sort: 'created_at:desc' })) {
        for (const submission of submissions) {
          if (Date.parse(submission.created_at) < since.getTime()) break pages;
          counts.read += 1;
          if (dryRun) continue;
          if ((await saveRoutingFormSubmission(em.fork(), submission, organization, form.name)).created) counts.created += 1;
        }
      }
    }
  }
  const outcome = dryRun ? `${counts.read} read (dry run: nothing stored)` : `${counts.read} read, ${counts.created} new`;
  report(`Routing form submissions since ${since.toISOString()}: ${outcome}.`);
  return counts;
}
