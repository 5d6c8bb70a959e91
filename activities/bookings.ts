/** Stores bookings as leads and meetings (and their outbox events). */
import { ApplicationFailure } from '@temporalio/activity';
import type { MikroORM } from '@mikro-orm/postgresql';
import type { Activities, FetchedBookings, NoShowChange, SavedBooking } from '../src/contract';
import { recordedConnectionId } from '../src/workflow-ids';
import { saveBookings } from '../src/database/bookings';
import { describeDatabaseError, isPermanentDataError } from '../src/database/errors';
import { cancelMeetingFromFailedDelivery } from '../src/database/meetings';
import { organizationLabel } from '../src/metrics';
import type { CalendlyAccounts } from './calendly-accounts';
import { withActivityFailures } from './calendly';
import { bookingsSaved } from './metrics';

export function createBookingActivities(orm: MikroORM, accounts: CalendlyAccounts): Pick<Activities, 'saveBookings' | 'cancelMeetingOfFailedDelivery'> {
  return {
    async saveBookings({ bookings, organization, connectionId }: FetchedBookings, noShowChange?: NoShowChange): Promise<SavedBooking[]> {
      try {
        const saved = await saveBookings(orm.em.fork(), bookings, organization, recordedConnectionId(connectionId), noShowChange);
        bookingsSaved.inc({ organization: organizationLabel(organization) }, saved.length);
        return saved;
      } catch (error) {
        // Data exceptions (class 22) and constraint violations (23) fail again on every retry; outages are retried.
        // Only the code, table and constraint leave: the driver's message and detail carry the values (outages are
        // described the same way by the wrapper in index.ts).
        if (isPermanentDataError(error)) throw ApplicationFailure.nonRetryable(describeDatabaseError(error as Error), 'InvalidBookingData');
        throw error;
      }
    },

    async cancelMeetingOfFailedDelivery(inviteeUri: string, canceledAt: string, reason: string, connectionId: string): Promise<boolean> {
      const organization = await withActivityFailures(() => accounts.organizationOfConnection(connectionId));
      return cancelMeetingFromFailedDelivery(orm.em.fork(), organization, inviteeUri, canceledAt, reason);
    },
  };
}
