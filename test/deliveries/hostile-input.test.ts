/**
 * Input never causes a 5xx, and a signed delivery is always kept: payloads whose URIs give no valid dedup key are
 * kept as unprocessed (2xx), and text PostgreSQL refuses (NUL) is cleaned so that the booking is stored.
 */
import { MeetingSchema } from '../../src/database/entities/meeting';
import { WebhookDeliverySchema } from '../../src/database/entities/webhook-delivery';
import { eventually, SIGNING_KEY, startTestSystem, type TestSystem } from '../support/system';
import { deliveryOutcome } from '../support/delivery-outcome';

let system: TestSystem;
beforeAll(async () => {
  system = await startTestSystem();
});
afterAll(() => system.stop());

it.each([
  [
    'a no-show whose invitee URI has no path',
    () => ({ event: 'invitee_no_show.created', created_at: '2026-11-24T10:00:00.000000Z', created_by: `${system.fake.url}/users/U`, payload: { invitee: system.fake.url } }),
  ],
  [
    'a legacy body with event uuid ..',
    () => ({
      event: 'invitee.created',
      time: '2026-11-24T10:00:00Z',
      payload: { event: { uuid: '..', start_time: '2031-01-01T10:00:00Z', end_time: '2031-01-01T10:30:00Z' }, invitee: { uuid: 'I1', email: 'dots@example.com', name: 'Dots' } },
    }),
  ],
])('keeps %s as unprocessed with a 202, not a 500', async (_what, json) => {
  const body = JSON.stringify(json());
  const response = await system.deliver(body);
  expect(response).toMatchObject({ status: 202, body: { accepted: true, unprocessed: expect.stringContaining('URI') } });
  await system.temporal.workflow.getHandle(response.body.workflowId).result();
  expect(await system.orm.em.fork().findOneOrFail(WebhookDeliverySchema, { workflowId: response.body.workflowId })).toMatchObject({ outcome: 'unprocessed', rawBody: body });
});

it('stores a booking whose invitee name holds a NUL character, without it, instead of retrying forever', async () => {
  const { invitee } = await system.fake.bookMeeting({ email: `nul-${Date.now()}@example.com`, name: 'Ada\u0000 Lovelace', startTime: '2031-02-01T10:00:00.000000Z' }, { deliver: false });
  const { body, signature } = system.fake.webhookDelivery('invitee.created', invitee.uri, SIGNING_KEY);
  expect(body).toContain('\\u0000');
  const response = await system.deliver(body, { signature });
  expect(response.status).toBe(202);
  await expect(deliveryOutcome(system, response.body.trackingId)).resolves.toMatchObject({ outcome: 'processed' });
  const meeting = await eventually(() => system.orm.em.fork().findOne(MeetingSchema, { inviteeUri: invitee.uri }, { populate: ['lead'] }).then((found) => found ?? undefined));
  expect(meeting.lead.name).toBe('Ada Lovelace');
});
