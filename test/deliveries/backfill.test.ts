/** npm run bookings:sync against the fake Calendly API and the real workflows: idempotent, paged, rate-limit aware. */
import { uuidOf } from '../../src/calendly/schemas';
import { MeetingSchema } from '../../src/database/entities/meeting';
import { WebhookDeliverySchema } from '../../src/database/entities/webhook-delivery';
import { syncBookings, type SyncOptions } from '../../src/deliveries/backfill';
import { subscriptionKit, type SubscriptionKit } from '../support/subscriptions';
import { eventually, startTestSystem, type TestSystem } from '../support/system';
import { PERSONAL_TOKEN_CONNECTION_ID } from '../../src/workflow-ids';

let system: TestSystem;
let kit: SubscriptionKit;
beforeAll(async () => {
  system = await startTestSystem();
  kit = subscriptionKit(system);
});
afterAll(() => system.stop());

/** Each test books in its own year, far ahead, so that its window holds only its own events. */
async function bookYear(year: number, count: number) {
  const bookings = [];
  for (let index = 0; index < count; index++) {
    const startTime = `${year}-03-${String(index + 1).padStart(2, '0')}T10:00:00Z`;
    bookings.push(await system.fake.bookMeeting({ email: `sync-${year}-${index}@example.com`, startTime }, { deliver: false }));
  }
  return bookings;
}

async function sync(year: number, options: Partial<SyncOptions> = {}) {
  const lines: string[] = [];
  const summary = await syncBookings({
    calendly: kit.calendly,
    connectionId: PERSONAL_TOKEN_CONNECTION_ID,
    temporal: system.temporal,
    taskQueue: system.config.temporal.taskQueue,
    window: { from: new Date(`${year}-01-01T00:00:00Z`), to: new Date(`${year + 1}-01-01T00:00:00Z`) },
    report: (line) => lines.push(line),
    ...options,
  });
  return { summary, output: lines.join('\n') };
}

const meetingsOf = (inviteeUris: string[]) =>
  system.orm.em.fork().find(MeetingSchema, { inviteeUri: { $in: inviteeUris } }, { orderBy: { startTime: 'asc' } });

async function storedExactlyOnce(inviteeUris: string[]) {
  return eventually(async () => {
    const meetings = await meetingsOf(inviteeUris);
    return meetings.length === inviteeUris.length ? meetings : undefined;
  }, 45_000, `${inviteeUris.length} meetings stored`);
}

it('feeds every invitee across pages once; a second run starts nothing and reports them as already known', async () => {
  const bookings = await bookYear(2041, 5);
  // A group event: a second invitee on the first event. And a cancellation that was never delivered either.
  const groupGuest = await system.fake.bookMeeting({ email: 'sync-2041-guest@example.com', startTime: bookings[0].event.start_time, eventUri: bookings[0].event.uri }, { deliver: false });
  await system.fake.cancelInvitee(bookings[4].invitee.uri, { reason: 'conflict' }, { deliver: false });
  const inviteeUris = [...bookings.map(({ invitee }) => invitee.uri), groupGuest.invitee.uri];

  const first = await sync(2041, { pageSize: 2 });
  // 6 invitees; the canceled one is fed as created and as canceled.
  expect(first.summary).toEqual({ events: 5, invitees: 6, started: 7, alreadyKnown: 0, wouldStart: 0, skipped: 0 });
  expect(first.output).toContain('Page 1: 2 events, 3 invitees: 3 started, 0 already known');
  expect(first.output).toContain('Page 3: 1 event, 1 invitee: 2 started, 0 already known');
  expect(first.output).toContain(`started invitee.canceled ${bookings[4].invitee.uri}`);
  // Lines reach the worker's log: invitees are named by URI, never by email.
  expect(first.output).not.toContain('@example.com');

  const meetings = await storedExactlyOnce(inviteeUris);
  expect(new Set(meetings.map(({ inviteeUri }) => inviteeUri)).size).toBe(6);
  await eventually(async () => {
    const canceled = (await meetingsOf([bookings[4].invitee.uri]))[0];
    return canceled?.status === 'canceled' ? canceled : undefined;
  }, 30_000, 'the canceled meeting stored as canceled');
  // The delivery log tells backfilled bookings apart from signed webhooks.
  const logged = await eventually(async () => {
    const rows = await system.orm.em.fork().find(WebhookDeliverySchema, { dedupKey: { $like: `%:${uuidOf(bookings[0].invitee.uri)}` } });
    return rows.length && rows.every((row) => row.outcome === 'processed') ? rows : undefined;
  });
  expect(logged).toEqual([expect.objectContaining({ signature: 'unchecked', detail: 'backfilled from the Calendly API' })]);

  const second = await sync(2041, { pageSize: 2 });
  expect(second.summary).toEqual({ events: 5, invitees: 6, started: 0, alreadyKnown: 7, wouldStart: 0, skipped: 0 });
  expect(second.output).toContain('Done: 5 events, 6 invitees: 0 started, 7 already known.');
  expect(await meetingsOf(inviteeUris)).toHaveLength(6);
});

it('lists what it would feed with --dry-run and starts nothing', async () => {
  const [booking] = await bookYear(2042, 1);
  const { summary, output } = await sync(2042, { dryRun: true });
  expect(summary).toEqual({ events: 1, invitees: 1, started: 0, alreadyKnown: 0, wouldStart: 1, skipped: 0 });
  expect(output).toContain('(dry run: nothing is started)');
  expect(output).toContain(`would feed invitee.created ${booking.invitee.uri}`);
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  expect(await meetingsOf([booking.invitee.uri])).toHaveLength(0);
});

it('waits X-RateLimit-Reset seconds on a 429, says so, and carries on', async () => {
  const bookings = await bookYear(2043, 3);
  system.fake.failNext('/scheduled_events', { status: 429, count: 2 });
  const waits: number[] = [];
  const { summary, output } = await sync(2043, {
    pageSize: 2,
    // The fake's window resets up to a minute later: record the wait instead of spending it.
    sleep: (ms) => {
      waits.push(ms);
      return Promise.resolve();
    },
  });
  const said = [...output.matchAll(/Calendly rate limit reached on \/scheduled_events\?\S+: waiting (\d+) s \(X-RateLimit-Reset\), then retrying/g)];
  expect(said.map(([, seconds]) => Number(seconds) * 1000)).toEqual(waits);
  expect(waits).toHaveLength(2);
  for (const ms of waits) expect(ms).toBeGreaterThan(0);
  expect(summary).toMatchObject({ events: 3, invitees: 3, started: 3 });
  await storedExactlyOnce(bookings.map(({ invitee }) => invitee.uri));
});

it('restores a no-show mark that no webhook brought, and finds it already known on the next run', async () => {
  const [booking] = await bookYear(2044, 1);
  await system.fake.markNoShow(booking.invitee.uri, { deliver: false });

  const first = await sync(2044);
  expect(first.summary).toMatchObject({ invitees: 1, started: 2 });
  expect(first.output).toContain(`started invitee_no_show.created ${booking.invitee.uri}`);
  const marked = await eventually(async () => {
    const [meeting] = await meetingsOf([booking.invitee.uri]);
    return meeting?.noShowAt ? meeting : undefined;
  }, 30_000, 'the no-show mark stored');
  expect(marked.status).toBe('active');

  expect((await sync(2044)).summary).toMatchObject({ started: 0, alreadyKnown: 2 });
});

it('skips a record that fails validation, says which and why (no values), and feeds the rest, on every run', async () => {
  const bookings = await bookYear(2045, 3);
  // An invitee without an email, and a scheduled event with a timestamp that is not one.
  system.fake.corruptRecord(bookings[0].invitee.uri, { email: '' });
  system.fake.corruptRecord(bookings[1].event.uri, { created_at: 'yesterday' });
  // And a name with a NUL character, which PostgreSQL refuses: cleaned, so that the booking is stored.
  const nul = await system.fake.bookMeeting({ email: 'sync-2045-nul@example.com', name: 'Ada\u0000 Lovelace', startTime: '2045-03-10T10:00:00Z' }, { deliver: false });

  for (const run of [1, 2]) {
    const { summary, output } = await sync(2045, { pageSize: 2 });
    expect(summary).toMatchObject({ events: 3, invitees: 2, skipped: 2 });
    expect(summary.started + summary.alreadyKnown).toBe(2);
    expect(output).toContain(`skipped an invalid invitee ${bookings[0].invitee.uri}: email:`);
    expect(output).toContain(`skipped an invalid scheduled event ${bookings[1].event.uri}: created_at:`);
    expect(output).toContain('2 invalid records skipped');
    if (run === 1) expect(summary.started).toBe(2);
  }
  const [stored] = await storedExactlyOnce([bookings[2].invitee.uri, nul.invitee.uri]).then((meetings) => meetings.filter((meeting) => meeting.inviteeUri === nul.invitee.uri));
  const lead = await system.orm.em.fork().findOneOrFail(MeetingSchema, { id: stored.id }, { populate: ['lead'] });
  expect(lead.lead.name).toBe('Ada Lovelace');
  expect(await meetingsOf([bookings[0].invitee.uri, bookings[1].invitee.uri])).toHaveLength(0);
});
