import { apiErrorSchema, resourceOf, userSchema } from '../../src/calendly/schemas';
import { startFakeCalendly, type FakeCalendly } from '../../fake-calendly';
import { call, TOKEN } from './helpers';

let fake: FakeCalendly;

afterEach(async () => {
  await fake.close();
});

describe('rate limit', () => {
  it('counts down X-RateLimit-Remaining and answers 429 once the per-minute limit is spent', async () => {
    fake = await startFakeCalendly({ apiToken: TOKEN, rateLimitPerMinute: 3 });

    const remaining: (string | null)[] = [];
    for (let request = 0; request < 3; request += 1) {
      const response = await call(fake, '/users/me');
      expect(response.status).toBe(200);
      expect(response.headers.get('x-ratelimit-limit')).toBe('3');
      remaining.push(response.headers.get('x-ratelimit-remaining'));
    }
    expect(remaining).toEqual(['2', '1', '0']);

    const limited = await call(fake, '/users/me');
    expect(limited.status).toBe(429);
    expect(limited.headers.get('x-ratelimit-limit')).toBe('3');
    expect(limited.headers.get('x-ratelimit-remaining')).toBe('0');
    const reset = Number(limited.headers.get('x-ratelimit-reset'));
    expect(reset).toBeGreaterThanOrEqual(1);
    expect(reset).toBeLessThanOrEqual(60);
    expect(apiErrorSchema.parse(limited.body).title).toBe('Too Many Requests');
  });

  it('sends the rate limit headers on every response, including errors', async () => {
    fake = await startFakeCalendly({ apiToken: TOKEN });
    for (const target of ['/users/me', '/scheduled_events', '/nowhere']) {
      const response = await call(fake, target);
      expect(response.headers.get('x-ratelimit-limit')).toBe('500');
      expect(response.headers.get('x-ratelimit-remaining')).toMatch(/^\d+$/);
      expect(response.headers.get('x-ratelimit-reset')).toMatch(/^\d+$/);
    }
  });
});

describe('failNext', () => {
  beforeEach(async () => {
    fake = await startFakeCalendly({ apiToken: TOKEN });
  });

  it('fails the next `count` requests under the prefix with the documented body, then serves normally', async () => {
    fake.failNext('/users', { status: 503, count: 2 });

    const statuses: number[] = [];
    for (let request = 0; request < 3; request += 1) statuses.push((await call(fake, '/users/me')).status);
    expect(statuses).toEqual([503, 503, 200]);
  });

  it('leaves other paths alone', async () => {
    const { event } = await fake.bookMeeting({ email: 'a@example.com', startTime: '2026-03-10T14:00:00Z' });
    fake.failNext(event.uri, { status: 500, count: 1 });

    expect((await call(fake, '/users/me')).status).toBe(200);
    const failed = await call(fake, event.uri);
    expect(failed.status).toBe(500);
    expect(failed.body).toEqual({
      title: 'Internal Server Error',
      message: 'The server encountered an unexpected condition that prevented it from fulfilling the request.',
    });
    expect((await call(fake, event.uri)).status).toBe(200);
  });

  it('answers an injected 429 with X-RateLimit-Remaining 0 and X-RateLimit-Reset', async () => {
    fake.failNext('/users/me', { status: 429, count: 1 });
    const limited = await call(fake, '/users/me');
    expect(limited.status).toBe(429);
    expect(limited.headers.get('x-ratelimit-remaining')).toBe('0');
    expect(Number(limited.headers.get('x-ratelimit-reset'))).toBeGreaterThan(0);
    expect(apiErrorSchema.parse(limited.body).title).toBe('Too Many Requests');
  });

  it('answers an injected 404 with the Resource Not Found body', async () => {
    fake.failNext('/users/me', { status: 404, count: 1 });
    const missing = await call(fake, '/users/me');
    expect(missing).toMatchObject({
      status: 404,
      body: { title: 'Resource Not Found', message: 'The server could not find the requested resource.' },
    });
    expect(resourceOf(userSchema).parse((await call(fake, '/users/me')).body).resource.uri).toBe(fake.userUri);
  });
});

describe('requestLog', () => {
  it('records method, path and status of every API request, but not the /_fake controls', async () => {
    fake = await startFakeCalendly({ apiToken: TOKEN });
    await call(fake, '/users/me');
    await call(fake, '/users/me', { token: null });
    await call(fake, '/webhook_subscriptions', { method: 'POST', body: {} });
    await call(fake, '/_fake/deliveries');

    expect(fake.requestLog()).toEqual([
      { method: 'GET', path: '/users/me', status: 200 },
      { method: 'GET', path: '/users/me', status: 401 },
      { method: 'POST', path: '/webhook_subscriptions', status: 400 },
    ]);
  });
});
