/**
 * Metrics with an organization label, scraped from the receiver's metrics listener (GET /metrics) after a real booking (receiver,
 * in-process worker and broadcaster, fake Calendly): the outbox lag of its events, from their write to their
 * broadcast, and the booking saved and its reminder sent, counted under the organization they belong to.
 */
import { MeetingSchema } from '../../src/database/entities/meeting';
import { ReminderSchema } from '../../src/database/entities/reminder';
import { eventually, startTestSystem, type TestSystem } from '../support/system';

jest.setTimeout(60_000);

let system: TestSystem;
beforeAll(async () => {
  system = await startTestSystem({ env: { REMINDER_OFFSETS: '2s' } });
  await system.subscribeReceiver();
});
afterAll(() => system.stop());

/** The value of one sample of GET /metrics, 0 when it is not there yet. */
async function scrape(sample: string, labels: Record<string, string>): Promise<number> {
  const text = await (await fetch(`${system.metricsUrl}/metrics`)).text();
  const printed = Object.entries(labels)
    .map(([name, value]) => `${name}="${value}"`)
    .join(',');
  const line = text.split('\n').find((candidate) => candidate.startsWith(`${sample}{`) && candidate.includes(printed));
  return line ? Number(line.split(' ').at(-1)) : 0;
}

it('times each outbox event from its write to its broadcast, and counts bookings and reminders, per organization', async () => {
  const organization = { organization: system.fake.organizationUri };
  const before = {
    lag: await scrape('calendly_outbox_lag_seconds_count', organization),
    saved: await scrape('calendly_bookings_saved_total', organization),
    sent: await scrape('calendly_reminders_sent_total', organization),
    late: await scrape('calendly_reminder_lateness_seconds_count', organization),
  };

  // Its reminder fires 2 s before the start: late enough that a slow booking on a busy machine is not skipped.
  const startTime = new Date(Date.now() + 15_000).toISOString();
  const { invitee } = await system.fake.bookMeeting({ email: `lag-${Date.now()}@example.com`, name: 'Lagging Lead', startTime });
  const meeting = await eventually(() => system.orm.em.fork().findOne(MeetingSchema, { inviteeUri: invitee.uri }).then((row) => row ?? undefined));
  await eventually(async () => {
    const [reminder] = await system.orm.em.fork().find(ReminderSchema, { meeting: meeting.id });
    return reminder?.state === 'sent' ? reminder : undefined;
  }, 45_000, 'the reminder sent');

  // lead.created, meeting.created and reminder.sent at least, each broadcast once by this receiver.
  const lag = await eventually(async () => {
    const count = await scrape('calendly_outbox_lag_seconds_count', organization);
    return count >= before.lag + 3 ? count : undefined;
  }, 10_000, 'three outbox events timed');
  expect(lag).toBeGreaterThanOrEqual(before.lag + 3);
  expect(await scrape('calendly_outbox_lag_seconds_bucket', { le: '+Inf', ...organization })).toBe(lag);
  expect(await scrape('calendly_bookings_saved_total', organization)).toBeGreaterThanOrEqual(before.saved + 1);
  // Counted just after the row is committed as sent, by the same activity.
  await eventually(async () => ((await scrape('calendly_reminders_sent_total', organization)) > before.sent ? true : undefined), 10_000, 'the reminder counted');
  expect(await scrape('calendly_reminders_sent_total', organization)).toBe(before.sent + 1);
  expect(await scrape('calendly_reminder_lateness_seconds_count', organization)).toBe(before.late + 1);
  // Another organization's series (if any) did not get these.
  const text = await (await fetch(`${system.metricsUrl}/metrics`)).text();
  const organizations = new Set([...text.matchAll(/^calendly_(?:outbox_lag_seconds_count|bookings_saved_total)\{.*organization="([^"]*)"/gm)].map((match) => match[1]));
  expect([...organizations].every((uri) => uri === system.fake.organizationUri || uri === 'none')).toBe(true);
});
