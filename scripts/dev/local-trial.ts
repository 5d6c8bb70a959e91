/** Drives the local fake Calendly API (FAKE_CALENDLY_PORT) and the receiver of a system started with `npm start`. */
import type { z } from 'zod';
import type { ApiToken, Config } from '../../src/config';
import type { Invitee, ScheduledEvent } from '../../src/calendly/schemas';
import { SIGNATURE_HEADER } from '../../src/calendly/signature';
import type { connectionSchema } from '../../src/receiver/api-schemas';
import { WEBHOOK_PATH } from '../../src/receiver/webhook-route';

export type ConnectionStatus = z.output<typeof connectionSchema>;

/** What the fake's own delivery to a subscription got back (it delivers as Calendly would, when asked to). */
export interface FakeDeliveryAttempt {
  url: string;
  status: number | 'network-error';
}

export interface LocalTrial {
  fakeUrl: string;
  receiverUrl: string;
  /**
   * Books a meeting in the fake: in the single account's Calendly organization, undelivered (see signedDelivery), or
   * with `organization` in that Calendly organization, delivered by the fake to its subscriptions.
   */
  book(input: { email: string; name?: string; startTime: string; organization?: string }): Promise<{ event: ScheduledEvent; invitee: Invitee; deliveries: FakeDeliveryAttempt[] }>;
  /** The invitee.created delivery Calendly would send for this invitee, signed with the configured key. */
  signedDelivery(inviteeUri: string): Promise<{ body: string; signature: string }>;
  /** POSTs a delivery to the receiver; `ms` is the time until its answer. */
  send(delivery: { body: string; signature: string }): Promise<{ status: number; ms: number; answer: { workflowId?: string; error?: string } }>;
  /** The organization's Calendly connection (GET /api/connection), or the error the receiver answered. */
  connectionOf(organization: string): Promise<{ connection: ConnectionStatus } | { error: string; code: string }>;
  /** The meetings of an invitee, as the organization's token (or a token bound to none) reads them. */
  meetingsOf(email: string, organization?: string): Promise<{ status: string; startTime: string; name: string }[]>;
}

export function localTrial(config: Config): LocalTrial | undefined {
  if (!config.fakeCalendlyPort) return undefined;
  const fakeUrl = `http://127.0.0.1:${config.fakeCalendlyPort}`;
  const receiverUrl = `http://127.0.0.1:${config.port}`;
  /** The organization's own token, else one bound to none, which names the organization in `?organization=`. */
  const readAs = (organization: string | undefined): { token: ApiToken; query: string } => {
    const own = organization === undefined ? undefined : config.apiTokens.find((token) => token.organization === organization);
    if (own) return { token: own, query: '' };
    const unbound = config.apiTokens.find((token) => !token.organization) ?? config.apiTokens[0];
    return { token: unbound, query: organization === undefined ? '' : `organization=${encodeURIComponent(organization)}` };
  };
  const getJson = async <T>(path: string, token: ApiToken, query: string): Promise<T> => {
    const response = await fetch(`${receiverUrl}${path}${query ? `?${query}` : ''}`, { headers: { authorization: `Bearer ${token.token}` } });
    return (await response.json()) as T;
  };
  return {
    fakeUrl,
    receiverUrl,
    book: ({ organization, ...input }) =>
      postJson(`${fakeUrl}/_fake/bookings`, {
        deliver: organization !== undefined,
        eventTypeName: 'Test meeting',
        questionsAndAnswers: [{ question: 'What would you like to discuss?', answer: 'Trying the pipeline' }],
        tracking: { utm_source: 'local-trial' },
        ...(organization === undefined ? {} : { organization }),
        ...input,
      }),
    signedDelivery: (inviteeUri) =>
      postJson(`${fakeUrl}/_fake/webhook-deliveries`, { event: 'invitee.created', inviteeUri, signingKey: config.calendly.signingKeys[0] }),
    async send({ body, signature }) {
      const sentAt = performance.now();
      const response = await fetch(`${receiverUrl}${WEBHOOK_PATH}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', [SIGNATURE_HEADER]: signature },
        body,
      });
      const ms = performance.now() - sentAt;
      return { status: response.status, ms, answer: (await response.json()) as { workflowId?: string; error?: string } };
    },
    connectionOf(organization) {
      const { token, query } = readAs(organization);
      return getJson('/api/connection', token, query);
    },
    async meetingsOf(email, organization) {
      // The meetings of a token bound to none are every organization's: no `?organization=` there.
      const answer = await getJson<{ data?: { status: string; startTime: string; name: string }[] }>('/api/meetings', readAs(organization).token, `email=${encodeURIComponent(email)}`);
      return answer.data ?? [];
    },
  };
}

export const NO_LOCAL_TRIAL =
  'FAKE_CALENDLY_PORT is not set, so there is no local Calendly to book in. With real Calendly, book a meeting on\n' +
  'your scheduling page instead and watch it arrive in the logs and the Temporal Web UI.\n';

async function postJson<T>(url: string, body: unknown): Promise<T> {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  if (!response.ok) throw new Error(`${url} answered ${response.status}: ${await response.text()}`);
  return (await response.json()) as T;
}
