/** Drives the local fake Calendly API (FAKE_CALENDLY_PORT) and the receiver of a system started with `npm start`. */
import type { Config } from '../../src/config';
import type { Invitee, ScheduledEvent } from '../../src/calendly/schemas';
import { SIGNATURE_HEADER } from '../../src/calendly/signature';
import { WEBHOOK_PATH } from '../../src/receiver/webhook-route';

export interface LocalTrial {
  fakeUrl: string;
  receiverUrl: string;
  book(input: { email: string; name?: string; startTime: string }): Promise<{ event: ScheduledEvent; invitee: Invitee }>;
  /** The invitee.created delivery Calendly would send for this invitee, signed with the configured key. */
  signedDelivery(inviteeUri: string): Promise<{ body: string; signature: string }>;
  /** POSTs a delivery to the receiver; `ms` is the time until its answer. */
  send(delivery: { body: string; signature: string }): Promise<{ status: number; ms: number; answer: { workflowId?: string; error?: string } }>;
}

export function localTrial(config: Config): LocalTrial | undefined {
  if (!config.fakeCalendlyPort) return undefined;
  const fakeUrl = `http://127.0.0.1:${config.fakeCalendlyPort}`;
  const receiverUrl = `http://127.0.0.1:${config.port}`;
  return {
    fakeUrl,
    receiverUrl,
    book: (input) =>
      postJson(`${fakeUrl}/_fake/bookings`, {
        deliver: false,
        eventTypeName: 'Test meeting',
        questionsAndAnswers: [{ question: 'What would you like to discuss?', answer: 'Trying the pipeline' }],
        tracking: { utm_source: 'local-trial' },
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
