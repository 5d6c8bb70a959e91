import { createHash, randomBytes } from 'node:crypto';
import {
  apiErrorSchema,
  collectionOf,
  resourceOf,
  scheduledEventSchema,
  webhookSubscriptionSchema,
  type User,
  type WebhookSubscription,
} from '../../src/calendly/schemas';
import { verifySignature } from '../../src/calendly/signature';
import { startFakeCalendly, type FakeCalendly } from '../../fake-calendly';
import { call, query, startReceiver, TOKEN, waitFor, type ReceivedRequest, type Receiver } from './helpers';

const eventPage = collectionOf(scheduledEventSchema);
const subscriptionPage = collectionOf(webhookSubscriptionSchema);
const APP_SIGNING_KEY = 'oauth-app-wide-signing-key';

let fake: FakeCalendly;
let receivers: Receiver[];
/** The second organization: its owner, a plain member, and their tokens. */
let other: { organizationUri: string; owner: User; member: User; ownerToken: string; memberToken: string };

beforeEach(async () => {
  fake = await startFakeCalendly({
    apiToken: TOKEN,
    oauth: {
      clientId: 'client',
      clientSecret: 'secret',
      redirectUris: ['http://127.0.0.1:3000/callback'],
      webhookSigningKey: APP_SIGNING_KEY,
    },
  });
  receivers = [];
  const created = fake.createOrganization({ owner: { name: 'Blake Owner', email: 'blake@other.example' } });
  const member = fake.addUser(created.organizationUri, { name: 'Casey Member', email: 'casey@other.example' });
  other = {
    ...created,
    member,
    ownerToken: fake.issuePersonalAccessToken(created.owner.uri),
    memberToken: fake.issuePersonalAccessToken(member.uri),
  };
});

afterEach(async () => {
  await fake.close();
  await Promise.all(receivers.map((receiver) => receiver.close()));
});

async function receiver(): Promise<Receiver> {
  const started = await startReceiver();
  receivers.push(started);
  return started;
}

const verify = (request: ReceivedRequest, signingKey: string) =>
  verifySignature(request.rawBody, request.headers['calendly-webhook-signature'] as string | undefined, {
    signingKeys: [signingKey],
    toleranceSeconds: 180,
    nowSeconds: Math.floor(Date.now() / 1000),
  });

async function subscribeAs(
  token: string,
  body: Record<string, unknown>,
): Promise<{ status: number; body: unknown; subscription?: WebhookSubscription }> {
  const response = await call(fake, '/webhook_subscriptions', { method: 'POST', body, token });
  return {
    status: response.status,
    body: response.body,
    subscription: response.status === 201 ? resourceOf(webhookSubscriptionSchema).parse(response.body).resource : undefined,
  };
}

const booking = (email: string) => ({ email, startTime: '2026-12-10T14:00:00Z' });

describe('two organizations', () => {
  it('each token lists and reads only its own organization’s events and invitees', async () => {
    const mine = await fake.bookMeeting(booking('ada@example.com'));
    const theirs = await fake.bookMeeting({ ...booking('bob@example.com'), organization: other.organizationUri });
    expect(theirs.event.event_memberships[0]?.user).toBe(other.owner.uri);

    const listMine = await call(fake, `/scheduled_events?${query({ organization: fake.organizationUri })}`);
    expect(eventPage.parse(listMine.body).collection.map((event) => event.uri)).toEqual([mine.event.uri]);
    const listTheirs = await call(fake, `/scheduled_events?${query({ organization: other.organizationUri })}`, {
      token: other.ownerToken,
    });
    expect(eventPage.parse(listTheirs.body).collection.map((event) => event.uri)).toEqual([theirs.event.uri]);

    const crossList = await call(fake, `/scheduled_events?${query({ organization: other.organizationUri })}`);
    expect(crossList.status).toBe(403);
    expect(apiErrorSchema.parse(crossList.body)).toMatchObject({ title: 'Permission Denied' });
    const crossUser = await call(fake, `/scheduled_events?${query({ user: other.owner.uri })}`);
    expect(crossUser.status).toBe(403);
    expect(crossUser.body).toEqual({ title: 'Permission Denied', message: 'This user is not in your organization' });

    const crossEvent = await call(fake, theirs.event.uri);
    expect(crossEvent.status).toBe(403);
    expect(crossEvent.body).toEqual({ title: 'Permission Denied', message: 'You are not allowed to view this event' });
    expect((await call(fake, theirs.invitee.uri)).status).toBe(403);
    expect((await call(fake, `${theirs.event.uri}/invitees`)).status).toBe(403);
    expect((await call(fake, theirs.invitee.uri, { token: other.ownerToken })).status).toBe(200);
    expect((await call(fake, mine.invitee.uri, { token: other.ownerToken })).status).toBe(403);

    const me = await call(fake, '/users/me', { token: other.ownerToken });
    expect(me.body).toMatchObject({ resource: { uri: other.owner.uri, current_organization: other.organizationUri } });
    expect((await call(fake, other.owner.uri)).status).toBe(403);
  });

  it('a member who is not an admin sees only the events they host and cannot list the organization', async () => {
    const hosted = await fake.bookMeeting({ ...booking('dana@example.com'), hostUri: other.member.uri });
    const ownersEvent = await fake.bookMeeting({ ...booking('erin@example.com'), organization: other.organizationUri });

    const organizationList = await call(fake, `/scheduled_events?${query({ organization: other.organizationUri })}`, {
      token: other.memberToken,
    });
    expect(organizationList.status).toBe(403);
    const own = await call(fake, `/scheduled_events?${query({ user: other.member.uri })}`, { token: other.memberToken });
    expect(eventPage.parse(own.body).collection.map((event) => event.uri)).toEqual([hosted.event.uri]);
    expect((await call(fake, ownersEvent.event.uri, { token: other.memberToken })).status).toBe(403);

    const orgScope = await subscribeAs(other.memberToken, {
      url: 'https://receiver.example/member',
      events: ['invitee.created'],
      organization: other.organizationUri,
      scope: 'organization',
    });
    expect(orgScope.status).toBe(403);
    const ownScope = await subscribeAs(other.memberToken, {
      url: 'https://receiver.example/member',
      events: ['invitee.created'],
      organization: other.organizationUri,
      scope: 'user',
      user: other.member.uri,
    });
    expect(ownScope.status).toBe(201);
    expect(ownScope.subscription?.creator).toBe(other.member.uri);
  });

  it('delivers a booking only to the subscriptions of its organization, each signed with its own key', async () => {
    const [mineReceiver, theirReceiver] = [await receiver(), await receiver()];
    const mine = await subscribeAs(TOKEN, {
      url: mineReceiver.url,
      events: ['invitee.created'],
      organization: fake.organizationUri,
      scope: 'organization',
      signing_key: 'key-of-organization-a',
    });
    const theirs = await subscribeAs(other.ownerToken, {
      url: theirReceiver.url,
      events: ['invitee.created'],
      organization: other.organizationUri,
      scope: 'organization',
      signing_key: 'key-of-organization-b',
    });
    expect([mine.status, theirs.status]).toEqual([201, 201]);
    expect(theirs.subscription?.creator).toBe(other.owner.uri);

    const booked = await fake.bookMeeting({ ...booking('bob@example.com'), organization: other.organizationUri });
    expect(booked.deliveries.map((delivery) => delivery.subscriptionUri)).toEqual([theirs.subscription?.uri]);
    await waitFor(() => theirReceiver.received.length === 1, 'the delivery to organization B');
    const [request] = theirReceiver.received as [ReceivedRequest];
    expect(verify(request, 'key-of-organization-b')).toBe('valid');
    expect(verify(request, 'key-of-organization-a')).toBe('mismatch');
    expect(JSON.parse(request.rawBody.toString())).toMatchObject({ created_by: other.owner.uri, event: 'invitee.created' });
    expect(mineReceiver.received).toHaveLength(0);

    await fake.bookMeeting(booking('ada@example.com'));
    await waitFor(() => mineReceiver.received.length === 1, 'the delivery to organization A');
    expect(verify(mineReceiver.received[0], 'key-of-organization-a')).toBe('valid');
    expect(theirReceiver.received).toHaveLength(1);
  });

  it('hides another organization’s subscriptions and refuses to list or create them', async () => {
    const theirs = await subscribeAs(other.ownerToken, {
      url: 'https://receiver.example/b',
      events: ['invitee.created'],
      organization: other.organizationUri,
      scope: 'organization',
    });
    const uri = theirs.subscription?.uri ?? '';
    expect((await call(fake, uri)).status).toBe(404);
    expect((await call(fake, uri, { method: 'DELETE' })).status).toBe(404);
    expect(fake.subscriptions()).toHaveLength(1);

    const list = await call(fake, `/webhook_subscriptions?${query({ organization: other.organizationUri, scope: 'organization' })}`);
    expect(list.status).toBe(403);
    const ownList = await call(fake, `/webhook_subscriptions?${query({ organization: fake.organizationUri, scope: 'organization' })}`);
    expect(subscriptionPage.parse(ownList.body).collection).toEqual([]);

    const create = await subscribeAs(TOKEN, {
      url: 'https://receiver.example/a',
      events: ['invitee.created'],
      organization: other.organizationUri,
      scope: 'organization',
    });
    expect(create.status).toBe(403);
  });

  it('the same event type name makes two event types, one per organization', async () => {
    const mine = await fake.bookMeeting(booking('ada@example.com'));
    const theirs = await fake.bookMeeting({ ...booking('bob@example.com'), organization: other.organizationUri });
    expect(mine.event.name).toBe(theirs.event.name);
    expect(mine.event.event_type).not.toBe(theirs.event.event_type);
  });
});

describe('plans and signing keys', () => {
  it('answers 403 "Please upgrade your Calendly account to Standard" on a free plan', async () => {
    const free = fake.createOrganization({ owner: { name: 'Frankie Free', email: 'frankie@free.example' }, plan: 'free' });
    const token = fake.issuePersonalAccessToken(free.owner.uri);
    const body = { url: 'https://receiver.example/free', events: ['invitee.created'], organization: free.organizationUri, scope: 'organization' };
    const refused = await subscribeAs(token, body);
    expect(refused.status).toBe(403);
    expect(refused.body).toEqual({ title: 'Permission Denied', message: 'Please upgrade your Calendly account to Standard' });
    expect(fake.subscriptions()).toEqual([]);

    // Reading bookings still works on a free plan (the reconcile path), and upgrading lets the subscription in.
    const booked = await fake.bookMeeting({ ...booking('gil@example.com'), organization: free.organizationUri });
    expect((await call(fake, booked.event.uri, { token })).status).toBe(200);
    fake.setPlan(free.organizationUri, 'standard');
    expect((await subscribeAs(token, body)).status).toBe(201);
  });

  it('signs with the OAuth app’s key a subscription made with an OAuth token and no signing_key', async () => {
    const hook = await receiver();
    const verifier = randomBytes(48).toString('base64url');
    const authorizeUrl = `${fake.url}/oauth/authorize?${query({
      client_id: 'client',
      response_type: 'code',
      redirect_uri: 'http://127.0.0.1:3000/callback',
      code_challenge: createHash('sha256').update(verifier).digest('base64url'),
      code_challenge_method: 'S256',
    })}`;
    const code = new URL(fake.authorize(authorizeUrl, other.owner.uri)).searchParams.get('code') ?? '';
    const tokenAnswer = await fetch(`${fake.url}/oauth/token`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'authorization_code',
        code,
        redirect_uri: 'http://127.0.0.1:3000/callback',
        code_verifier: verifier,
        client_id: 'client',
        client_secret: 'secret',
      }).toString(),
    });
    const { access_token: accessToken } = (await tokenAnswer.json()) as { access_token: string };

    const created = await subscribeAs(accessToken, {
      url: hook.url,
      events: ['invitee.created'],
      organization: other.organizationUri,
      scope: 'organization',
    });
    expect(created.status).toBe(201);
    await fake.bookMeeting({ ...booking('bob@example.com'), organization: other.organizationUri });
    await waitFor(() => hook.received.length === 1, 'the delivery');
    expect(verify(hook.received[0], APP_SIGNING_KEY)).toBe('valid');
  });
});

describe('organization controls over HTTP', () => {
  it('creates organizations and users, sets the plan, issues tokens and books for a named organization', async () => {
    const created = await call(fake, '/_fake/organizations', {
      method: 'POST',
      body: { owner: { name: 'Harper Admin', email: 'harper@third.example' }, plan: 'free' },
      token: null,
    });
    expect(created.status).toBe(201);
    const { organizationUri, owner } = created.body as { organizationUri: string; owner: User };

    const user = await call(fake, '/_fake/organizations/users', {
      method: 'POST',
      body: { organization: organizationUri, name: 'Ira Admin', email: 'ira@third.example', role: 'admin' },
      token: null,
    });
    expect(user.status).toBe(201);
    const duplicate = await call(fake, '/_fake/organizations/users', {
      method: 'POST',
      body: { organization: organizationUri, name: 'Ira Again', email: 'ira@third.example' },
      token: null,
    });
    expect(duplicate.status).toBe(409);

    const plan = await call(fake, '/_fake/organizations/plan', {
      method: 'POST',
      body: { organization: organizationUri, plan: 'standard' },
      token: null,
    });
    expect(plan.status).toBe(204);
    const listed = await call(fake, '/_fake/organizations', { token: null });
    expect((listed.body as { organizations: unknown[] }).organizations).toContainEqual({
      uri: organizationUri,
      plan: 'standard',
      users: [
        { user: expect.objectContaining({ uri: owner.uri }), role: 'owner' },
        { user: expect.objectContaining({ email: 'ira@third.example' }), role: 'admin' },
      ],
    });

    const issued = await call(fake, '/_fake/personal-access-tokens', { method: 'POST', body: { user: owner.uri }, token: null });
    const { token } = issued.body as { token: string };
    const booked = await call(fake, '/_fake/bookings', {
      method: 'POST',
      body: { ...booking('jo@example.com'), organization: organizationUri },
      token: null,
    });
    expect(booked.status).toBe(201);
    const eventUri = (booked.body as { event: { uri: string } }).event.uri;
    expect((await call(fake, eventUri, { token })).status).toBe(200);
    expect((await call(fake, eventUri)).status).toBe(403);
  });
});
