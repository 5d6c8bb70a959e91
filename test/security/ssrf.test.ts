/**
 * Outbound webhooks cannot reach the internal network (SSRF): an organization's endpoint and the reminder webhook go
 * to public addresses only, refused at creation (400 with a code) and at every attempt, on the address actually
 * connected to, so that a name which resolves elsewhere later (DNS rebinding) is caught too. The test system here
 * allows no private network (OUTBOUND_WEBHOOK_ALLOW_PRIVATE_NETWORKS empty, the production default).
 */
import { randomUUID } from 'node:crypto';
import type { LookupAddress } from 'node:dns';
import type { Client } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createOutboundWebhookActivities } from '../../activities/outbound-webhooks';
import { createReminderActivities } from '../../activities/reminders';
import { ConfigError, loadConfig } from '../../src/config';
import { saveBookings } from '../../src/database/bookings';
import { ReminderSchema } from '../../src/database/entities/reminder';
import { recordEvent } from '../../src/database/outbox';
import { fireReminder, planReminders } from '../../src/database/reminders';
import { addOutboundEndpoint } from '../../src/outbound/endpoints';
import { CalendlyAccounts } from '../../activities/calendly-accounts';
import { OutboundDestinations, type DestinationPolicy } from '../../src/outbound-destinations';
import { booking, newEmail, newOrganization } from '../database/database';
import { startOutboundEndpoint, type OutboundEndpointServer } from '../support/outbound-endpoint';
import { runScript } from '../support/scripts';
import { API_TOKEN, eventually, startTestSystem, type TestSystem } from '../support/system';
import { PERSONAL_TOKEN_CONNECTION_ID } from '../../src/workflow-ids';

let system: TestSystem;
let server: OutboundEndpointServer;
let port: number;
const STRICT: DestinationPolicy = { allowedNetworks: [], requireHttps: false };

beforeAll(async () => {
  system = await startTestSystem({ env: { OUTBOUND_WEBHOOK_ALLOW_PRIVATE_NETWORKS: '' } });
  server = await startOutboundEndpoint();
  port = Number(new URL(server.url).port);
});
afterAll(async () => {
  await system.stop();
  await server.close();
});

async function addEndpoint(organization: string, url: string): Promise<{ status: number; body: any }> {
  const response = await fetch(`${system.receiverUrl}/api/outbound-endpoints?organization=${encodeURIComponent(organization)}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${API_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ url, eventTypes: ['lead.*'] }),
  });
  return { status: response.status, body: await response.json() };
}

async function endpointsOf(organization: string): Promise<unknown[]> {
  const response = await fetch(`${system.receiverUrl}/api/outbound-endpoints?organization=${encodeURIComponent(organization)}`, {
    headers: { authorization: `Bearer ${API_TOKEN}` },
  });
  return ((await response.json()) as { data: unknown[] }).data;
}

const deliveryOf = async (endpointId: string) =>
  (
    await system.orm.em
      .fork()
      .execute<{ id: string; state: string; attempts: number; last_error: string | null }[]>('select id, state, attempts, last_error from outbound_deliveries where endpoint_id = ?', [
        endpointId,
      ])
  )[0];

const REFUSED = [
  ['loopback', () => `http://127.0.0.1:${port}/hooks`],
  ['loopback elsewhere in 127/8', () => `http://127.1.2.3:${port}/hooks`],
  ['a name resolving to loopback', () => `http://localhost:${port}/hooks`],
  ['loopback written as a number', () => `http://2130706433:${port}/hooks`],
  ['cloud metadata (link-local)', () => 'http://169.254.169.254/latest/meta-data/'],
  ['RFC 1918 10/8', () => 'http://10.0.0.1/hooks'],
  ['RFC 1918 172.16/12', () => 'http://172.16.5.4/hooks'],
  ['RFC 1918 192.168/16', () => 'https://192.168.1.1/hooks'],
  ['CGNAT 100.64/10', () => 'http://100.64.0.1/hooks'],
  ['unspecified 0.0.0.0', () => `http://0.0.0.0:${port}/hooks`],
  ['multicast', () => 'http://224.0.0.1/hooks'],
  ['reserved 240/4', () => 'http://240.0.0.1/hooks'],
  ['IPv6 loopback', () => `http://[::1]:${port}/hooks`],
  ['IPv6 unspecified', () => 'http://[::]/hooks'],
  ['IPv6 unique-local fc00::/7', () => 'http://[fd12:3456::1]/hooks'],
  ['IPv6 link-local', () => 'http://[fe80::1]/hooks'],
  ['IPv6 multicast', () => 'http://[ff02::1]/hooks'],
  ['IPv4-mapped loopback', () => `http://[::ffff:127.0.0.1]:${port}/hooks`],
  ['IPv4-mapped metadata', () => 'http://[::ffff:169.254.169.254]/hooks'],
  ['IPv4-mapped RFC 1918', () => 'http://[::ffff:10.1.2.3]/hooks'],
] as const;

describe('at creation (POST /api/outbound-endpoints)', () => {
  it.each(REFUSED)('refuses %s with 400 destination_not_allowed, and stores nothing', async (_what, url) => {
    const organization = newOrganization();
    const answer = await addEndpoint(organization, url());
    expect(answer).toEqual({ status: 400, body: { code: 'destination_not_allowed', error: expect.stringContaining('not a public address') } });
    expect(await endpointsOf(organization)).toEqual([]);
  });

  it('refuses a host name that does not resolve with 400 destination_unresolvable', async () => {
    const organization = newOrganization();
    expect(await addEndpoint(organization, 'https://no-such-host.invalid/hooks')).toMatchObject({ status: 400, body: { code: 'destination_unresolvable' } });
    expect(await endpointsOf(organization)).toEqual([]);
  });

  it('accepts a public address', async () => {
    const organization = newOrganization();
    expect(await addEndpoint(organization, 'https://93.184.215.14/hooks')).toMatchObject({ status: 201, body: { organization } });
  });

  it('requires https where API_URL is not a loopback address', async () => {
    const publicPolicy = new OutboundDestinations({ allowedNetworks: [], requireHttps: true });
    await expect(publicPolicy.check('http://93.184.215.14/hooks')).rejects.toMatchObject({ code: 'https_required' });
    await expect(publicPolicy.check('https://93.184.215.14/hooks')).resolves.toBeUndefined();
  });
});

describe('at every attempt', () => {
  it.each([
    ['loopback', () => `http://127.0.0.1:${port}/hooks`],
    ['a name resolving to loopback', () => `http://localhost:${port}/hooks`],
    ['IPv4-mapped loopback', () => `http://[::ffff:127.0.0.1]:${port}/hooks`],
  ])('an endpoint stored on %s (added before this check) gets nothing: its delivery is dead with the reason, after one attempt', async (_what, url) => {
    const organization = newOrganization();
    const [{ id }] = await system.orm.em
      .fork()
      .execute<{ id: string }[]>(`insert into outbound_endpoints (organization, url, secret, event_types) values (?, ?, 'secret', '{lead.*}') returning id`, [organization, url()]);
    const before = server.received.length;
    await system.orm.em.fork().transactional((tx) => recordEvent(tx, { type: 'lead.created', organization, payload: { lead: { id: randomUUID() } } }));
    const dead = await eventually(async () => ((await deliveryOf(id))?.state === 'dead' ? deliveryOf(id) : undefined), 30_000, 'the delivery is dead');
    expect(dead).toMatchObject({ attempts: 1, last_error: 'refused: destination_not_allowed' });
    expect(server.received.length).toBe(before);
  });

  it('a name that resolved to a public address at creation and to loopback at the attempt (DNS rebinding) is refused on the address connected to', async () => {
    const organization = newOrganization();
    const answers: LookupAddress[][] = [[{ address: '93.184.215.14', family: 4 }]];
    const rebinding = (): Promise<LookupAddress[]> => Promise.resolve(answers.shift() ?? [{ address: '127.0.0.1', family: 4 }]);
    const endpoint = await addOutboundEndpoint(
      system.orm.em.fork(),
      organization,
      { url: `http://hooks.rebinding.test:${port}/hooks`, eventTypes: ['lead.*'] },
      { destinations: new OutboundDestinations(STRICT, rebinding), maxPerOrganization: 25 },
    );
    await system.stopWorker(); // this test sends the delivery itself, with the rebinding resolver
    try {
      await system.orm.em.fork().transactional((tx) => recordEvent(tx, { type: 'lead.created', organization, payload: { lead: { id: randomUUID() } } }));
      const { id: deliveryId } = (await deliveryOf(endpoint.id));
      const before = server.received.length;
      const post = (policy: DestinationPolicy) =>
        new MockActivityEnvironment().run(createOutboundWebhookActivities(system.orm, new OutboundDestinations(policy, rebinding)).postOutboundDelivery, deliveryId).then(
          () => 'delivered',
          (error: unknown) => error,
        );

      const refused = await post(STRICT);
      expect(refused).toBeInstanceOf(ApplicationFailure);
      expect(refused).toMatchObject({ type: 'OutboundDestinationRefused', nonRetryable: true });
      expect(server.received.length).toBe(before);
      expect(await deliveryOf(endpoint.id)).toMatchObject({ attempts: 1, last_error: 'refused: destination_not_allowed' });

      // The same delivery with loopback allowed reaches the server: only the check stopped it above.
      expect(await post({ allowedNetworks: ['127.0.0.1/32'], requireHttps: false })).toBe('delivered');
      expect(server.received.length).toBe(before + 1);
    } finally {
      await system.startWorker();
    }
  });
});

describe('the reminder webhook', () => {
  it('is refused at start-up when it names a private address, or plain http where https is required', () => {
    const env = { API_URL: 'http://127.0.0.1:3000', API_TOKENS: API_TOKEN, CALENDLY_API_TOKEN: 'token', CALENDLY_WEBHOOK_SIGNING_KEY: 'signing-key-0123456789', REMINDER_WEBHOOK_SECRET: 'reminder-secret-0123456789' };
    expect(() => loadConfig({ ...env, REMINDER_WEBHOOK_URL: 'http://169.254.169.254/latest' })).toThrow(/REMINDER_WEBHOOK_URL is not a public address/);
    expect(() => loadConfig({ ...env, REMINDER_WEBHOOK_URL: 'http://[::ffff:10.0.0.1]/hooks' })).toThrow(ConfigError);
    expect(loadConfig({ ...env, REMINDER_WEBHOOK_URL: 'http://127.0.0.1:9/hooks', OUTBOUND_WEBHOOK_ALLOW_PRIVATE_NETWORKS: '127.0.0.1/32' }).reminders.webhook?.url).toBe(
      'http://127.0.0.1:9/hooks',
    );
    const publicEnv = { ...env, API_URL: 'https://bookings.example.com', API_TOKENS: `${API_TOKEN}${API_TOKEN}`, CALENDLY_WEBHOOK_SIGNING_KEY: 'k'.repeat(32) };
    expect(() => loadConfig({ ...publicEnv, REMINDER_WEBHOOK_URL: 'http://crm.example.com/hooks' })).toThrow(/REMINDER_WEBHOOK_URL must be https/);
  });

  it('stops the worker at start-up, in one line, when its host name resolves to a private address', async () => {
    const run = await runScript('../src/worker/main.ts', [], {
      API_URL: 'http://127.0.0.1:3000',
      API_TOKENS: API_TOKEN,
      CALENDLY_API_TOKEN: 'token',
      CALENDLY_WEBHOOK_SIGNING_KEY: 'signing-key-0123456789',
      REMINDER_WEBHOOK_URL: 'http://localhost:9/hooks',
      REMINDER_WEBHOOK_SECRET: 'reminder-secret-0123456789',
    });
    expect(run.code).toBe(78);
    expect(run.stderr.trim()).toMatch(/^Configuration error: REMINDER_WEBHOOK_URL resolves to an address that is not public \(destination_not_allowed\)[^\n]*$/);
  });

  it('is not POSTed when its name resolves to loopback at the attempt: the reminder records the refusal, not retried', async () => {
    const [saved] = await saveBookings(system.orm.em.fork(), [booking({ email: newEmail('ssrf'), startTime: '2031-06-01T09:00:00.000Z' })], newOrganization(), PERSONAL_TOKEN_CONNECTION_ID);
    const [reminder] = await planReminders(system.orm.em.fork(), saved.meetingId, [3600], new Date('2031-01-01T00:00:00Z'));
    await fireReminder(system.orm.em.fork(), reminder.reminderId, new Date('2031-06-01T08:00:00Z'));
    const before = server.received.length;
    const activities = createReminderActivities(
      system.orm,
      new CalendlyAccounts({ orm: system.orm }),
      {} as Client,
      'unused',
      { offsetsSeconds: [3600], webhook: { url: `http://localhost:${port}/reminders`, secret: 'reminder-secret-0123456789' } },
      new OutboundDestinations(STRICT),
    );
    const failure = await new MockActivityEnvironment().run(activities.deliverReminderWebhook, reminder.reminderId).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(failure).toMatchObject({ type: 'ReminderWebhookRejected', nonRetryable: true });
    expect(server.received.length).toBe(before);
    expect(await system.orm.em.fork().findOneOrFail(ReminderSchema, { id: reminder.reminderId })).toMatchObject({
      outboundFailure: 'reminder webhook refused: destination_not_allowed',
    });
  });
});
