/** Stores bookings as leads and meetings (and their outbox events). */
import { ApplicationFailure } from '@temporalio/activity';
import { DriverException, type MikroORM } from '@mikro-orm/postgresql';
import type { Activities, FetchedBookings, NoShowChange, SavedBooking } from '../contract';
import { saveBookings } from '../database/bookings';

export function createBookingActivities(orm: MikroORM): Pick<Activities, 'saveBookings'> {
  return {
    async saveBookings({ bookings, organization }: FetchedBookings, noShowChange?: NoShowChange): Promise<SavedBooking[]> {
      try {
        return await saveBookings(orm.em.fork(), bookings, organization, noShowChange);
      } catch (error) {
        // Data exceptions (class 22) and constraint violations (23) fail again on every retry; outages are retried.
        const code = error instanceof DriverException ? String(error.code ?? '') : '';
        if (/^2[23]/.test(code)) throw ApplicationFailure.nonRetryable((error as Error).message, 'InvalidBookingData');
        throw error;
      }
    },
  };
}
