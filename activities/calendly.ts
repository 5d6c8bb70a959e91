/** Reads invitees and their scheduled events from the Calendly API, sorting failures into retry-later and give-up. */
import { ApplicationFailure } from '@temporalio/activity';
import { CalendlyApiError, CalendlyResponseError, type CalendlyApiClient } from '../src/calendly/api-client';
import { ConnectionUnavailableError } from '../src/connections/connection-tokens';
import type { Activities, Booking, FetchedBookings, InviteeDelivery } from '../src/contract';
import type { CalendlyAccounts } from './calendly-accounts';

export function createCalendlyActivities(accounts: CalendlyAccounts): Pick<Activities, 'fetchBookings'> {
  return {
    fetchBookings(delivery: Pick<InviteeDelivery, 'scheduledEventUri' | 'inviteeUri' | 'connectionId'>): Promise<FetchedBookings> {
      return withActivityFailures(async () => {
        const { calendly, organization, connectionId } = await accounts.of(delivery.connectionId);
        const primary = await fetchBooking(calendly, delivery.inviteeUri, delivery.scheduledEventUri);
        const relatedUri = primary.invitee.old_invitee ?? primary.invitee.new_invitee;
        const related = relatedUri ? await fetchRelated(calendly, relatedUri) : undefined;
        return { bookings: related ? [primary, related] : [primary], organization, connectionId };
      });
    },
  };
}

async function fetchBooking(calendly: CalendlyApiClient, inviteeUri: string, eventUri?: string): Promise<Booking> {
  if (eventUri) {
    // Both at once (one round trip to Calendly instead of two); both are waited for, so none is left running when
    // this fails, and the invitee's failure is the one reported when both fail.
    const [invitee, event] = await Promise.allSettled([calendly.getInvitee(inviteeUri), calendly.getScheduledEvent(eventUri)]);
    if (invitee.status === 'rejected') throw invitee.reason;
    if (event.status === 'rejected') throw event.reason;
    return { invitee: invitee.value, event: event.value };
  }
  const invitee = await calendly.getInvitee(inviteeUri);
  return { invitee, event: await calendly.getScheduledEvent(invitee.event) };
}

/** The other side of a reschedule may be gone (deleted event): the delivery's own invitee still counts. */
async function fetchRelated(calendly: CalendlyApiClient, inviteeUri: string): Promise<Booking | undefined> {
  try {
    return await fetchBooking(calendly, inviteeUri);
  } catch (error) {
    if (error instanceof CalendlyApiError && error.status === 404) return undefined;
    throw error;
  }
}

/** Runs Calendly API work, turning its errors into the failures Temporal should retry or give up on. */
export async function withActivityFailures<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw asActivityFailure(error);
  }
}

function asActivityFailure(error: unknown): unknown {
  if (error instanceof ConnectionUnavailableError) {
    // Its status already says what to do; after a reconnect the set-up sync feeds what was missed.
    return ApplicationFailure.nonRetryable(error.message, 'CalendlyConnectionUnavailable');
  }
  if (error instanceof CalendlyResponseError) {
    return ApplicationFailure.nonRetryable(error.message, 'InvalidCalendlyData');
  }
  if (!(error instanceof CalendlyApiError)) return error; // network errors and timeouts: retried
  if (error.status === 404) return ApplicationFailure.nonRetryable(error.message, 'CalendlyResourceNotFound');
  if (error.status === 429) {
    // Honour Calendly's X-RateLimit-Reset instead of the usual back-off.
    return ApplicationFailure.create({
      message: error.message,
      type: 'CalendlyRateLimited',
      nextRetryDelay: `${error.retryAfterSeconds ?? 60}s`,
    });
  }
  if (error.status === 400 || error.status === 422) return ApplicationFailure.nonRetryable(error.message, 'CalendlyRequestRejected');
  if (error.status === 401 || error.status === 403) {
    // Retrying cannot fix a revoked token: the delivery ends failed, and the next backfill or replay-deliveries
    // feeds it again once the token is fixed.
    return ApplicationFailure.nonRetryable(
      `Calendly rejected the API token (${error.status}): reconnect (an OAuth connection: POST /api/connection/connect; ` +
        `the personal token connection: a valid CALENDLY_API_TOKEN with users:read, scheduled_events:read, webhooks:read, ` +
        `webhooks:write, then bookings:sync or replay-deliveries -- --failed). ${error.message}`,
      'CalendlyUnauthorized',
    );
  }
  return error; // 5xx: retried
}
