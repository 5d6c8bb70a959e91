/**
 * PostgreSQL goes away while bookings arrive: a TCP proxy between the system and the database cuts every
 * connection. Deliveries are still acknowledged (they are durable in Temporal), activities retry, and once the
 * database is back every booking exists exactly once.
 */
import { LeadSchema } from '../../src/database/entities/lead';
import { MeetingSchema } from '../../src/database/entities/meeting';
import { WebhookDeliverySchema } from '../../src/database/entities/webhook-delivery';
import { eventually, SIGNING_KEY, startTestSystem, type TestSystem } from '../support/system';
import { deliveryOutcome } from '../support/delivery-outcome';

let system: TestSystem;
beforeAll(async () => {
  system = await startTestSystem({ proxyDatabase: true });
});
afterAll(() => system.stop());

it('acknowledges every delivery during a database outage and stores each booking once afterwards', async () => {
  const bookings = await Promise.all(
    Array.from({ length: 6 }, (_, index) =>
      system.fake.bookMeeting(
        { email: `outage-${index}-${Date.now()}@example.com`, name: `Outage ${index}`, startTime: new Date(Date.now() + 86_400_000).toISOString() },
        { deliver: false },
      ),
    ),
  );
  const deliveries = bookings.map(({ invitee }) => system.fake.webhookDelivery('invitee.created', invitee.uri, SIGNING_KEY));

  system.databaseProxy!.cut();
  const responses = [];
  for (const delivery of deliveries) responses.push(await system.deliver(delivery.body, { signature: delivery.signature }));
  // Calendly retries too: a redelivery during the outage is a duplicate, not a second booking.
  responses.push(await system.deliver(deliveries[0].body, { signature: deliveries[0].signature }));

  expect(responses.map((response) => response.status)).toEqual([202, 202, 202, 202, 202, 202, 200]);
  const inviteeUris = bookings.map(({ invitee }) => invitee.uri);
  // Give the activities time to fail against the cut database; nothing can be stored meanwhile.
  await new Promise((resolve) => setTimeout(resolve, 4_000));
  expect(await system.orm.em.fork().count(MeetingSchema, { inviteeUri: { $in: inviteeUris } })).toBe(0);

  system.databaseProxy!.restore();
  const stored = await eventually(async () => {
    const count = await system.orm.em.fork().count(MeetingSchema, { inviteeUri: { $in: inviteeUris } });
    return count === bookings.length ? count : undefined;
  }, 45_000, 'all bookings stored after the outage');
  expect(stored).toBe(6);

  const em = system.orm.em.fork();
  for (const { invitee } of bookings) {
    expect(await em.count(MeetingSchema, { inviteeUri: invitee.uri })).toBe(1);
    expect(await em.count(LeadSchema, { emailKey: invitee.email.toLowerCase() })).toBe(1);
  }
  for (const response of responses.slice(0, 6)) {
    await expect(deliveryOutcome(system, response.body.trackingId)).resolves.toMatchObject({ outcome: 'processed' });
    expect(await em.fork().findOneOrFail(WebhookDeliverySchema, { workflowId: response.body.workflowId })).toMatchObject({ outcome: 'processed' });
  }
});
