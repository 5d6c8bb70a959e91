/**
 * API tokens stay out of URLs: a browser buys a short-lived single-use ticket with its token (POST /api/ws-ticket)
 * and opens `/ws?ticket=…`; `?token=` is refused. A ticket is bound to the organization of the token that bought it,
 * opens one websocket once, expires after 30 s, dies with its issued token, and works on any receiver (it is kept
 * in PostgreSQL, not in the process that issued it).
 */
import { hashApiToken, newIssuedApiToken } from '../../src/auth/api-tokens';
import { insertApiToken, revokeApiToken } from '../../src/database/api-tokens';
import { buyTicket, commitEvent, openEventStream, refusedUpgrade, startSecondBroadcaster } from '../support/event-stream';
import { API_TOKEN, startTestSystem, type TestSystem } from '../support/system';

const ORG_A = 'https://api.calendly.com/organizations/TICKETS-A';
const ORG_B = 'https://api.calendly.com/organizations/TICKETS-B';
const TOKEN_A = 'tickets-a-token-0123456789abcdef';
const TOKEN_B = 'tickets-b-token-0123456789abcdef';

let system: TestSystem;
beforeAll(async () => {
  system = await startTestSystem({ env: { API_TOKENS: `${API_TOKEN},${TOKEN_A}:${ORG_A},${TOKEN_B}:${ORG_B}` } });
});
afterAll(() => system.stop());

const postTicket = (token?: string) =>
  fetch(`${system.receiverUrl}/api/ws-ticket`, { method: 'POST', headers: token ? { authorization: `Bearer ${token}` } : {} });

it('issues a ticket only to a valid API token, valid for 30 seconds and never cached', async () => {
  expect((await postTicket()).status).toBe(401);
  expect((await postTicket('not-a-configured-token-123')).status).toBe(401);
  const response = await postTicket(TOKEN_A);
  expect(response.status).toBe(201);
  expect(response.headers.get('cache-control')).toBe('no-store');
  const { ticket, expiresAt } = (await response.json()) as { ticket: string; expiresAt: string };
  expect(ticket).toMatch(/^cbt_[A-Za-z0-9_-]{43}$/);
  expect(Date.parse(expiresAt) - Date.now()).toBeGreaterThan(20_000);
  expect(Date.parse(expiresAt) - Date.now()).toBeLessThanOrEqual(31_000);
});

it("opens one websocket with its token's organization's events only, and only once", async () => {
  const ticket = await buyTicket(system.receiverUrl, TOKEN_A);
  const stream = await openEventStream(system.websocketUrl, { ticket });
  expect(stream.welcome.organization).toBe(ORG_A);
  const other = await commitEvent(system.orm, { organization: ORG_B });
  const own = await commitEvent(system.orm, { organization: ORG_A });
  await stream.waitForEvent(own);
  expect(stream.ids()).toEqual([own]);
  expect(stream.ids()).not.toContain(other);
  await stream.close();

  expect(await refusedUpgrade(system.websocketUrl, { ticket })).toMatchObject({ status: 401, body: { code: 'unauthorized' } });
});

it("refuses an expired ticket, one whose issued token was revoked, and a token in the URL", async () => {
  const expired = await buyTicket(system.receiverUrl, TOKEN_B);
  // As 30 seconds later: the ticket's row says when it expires.
  await system.orm.em.fork().execute("update websocket_tickets set expires_at = now() - interval '1 second'");
  expect(await refusedUpgrade(system.websocketUrl, { ticket: expired })).toMatchObject({ status: 401 });

  const issued = newIssuedApiToken();
  const { id } = await insertApiToken(system.orm.em.fork(), { organization: ORG_B, label: 'tickets', tokenHash: hashApiToken(issued) });
  const ofRevoked = await buyTicket(system.receiverUrl, issued);
  await revokeApiToken(system.orm.em.fork(), id);
  expect(await refusedUpgrade(system.websocketUrl, { ticket: ofRevoked })).toMatchObject({ status: 401 });

  expect(await refusedUpgrade(`${system.websocketUrl}?token=${API_TOKEN}`, {})).toMatchObject({ status: 401, body: { code: 'unauthorized' } });
});

it('is redeemed by another receiver than the one that issued it, once across both', async () => {
  const second = await startSecondBroadcaster(system);
  const secondUrl = second.websocketUrl;
  try {
    const ticket = await buyTicket(system.receiverUrl, TOKEN_B);
    const stream = await openEventStream(secondUrl, { ticket });
    expect(stream.welcome.organization).toBe(ORG_B);
    await stream.close();
    expect(await refusedUpgrade(system.websocketUrl, { ticket })).toMatchObject({ status: 401 });
  } finally {
    await second.stop();
  }
});
