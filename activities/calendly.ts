/** Reads an invitee and its scheduled event from the Calendly API, sorting failures into retry-later and give-up. */
import { ApplicationFailure } from '@temporalio/activity';
import { CalendlyApiError, CalendlyResponseError, type CalendlyApiClient } from '../src/calendly/api-client';
import type { Invitee, ScheduledEvent } from '../src/calendly/schemas';
import type { InviteeDelivery } from '../src/shared/deliveries';

export interface Booking {
  event: ScheduledEvent;
  invitee: Invitee;
}

export function createCalendlyActivities(calendly: CalendlyApiClient) {
  return {
    async fetchBooking(delivery: Pick<InviteeDelivery, 'scheduledEventUri' | 'inviteeUri'>): Promise<Booking> {
      try {
        const [event, invitee] = await Promise.all([
          calendly.getScheduledEvent(delivery.scheduledEventUri),
          calendly.getInvitee(delivery.inviteeUri),
        ]);
        return { event, invitee };
      } catch (error) {
        throw asActivityFailure(error);
      }
    },
  };
}

function asActivityFailure(error: unknown): unknown {
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
  return error; // 5xx, and 401/403 too: a token fixed by an admin lets the retries succeed, no booking lost
}
