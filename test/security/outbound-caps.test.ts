/**
 * Per-organization caps of outbound webhooks: endpoints per organization (429 `outbound_endpoint_limit_reached`
 * with Retry-After past the cap, also under concurrent requests), and endpoints at work per organization (each sends
 * one delivery at a time, in order), so that one organization's dead or slow endpoints cannot hold up another
 * organization's deliveries.
 */
import { randomUUID } from 'node:crypto';
import { recordEvent } from '../../src/database/outbox';
import { newOrganization } from '../database/database';
import { startOutboundEndpoint, type OutboundEndpointServer } from '../support/outbound-endpoint';
import { API_TOKEN, eventually, startTestSystem, type TestSystem } from '../support/system';

const MAX_ENDPOINTS = 3;
const MAX_IN_FLIGHT = 2;
let system: TestSystem;
const servers: OutboundEndpointServer[] = [];
beforeAll(async () => {
  system = await startTestSystem({
    env: {
      OUTBOUND_WEBHOOK_MAX_ENDPOINTS_PER_ORGANIZATION: String(MAX_ENDPOINTS),
      OUTBOUND_WEBHOOK_MAX_IN_FLIGHT_PER_ORGANIZATION: String(MAX_IN_FLIGHT),
      OUTBOUND_WEBHOOK_INITIAL_RETRY_SECONDS: '1',
      OUTBOUND_WEBHOOK_MAX_RETRY_SECONDS: '2',
    },
  });
});
afterAll(async () => {
  await system.stop();
  await Promise.all(servers.map((server) => server.close()));
});

async function api(method: string, path: string, body?: unknown): Promise<{ status: number; retryAfter: string | null; body: any }> {
  const response = await fetch(`${system.receiverUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${API_TOKEN}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: response.status, retryAfter: response.headers.get('retry-after'), body: response.status === 204 ? null : await response.json() };
}

const addEndpoint = (organization: string, url: string) =>
  api('POST', `/api/outbound-endpoints?organization=${encodeURIComponent(organization)}`, { url, eventTypes: ['lead.*'] });

async function newServer(): Promise<OutboundEndpointServer> {
  const server = await startOutboundEndpoint();
  servers.push(server);
  return server;
}

describe('endpoints per organization', () => {
  it(`allows ${MAX_ENDPOINTS}, answers 429 outbound_endpoint_limit_reached with Retry-After to the next, counts each organization apart, and frees a place on removal`, async () => {
    const { url } = await newServer();
    const organization = newOrganization();
    const created = [];
    for (let i = 0; i < MAX_ENDPOINTS; i++) created.push(await addEndpoint(organization, url));
    expect(created.map(({ status }) => status)).toEqual(Array(MAX_ENDPOINTS).fill(201));

    expect(await addEndpoint(organization, url)).toEqual({
      status: 429,
      retryAfter: '60',
      body: { code: 'outbound_endpoint_limit_reached', error: expect.stringContaining(`${MAX_ENDPOINTS} endpoints`) },
    });
    expect((await api('GET', `/api/outbound-endpoints?organization=${encodeURIComponent(organization)}`)).body.data).toHaveLength(MAX_ENDPOINTS);
    expect(await addEndpoint(newOrganization(), url)).toMatchObject({ status: 201 });

    expect((await api('DELETE', `/api/outbound-endpoints/${created[0].body.id}?organization=${encodeURIComponent(organization)}`)).status).toBe(204);
    expect(await addEndpoint(organization, url)).toMatchObject({ status: 201 });
  });

  it('holds under concurrent requests: never more than the cap', async () => {
    const { url } = await newServer();
    const organization = newOrganization();
    const answers = await Promise.all(Array.from({ length: 8 }, () => addEndpoint(organization, url)));
    expect(answers.filter(({ status }) => status === 201)).toHaveLength(MAX_ENDPOINTS);
    expect(answers.filter(({ status, retryAfter }) => status === 429 && retryAfter === '60')).toHaveLength(8 - MAX_ENDPOINTS);
    expect((await api('GET', `/api/outbound-endpoints?organization=${encodeURIComponent(organization)}`)).body.data).toHaveLength(MAX_ENDPOINTS);
  });
});

describe('endpoints at work per organization', () => {
  const atWork = async (organization: string) =>
    Number(
      (
        await system.orm.em
          .fork()
          .execute<{ n: string }[]>(`select count(distinct endpoint_id) as n from outbound_deliveries where organization = ? and state = 'pending' and dispatched_at is not null`, [
            organization,
          ])
      )[0].n,
    );

  it("an organization's hanging endpoints hold at most the cap of deliveries; another organization's are delivered meanwhile; the rest follow once they answer", async () => {
    const hanging = await newServer();
    const healthy = await newServer();
    const slow = newOrganization();
    const other = newOrganization();
    for (let i = 0; i < MAX_ENDPOINTS; i++) expect((await addEndpoint(slow, hanging.url)).status).toBe(201);
    expect((await addEndpoint(other, healthy.url)).status).toBe(201);
    hanging.hold();

    const record = (organization: string) =>
      system.orm.em.fork().transactional((tx) => recordEvent(tx, { type: 'lead.created', organization, payload: { lead: { id: randomUUID() } } }));
    const slowEvents = [];
    for (let i = 0; i < 2; i++) slowEvents.push(await record(slow));
    const otherEvent = await record(other);

    const delivered = await eventually(() => Promise.resolve(healthy.accepted()[0]), 30_000, "the other organization's delivery");
    expect(delivered.body.id).toBe(otherEvent);
    await eventually(() => Promise.resolve(hanging.mostHeldAtOnce === MAX_IN_FLIGHT || undefined), 30_000, 'the hanging endpoints hold the cap');
    expect(await atWork(slow)).toBe(MAX_IN_FLIGHT);

    hanging.release();
    // Each event to each of its endpoints, once.
    await eventually(
      () => Promise.resolve(new Set(hanging.accepted().map(({ idempotencyKey }) => idempotencyKey)).size === slowEvents.length * MAX_ENDPOINTS || undefined),
      60_000,
      "all the slow organization's deliveries",
    );
    expect(hanging.mostHeldAtOnce).toBe(MAX_IN_FLIGHT);
  });

  it('a replayed dead delivery waits its turn too: its endpoint is not woken past the cap, and is once one is free', async () => {
    const hanging = await newServer();
    const refusing = await newServer();
    const organization = newOrganization();
    for (let i = 0; i < MAX_IN_FLIGHT; i++) expect((await addEndpoint(organization, hanging.url)).status).toBe(201);
    const refused = await api('POST', `/api/outbound-endpoints?organization=${encodeURIComponent(organization)}`, { url: refusing.url, eventTypes: ['meeting.*'] });
    expect(refused.status).toBe(201);
    refusing.status = 410;
    await system.orm.em.fork().transactional((tx) => recordEvent(tx, { type: 'meeting.created', organization, payload: { meeting: { id: randomUUID() } } }));
    const deliveryOf = async () =>
      (
        await system.orm.em
          .fork()
          .execute<{ id: string; state: string; dispatched_at: Date | null }[]>('select id, state, dispatched_at from outbound_deliveries where endpoint_id = ?', [refused.body.id])
      )[0];
    const dead = await eventually(async () => ((await deliveryOf())?.state === 'dead' ? deliveryOf() : undefined), 30_000, 'the refused delivery is dead');

    hanging.hold();
    await system.orm.em.fork().transactional((tx) => recordEvent(tx, { type: 'lead.created', organization, payload: { lead: { id: randomUUID() } } }));
    await eventually(() => Promise.resolve(hanging.mostHeldAtOnce === MAX_IN_FLIGHT || undefined), 30_000, 'the hanging endpoints hold the cap');

    refusing.status = 204;
    expect((await api('POST', `/api/outbound-deliveries/${dead.id}/replay?organization=${encodeURIComponent(organization)}`)).status).toBe(202);
    expect(await deliveryOf()).toMatchObject({ state: 'pending', dispatched_at: null });
    expect(refusing.received).toHaveLength(1);

    hanging.release();
    await eventually(() => Promise.resolve(refusing.accepted().length === 1 || undefined), 30_000, 'the replayed delivery');
  });
});
