/**
 * The outbound webhook API behind the API token: input validated with clear 4xx answers, and an organization sees
 * and changes only its own endpoints and deliveries (another one's answers 404, as if it did not exist).
 */
import { randomUUID } from 'node:crypto';
import { recordEvent } from '../../src/database/outbox';
import { startOutboundEndpoint, type OutboundEndpointServer } from '../support/outbound-endpoint';
import { API_TOKEN, eventually, startTestSystem, type TestSystem } from '../support/system';

const ORGANIZATION_A = `https://api.calendly.com/organizations/${randomUUID()}`;
const ORGANIZATION_B = `https://api.calendly.com/organizations/${randomUUID()}`;
const TOKEN_A = 'outbound-token-a-0123456789abcdef';
const TOKEN_B = 'outbound-token-b-0123456789abcdef';

let system: TestSystem;
let crm: OutboundEndpointServer;
beforeAll(async () => {
  crm = await startOutboundEndpoint();
  system = await startTestSystem({ env: { API_TOKENS: `${API_TOKEN},${TOKEN_A}:${ORGANIZATION_A},${TOKEN_B}:${ORGANIZATION_B}` } });
});
afterAll(async () => {
  await system.stop();
  await crm.close();
});

async function api(method: string, path: string, token: string, body?: unknown, contentType = 'application/json'): Promise<{ status: number; body: any }> {
  const response = await fetch(`${system.receiverUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': contentType }) },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: response.status, body: response.status === 204 ? null : await response.json() };
}

it('refuses bad input with a clear 4xx, and a token of all organizations that names none', async () => {
  const valid = { url: crm.url, eventTypes: ['meeting.*'] };
  expect(await api('POST', '/api/outbound-endpoints', API_TOKEN, valid)).toMatchObject({
    status: 400,
    body: { code: 'organization_required', error: expect.stringContaining('?organization=') },
  });
  expect(await api('POST', '/api/outbound-endpoints', TOKEN_A, { ...valid, url: 'ftp://crm.example.com/hooks' })).toMatchObject({
    status: 400,
    body: { code: 'invalid_body', error: expect.stringContaining('url: must be an http(s) URL') },
  });
  expect(await api('POST', '/api/outbound-endpoints', TOKEN_A, { ...valid, eventTypes: ['invoice.paid'] })).toMatchObject({
    status: 400,
    body: { code: 'invalid_body', error: expect.stringContaining('eventTypes.0: must be one of lead.*') },
  });
  expect(await api('POST', '/api/outbound-endpoints', TOKEN_A, { ...valid, eventTypes: [] })).toMatchObject({ status: 400, body: { code: 'invalid_body' } });
  expect(await api('POST', '/api/outbound-endpoints', TOKEN_A, '{"url":', 'application/json')).toMatchObject({ status: 400, body: { code: 'invalid_body' } });
  expect(await api('POST', '/api/outbound-endpoints', TOKEN_A, 'url=x', 'text/plain')).toMatchObject({ status: 415, body: { code: 'unsupported_media_type' } });
  expect(await api('POST', `/api/outbound-endpoints?organization=${encodeURIComponent(ORGANIZATION_B)}`, TOKEN_A, valid)).toMatchObject({
    status: 403,
    body: { code: 'forbidden' },
  });
  expect(await api('GET', '/api/outbound-deliveries?state=lost', TOKEN_A)).toMatchObject({ status: 400, body: { code: 'invalid_query' } });
  expect(await api('DELETE', '/api/outbound-endpoints/not-a-uuid', TOKEN_A)).toMatchObject({ status: 404, body: { code: 'not_found' } });
});

it("shows and changes only the organization's own endpoints and deliveries", async () => {
  crm.status = 410;
  const created = await api('POST', '/api/outbound-endpoints', TOKEN_A, { url: crm.url, eventTypes: ['lead.*', 'lead.created'] });
  expect(created).toMatchObject({ status: 201, body: { organization: ORGANIZATION_A, url: crm.url, eventTypes: ['lead.*', 'lead.created'], secret: expect.any(String) } });
  const endpointId = created.body.id as string;
  const byAll = await api('POST', `/api/outbound-endpoints?organization=${encodeURIComponent(ORGANIZATION_B)}`, API_TOKEN, { url: crm.url, eventTypes: ['meeting.*'] });
  expect(byAll).toMatchObject({ status: 201, body: { organization: ORGANIZATION_B } });

  const listedByA = await api('GET', '/api/outbound-endpoints', TOKEN_A);
  expect(listedByA.body.data).toEqual([{ id: endpointId, organization: ORGANIZATION_A, url: crm.url, eventTypes: ['lead.*', 'lead.created'], enabled: true, createdAt: expect.any(String) }]);
  expect((await api('GET', '/api/outbound-endpoints', TOKEN_B)).body.data.map(({ id }: { id: string }) => id)).toEqual([byAll.body.id]);

  // An event of A that its endpoint refuses for good: a dead delivery of A.
  await system.orm.em.fork().transactional((tx) => recordEvent(tx, { type: 'lead.created', organization: ORGANIZATION_A, payload: { lead: { id: randomUUID() } } }));
  const dead = await eventually(async () => {
    const { body } = await api('GET', '/api/outbound-deliveries?state=dead', TOKEN_A);
    return body.data.length ? body.data : undefined;
  }, 30_000, 'the dead delivery of A');
  expect(dead).toEqual([expect.objectContaining({ endpointId, organization: ORGANIZATION_A, state: 'dead', attempts: 1, lastStatus: 410 })]);
  const deliveryId = dead[0].id as string;

  // B sees none of it and can change none of it.
  expect(await api('GET', '/api/outbound-deliveries', TOKEN_B)).toMatchObject({ status: 200, body: { data: [], pagination: { total: 0 } } });
  expect(await api('POST', `/api/outbound-deliveries/${deliveryId}/replay`, TOKEN_B)).toMatchObject({ status: 404, body: { code: 'not_found' } });
  expect(await api('DELETE', `/api/outbound-endpoints/${endpointId}`, TOKEN_B)).toMatchObject({ status: 404, body: { code: 'not_found' } });
  expect((await api('GET', '/api/outbound-endpoints', TOKEN_A)).body.data).toHaveLength(1);

  // A removes its endpoint: gone from the list, and its dead delivery can no longer be replayed.
  expect(await api('DELETE', `/api/outbound-endpoints/${endpointId}`, TOKEN_A)).toEqual({ status: 204, body: null });
  expect((await api('GET', '/api/outbound-endpoints', TOKEN_A)).body.data).toEqual([]);
  expect(await api('POST', `/api/outbound-deliveries/${deliveryId}/replay`, TOKEN_A)).toMatchObject({ status: 409, body: { code: 'endpoint_removed' } });
  expect(crm.received.map(({ idempotencyKey }) => idempotencyKey)).toEqual([deliveryId]);
});
