/**
 * OAuth consent is bound to the organization that started it (RFC 9700): the callback connects nothing by itself,
 * completing needs that organization's API token, each consent completes once, and replacing the connected Calendly
 * organization by another needs an explicit confirmation. Two organizations of ours; the other one's admin plays
 * the stranger who completes a consent link that is not theirs.
 */
import { randomUUID } from 'node:crypto';
import { completeConnect, completeWith, consent, followToCallback, startConnect } from '../support/oauth-flow';
import { API_TOKEN, oauthEnvironment, startTestSystem, type TestSystem } from '../support/system';

/** Other test files share the database: organizations unique to this run. */
const RUN = randomUUID();
const ACME = { organization: `https://app.example.com/organizations/consent-acme-${RUN}`, token: 'consent-acme-token-0123456789abcdef' };
const GLOBEX = { organization: `https://app.example.com/organizations/consent-globex-${RUN}`, token: 'consent-globex-token-0123456789abcd' };

let system: TestSystem;

beforeAll(async () => {
  system = await startTestSystem({
    env: (fake) => ({
      ...oauthEnvironment(fake),
      API_TOKENS: [API_TOKEN, ...[ACME, GLOBEX].map(({ token, organization }) => `${token}:${organization}`)].join(','),
    }),
  });
});
afterAll(() => system.stop());

/** A Calendly organization of the fake, with its owner. */
function calendlyAccount(name: string) {
  const { organizationUri, owner } = system.fake.createOrganization({ owner: { name, email: `${randomUUID()}@calendly-${name.toLowerCase()}.test` } });
  return { organizationUri, owner: owner.uri };
}

const statusOf = (token: string) => system.get('/api/connection', token);

it("connects nothing when a consent link is completed in another organization's browser, and tells that browser so", async () => {
  const stranger = calendlyAccount('Stranger');
  // Acme asks for a consent link; someone else opens it and allows access with their own Calendly organization.
  const back = await consent(system, await startConnect(system, ACME.token), stranger.owner);

  // Their browser lands on the callback: it only hands code and state on to the dashboard.
  const landed = await followToCallback(system, back);
  expect(landed).toMatchObject({ status: 303, location: expect.stringMatching(/^\/\?connection=authorized#code=/) });
  expect(await statusOf(ACME.token)).toMatchObject({ status: 404, body: { code: 'not_connected' } });

  // Their dashboard completes with the token it holds: another organization's, or none.
  const withOtherToken = await completeConnect(system, GLOBEX.token, back);
  expect(withOtherToken).toMatchObject({ status: 403, body: { code: 'consent_of_another_organization' } });
  expect(withOtherToken.body.error).toMatch(/another organization.*nothing was connected/);
  expect(await completeConnect(system, null, back)).toMatchObject({ status: 401, body: { code: 'unauthorized' } });

  expect(await statusOf(ACME.token)).toMatchObject({ status: 404, body: { code: 'not_connected' } });
  expect(await statusOf(GLOBEX.token)).toMatchObject({ status: 404, body: { code: 'not_connected' } });
  // Calendly's code was never exchanged: the stranger's grant does not exist.
  expect(system.fake.oauthStats().grants.filter((grant) => grant.owner === stranger.owner)).toEqual([]);
});

it('completes each consent once, also when Calendly is consented to twice with the same state', async () => {
  const acme = calendlyAccount('AcmeOnce');
  const authorizeUrl = await startConnect(system, ACME.token);
  const first = await consent(system, authorizeUrl, acme.owner);
  const second = await consent(system, authorizeUrl, acme.owner);
  expect(second.searchParams.get('state')).toBe(first.searchParams.get('state'));

  expect(await completeConnect(system, ACME.token, first)).toMatchObject({ status: 200, body: { connection: { organization: ACME.organization } } });
  const again = await completeConnect(system, ACME.token, second);
  expect(again).toMatchObject({ status: 400, body: { code: 'state_used' } });
  // The same completion replayed is refused too, before Calendly is asked.
  const requestsBefore = system.fake.oauthStats().tokenRequests;
  expect(await completeConnect(system, ACME.token, first)).toMatchObject({ status: 400, body: { code: 'state_used' } });
  expect(system.fake.oauthStats().tokenRequests).toBe(requestsBefore);
  // Only one grant was made; the second code was never exchanged.
  expect(system.fake.oauthStats().grants.filter((grant) => grant.owner === acme.owner)).toHaveLength(1);
});

it('replaces the connected Calendly organization by another only after an explicit confirmation', async () => {
  const before = (await statusOf(ACME.token)).body.connection;
  const other = calendlyAccount('AcmeOther');
  const back = await consent(system, await startConnect(system, ACME.token), other.owner);

  const asked = await completeConnect(system, ACME.token, back);
  expect(asked).toMatchObject({
    status: 409,
    body: {
      code: 'confirm_replace_calendly_organization',
      current: { calendlyOrganization: before.calendlyOrganization },
      replacement: { calendlyOrganization: other.organizationUri, calendlyUser: other.owner },
    },
  });
  // Nothing changed yet, and another organization cannot confirm it.
  expect((await statusOf(ACME.token)).body.connection).toMatchObject({ id: before.id, calendlyOrganization: before.calendlyOrganization });
  const authorization = { code: back.searchParams.get('code')!, state: back.searchParams.get('state')! };
  expect(await completeWith(system, GLOBEX.token, authorization, true)).toMatchObject({ status: 403, body: { code: 'consent_of_another_organization' } });

  const confirmed = await completeWith(system, ACME.token, authorization, true);
  expect(confirmed).toMatchObject({ status: 200, body: { connection: { id: before.id, calendlyOrganization: other.organizationUri } } });
  // Confirmed once: the consent is used up.
  expect(await completeWith(system, ACME.token, authorization, true)).toMatchObject({ status: 400, body: { code: 'state_used' } });
});
