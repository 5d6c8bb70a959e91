/** npm run subscription:verify against the fake Calendly API: each failure mode, success, and the self-test. */
import { CalendlyApiClient } from '../../src/calendly/api-client';
import { startFakeCalendly } from '../../fake-calendly';
import { MeetingSchema } from '../../src/database/entities/meeting';
import { sendSelfTest } from '../../src/subscriptions/self-test';
import { VERIFY_EXIT_CODES, verifySubscription } from '../../src/subscriptions/verify';
import { FRONTEND_URL, subscriptionKit, type SubscriptionKit } from '../support/subscriptions';
import { CALENDLY_TOKEN, eventually, startTestSystem, type TestSystem } from '../support/system';

let system: TestSystem;
let kit: SubscriptionKit;
beforeAll(async () => {
  system = await startTestSystem();
  kit = subscriptionKit(system);
});
afterAll(() => system.stop());
beforeEach(() => kit.reset());

const verify = (options?: { allowOthers?: boolean }) => verifySubscription(kit.calendly, kit.target.callbackUrl, options);

describe('verify', () => {
  it('passes (exit 0) with exactly one active subscription here, for the handled events', async () => {
    await kit.create(kit.target.callbackUrl);
    const { findings, exitCode } = await verify();
    expect(findings).toEqual([]);
    expect(exitCode).toBe(0);
  });

  it('says there is no subscription here (exit 3), and to reconnect', async () => {
    const { findings, exitCode } = await verify();
    expect(exitCode).toBe(VERIFY_EXIT_CODES.missing);
    expect(findings).toEqual([
      { problem: 'missing', message: `No subscription delivers to ${kit.target.callbackUrl}: Calendly sends no bookings here.`, fix: 'run npm run subscription:reconnect' },
    ]);
  });

  it('says Calendly disabled it (exit 4), to reconnect, and from when to backfill', async () => {
    const subscription = await kit.create(kit.target.callbackUrl);
    system.fake.disableSubscription(subscription.uri);
    const disabledSince = system.fake.subscriptions()[0].retry_started_at;
    const { findings, exitCode } = await verify();
    expect(exitCode).toBe(VERIFY_EXIT_CODES.disabled);
    expect(findings[0]).toMatchObject({ problem: 'disabled', message: expect.stringContaining(`${subscription.uri} is disabled`) });
    expect(findings[0].fix).toBe(
      `run npm run subscription:reconnect (re-creates it), then npm run bookings:sync -- --from ${disabledSince} to fetch the bookings made meanwhile`,
    );
  });

  it('says it listens to the wrong events (exit 5)', async () => {
    await kit.create(kit.target.callbackUrl, ['invitee.created']);
    const { findings, exitCode } = await verify();
    expect(exitCode).toBe(VERIFY_EXIT_CODES['wrong-events']);
    expect(findings[0]).toMatchObject({ problem: 'wrong-events', message: expect.stringContaining('listens to invitee.created instead of exactly invitee.created, invitee.canceled') });
  });

  it('says deliveries are failing (exit 6) while Calendly retries them, e.g. signed with a key the receiver does not know', async () => {
    await kit.create(kit.target.callbackUrl, undefined, 'a-key-the-receiver-does-not-know');
    const { deliveries } = await system.fake.bookMeeting({ email: `failing-${Date.now()}@example.com`, startTime: '2031-06-01T10:00:00Z' });
    expect(deliveries.map(({ status }) => status)).toEqual([401]);
    const { findings, exitCode } = await verify();
    expect(exitCode).toBe(VERIFY_EXIT_CODES.failing);
    expect(findings[0]).toMatchObject({ problem: 'failing', fix: expect.stringContaining('--self-test') });
  });

  it('says other subscriptions receive invitee events (exit 7), unless they are allowed', async () => {
    await kit.create(kit.target.callbackUrl);
    await kit.create(FRONTEND_URL);
    await kit.create('https://routing.example.com/hook', ['routing_form_submission.created']);
    const { findings, exitCode } = await verify();
    expect(exitCode).toBe(VERIFY_EXIT_CODES['other-subscriptions']);
    expect(findings).toHaveLength(1);
    expect(findings[0].message).toContain(FRONTEND_URL);
    expect(findings[0].message).not.toContain('routing.example.com');
    expect((await verify({ allowOthers: true })).exitCode).toBe(0);
  });

  it('lists every problem, most urgent first', async () => {
    await kit.create(FRONTEND_URL);
    const { findings, exitCode } = await verify();
    expect(findings.map(({ problem }) => problem)).toEqual(['missing', 'other-subscriptions']);
    expect(exitCode).toBe(VERIFY_EXIT_CODES.missing);
  });
});

describe('--self-test', () => {
  it('sends a signed delivery for a real invitee that the receiver accepts, and again as a duplicate', async () => {
    const { invitee } = await system.fake.bookMeeting(
      { email: `self-test-${Date.now()}@example.com`, startTime: '2039-01-01T10:00:00Z' },
      { deliver: false },
    );
    const first = await sendSelfTest(kit.calendly, kit.target);
    expect(first).toMatchObject({ ok: true, status: 202, inviteeUri: invitee.uri });
    expect(first.message).toContain('The receiver accepted the signed test delivery (202)');

    const second = await sendSelfTest(kit.calendly, kit.target);
    expect(second).toMatchObject({ ok: true, status: 200, inviteeUri: invitee.uri });
    expect(second.message).toContain('a redelivery of one it already had');
    // It was a real booking: the receiver stored it, once.
    await eventually(async () => ((await system.orm.em.fork().count(MeetingSchema, { inviteeUri: invitee.uri })) === 1 ? true : undefined));
  });

  it('fails when the receiver refuses the signature', async () => {
    await system.fake.bookMeeting({ email: `self-test-key-${Date.now()}@example.com`, startTime: '2031-06-02T10:00:00Z' }, { deliver: false });
    const result = await sendSelfTest(kit.calendly, { ...kit.target, signingKey: 'not-the-receivers-key' });
    expect(result).toMatchObject({ ok: false, status: 401 });
    expect(result.message).toContain('The receiver refused the signature (signature_mismatch)');
  });

  it('fails when the receiver cannot be reached', async () => {
    const result = await sendSelfTest(kit.calendly, { ...kit.target, callbackUrl: 'http://127.0.0.1:9/calendly/webhook' });
    expect(result).toMatchObject({ ok: false, status: null });
    expect(result.message).toContain('could not be reached');
  });

  it('says so when the organization has no booking to build a delivery from', async () => {
    const empty = await startFakeCalendly({ apiToken: CALENDLY_TOKEN });
    try {
      const result = await sendSelfTest(new CalendlyApiClient({ baseUrl: empty.url, token: CALENDLY_TOKEN }), kit.target);
      expect(result).toMatchObject({ ok: false, status: null, inviteeUri: null });
      expect(result.message).toContain('no booking to build a test delivery from');
    } finally {
      await empty.close();
    }
  });
});
