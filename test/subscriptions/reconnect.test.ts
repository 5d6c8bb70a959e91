/** npm run subscription:reconnect against the fake Calendly API: the end state, and the order of the changes. */
import { HANDLED_EVENTS, SUBSCRIBED_EVENTS } from '../../src/calendly/schemas';
import { reconnectSubscription, type ReconnectOptions } from '../../src/subscriptions/reconnect';
import { FRONTEND_URL, pathOf, subscriptionKit, type SubscriptionKit } from '../support/subscriptions';
import { startTestSystem, type TestSystem } from '../support/system';

let system: TestSystem;
let kit: SubscriptionKit;
beforeAll(async () => {
  system = await startTestSystem();
  kit = subscriptionKit(system);
});
afterAll(() => system.stop());
beforeEach(() => kit.reset());

async function reconnect(options: Partial<ReconnectOptions> = {}) {
  const lines: string[] = [];
  const result = await reconnectSubscription({
    calendly: kit.calendly,
    target: kit.target,
    removeOthers: true,
    report: (line) => lines.push(line),
    ...options,
  });
  return { ...result, output: lines.join('\n') };
}

/** The end state a person checks: exactly one subscription, ours, active, for exactly the handled events. */
function expectOnlyOurs() {
  const subscriptions = system.fake.subscriptions();
  expect(subscriptions).toHaveLength(1);
  expect(subscriptions[0]).toMatchObject({ callback_url: kit.target.callbackUrl, state: 'active', scope: 'organization', retry_started_at: null });
  expect([...subscriptions[0].events].sort()).toEqual([...SUBSCRIBED_EVENTS].sort());
  return subscriptions[0];
}

it('creates the subscription in a fresh organization, which then delivers signed bookings to the receiver; a second run changes nothing', async () => {
  const mark = kit.mark();
  const first = await reconnect();
  expect(kit.changesSince(mark)).toEqual(['POST /webhook_subscriptions 201']);
  expect(first.changed).toBe(true);
  expect(first.output).toContain(`Connected: ${first.subscription?.uri}`);
  expectOnlyOurs();

  const { deliveries } = await system.fake.bookMeeting({ email: `reconnect-${Date.now()}@example.com`, startTime: '2031-05-01T10:00:00Z' });
  expect(deliveries.map(({ url, status }) => [url, status])).toEqual([[kit.target.callbackUrl, 202]]);

  const again = kit.mark();
  const second = await reconnect();
  expect(kit.changesSince(again)).toEqual([]);
  expect(second.changed).toBe(false);
  expect(second.output).toContain('Already connected: nothing to change.');
});

it('creates the right subscription before deleting one at another URL', async () => {
  const stale = await kit.create(FRONTEND_URL);
  const mark = kit.mark();
  const { output } = await reconnect();
  expect(kit.changesSince(mark)).toEqual(['POST /webhook_subscriptions 201', `DELETE ${pathOf(stale)} 204`]);
  expect(output).toContain(`Deleting: delete ${stale.uri} at ${FRONTEND_URL} (another URL receives invitee events)`);
  expectOnlyOurs();
});

it.each([
  ['disabled by Calendly', async () => system.fake.disableSubscription((await kit.create(kit.target.callbackUrl)).uri)],
  ['listens to the wrong events', () => kit.create(kit.target.callbackUrl, ['invitee.created'])],
])('replaces a subscription at our URL (%s): Calendly has no update, so delete, then create', async (reason, arrange) => {
  await arrange();
  const [wrong] = system.fake.subscriptions();
  const mark = kit.mark();
  const { output } = await reconnect();
  expect(kit.changesSince(mark)).toEqual([`DELETE ${pathOf(wrong)} 204`, 'POST /webhook_subscriptions 201']);
  expect(output).toContain(reason);
  expect(expectOnlyOurs().uri).not.toBe(wrong.uri);
});

it('handles the 409 "Hook with this url already exists" for a subscription the organization list does not show', async () => {
  const hidden = await kit.createForUser(kit.target.callbackUrl);
  const mark = kit.mark();
  const { output } = await reconnect();
  expect(kit.changesSince(mark)).toEqual(['POST /webhook_subscriptions 409', `DELETE ${pathOf(hidden)} 204`, 'POST /webhook_subscriptions 201']);
  expect(output).toContain('Calendly answered 409');
  expect(output).toContain('Hook with this url already exists');
  expectOnlyOurs();
});

it('prints the plan with --dry-run and changes nothing', async () => {
  const stale = await kit.create(FRONTEND_URL);
  const disabled = await kit.create(kit.target.callbackUrl);
  system.fake.disableSubscription(disabled.uri);
  const mark = kit.mark();
  const { output, steps } = await reconnect({ dryRun: true });
  expect(kit.changesSince(mark)).toEqual([]);
  expect(steps.map((step) => (step.action === 'create' ? 'create' : `delete ${step.subscription.callback_url}`))).toEqual([
    `delete ${kit.target.callbackUrl}`,
    'create',
    `delete ${FRONTEND_URL}`,
  ]);
  expect(output).toContain(`Would delete ${disabled.uri}`);
  expect(output).toContain(`Would create a subscription at ${kit.target.callbackUrl}`);
  expect(output).toContain(`Would delete ${stale.uri}`);
  expect(output).toContain('Dry run: nothing was changed.');
  expect(system.fake.subscriptions().map(({ uri, state }) => [uri, state])).toEqual([
    [stale.uri, 'active'],
    [disabled.uri, 'disabled'],
  ]);
});

it('leaves subscriptions at other URLs alone when asked to (--keep-others)', async () => {
  const other = await kit.create(FRONTEND_URL);
  await reconnect({ removeOthers: false });
  expect(system.fake.subscriptions().map(({ callback_url }) => callback_url).sort()).toEqual([FRONTEND_URL, kit.target.callbackUrl].sort());
  expect(system.fake.subscriptions().find(({ uri }) => uri === other.uri)?.state).toBe('active');
});

it('replaces a right subscription when asked to (--recreate), e.g. to switch to a new signing key', async () => {
  const old = await kit.create(kit.target.callbackUrl, SUBSCRIBED_EVENTS, 'old-signing-key-0123');
  const { deliveries: refused } = await system.fake.bookMeeting({ email: `rotate-${Date.now()}@example.com`, startTime: '2031-05-02T10:00:00Z' });
  expect(refused.map(({ status }) => status)).toEqual([401]);

  const mark = kit.mark();
  await reconnect({ recreate: true });
  expect(kit.changesSince(mark)).toEqual([`DELETE ${pathOf(old)} 204`, 'POST /webhook_subscriptions 201']);
  const { deliveries } = await system.fake.bookMeeting({ email: `rotated-${Date.now()}@example.com`, startTime: '2031-05-03T10:00:00Z' });
  expect(deliveries.map(({ status }) => status)).toEqual([202]);
});

it('subscribes to the invitee events alone where Calendly refuses routing forms, and a check that knows it keeps that subscription', async () => {
  system.fake.setRoutingFormsAvailable(system.fake.organizationUri, false);
  try {
    const mark = kit.mark();
    const first = await reconnect();
    expect(kit.changesSince(mark)).toEqual(['POST /webhook_subscriptions 403', 'POST /webhook_subscriptions 201']);
    expect(first.output).toContain('Calendly refused routing_form_submission.created (403');
    const [ours] = system.fake.subscriptions();
    expect([...ours.events].sort()).toEqual([...HANDLED_EVENTS].sort());

    // What the connection recorded (withoutRoutingForms): nothing to change, so the check does not flap.
    const again = kit.mark();
    const second = await reconnect({ withoutRoutingForms: true });
    expect(kit.changesSince(again)).toEqual([]);
    expect(second.inspection.problems).toEqual([]);

    // Once routing forms are allowed, a set-up (which does not pass the flag) moves ours to every event.
    system.fake.setRoutingFormsAvailable(system.fake.organizationUri, true);
    await reconnect();
    expectOnlyOurs();
  } finally {
    system.fake.setRoutingFormsAvailable(system.fake.organizationUri, true);
  }
});
