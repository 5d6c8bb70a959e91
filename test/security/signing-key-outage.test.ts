/**
 * PostgreSQL down while Calendly delivers to a connection's URL (issue 18, item 6): the receiver checks each delivery
 * with its connection's signing key, kept in memory (CONNECTION_SIGNING_KEY_CACHE_SECONDS, 1 s here so that the key
 * is due for a re-read during the outage). A key read before keeps that connection's deliveries accepted (they go to
 * Temporal, which is up, and are stored once the database is back); a connection whose key was never read gets 503
 * with Retry-After, so Calendly retries; nothing is answered 500. Real receiver, worker, Temporal, PostgreSQL behind a
 * TCP proxy the test cuts, and the fake Calendly delivering as Calendly does.
 */
import { randomUUID } from 'node:crypto';
import { connectAndSetUp } from '../support/oauth-flow';
import { eventually, oauthEnvironment, startTestSystem, type TestSystem } from '../support/system';

jest.setTimeout(120_000);

const tenant = (name: string) => ({
  organization: `https://app.example.com/organizations/${name}-${randomUUID()}`,
  token: `${name}-api-token-${randomUUID().replaceAll('-', '')}`,
});
const ACME = tenant('acme');
const GLOBEX = tenant('globex');
const CACHE_SECONDS = 1;

let system: TestSystem;
beforeAll(async () => {
  system = await startTestSystem({
    proxyDatabase: true,
    env: (fake) => ({
      ...oauthEnvironment(fake),
      API_TOKENS: [ACME, GLOBEX].map(({ token, organization }) => `${token}:${organization}`).join(','),
      CONNECTION_SIGNING_KEY_CACHE_SECONDS: String(CACHE_SECONDS),
    }),
  });
});
afterAll(async () => {
  system?.databaseProxy?.restore();
  await system?.stop();
});

/** A Calendly organization of its own in the fake, connected by the tenant's admin; resolves once it is set up. */
async function connected(tenantOf: { token: string }, name: string): Promise<{ id: string; calendlyOrganization: string }> {
  const { organizationUri, owner } = system.fake.createOrganization({ owner: { name, email: `${randomUUID()}@calendly-${name.toLowerCase()}.test` } });
  return { id: await connectAndSetUp(system, tenantOf.token, owner.uri), calendlyOrganization: organizationUri };
}

/** A booking in that Calendly organization; its first delivery attempt as Calendly made it to the connection's URL. */
async function booked(calendlyOrganization: string) {
  const { invitee, deliveries } = await system.fake.bookMeeting({
    email: `${randomUUID()}@outage.test`,
    startTime: new Date(Date.now() + 3 * 86_400_000).toISOString(),
    organization: calendlyOrganization,
  });
  const [first] = deliveries;
  return { inviteeUri: invitee.uri, first };
}

async function meetingOf(token: string, inviteeUri: string): Promise<unknown> {
  const response = await fetch(`${system.receiverUrl}/api/meetings?limit=100`, { headers: { authorization: `Bearer ${token}` } });
  const { data } = (await response.json()) as { data: { inviteeUri: string }[] };
  return data.find((meeting) => meeting.inviteeUri === inviteeUri);
}

it("keeps accepting a connection's deliveries with the key read before, and answers 503 (never 500) where no key was read", async () => {
  const acme = await connected(ACME, 'Acme');
  const globex = await connected(GLOBEX, 'Globex');
  const before = await booked(acme.calendlyOrganization);
  expect(before.first).toMatchObject({ url: expect.stringMatching(new RegExp(`/calendly/webhook/${acme.id}$`)), status: 202 });
  const keyReadAt = Date.now();

  system.databaseProxy!.cut();
  // The key read for that delivery is now due for a re-read, which fails: the database is down.
  await eventually(() => Promise.resolve(Date.now() > keyReadAt + CACHE_SECONDS * 1000 + 100 ? true : undefined), 5_000, 'the cached key to age');

  const during = await booked(acme.calendlyOrganization);
  expect(during.first.status).toBe(202);

  // Globex's key was never read by this receiver: its delivery cannot be checked now, so Calendly is told to retry.
  const unchecked = await booked(globex.calendlyOrganization);
  expect(unchecked.first).toMatchObject({ url: expect.stringMatching(new RegExp(`/calendly/webhook/${globex.id}$`)), status: 503 });
  const direct = await fetch(`${system.receiverUrl}/calendly/webhook/${globex.id}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'calendly-webhook-signature': unchecked.first.signature! },
    body: unchecked.first.body,
  });
  expect(direct.status).toBe(503);
  expect(direct.headers.get('retry-after')).toMatch(/^\d+$/);
  expect(await direct.json()).toEqual({ error: expect.any(String), code: 'database_unavailable', trackingId: expect.any(String) });
  // Nor does a made-up connection id get a 500.
  const madeUp = await fetch(`${system.receiverUrl}/calendly/webhook/${randomUUID()}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'calendly-webhook-signature': unchecked.first.signature! },
    body: unchecked.first.body,
  });
  expect(madeUp.status).toBe(503);

  system.databaseProxy!.restore();
  // What was accepted during the outage was durable: it is stored, in Acme's organization only, once the database is back.
  expect(await eventually(() => meetingOf(ACME.token, during.inviteeUri), 60_000, 'the meeting booked during the outage')).toMatchObject({ inviteeUri: during.inviteeUri });
  expect(await meetingOf(GLOBEX.token, during.inviteeUri)).toBeUndefined();
  // And Globex's delivery is checked again now (Calendly's retry): accepted.
  const retried = await fetch(`${system.receiverUrl}/calendly/webhook/${globex.id}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'calendly-webhook-signature': unchecked.first.signature! },
    body: unchecked.first.body,
  });
  expect([200, 202]).toContain(retried.status);
});
