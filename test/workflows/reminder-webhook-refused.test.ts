/**
 * A reminder endpoint that refuses a reminder with a 4xx is not retried forever: the reminder's refusal is recorded
 * and shown on the dashboard, the meeting's workflow goes on with its other reminders and ends normally.
 */
import { createServer, type Server } from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import type { MeetingPlan } from '../../src/contract';
import { MeetingSchema } from '../../src/database/entities/meeting';
import { ReminderSchema } from '../../src/database/entities/reminder';
import { meetingWorkflowId } from '../../src/workflow-ids';
import { API_TOKEN, eventually, startTestSystem, type TestSystem } from '../support/system';
import { PERSONAL_TOKEN_CONNECTION_ID } from '../../src/workflow-ids';

let system: TestSystem;
let endpoint: Server;
const answers: number[] = [];
beforeAll(async () => {
  // The first reminder is refused (410 Gone), the second accepted.
  endpoint = createServer((request, response) => {
    request.resume();
    request.on('end', () => {
      const status = answers.length === 0 ? 410 : 204;
      answers.push(status);
      response.writeHead(status).end();
    });
  });
  endpoint.listen(0, '127.0.0.1');
  await once(endpoint, 'listening');
  const url = `http://127.0.0.1:${(endpoint.address() as AddressInfo).port}/crm`;
  system = await startTestSystem({ env: { REMINDER_OFFSETS: '4s,2s', REMINDER_WEBHOOK_URL: url, REMINDER_WEBHOOK_SECRET: 'reminder-secret-0123456789' } });
  await system.subscribeReceiver();
});
afterAll(async () => {
  await system.stop();
  endpoint.close();
});

it('records the refusal, shows it, sends the next reminder and ends the meeting workflow normally', async () => {
  const startTime = new Date(Date.now() + 7_000).toISOString();
  const { invitee } = await system.fake.bookMeeting({ email: `refused-${Date.now()}@example.com`, startTime });
  const plan = (await eventually(
    () => system.temporal.workflow.getHandle(meetingWorkflowId(invitee.uri, PERSONAL_TOKEN_CONNECTION_ID)).result().catch(() => undefined),
    40_000,
    'the meeting workflow finished',
  )) as MeetingPlan;
  expect(plan.reminders.map((reminder) => reminder.state)).toEqual(['sent', 'sent']);
  expect(answers).toEqual([410, 204]);

  const meeting = await system.orm.em.fork().findOneOrFail(MeetingSchema, { inviteeUri: invitee.uri });
  const reminders = await system.orm.em.fork().find(ReminderSchema, { meeting: meeting.id }, { orderBy: { fireAt: 'asc' } });
  expect(reminders.map(({ outboundFailure, outboundDeliveredAt }) => ({ outboundFailure, delivered: outboundDeliveredAt !== null }))).toEqual([
    { outboundFailure: 'reminder webhook answered 410', delivered: false },
    { outboundFailure: null, delivered: true },
  ]);
  const { body } = await system.get('/api/dashboard', API_TOKEN);
  expect(body.failedReminderWebhooks).toEqual(
    expect.arrayContaining([expect.objectContaining({ reminderId: reminders[0].id, meetingId: meeting.id, failure: 'reminder webhook answered 410' })]),
  );
});
