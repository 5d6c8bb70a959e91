/**
 * Backfill: feeds every invitee of the organization's scheduled events that start in a window through the same
 * workflows as webhook deliveries. Workflow IDs come from the same dedup keys, so an invitee that was delivered (or
 * fed by an earlier run) starts nothing and is reported as already known: running it again creates no duplicates.
 *
 * Calendly filters scheduled events by start time only; there is no "booked since". A meeting is booked before it
 * starts, so every booking made since a moment T belongs to an event starting after T: a window from T catches all.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleepFor } from 'node:timers/promises';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { Client } from '@temporalio/client';
import type { CalendlyApiClient, InvalidItem, RateLimitWait } from '../calendly/api-client';
import type { HandledEventName, Invitee, ScheduledEvent } from '../calendly/schemas';
import type { SyncSummary } from '../contract';
import { startDeliveryWorkflow, workflowIdOf } from './intake';
import { inviteeDelivery, InvalidDeliveryError, type ParsedDelivery } from './parse';
import { syncConnectionRoutingForms } from './routing-form-sync';

export interface SyncWindow {
  /** events starting at or after */
  from: Date;
  /** events starting before */
  to: Date;
}

export interface SyncOptions {
  calendly: CalendlyApiClient;
  temporal: Client;
  taskQueue: string;
  window: SyncWindow;
  /** the connection whose bookings these are */
  connectionId: string;
  /** list what would be fed, start nothing */
  dryRun?: boolean;
  /**
   * also the routing form submissions made since the window's start, stored for this organization of ours (a booking
   * made since then starts after it, so both read the same span); the summary then says how many
   */
  routingForms?: { em: EntityManager; organization: string };
  /** scheduled events per page, 1..100 (default 100) */
  pageSize?: number;
  report?: (line: string) => void;
  /** how a rate-limit wait is spent; an activity heartbeats through it */
  sleep?: (ms: number) => Promise<void>;
}

const counted = (count: number, one: string, many = `${one}s`) => `${count} ${count === 1 ? one : many}`;

/** A canceled invitee is fed as created too, so that its meeting exists (and ends canceled) even if both were missed. */
interface Backfilled {
  eventName: HandledEventName;
  /** when it happened in Calendly; keys a no-show mark so that later runs find it again */
  occurredAt?: string;
}

/** What webhooks would have said about this invitee, as far as its current state shows. */
const deliveriesFor = (invitee: Invitee): Backfilled[] => [
  { eventName: 'invitee.created' },
  ...(invitee.status === 'canceled' ? [{ eventName: 'invitee.canceled' as const }] : []),
  ...(invitee.no_show ? [{ eventName: 'invitee_no_show.created' as const, occurredAt: invitee.no_show.created_at }] : []),
];

export async function syncBookings(options: SyncOptions): Promise<SyncSummary> {
  const { calendly, window, dryRun = false, pageSize = 100, report = () => {}, sleep = (ms) => sleepFor(ms) } = options;
  if (!(window.from < window.to)) throw new RangeError(`the window must start before it ends: ${window.from.toISOString()} .. ${window.to.toISOString()}`);
  const whenRateLimited: RateLimitWait = async (seconds, path) => {
    report(`Calendly rate limit reached on ${path}: waiting ${seconds} s (X-RateLimit-Reset), then retrying`);
    await sleep(seconds * 1000);
  };

  const { current_organization: organization } = await calendly.getCurrentUser();
  report(`Scheduled events of ${organization} starting from ${window.from.toISOString()} to ${window.to.toISOString()}${dryRun ? ' (dry run: nothing is started)' : ''}`);
  const summary: SyncSummary = { events: 0, invitees: 0, started: 0, alreadyKnown: 0, wouldStart: 0, skipped: 0 };
  // A record that fails validation is reported and left out; the run goes on (it is counted as skipped).
  const skip = (what: string) => (item: InvalidItem) => {
    summary.skipped += 1;
    report(`  skipped an invalid ${what} ${item.uri ?? `(#${item.index + 1} of ${item.path})`}: ${item.problem}`);
  };
  const query = { organization, minStartTime: window.from.toISOString(), maxStartTime: window.to.toISOString() };
  let pageNumber = 0;
  for await (const events of calendly.listScheduledEvents(query, { whenRateLimited, count: pageSize, onInvalidItem: skip('scheduled event') })) {
    pageNumber += 1;
    const before = { ...summary };
    for (const event of events) {
      summary.events += 1;
      for await (const invitees of calendly.listEventInvitees(event.uri, { whenRateLimited, onInvalidItem: skip('invitee') })) {
        for (const invitee of invitees) {
          summary.invitees += 1;
          for (const backfilled of deliveriesFor(invitee)) await feed(backfilled, event, invitee, summary, options);
        }
      }
    }
    const progress = dryRun
      ? `${summary.wouldStart - before.wouldStart} to feed`
      : `${summary.started - before.started} started, ${summary.alreadyKnown - before.alreadyKnown} already known`;
    const skipped = summary.skipped > before.skipped ? `, ${summary.skipped - before.skipped} skipped` : '';
    report(`Page ${pageNumber}: ${counted(events.length, 'event')}, ${counted(summary.invitees - before.invitees, 'invitee')}: ${progress}${skipped}`);
  }
  const total = dryRun
    ? `${counted(summary.wouldStart, 'delivery', 'deliveries')} would be fed`
    : `${summary.started} started, ${summary.alreadyKnown} already known`;
  const skipped = summary.skipped ? `; ${counted(summary.skipped, 'invalid record')} skipped (see above)` : '';
  report(`Done: ${counted(summary.events, 'event')}, ${counted(summary.invitees, 'invitee')}: ${total}${skipped}.`);
  if (options.routingForms) {
    const { connectionId } = options;
    summary.routingFormSubmissions = await syncConnectionRoutingForms({
      ...options.routingForms,
      calendly,
      calendlyOrganization: organization,
      connectionId,
      since: window.from,
      whenRateLimited,
      report,
      dryRun,
    });
  }
  return summary;
}

async function feed(
  { eventName, occurredAt }: Backfilled,
  event: ScheduledEvent,
  invitee: Invitee,
  summary: SyncSummary,
  options: SyncOptions,
): Promise<void> {
  const { temporal, taskQueue, connectionId, dryRun = false, report = () => {} } = options;
  let parsed: ParsedDelivery;
  try {
    parsed = { ...inviteeDelivery(eventName, 'current', event.uri, invitee.uri, invitee.email, occurredAt ?? null, connectionId), meetingStart: event.start_time };
  } catch (error) {
    if (!(error instanceof InvalidDeliveryError)) throw error;
    summary.skipped += 1;
    report(`  skipped an invalid invitee ${invitee.uri}: ${error.message}`);
    return;
  }
  // The invitee by URI, not email: these lines reach the worker's log.
  const what = `${eventName} ${invitee.uri} (${event.name ?? 'event'} at ${event.start_time})`;
  if (dryRun) {
    summary.wouldStart += 1;
    report(`  would feed ${what} to ${workflowIdOf(parsed)}`);
    return;
  }
  const result = await startDeliveryWorkflow(parsed, { client: temporal, taskQueue, deliveryId: randomUUID(), receivedAt: new Date(), source: 'backfill' });
  if (result.duplicate) {
    summary.alreadyKnown += 1;
    return;
  }
  summary.started += 1;
  report(`  started ${what}: ${result.workflowId}`);
}
