/** The API client's paging: next_page is followed by path and query only, so the token never leaves the base URL. */
import { createServer, type IncomingMessage } from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { CalendlyApiClient, CalendlyResponseError } from '../../src/calendly/api-client';

const subscription = (uuid: string) => ({
  uri: `https://api.calendly.com/webhook_subscriptions/${uuid}`,
  callback_url: 'https://bookings.example.com/calendly/webhook',
  created_at: '2026-11-20T10:00:00.000000Z',
  updated_at: '2026-11-20T10:00:00.000000Z',
  retry_started_at: null,
  state: 'active',
  events: ['invitee.created'],
  scope: 'organization',
  organization: 'https://api.calendly.com/organizations/ORG',
  user: null,
  group: null,
  creator: null,
});

const page = (collection: unknown[], nextPage: string | null) => ({
  collection,
  pagination: { count: collection.length, next_page: nextPage, previous_page: null, next_page_token: null, previous_page_token: null },
});

async function serve(answer: (request: IncomingMessage) => { status: number; body: unknown; headers?: Record<string, string> }) {
  const requests: { url: string; authorization: string | undefined }[] = [];
  const server = createServer((request, response) => {
    requests.push({ url: request.url ?? '', authorization: request.headers.authorization });
    const { status, body, headers = {} } = answer(request);
    response.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v2`;
  return { url, requests, close: () => new Promise((resolve) => server.close(resolve)) };
}

it('follows next_page by path and query on the configured base URL, whatever host it names', async () => {
  const api = await serve((request) =>
    request.url?.includes('page_token=2')
      ? { status: 200, body: page([subscription('B')], null) }
      : { status: 200, body: page([subscription('A')], 'https://elsewhere.example.com/v2/webhook_subscriptions?count=100&page_token=2') },
  );
  try {
    const client = new CalendlyApiClient({ baseUrl: api.url, token: 'secret-token' });
    const pages = [];
    for await (const items of client.listWebhookSubscriptions({ organization: 'https://api.calendly.com/organizations/ORG', scope: 'organization' })) {
      pages.push(items.map(({ uri }) => uri.split('/').at(-1)));
    }
    expect(pages).toEqual([['A'], ['B']]);
    expect(api.requests.map(({ url }) => url)).toEqual([
      '/v2/webhook_subscriptions?count=100&organization=https%3A%2F%2Fapi.calendly.com%2Forganizations%2FORG&scope=organization',
      '/v2/webhook_subscriptions?count=100&page_token=2',
    ]);
    expect(api.requests.every(({ authorization }) => authorization === 'Bearer secret-token')).toBe(true);
  } finally {
    await api.close();
  }
});

it('waits and asks for the same page again on a 429 when told how to wait, and validates every page', async () => {
  let calls = 0;
  const api = await serve(() => {
    calls += 1;
    if (calls === 1) return { status: 429, body: { title: 'Too Many Requests', message: 'slow down' }, headers: { 'x-ratelimit-reset': '7' } };
    return { status: 200, body: page([{ uri: 'not a subscription' }], null) };
  });
  try {
    const client = new CalendlyApiClient({ baseUrl: api.url, token: 'secret-token' });
    const waits: number[] = [];
    const listing = client.listWebhookSubscriptions(
      { organization: 'https://api.calendly.com/organizations/ORG', scope: 'organization' },
      {
        whenRateLimited: (seconds) => {
          waits.push(seconds);
          return Promise.resolve();
        },
      },
    );
    await expect(listing.next()).rejects.toThrow(CalendlyResponseError);
    expect(waits).toEqual([7]);
    expect(calls).toBe(2);
  } finally {
    await api.close();
  }
});
