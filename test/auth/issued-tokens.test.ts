/**
 * Tokens issued per organization, end to end: what they read through the read API and the websocket, with a second
 * organization present, and their revocation, refused at once and closing their websockets in every receiver.
 */
import { hashApiToken, newIssuedApiToken } from '../../src/auth/api-tokens';
import type { EventMessage } from '../../src/broadcaster/protocol';
import { saveBookings } from '../../src/database/bookings';
import { insertApiToken, revokeApiToken } from '../../src/database/api-tokens';
import { booking, newEmail, newOrganization } from '../database/database';
import { openEventStream, refusedUpgrade, startSecondBroadcaster } from '../support/event-stream';
import { startTestSystem, type TestSystem } from '../support/system';
import { PERSONAL_TOKEN_CONNECTION_ID } from '../../src/workflow-ids';

let system: TestSystem;
beforeAll(async () => {
  system = await startTestSystem();
});
afterAll(() => system.stop());

async function issue(organization: string) {
  const token = newIssuedApiToken();
  const { id } = await insertApiToken(system.orm.em.fork(), { organization, label: 'test', tokenHash: hashApiToken(token) });
  return { token, id };
}

const meetingIdOf = (event: EventMessage) => ('meeting' in event.data ? (event.data.meeting as { id: string }).id : undefined);

async function book(organization: string) {
  const email = newEmail('issued');
  const [saved] = await saveBookings(system.orm.em.fork(), [booking({ email })], organization, PERSONAL_TOKEN_CONNECTION_ID);
  return { email, meetingId: saved.meetingId };
}

it("reads only its organization's leads and meetings through the read API", async () => {
  const [acme, globex] = [newOrganization(), newOrganization()];
  const own = await book(acme);
  const other = await book(globex);
  const { token } = await issue(acme);

  const meetings = await system.get('/api/meetings', token);
  expect(meetings.status).toBe(200);
  expect(meetings.body.data.map((meeting: { id: string }) => meeting.id)).toEqual([own.meetingId]);
  expect(meetings.body.data[0]).toMatchObject({ organization: acme, lead: { email: own.email } });
  const leads = await system.get('/api/leads', token);
  expect(leads.body.data.map((lead: { email: string }) => lead.email)).toEqual([own.email]);
  expect((await system.get(`/api/leads?email=${encodeURIComponent(other.email)}`, token)).body.data).toEqual([]);
});

it("receives only its organization's events on the websocket", async () => {
  const [acme, globex] = [newOrganization(), newOrganization()];
  const { token } = await issue(acme);
  const stream = await openEventStream(system.websocketUrl, { token, tokenIn: 'ticket' });
  expect(stream.welcome.organization).toBe(acme);

  await book(globex);
  const own = await book(acme);
  await stream.waitFor((event) => event.type === 'meeting.created' && meetingIdOf(event) === own.meetingId, 'own meeting');
  expect(stream.events.length).toBeGreaterThan(0);
  expect(stream.events.every((event) => event.organization === acme)).toBe(true);
  await stream.close();
});

it('once revoked: refused with 401, and its websockets closed in every receiver while other tokens stay', async () => {
  const acme = newOrganization();
  await book(acme);
  const revoked = await issue(acme);
  const kept = await issue(acme);
  expect((await system.get('/api/meetings', revoked.token)).status).toBe(200);

  const second = await startSecondBroadcaster(system);
  const secondUrl = second.websocketUrl;
  try {
    const streams = [await openEventStream(system.websocketUrl, { token: revoked.token }), await openEventStream(secondUrl, { token: revoked.token })];
    const other = await openEventStream(system.websocketUrl, { token: kept.token });

    await revokeApiToken(system.orm.em.fork(), revoked.id);
    for (const stream of streams) expect(await stream.closedByServer()).toEqual({ code: 4401, reason: expect.stringContaining('revoked') });
    expect(await system.get('/api/meetings', revoked.token)).toMatchObject({ status: 401, body: { code: 'unauthorized' } });
    expect(await refusedUpgrade(system.websocketUrl, { token: revoked.token })).toMatchObject({ status: 401, body: { code: 'unauthorized' } });
    expect(await refusedUpgrade(secondUrl, { token: revoked.token })).toMatchObject({ status: 401 });

    const after = await book(acme);
    await other.waitFor((event) => meetingIdOf(event) === after.meetingId, 'a meeting after the revocation');
    expect((await system.get('/api/meetings', kept.token)).status).toBe(200);
    await other.close();
  } finally {
    await second.stop();
  }
});
