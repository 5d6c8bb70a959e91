import { apiErrorSchema, collectionOf, resourceOf, webhookSubscriptionSchema } from '../../src/calendly/schemas';
import { startFakeCalendly, type FakeCalendly } from '../../fake-calendly';
import { CALENDLY_TIMESTAMP, call, query, subscribe, TOKEN } from './helpers';

const subscriptionPage = collectionOf(webhookSubscriptionSchema);

let fake: FakeCalendly;

beforeEach(async () => {
  fake = await startFakeCalendly({ apiToken: TOKEN });
});

afterEach(async () => {
  await fake.close();
});

const create = (body: Record<string, unknown>) => call(fake, '/webhook_subscriptions', { method: 'POST', body });

describe('POST /webhook_subscriptions', () => {
  it('answers 201 {resource: WebhookSubscription} and never returns the signing key', async () => {
    const response = await create({
      url: 'https://receiver.example.com/webhooks/calendly',
      events: ['invitee.created', 'invitee.canceled'],
      organization: fake.organizationUri,
      scope: 'organization',
      signing_key: 'secret-signing-key',
    });
    expect(response.status).toBe(201);
    expect(response.text).not.toContain('secret-signing-key');
    const subscription = resourceOf(webhookSubscriptionSchema).parse(response.body).resource;
    expect(subscription).toMatchObject({
      callback_url: 'https://receiver.example.com/webhooks/calendly',
      events: ['invitee.created', 'invitee.canceled'],
      scope: 'organization',
      organization: fake.organizationUri,
      user: null,
      group: null,
      creator: fake.userUri,
      state: 'active',
      retry_started_at: null,
    });
    expect(subscription.uri).toMatch(new RegExp(`^${fake.url}/webhook_subscriptions/[0-9a-f-]{36}$`));
    expect(subscription.created_at).toMatch(CALENDLY_TIMESTAMP);
    expect(fake.subscriptions()).toEqual([subscription]);
  });

  it('answers 409 Already Exists for a url already subscribed in the organization', async () => {
    await subscribe(fake, 'https://receiver.example.com/hook', ['invitee.created']);
    const duplicate = await create({
      url: 'https://receiver.example.com/hook',
      events: ['invitee.canceled'],
      organization: fake.organizationUri,
      scope: 'organization',
    });
    expect(duplicate.status).toBe(409);
    expect(duplicate.body).toEqual({ title: 'Already Exists', message: 'Hook with this url already exists' });
    expect(fake.subscriptions()).toHaveLength(1);
  });

  it('answers 400 Invalid Argument naming each missing parameter', async () => {
    const response = await create({});
    expect(response.status).toBe(400);
    const error = apiErrorSchema.parse(response.body);
    expect(error).toMatchObject({ title: 'Invalid Argument', message: 'The supplied parameters are invalid.' });
    expect(error.details?.map((detail) => detail.parameter)).toEqual(
      expect.arrayContaining(['url', 'events', 'organization', 'scope']),
    );
  });

  it('requires user for scope user, and rejects unknown events', async () => {
    const withoutUser = await create({
      url: 'https://receiver.example.com/hook',
      events: ['invitee.created'],
      organization: fake.organizationUri,
      scope: 'user',
    });
    expect(withoutUser.status).toBe(400);
    expect(apiErrorSchema.parse(withoutUser.body).details).toEqual([{ parameter: 'user', message: 'is missing' }]);

    const unknownEvent = await create({
      url: 'https://receiver.example.com/hook',
      events: ['invitee.exploded'],
      organization: fake.organizationUri,
      scope: 'organization',
    });
    expect(unknownEvent.status).toBe(400);
    expect(apiErrorSchema.parse(unknownEvent.body).details).toEqual([expect.objectContaining({ parameter: 'events' })]);
    expect(fake.subscriptions()).toEqual([]);
  });
});

describe('GET /webhook_subscriptions', () => {
  it('requires organization and scope', async () => {
    const response = await call(fake, '/webhook_subscriptions');
    expect(response.status).toBe(400);
    expect(apiErrorSchema.parse(response.body).details?.map((detail) => detail.parameter)).toEqual([
      'organization',
      'scope',
    ]);
  });

  it('pages through the subscriptions of a scope, each exactly once', async () => {
    const created: string[] = [];
    for (let index = 0; index < 5; index += 1) {
      created.push((await subscribe(fake, `https://receiver.example.com/hook/${index}`, ['invitee.created'])).uri);
    }
    await subscribe(fake, 'https://receiver.example.com/mine', ['invitee.created'], { scope: 'user', user: fake.userUri });

    const seen: string[] = [];
    let next: string | null = `/webhook_subscriptions?${query({ organization: fake.organizationUri, scope: 'organization', count: '2' })}`;
    while (next !== null) {
      const response = await call(fake, next);
      expect(response.status).toBe(200);
      const page = subscriptionPage.parse(response.body);
      seen.push(...page.collection.map((subscription) => subscription.uri));
      next = page.pagination.next_page;
    }
    expect(seen).toEqual(created);

    const userScope = await call(
      fake,
      `/webhook_subscriptions?${query({ organization: fake.organizationUri, scope: 'user', user: fake.userUri })}`,
    );
    expect(subscriptionPage.parse(userScope.body).collection.map((subscription) => subscription.callback_url)).toEqual([
      'https://receiver.example.com/mine',
    ]);
  });
});

describe('GET and DELETE /webhook_subscriptions/{uuid}', () => {
  it('reads a subscription, deletes it with 204 and an empty body, then answers 404', async () => {
    const subscription = await subscribe(fake, 'https://receiver.example.com/hook', ['invitee.created']);

    const read = await call(fake, subscription.uri);
    expect(read.status).toBe(200);
    expect(resourceOf(webhookSubscriptionSchema).parse(read.body).resource).toEqual(subscription);

    const deleted = await call(fake, subscription.uri, { method: 'DELETE' });
    expect(deleted.status).toBe(204);
    expect(deleted.text).toBe('');
    expect(fake.subscriptions()).toEqual([]);

    const notFound = { title: 'Resource Not Found', message: 'The server could not find the requested resource.' };
    expect(await call(fake, subscription.uri)).toMatchObject({ status: 404, body: notFound });
    expect(await call(fake, subscription.uri, { method: 'DELETE' })).toMatchObject({ status: 404, body: notFound });
  });
});
