/**
 * deliverReminderWebhook: an endpoint that refuses a reminder with a 4xx (other than 408/429) will refuse it on
 * every retry, so the refusal is final, recorded on the reminder and counted; 5xx and 429 stay retried.
 */
import { createServer, type Server } from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import type { MikroORM } from '@mikro-orm/postgresql';
import type { Client } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { CalendlyAccounts } from '../../activities/calendly-accounts';
import { reminderWebhookFailures } from '../../activities/metrics';
import { createReminderActivities } from '../../activities/reminders';
import { saveBookings } from '../../src/database/bookings';
import { ReminderSchema } from '../../src/database/entities/reminder';
import { fireReminder, planReminders } from '../../src/database/reminders';
import { OutboundDestinations } from '../../src/outbound-destinations';
import { booking, newEmail, newOrganization, openOrm } from '../database/database';
import { PERSONAL_TOKEN_CONNECTION_ID } from '../../src/workflow-ids';

let orm: MikroORM;
let server: Server;
let url: string;
const localReceivers = new OutboundDestinations({ allowedNetworks: ['127.0.0.1/32'], requireHttps: false });
let answer = 204;
let requests = 0;
beforeAll(async () => {
  orm = await openOrm();
  server = createServer((request, response) => {
    requests += 1;
    request.resume();
    request.on('end', () => response.writeHead(answer).end());
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/reminders`;
});
afterAll(async () => {
  server.close();
  await orm.close();
});

async function sentReminder(): Promise<string> {
  const [saved] = await saveBookings(orm.em.fork(), [booking({ email: newEmail('webhook'), startTime: '2031-06-01T09:00:00.000Z' })], newOrganization(), PERSONAL_TOKEN_CONNECTION_ID);
  const [reminder] = await planReminders(orm.em.fork(), saved.meetingId, [3600], new Date('2031-01-01T00:00:00Z'));
  await fireReminder(orm.em.fork(), reminder.reminderId, new Date('2031-06-01T08:00:00Z'));
  return reminder.reminderId;
}

const activities = () => createReminderActivities(orm, new CalendlyAccounts({ orm }), {} as Client, 'unused', { offsetsSeconds: [3600], webhook: { url, secret: 'reminder-secret-0123456789' } }, localReceivers);
const deliver = (reminderId: string) => new MockActivityEnvironment().run(activities().deliverReminderWebhook, reminderId).then(() => undefined, (error: unknown) => error);
const failures = async (status: string) => (await reminderWebhookFailures.get()).values.find((value) => value.labels.status === status)?.value ?? 0;
const reminderRow = (id: string) => orm.em.fork().findOneOrFail(ReminderSchema, { id });

it('gives up on a 4xx for good: records it on the reminder, counts it, and never POSTs it again', async () => {
  const reminderId = await sentReminder();
  const before = await failures('404');
  answer = 404;
  const error = await deliver(reminderId);
  expect(error).toBeInstanceOf(ApplicationFailure);
  expect(error).toMatchObject({ type: 'ReminderWebhookRejected', nonRetryable: true, message: 'reminder webhook answered 404' });
  expect(await reminderRow(reminderId)).toMatchObject({ outboundFailedAt: expect.any(Date), outboundFailure: 'reminder webhook answered 404', outboundDeliveredAt: null });
  expect(await failures('404')).toBe(before + 1);

  const asked = requests;
  answer = 204;
  expect(await deliver(reminderId)).toBeUndefined();
  expect(requests).toBe(asked);
});

it.each([503, 429, 408])('keeps retrying on %i: nothing is recorded as failed', async (status) => {
  const reminderId = await sentReminder();
  answer = status;
  const error = await deliver(reminderId);
  expect(error).toBeInstanceOf(Error);
  expect(error).not.toMatchObject({ nonRetryable: true });
  expect(await reminderRow(reminderId)).toMatchObject({ outboundFailedAt: null });
  answer = 204;
  expect(await deliver(reminderId)).toBeUndefined();
  expect(await reminderRow(reminderId)).toMatchObject({ outboundDeliveredAt: expect.any(Date), outboundFailedAt: null });
});
