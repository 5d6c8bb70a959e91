/**
 * The routing form part of a sync: the submissions made since the window's start, of every routing form of the
 * Calendly organization, stored the same idempotent way as a delivered one (one row per organization and URI), so
 * a submission whose webhook never came (or that no subscription may deliver) still makes its lead. Submissions are
 * read newest first and the reading stops at the window's start, so a sync reads what is new, not every submission.
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import type { CalendlyApiClient, InvalidItem, RateLimitWait } from '../calendly/api-client';
import { saveRoutingFormSubmission } from '../database/routing-form-submissions';

export interface RoutingFormSyncOptions {
  calendly: CalendlyApiClient;
  em: EntityManager;
  /** the organization of ours they belong to */
  organization: string;
  /** submissions made at or after */
  since: Date;
  whenRateLimited: RateLimitWait;
  report: (line: string) => void;
}

/** Throws Calendly's 403 when the token may not read routing forms (no routing_forms:read): the caller records it. */
export async function syncRoutingFormSubmissions(options: RoutingFormSyncOptions): Promise<{ read: number; created: number }> {
  const { calendly, em, organization, since, whenRateLimited, report } = options;
  const counts = { read: 0, created: 0 };
  const skip = (item: InvalidItem) => report(`  skipped an invalid routing form record ${item.uri ?? `(#${item.index + 1} of ${item.path})`}: ${item.problem}`);
  const { current_organization: calendlyOrganization } = await calendly.getCurrentUser();
  for await (const forms of calendly.listRoutingForms(calendlyOrganization, { whenRateLimited, onInvalidItem: skip })) {
    for (const form of forms) {
      pages: for await (const submissions of calendly.listRoutingFormSubmissions(form.uri, { whenRateLimited, onInvalidItem: skip, sort: 'created_at:desc' })) {
        for (const submission of submissions) {
          if (Date.parse(submission.created_at) < since.getTime()) break pages;
          counts.read += 1;
          if ((await saveRoutingFormSubmission(em.fork(), submission, organization, form.name)).created) counts.created += 1;
        }
      }
    }
  }
  report(`Routing form submissions since ${since.toISOString()}: ${counts.read} read, ${counts.created} new.`);
  return counts;
}
