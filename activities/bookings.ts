/** Stores a booking as lead and meeting. */
import { ApplicationFailure } from '@temporalio/activity';
import { DriverException, type MikroORM } from '@mikro-orm/postgresql';
import { saveBooking, type SavedBooking } from '../src/database/bookings';
import type { Booking } from './calendly';

export function createBookingActivities(orm: MikroORM) {
  return {
    async saveBooking({ event, invitee }: Booking): Promise<SavedBooking> {
      try {
        return await saveBooking(orm.em.fork(), event, invitee);
      } catch (error) {
        // Data exceptions (class 22) and constraint violations (23) fail again on every retry; outages are retried.
        const code = error instanceof DriverException ? String(error.code ?? '') : '';
        if (/^2[23]/.test(code)) throw ApplicationFailure.nonRetryable((error as Error).message, 'InvalidBookingData');
        throw error;
      }
    },
  };
}
