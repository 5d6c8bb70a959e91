/**
 * Each sealed connection secret is bound to its place (table, column and organization): one copied into another
 * organization's row, or into another column of its own, does not open there. Someone able to write the database but
 * not holding CONNECTION_ENCRYPTION_KEY cannot make one organization's connection use another's Calendly grant, nor
 * make a connection accept again the deliveries of the Calendly organization it moved away from.
 */
import { randomUUID } from 'node:crypto';
import { signatureFor } from '../../src/calendly/signature';
import { SecretBox } from '../../src/connections/secret-box';
import { connectionSecretPlace, findConnection } from '../../src/database/connections';
import { calendlyAccount as calendlyAccountOf, connectAndSetUp, sealedAsBefore, signingKeyOf } from '../support/oauth-flow';
import { API_TOKEN, eventually, OAUTH_APP, oauthEnvironment, startTestSystem, type TestSystem } from '../support/system';
import { postOnce } from '../support/webhook-sender';

/** Other test files share the database: organizations unique to this run. */
const RUN = randomUUID();
const tenant = (name: string) => ({ organization: `https://app.example.com/organizations/secrets-${name}-${RUN}`, token: `secrets-${name}-token-0123456789abcdef` });
const ACME = tenant('acme');
const GLOBEX = tenant('globex');
const INITECH = tenant('initech');
const HOOLI = tenant('hooli');

let system: TestSystem;

beforeAll(async () => {
  system = await startTestSystem({
    env: (fake) => ({
      ...oauthEnvironment(fake),
      API_TOKENS: [API_TOKEN, ...[ACME, GLOBEX, INITECH, HOOLI].map(({ token, organization }) => `${token}:${organization}`)].join(','),
    }),
  });
});
afterAll(() => system.stop());

const calendlyAccount = (name: string) => calendlyAccountOf(system, name);
/** Connects through Calendly's consent and waits for the set-up (subscription, schedules, first sync). */
const connect = (who: { token: string }, owner: string, confirm?: boolean) => connectAndSetUp(system, who.token, owner, confirm);

async function connectionOf(who: { token: string }): Promise<any> {
  const response = await fetch(`${system.receiverUrl}/api/connection`, { headers: { authorization: `Bearer ${who.token}` } });
  return ((await response.json()) as { connection: any }).connection;
}

async function meetingsOf(who: { token: string }): Promise<{ inviteeUri: string }[]> {
  const response = await fetch(`${system.receiverUrl}/api/meetings?limit=100`, { headers: { authorization: `Bearer ${who.token}` } });
  return ((await response.json()) as { data: { inviteeUri: string }[] }).data;
}

const inFuture = (days: number) => new Date(Date.now() + days * 86_400_000).toISOString();

it("does not refresh with another organization's refresh token copied into its row: it needs reauthorization, the other's grant is untouched", async () => {
  const acme = calendlyAccount('Acme');
  const acmeId = await connect(ACME, acme.owner);
  const globex = calendlyAccount('Globex');
  const globexId = await connect(GLOBEX, globex.owner);
  const acmeRefreshes = system.fake.oauthStats().refreshesByOwner[acme.owner] ?? 0;

  // Acme's sealed refresh token lands in Globex's row, whose access token is due for a refresh.
  await system.orm.em
    .fork()
    .execute(
      `update calendly_connections set refresh_token = (select refresh_token from calendly_connections where id = ?), token_expires_at = now() where id = ?`,
      [acmeId, globexId],
    );
  const { invitee } = await system.fake.bookMeeting({ email: `${randomUUID()}@globex-invitee.test`, startTime: inFuture(3), organization: globex.organizationUri });

  const refused = await eventually(
    async () => {
      const connection = await connectionOf(GLOBEX);
      return connection.status === 'needs_reauthorization' ? connection : undefined;
    },
    45_000,
    'Globex needing reauthorization',
  );
  expect(refused.statusReason).toMatch(/refresh token does not open/);
  expect(system.fake.oauthStats().refreshesByOwner[acme.owner] ?? 0).toBe(acmeRefreshes);
  expect((await meetingsOf(GLOBEX)).map((meeting) => meeting.inviteeUri)).not.toContain(invitee.uri);

  // Acme's own connection keeps working, and so does its refresh.
  await system.orm.em.fork().execute(`update calendly_connections set token_expires_at = now() where id = ?`, [acmeId]);
  const acmeBooking = await system.fake.bookMeeting({ email: `${randomUUID()}@acme-invitee.test`, startTime: inFuture(3), organization: acme.organizationUri });
  await eventually(async () => (await meetingsOf(ACME)).find((meeting) => meeting.inviteeUri === acmeBooking.invitee.uri), 45_000, "Acme's booking");
  expect(system.fake.oauthStats().refreshesByOwner[acme.owner]).toBe(acmeRefreshes + 1);
  expect(await connectionOf(ACME)).toMatchObject({ status: 'connected' });
});

it("does not take a former Calendly organization's key copied into the signing key column as the live one: a delivery signed with it is refused", async () => {
  const first = calendlyAccount('InitechFirst');
  const second = calendlyAccount('InitechSecond');
  const id = await connect(INITECH, first.owner);
  const formerKey = await signingKeyOf(system, id);
  await connect(INITECH, second.owner, true);
  // The former organization's key (kept to answer its subscription 410 Gone) moves to the live key's column.
  await system.orm.em.fork().execute(`update calendly_connections set signing_key = retired_signing_key, retired_signing_key = null where id = ?`, [id]);

  const { invitee } = await system.fake.bookMeeting({ email: `${randomUUID()}@initech-invitee.test`, startTime: inFuture(3), organization: first.organizationUri }, { deliver: false });
  const { body } = system.fake.webhookDelivery('invitee.created', invitee.uri, formerKey);
  const answer = await postOnce(`${system.config.webhookUrl}/${id}`, body, signatureFor(body, formerKey, Math.floor(Date.now() / 1000)), 10_000);
  expect(answer).toMatchObject({ status: 401, body: { code: 'signature_mismatch' } });
  expect((await meetingsOf(INITECH)).map((meeting) => meeting.inviteeUri)).not.toContain(invitee.uri);
});

it('still refreshes with a refresh token and checks deliveries with a signing key sealed before associated data existed (v1), and seals them anew', async () => {
  const hooli = calendlyAccount('Hooli');
  const id = await connect(HOOLI, hooli.owner);
  const box = new SecretBox(Buffer.from(OAUTH_APP.encryptionKey, 'base64'));
  const stored = (await findConnection(system.orm.em.fork(), id))!;
  const inClear = (column: 'refresh_token' | 'signing_key', sealed: string) => box.open(sealed, connectionSecretPlace(column, stored.organization));
  // As a connection made before this release holds them; its access token is due for a refresh.
  await system.orm.em
    .fork()
    .execute(`update calendly_connections set refresh_token = ?, signing_key = ?, token_expires_at = now() where id = ?`, [
      sealedAsBefore(inClear('refresh_token', stored.refreshToken!)),
      sealedAsBefore(inClear('signing_key', stored.signingKey!)),
      id,
    ]);
  const refreshes = system.fake.oauthStats().refreshesByOwner[hooli.owner] ?? 0;

  const booking = await system.fake.bookMeeting({ email: `${randomUUID()}@hooli-invitee.test`, startTime: inFuture(3), organization: hooli.organizationUri });
  expect(booking.deliveries.map((delivery) => delivery.status)).toEqual([202]);
  await eventually(async () => (await meetingsOf(HOOLI)).find((meeting) => meeting.inviteeUri === booking.invitee.uri), 45_000, "Hooli's booking");
  expect(system.fake.oauthStats().refreshesByOwner[hooli.owner]).toBe(refreshes + 1);
  expect((await findConnection(system.orm.em.fork(), id))!.refreshToken).toMatch(/^v2\./);
});
