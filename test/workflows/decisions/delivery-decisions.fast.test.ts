/** What a delivery's workflow decides from the delivery (workflows/delivery-decisions.ts), without a Temporal server. */
import type { InviteeDelivery } from '../../../src/contract';
import { cancelOfFailedDelivery, noShowChangeOf } from '../../../workflows/delivery-decisions';

const INVITEE = 'https://api.calendly.com/scheduled_events/E/invitees/I';

const delivery = (eventName: InviteeDelivery['eventName'], occurredAt: string | null = '2031-06-02T09:30:00.000000Z'): InviteeDelivery => ({
  deliveryId: 'delivery-1',
  connectionId: 'connection-1',
  dedupKey: `${eventName}:E:I`,
  eventName,
  format: 'current',
  scheduledEventUri: 'https://api.calendly.com/scheduled_events/E',
  inviteeUri: INVITEE,
  inviteeEmail: 'lead@example.com',
  occurredAt,
  receivedAt: '2031-06-02T09:30:05.000Z',
  source: 'webhook',
});

describe('a no-show change', () => {
  it('marks the invitee at the time Calendly gives the no-show, ordered by when the mark happened', () => {
    expect(noShowChangeOf(delivery('invitee_no_show.created'), '2031-06-02T09:29:00.000000Z')).toEqual({
      inviteeUri: INVITEE,
      noShowAt: '2031-06-02T09:29:00.000000Z',
      occurredAt: '2031-06-02T09:30:00.000000Z',
    });
  });

  it('marks at the time it happened when the invitee as read shows no no-show (e.g. unmarked since)', () => {
    expect(noShowChangeOf(delivery('invitee_no_show.created'), undefined)).toMatchObject({ noShowAt: '2031-06-02T09:30:00.000000Z' });
  });

  it('unmarks, ordered by when the unmark happened', () => {
    expect(noShowChangeOf(delivery('invitee_no_show.deleted'), '2031-06-02T09:29:00.000000Z')).toEqual({
      inviteeUri: INVITEE,
      noShowAt: null,
      occurredAt: '2031-06-02T09:30:00.000000Z',
    });
  });

  it('is ordered by when the delivery was received when the time of the change is not known', () => {
    expect(noShowChangeOf(delivery('invitee_no_show.deleted', null), undefined)).toMatchObject({ occurredAt: '2031-06-02T09:30:05.000Z' });
  });

  it('is nothing for a booking or a cancel', () => {
    expect(noShowChangeOf(delivery('invitee.created'), '2031-06-02T09:29:00.000000Z')).toBeUndefined();
    expect(noShowChangeOf(delivery('invitee.canceled'), undefined)).toBeUndefined();
  });
});

describe('a delivery that failed for good', () => {
  it('still cancels the meeting when it was a cancel, at the time of the cancel, saying why it could not be read', () => {
    expect(cancelOfFailedDelivery(delivery('invitee.canceled'), 'Calendly API 404')).toEqual({
      canceledAt: '2031-06-02T09:30:00.000000Z',
      because: 'canceled in Calendly; the cancel could not be read: Calendly API 404',
    });
    expect(cancelOfFailedDelivery(delivery('invitee.canceled', null), 'Calendly API 404')).toMatchObject({ canceledAt: '2031-06-02T09:30:05.000Z' });
  });

  it('cancels nothing when it was a booking or a no-show change', () => {
    for (const eventName of ['invitee.created', 'invitee_no_show.created', 'invitee_no_show.deleted'] as const) {
      expect(cancelOfFailedDelivery(delivery(eventName), 'Calendly API 404')).toBeUndefined();
    }
  });
});
