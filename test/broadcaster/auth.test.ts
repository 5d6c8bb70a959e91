/** Who may open the websocket at /ws, and what a token bound to an organization gets to see. */
import { API_TOKEN, startTestSystem, type TestSystem } from '../support/system';
import { commitEvent, openEventStream, refusedUpgrade } from '../support/event-stream';

const ORGANIZATION = 'https://api.calendly.com/organizations/ORG-A';
const OTHER_ORGANIZATION = 'https://api.calendly.com/organizations/ORG-B';
const BOUND_TOKEN = 'bound-token-0123456789abcdef';

let system: TestSystem;

beforeAll(async () => {
  system = await startTestSystem({ env: { API_TOKENS: `${API_TOKEN},${BOUND_TOKEN}:${ORGANIZATION}` } });
});
afterAll(() => system.stop());

it('refuses the upgrade with 401 without a token or with a token that is not configured', async () => {
  expect(await refusedUpgrade(system.websocketUrl, {})).toMatchObject({ status: 401, body: { code: 'unauthorized' } });
  expect(await refusedUpgrade(system.websocketUrl, { token: 'not-a-configured-token-123' })).toMatchObject({ status: 401 });
  expect(await refusedUpgrade(system.websocketUrl, { ticket: 'not-a-ticket' })).toMatchObject({ status: 401 });
});

it('refuses a lastEventId that is not an event id with 400', async () => {
  expect(await refusedUpgrade(system.websocketUrl, { token: API_TOKEN, lastEventId: 'yesterday' })).toMatchObject({
    status: 400,
    body: { code: 'invalid_last_event_id' },
  });
});

it.each(['header', 'ticket'] as const)('accepts a configured token in the %s and pushes committed events', async (tokenIn) => {
  const stream = await openEventStream(system.websocketUrl, { token: API_TOKEN, tokenIn });
  expect(stream.welcome).toMatchObject({ type: 'welcome', organization: null, lastEventId: expect.stringMatching(/^\d+$/) });
  const id = await commitEvent(system.orm, { type: 'meeting.created', organization: ORGANIZATION, payload: { meeting: { name: 'Intro' } } });
  await stream.waitForEvent(id);
  expect(stream.events).toEqual([
    { id, type: 'meeting.created', occurredAt: expect.any(String), organization: ORGANIZATION, data: { meeting: { name: 'Intro' } } },
  ]);
  expect(Date.parse(stream.events[0].occurredAt)).toBeGreaterThan(Date.now() - 60_000);
  await stream.close();
});

it("gives a token bound to an organization only that organization's events, live and when resuming", async () => {
  const bound = await openEventStream(system.websocketUrl, { token: BOUND_TOKEN, tokenIn: 'ticket' });
  const unbound = await openEventStream(system.websocketUrl, { token: API_TOKEN });
  expect(bound.welcome.organization).toBe(ORGANIZATION);
  const before = bound.welcome.lastEventId;

  const own = await commitEvent(system.orm, { organization: ORGANIZATION });
  const other = await commitEvent(system.orm, { organization: OTHER_ORGANIZATION });
  const none = await commitEvent(system.orm, { organization: null });
  const ownAgain = await commitEvent(system.orm, { organization: ORGANIZATION });

  await unbound.waitForEvent(ownAgain);
  await bound.waitForEvent(ownAgain);
  expect(unbound.ids()).toEqual([own, other, none, ownAgain]);
  expect(bound.ids()).toEqual([own, ownAgain]);

  const resumed = await openEventStream(system.websocketUrl, { token: BOUND_TOKEN, lastEventId: before });
  await resumed.waitForEvent(ownAgain);
  expect(resumed.ids()).toEqual([own, ownAgain]);
  await Promise.all([bound.close(), unbound.close(), resumed.close()]);
});
