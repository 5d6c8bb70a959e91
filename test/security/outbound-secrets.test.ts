/**
 * Outbound endpoint signing secrets are stored sealed (CONNECTION_ENCRYPTION_KEY, bound to their row): reading the
 * table gives no secret, a sealed secret copied to another endpoint's row signs nothing, and a secret stored in clear
 * before this change is sealed at its endpoint's first delivery and keeps signing.
 */
import { randomUUID } from 'node:crypto';
import { recordEvent } from '../../src/database/outbox';
import { newOrganization } from '../database/database';
import { signedWith, startOutboundEndpoint, type OutboundEndpointServer } from '../support/outbound-endpoint';
import { API_TOKEN, eventually, startTestSystem, type TestSystem } from '../support/system';

let system: TestSystem;
let server: OutboundEndpointServer;
beforeAll(async () => {
  system = await startTestSystem();
  server = await startOutboundEndpoint();
});
afterAll(async () => {
  await system.stop();
  await server.close();
});

async function addEndpoint(organization: string): Promise<{ id: string; secret: string }> {
  const response = await fetch(`${system.receiverUrl}/api/outbound-endpoints?organization=${encodeURIComponent(organization)}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${API_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ url: server.url, eventTypes: ['lead.*'] }),
  });
  expect(response.status).toBe(201);
  return (await response.json()) as { id: string; secret: string };
}

const storedSecret = async (id: string) =>
  (await system.orm.em.fork().execute<{ secret: string }[]>('select secret from outbound_endpoints where id = ?', [id]))[0].secret;
const deliveryOf = async (endpointId: string) =>
  (await system.orm.em.fork().execute<{ state: string; last_error: string | null }[]>('select state, last_error from outbound_deliveries where endpoint_id = ?', [endpointId]))[0];
const recordLead = (organization: string) =>
  system.orm.em.fork().transactional((tx) => recordEvent(tx, { type: 'lead.created', organization, payload: { lead: { id: randomUUID() } } }));

it('stores the secret sealed, and signs with it', async () => {
  const organization = newOrganization();
  const endpoint = await addEndpoint(organization);
  const stored = await storedSecret(endpoint.id);
  expect(stored).toMatch(/^v2\./);
  expect(stored).not.toContain(endpoint.secret);

  const event = await recordLead(organization);
  const received = await eventually(() => Promise.resolve(server.accepted().find(({ body }) => body.id === event)), 30_000, 'the delivery');
  expect(signedWith(received, endpoint.secret)).toBe(true);
});

it("a sealed secret copied into another endpoint's row does not open there: nothing is sent, the delivery is dead", async () => {
  const organization = newOrganization();
  const victim = await addEndpoint(newOrganization());
  const attacker = await addEndpoint(organization);
  await system.orm.em.fork().execute('update outbound_endpoints set secret = ? where id = ?', [await storedSecret(victim.id), attacker.id]);
  const before = server.received.length;

  await recordLead(organization);
  const dead = await eventually(async () => ((await deliveryOf(attacker.id))?.state === 'dead' ? deliveryOf(attacker.id) : undefined), 30_000, 'the delivery is dead');
  expect(dead).toEqual({ state: 'dead', last_error: 'endpoint secret does not open' });
  expect(server.received.length).toBe(before);
});

it('a secret stored in clear before secrets were sealed is sealed at its first delivery, and still signs', async () => {
  const organization = newOrganization();
  const secret = 'a'.repeat(64);
  const [{ id }] = await system.orm.em
    .fork()
    .execute<{ id: string }[]>(`insert into outbound_endpoints (organization, url, secret, event_types) values (?, ?, ?, '{lead.*}') returning id`, [organization, server.url, secret]);

  const event = await recordLead(organization);
  const received = await eventually(() => Promise.resolve(server.accepted().find(({ body }) => body.id === event)), 30_000, 'the delivery');
  expect(signedWith(received, secret)).toBe(true);
  expect(await storedSecret(id)).toMatch(/^v2\./);
});
