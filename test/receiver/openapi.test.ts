/**
 * GET /openapi.json: a valid OpenAPI 3.1 document that names every route of the app, and that real answers fit.
 * After a booking delivered by the fake Calendly, every documented GET route is called with no token, a token of
 * all organizations, the booking organization's token and another organization's token (which must see none of
 * the booking), and each answer's status, media type and body are checked against the document.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type Router from '@koa/router';
import Ajv2020 from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import { createLogger } from '../../src/logger';
import { QUERY_ERRORS, type ErrorCatalogue } from '../../src/receiver/api-errors';
import { createReceiverApp } from '../../src/receiver/app';
import { CONNECTION_ERRORS, connectionPaths } from '../../src/receiver/connection-routes';
import { dashboardPaths } from '../../src/receiver/dashboard/dashboard-routes';
import { DELIVERY_LOG_ERRORS, deliveryLogPaths } from '../../src/receiver/delivery-log-api';
import { OUTBOUND_WEBHOOK_ERRORS, outboundWebhookPaths } from '../../src/receiver/outbound-webhooks-api';
import { readApiPaths } from '../../src/receiver/read-api';
import { RefusalLog } from '../../src/receiver/refusals';
import { WEBHOOK_ERRORS, webhookPaths } from '../../src/receiver/webhook-route';
import { API_TOKEN, eventually, SIGNING_KEY, startTestSystem, type TestSystem } from '../support/system';
import { deliveryOutcome } from '../support/delivery-outcome';

const BOUND_TOKEN = 'openapi-bound-token-0123456789';
const OTHER_ORGANIZATION_TOKEN = 'openapi-other-org-token-012345';
const METHODS = ['get', 'put', 'post', 'delete', 'patch'] as const;

let system: TestSystem;
let document: any;
const ajv = new Ajv2020({ strict: false, allErrors: true });
addFormats(ajv);
const booking = { email: `openapi-${Date.now()}@example.com`, name: 'Grace Hopper', startTime: '2032-03-01T10:00:00Z' };
let inviteeUri: string;

beforeAll(async () => {
  system = await startTestSystem({
    env: (fake) => ({
      API_TOKENS: `${API_TOKEN},${BOUND_TOKEN}:${fake.organizationUri},${OTHER_ORGANIZATION_TOKEN}:https://api.calendly.com/organizations/OTHER`,
    }),
  });
  await system.subscribeReceiver();
  const { invitee, deliveries } = await system.fake.bookMeeting(booking);
  expect(deliveries.map((attempt) => attempt.status)).toEqual([202]);
  inviteeUri = invitee.uri;
  await eventually(async () => {
    const { body } = await system.get(`/api/meetings?email=${encodeURIComponent(booking.email)}`, API_TOKEN);
    return body.pagination.total === 1 ? true : undefined;
  }, 30_000, 'the booking in the read API');
  // The same person submits a routing form: its submission is in the read API too.
  await system.fake.submitRoutingForm({ answers: [{ question: 'Email address', answer: booking.email }] });
  await eventually(async () => {
    const { body } = await system.get(`/api/routing-form-submissions?email=${encodeURIComponent(booking.email)}`, API_TOKEN);
    return body.pagination.total === 1 ? true : undefined;
  }, 30_000, 'the routing form submission in the read API');

  const served = await call('/openapi.json');
  expect(served).toMatchObject({ status: 200, mediaType: 'application/json' });
  document = served.body;
  ajv.addSchema(document, 'openapi.json');
});
afterAll(() => system.stop());

async function call(path: string, token?: string) {
  const response = await fetch(`${system.receiverUrl}${path}`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  const mediaType = (response.headers.get('content-type') ?? '').split(';')[0].trim();
  const text = await response.text();
  return { status: response.status, mediaType, text, body: mediaType === 'application/json' ? JSON.parse(text) : text };
}

/** What is wrong with an answer according to the document: [] when it fits. */
function misfits(method: string, path: string, answer: { status: number; mediaType: string; body: unknown }): unknown[] {
  const responses = document.paths[path]?.[method]?.responses ?? {};
  const key = String(answer.status) in responses ? String(answer.status) : 'default';
  // A shared answer (`Unauthorized`) is a reference to components/responses.
  const reference: string[] = responses[key]?.$ref
    ? responses[key].$ref.split('/').slice(1)
    : ['paths', path.replaceAll('~', '~0').replaceAll('/', '~1'), method, 'responses', key];
  const response = reference.reduce((node, segment) => node?.[segment.replaceAll('~1', '/').replaceAll('~0', '~')], document);
  const content = response?.content ?? {};
  if (!(answer.mediaType in content)) return [`${answer.status} ${answer.mediaType} is not documented (${key}: ${Object.keys(content).join(', ')})`];
  const pointer = [...reference, 'content', answer.mediaType.replaceAll('/', '~1'), 'schema'].join('/');
  const validate = ajv.compile({ $ref: `openapi.json#/${pointer}` });
  return validate(answer.body) ? [] : (validate.errors ?? []);
}

it('serves a valid OpenAPI 3.1 document without a token', async () => {
  expect(document.openapi).toMatch(/^3\.1\./);
  const folder = await mkdtemp(join(tmpdir(), 'openapi-'));
  try {
    await writeFile(join(folder, 'openapi.json'), JSON.stringify(document));
    const { stdout } = await promisify(execFile)(join(__dirname, '../../node_modules/.bin/validate-api'), [join(folder, 'openapi.json')]);
    expect(JSON.parse(stdout)).toEqual({ valid: true });
  } finally {
    await rm(folder, { recursive: true });
  }
  expect(document.components.securitySchemes.bearerAuth).toEqual(expect.objectContaining({ type: 'http', scheme: 'bearer' }));
  expect(document.paths['/api/meetings'].get.security).toEqual([{ bearerAuth: [] }]);
});

it('documents every route of the app, and no route the app does not serve', () => {
  const app = createReceiverApp({
    config: system.config,
    temporal: system.temporal,
    orm: system.orm,
    logger: createLogger('fatal', 'test'),
    apiTokens: system.apiTokens,
    refusals: new RefusalLog({ refusalsPerMinute: 1, write: () => Promise.resolve(), logger: createLogger('fatal', 'test') }),
  });
  const served = app.middleware
    .flatMap((middleware) => (middleware as { router?: Router }).router?.stack ?? [])
    .flatMap((layer) =>
      layer.methods
        .filter((method) => method !== 'HEAD')
        .map((method) => `${method} ${String(layer.path).replace(/:(\w+)/g, '{$1}')}`),
    );
  const documented = Object.entries(document.paths).flatMap(([path, item]: [string, any]) =>
    METHODS.filter((method) => item[method]).map((method) => `${method.toUpperCase()} ${path}`),
  );
  expect(served.length).toBeGreaterThan(5);
  expect(served.filter((route) => !documented.includes(route))).toEqual([]);
  expect(documented.filter((route) => !served.includes(route))).toEqual([]);
});

it('answers every documented GET route as documented, and shows another organization none of the booking', async () => {
  const paths = Object.keys(document.paths).filter((path) => document.paths[path].get);
  expect(paths).toEqual(expect.arrayContaining(['/api/leads', '/api/meetings', '/api/dashboard', '/health', '/ready']));
  const seenBy: Record<string, string[]> = { all: [], bound: [] };
  for (const path of paths) {
    // A route with path parameters gets a uuid no row has: its answer (a 404, usually) must fit the document too.
    // Lists are filtered by the booking's email: other test files share the database, and fill the first pages.
    const filter = ['/api/leads', '/api/meetings', '/api/deliveries', '/api/routing-form-submissions'].includes(path) ? `?email=${encodeURIComponent(booking.email)}` : '';
    const concrete = path.replace(/\{\w+\}/g, '00000000-0000-4000-8000-000000000000') + filter;
    for (const [who, token] of [['none', undefined], ['all', API_TOKEN], ['bound', BOUND_TOKEN], ['other', OTHER_ORGANIZATION_TOKEN]] as const) {
      const answer = await call(concrete, token);
      expect({ who, path, status: answer.status, misfits: misfits('get', path, answer) }).toEqual({ who, path, status: answer.status, misfits: [] });
      const mentionsBooking = answer.text.includes(booking.email) || answer.text.includes(inviteeUri);
      if (who === 'other') expect({ path, mentionsBooking }).toEqual({ path, mentionsBooking: false });
      if ((who === 'all' || who === 'bound') && mentionsBooking) seenBy[who].push(path);
      const security: object[] = document.paths[path].get.security ?? [];
      const tokenRequired = security.length > 0 && security.every((requirement) => Object.keys(requirement).length > 0);
      if (who === 'none' && tokenRequired) expect({ path, status: answer.status }).toEqual({ path, status: 401 });
    }
  }
  // The booking is there for the tokens that may see it: the checks above did not pass on empty answers.
  const seen = ['/api/leads', '/api/meetings', '/api/dashboard', '/api/deliveries', '/api/routing-form-submissions'];
  expect(seenBy.all).toEqual(expect.arrayContaining(seen));
  expect(seenBy.bound).toEqual(expect.arrayContaining(seen));
});

it('documents every error code a route module can answer, with its status', () => {
  const modules: [string, ErrorCatalogue, object][] = [
    ['connections', CONNECTION_ERRORS, connectionPaths],
    ['outbound webhooks', OUTBOUND_WEBHOOK_ERRORS, outboundWebhookPaths],
    ['read API', QUERY_ERRORS, readApiPaths],
    ['dashboard', QUERY_ERRORS, dashboardPaths],
    ['delivery log', DELIVERY_LOG_ERRORS, deliveryLogPaths],
    ['Calendly webhook', WEBHOOK_ERRORS, webhookPaths],
  ];
  for (const [module, catalogue, paths] of modules) {
    // The codes each status of the module's operations names, as served in the document.
    const documented = new Set<string>();
    for (const path of Object.keys(paths)) {
      for (const method of METHODS) {
        for (const [status, response] of Object.entries<any>(document.paths[path]?.[method]?.responses ?? {})) {
          for (const code of codesIn(response)) documented.add(`${status} ${code}`);
        }
      }
    }
    const undocumented = Object.entries(catalogue)
      .map(([code, { status }]) => `${status} ${code}`)
      .filter((answer) => !documented.has(answer));
    expect({ module, undocumented }).toEqual({ module, undocumented: [] });
  }
});

/** The `code` enums anywhere in a response's schema. */
function codesIn(node: unknown): string[] {
  if (!node || typeof node !== 'object') return [];
  const own = (node as { properties?: { code?: { enum?: string[] } } }).properties?.code?.enum ?? [];
  return [...own, ...Object.values(node).flatMap(codesIn)];
}

it('answers a bad query, an unknown route and a missing token with the documented error shape', async () => {
  const invalid = await call('/api/meetings?limit=0', API_TOKEN);
  expect(invalid).toMatchObject({ status: 400, body: { code: 'invalid_query' } });
  expect(misfits('get', '/api/meetings', invalid)).toEqual([]);
  const invalidRange = await call('/api/routing-form-submissions?from=2032-01-02T00:00:00Z&to=2032-01-01T00:00:00Z', API_TOKEN);
  expect(invalidRange).toMatchObject({ status: 400, body: { code: 'invalid_query' } });
  expect(misfits('get', '/api/routing-form-submissions', invalidRange)).toEqual([]);
  const unauthorized = await call('/api/leads');
  expect(unauthorized).toMatchObject({ status: 401, body: { code: 'unauthorized' } });
  expect(misfits('get', '/api/leads', unauthorized)).toEqual([]);
  const unknown = await call('/api/nothing-here', API_TOKEN);
  expect(unknown).toMatchObject({ status: 404, body: { code: 'not_found' } });
  expect(misfits('get', '/api/leads', unknown)).toEqual([]); // the `default` answer every operation has
});

it('answers a delivery replay as documented: 404 for an id that is none, 409 for a processed delivery', async () => {
  const [processed] = (await call(`/api/deliveries?outcome=processed&limit=1&email=${encodeURIComponent(booking.email)}`, API_TOKEN)).body.data;
  for (const [id, status] of [['00000000-0000-4000-8000-000000000000', 404], [processed.id, 409]] as const) {
    const response = await fetch(`${system.receiverUrl}/api/deliveries/${id}/replay`, { method: 'POST', headers: { authorization: `Bearer ${API_TOKEN}` } });
    const answer = { status: response.status, mediaType: 'application/json', body: await response.json() };
    expect({ status: answer.status, misfits: misfits('post', '/api/deliveries/{id}/replay', answer) }).toEqual({ status, misfits: [] });
  }
});

it('answers the Calendly webhook as documented: 202, 200 for a duplicate, 401 and 415', async () => {
  const { invitee } = await system.fake.bookMeeting({ ...booking, startTime: '2032-03-02T10:00:00Z' }, { deliver: false });
  const { body, signature } = system.fake.webhookDelivery('invitee.created', invitee.uri, SIGNING_KEY);
  const answers = [
    await system.deliver(body, { signature }),
    await system.deliver(body, { signature }),
    await system.deliver(body, { signature: null }),
    await system.deliver(body, { signature, contentType: 'text/plain' }),
  ];
  expect(answers.map((answer) => [answer.status, answer.body.code])).toEqual([
    [202, undefined],
    [200, undefined],
    [401, 'signature_missing'],
    [415, 'unsupported_media_type'],
  ]);
  for (const answer of answers) {
    expect({ status: answer.status, misfits: misfits('post', '/calendly/webhook', { ...answer, mediaType: 'application/json' }) }).toEqual({
      status: answer.status,
      misfits: [],
    });
  }
  await deliveryOutcome(system, answers[0].body.trackingId);
});
