/** Stores bookings as leads and meetings (and their outbox events). */
import { ApplicationFailure } from '@temporalio/activity';
import type { MikroORM } from '@mikro-orm/postgresql';
import type { Activities, FetchedBookings, NoShowChange, SavedBooking } from '../contract';
import { saveBookings } from '../database/bookings';
import { describeDatabaseError, isDatabaseError, isPermanentDataError } from '../database/errors';
import { cancelMeetingFromFailedDelivery } from '../database/meetings';
import { bookingsSaved } from './metrics';

export function createBookingActivities(orm: MikroORM): Pick<Activities, 'saveBookings' | 'cancelMeetingOfFailedDelivery'> {
  return {
    async saveBookings({ bookings, organization }: FetchedBookings, noShowChange?: NoShowChange): Promise<SavedBooking[]> {
      try {
        const saved = await saveBookings(orm.em.fork(), bookings, organization, noShowChange);
        bookingsSaved.inc(saved.length);
        return saved;
      } catch (error) {
        // Data exceptions (class 22) and constraint violations (23) fail again on every retry; outages are retried.
        // Either way only the code, table and constraint leave: the driver's message and detail carry the values.
        if (isPermanentDataError(error)) throw ApplicationFailure.nonRetryable(describeDatabaseError(error as Error), 'InvalidBookingData');
        throw sanitizedActivityError(error);
      }
    },

    async cancelMeetingOfFailedDelivery(inviteeUri: string, canceledAt: string, reason: string): Promise<boolean> {
      return cancelMeetingFromFailedDelivery(orm.em.fork(), inviteeUri, canceledAt, reason);
    },
  };
}

/**
 * A database error becomes a retryable failure that says only its code, table and constraint, so that no email or
 * phone number reaches the worker's log or Temporal's history; anything else is returned as it is.
 */
export function sanitizedActivityError(error: unknown): unknown {
  if (!isDatabaseError(error)) return error;
  return ApplicationFailure.retryable(describeDatabaseError(error), 'DatabaseError');
}
