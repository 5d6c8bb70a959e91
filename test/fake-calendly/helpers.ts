/** Shared by the fake Calendly tests: an API caller, a webhook receiver and a poller. */
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { resourceOf, webhookSubscriptionSchema, type WebhookEventName, type WebhookSubscription } from '../../src/calendly/schemas';
import type { FakeCalendly } from '../../fake-calendly';

export const TOKEN = 'fake-calendly-test-token';

export interface ApiResponse {
  status: number;
  headers: Headers;
  text: string;
  body: unknown;
}

/** Calls the fake with the test token (or `token: null` for none); `target` is a path or a full URI. */
export async function call(
  fake: FakeCalendly,
  target: string,
  { method = 'GET', body, token = TOKEN }: { method?: string; body?: unknown; token?: string | null } = {},
): Promise<ApiResponse> {
  const headers: Record<string, string> = {};
  if (token !== null) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const response = await fetch(target.startsWith('http') ? target : `${fake.url}${target}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, text, body: text === '' ? undefined : (JSON.parse(text) as unknown) };
}

export const query = (params: Record<string, string>) => new URLSearchParams(params).toString();

export async function subscribe(
  fake: FakeCalendly,
  url: string,
  events: WebhookEventName[],
  extra: { signing_key?: string; scope?: 'organization' | 'user'; user?: string } = {},
): Promise<WebhookSubscription> {
  const response = await call(fake, '/webhook_subscriptions', {
    method: 'POST',
    body: { url, events, organization: fake.organizationUri, scope: 'organization', ...extra },
  });
  if (response.status !== 201) throw new Error(`subscribe failed: ${response.status} ${response.text}`);
  return resourceOf(webhookSubscriptionSchema).parse(response.body).resource;
}

export interface ReceivedRequest {
  headers: IncomingHttpHeaders;
  rawBody: Buffer;
}

export interface Receiver {
  url: string;
  received: ReceivedRequest[];
  close(): Promise<void>;
}

/** A webhook receiver that keeps the raw bytes; `answer(n)` gives the status for the n-th request (0-based). */
export async function startReceiver(
  answer: (index: number) => { status: number; headers?: Record<string, string> } = () => ({ status: 200 }),
): Promise<Receiver> {
  const received: ReceivedRequest[] = [];
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const { status, headers } = answer(received.length);
      received.push({ headers: request.headers, rawBody: Buffer.concat(chunks) });
      response.writeHead(status, headers).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/webhooks/calendly`,
    received,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

export async function waitFor(condition: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Calendly's timestamp form: UTC with six fractional digits. */
export const CALENDLY_TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;
