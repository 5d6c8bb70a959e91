/** Replaying deliveries that were kept as unprocessed, e.g. after an upgrade taught the system their event type. */
import { MeetingSchema } from '../../src/database/entities/meeting';
import { WebhookDeliverySchema } from '../../src/database/entities/webhook-delivery';
import { replayUnprocessedDeliveries } from '../../src/deliveries/replay';
import { SIGNING_KEY, startTestSystem, type TestSystem } from '../support/system';
import { keepUnprocessedRow } from '../support/kept-deliveries';
import { deliveryOutcome } from '../support/delivery-outcome';

let system: TestSystem;
beforeAll(async () => {
  system = await startTestSystem();
});
afterAll(() => system.stop());

/** A row as an older version would have kept it: signed, valid, but not processed. */
const keptDelivery = (rawBody: string) => keepUnprocessedRow(system.orm, { rawBody, detail: 'event type invitee.created is not handled yet' });

const replay = (ids: string[], dryRun = false) =>
  replayUnprocessedDeliveries({
    em: system.orm.em.fork(),
    temporal: system.temporal,
    taskQueue: system.config.temporal.taskQueue,
    apiBaseUrl: system.fake.url,
    ids,
    dryRun,
  });

it('turns a kept delivery into its booking, and says which ones still cannot be processed', async () => {
  const { invitee } = await system.fake.bookMeeting({ email: `replay-${Date.now()}@example.com`, startTime: '2031-02-03T10:00:00.000000Z' }, { deliver: false });
  const processable = await keptDelivery(system.fake.webhookDelivery('invitee.created', invitee.uri, SIGNING_KEY).body);
  const broken = await keptDelivery('{"event": "invitee.created", "payload": ');

  const dryRun = await replay([processable, broken], true);
  expect(dryRun).toEqual([
    { id: processable, result: 'would replay', workflowId: expect.stringMatching(/^calendly-meeting-/) },
    { id: broken, result: 'still unprocessable', reason: 'body is not valid JSON' },
  ]);
  expect(await system.orm.em.fork().count(MeetingSchema, { inviteeUri: invitee.uri })).toBe(0);

  const results = await replay([processable, broken]);
  expect(results[0]).toMatchObject({ id: processable, result: 'replayed', duplicate: false });
  expect(results[1]).toMatchObject({ id: broken, result: 'still unprocessable' });

  const workflowId = (results[0] as { workflowId: string }).workflowId;
  await expect(deliveryOutcome(system, { workflowId, eventType: 'invitee.created' })).resolves.toMatchObject({ outcome: 'processed' });
  const em = system.orm.em.fork();
  expect(await em.count(MeetingSchema, { inviteeUri: invitee.uri })).toBe(1);
  expect(await em.findOneOrFail(WebhookDeliverySchema, { id: processable })).toMatchObject({ outcome: 'replayed', detail: `replayed as ${workflowId}` });
  expect(await em.findOneOrFail(WebhookDeliverySchema, { id: broken })).toMatchObject({ outcome: 'unprocessed' });

  // Replaying again finds nothing new to do for the replayed one.
  expect(await replay([processable])).toEqual([]);
});
