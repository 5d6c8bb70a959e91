/**
 * Organizations connect their own Calendly accounts: POST /api/connection/connect, Calendly's consent page (the
 * fake's, clicked through over HTTP as a browser would), then the callback; the status behind each organization's own
 * token; refused states, a declined consent, a Calendly organization already taken, reconnect and disconnect.
 */
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { defaultPayloadConverter } from '@temporalio/common';
import { connectionServicesFrom } from '../../src/connections/services';
import { CALENDLY_CONNECTION } from '../../src/contract';
import { recordSyncProgress } from '../../src/database/connections';
import { createLogger } from '../../src/logger';
import { createReceiverApp } from '../../src/receiver/app';
import { RefusalLog } from '../../src/receiver/refusals';
import { connectionWorkflowIds } from '../../src/workflow-ids';
import { completeConnect, connectThroughCalendly, consent, followToCallback, startConnect } from '../support/oauth-flow';
import { API_TOKEN, eventually, OAUTH_APP, oauthEnvironment, startTestSystem, type TestSystem } from '../support/system';

/** Other test files share the database: organizations unique to this run. */
const RUN = randomUUID();

// Our organizations, each with an API token bound to it.
const ACME = `https://app.example.com/organizations/acme-${RUN}`;
const GLOBEX = `https://app.example.com/organizations/globex-${RUN}`;
const INITECH = `https://app.example.com/organizations/initech-${RUN}`;
const ACME_TOKEN = 'acme-token-0123456789abcdef';
const GLOBEX_TOKEN = 'globex-token-0123456789abcdef';
const INITECH_TOKEN = 'initech-token-0123456789abcdef';

/** What the status shows, and nothing else (no token, no key). */
const STATUS_FIELDS = [
  'calendlyOrganization',
  'calendlyUser',
  'callbackUrl',
  'id',
  'kind',
  'lastDeliveryAt',
  'lastSyncedAt',
  'organization',
  'routingForms',
  'status',
  'statusChangedAt',
  'statusReason',
  'sync',
  'webhook',
  'workflowsUrl',
];

let system: TestSystem;
let acmeCalendly: { organizationUri: string; owner: { uri: string } };
let globexCalendly: { organizationUri: string; owner: { uri: string } };
let initechCalendly: { organizationUri: string; owner: { uri: string } };
const connectionIds: Record<string, string> = {};

beforeAll(async () => {
  system = await startTestSystem({
    env: (fake) => ({
      ...oauthEnvironment(fake),
      API_TOKENS: [API_TOKEN, `${ACME_TOKEN}:${ACME}`, `${GLOBEX_TOKEN}:${GLOBEX}`, `${INITECH_TOKEN}:${INITECH}`].join(','),
    }),
  });
  acmeCalendly = system.fake.createOrganization({ owner: { name: 'Acme Owner', email: 'owner@acme.example' } });
  globexCalendly = system.fake.createOrganization({ owner: { name: 'Globex Owner', email: 'owner@globex.example' } });
  initechCalendly = system.fake.createOrganization({ owner: { name: 'Initech Owner', email: 'owner@initech.example' } });
});
afterAll(() => system.stop());

async function call(method: 'GET' | 'POST', path: string, token: string | null) {
  const response = await fetch(`${system.receiverUrl}${path}`, { method, headers: token ? { authorization: `Bearer ${token}` } : {} });
  return { status: response.status, body: (await response.json()) as any };
}

const statusOf = (token: string | null, query = '') => call('GET', `/api/connection${query}`, token);

const connect = (token: string, userUri: string) => connectThroughCalendly(system, token, userUri);

/** The input a workflow was started with. */
async function startInput(workflowId: string, runId?: string): Promise<any> {
  const history = await system.temporal.workflow.getHandle(workflowId, runId).fetchHistory();
  const payload = history.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0];
  return defaultPayloadConverter.fromPayload(payload as never);
}

const days = (count: number) => count * 86_400_000;

it('connects two organizations through Calendly consent, and starts the set-up of each', async () => {
  const acme = await connect(ACME_TOKEN, acmeCalendly.owner.uri);
  expect(acme.status).toBe(200);
  const { connection } = acme.body;
  expect(connection).toMatchObject({
    organization: ACME,
    status: 'connected',
    statusReason: null,
    calendlyOrganization: acmeCalendly.organizationUri,
    calendlyUser: acmeCalendly.owner.uri,
    callbackUrl: `${system.config.webhookUrl}/${connection.id}`,
  });
  expect(connection.workflowsUrl).toBe(
    `${system.config.temporal.webUiUrl}/namespaces/${system.config.temporal.namespace}/workflows?query=${encodeURIComponent(`CalendlyConnection = "${connection.id}"`)}`,
  );
  connectionIds.acme = connection.id;

  // The callback connects nothing itself: it sends the browser on to the dashboard, code and state in the fragment.
  const back = await consent(system, await startConnect(system, GLOBEX_TOKEN), globexCalendly.owner.uri);
  const landed = await followToCallback(system, back);
  expect(landed).toMatchObject({ status: 303, location: `/?connection=authorized#${new URLSearchParams({ code: back.searchParams.get('code')!, state: back.searchParams.get('state')! }).toString()}` });
  expect(await statusOf(GLOBEX_TOKEN)).toMatchObject({ status: 404, body: { code: 'not_connected' } });
  expect(await completeConnect(system, GLOBEX_TOKEN, back)).toMatchObject({ status: 200, body: { connection: { organization: GLOBEX } } });
  const { body } = await statusOf(GLOBEX_TOKEN);
  expect(body.connection).toMatchObject({ organization: GLOBEX, status: 'connected', calendlyOrganization: globexCalendly.organizationUri });
  connectionIds.globex = body.connection.id;
  expect(connectionIds.globex).not.toBe(connectionIds.acme);

  // Each set-up runs under its connection's workflow ID and search attribute, syncing 30 days back (the default).
  for (const id of [connectionIds.acme, connectionIds.globex]) {
    const workflowId = connectionWorkflowIds(id).setUp;
    const description = await system.temporal.workflow.getHandle(workflowId).describe();
    expect(description.type).toBe('setUpConnection');
    expect(description.typedSearchAttributes.get(CALENDLY_CONNECTION)).toBe(id);
    const input = await startInput(workflowId);
    expect(input.connectionId).toBe(id);
    expect(Math.abs(Date.parse(input.syncFrom) - (Date.now() - days(30)))).toBeLessThan(5 * 60_000);
  }
});

it("shows each organization its own connection only, and never a token or key", async () => {
  const acme = await statusOf(ACME_TOKEN);
  expect(acme).toMatchObject({ status: 200, body: { connection: { id: connectionIds.acme, organization: ACME } } });
  expect(Object.keys(acme.body.connection).sort()).toEqual(STATUS_FIELDS);
  expect(Object.keys(acme.body.connection.webhook).sort()).toEqual(['active', 'detail', 'state', 'subscriptionUri']);
  expect(Object.keys(acme.body.connection.sync).sort()).toEqual(['progress', 'state']);
  // Sealed secrets look like v1.<iv>.<tag>.<data>: none may leave the system.
  expect(JSON.stringify(acme.body)).not.toMatch(/v1\.[\w-]+\.[\w-]+\./);

  expect(await statusOf(GLOBEX_TOKEN)).toMatchObject({ status: 200, body: { connection: { id: connectionIds.globex, organization: GLOBEX } } });
  expect(JSON.stringify((await statusOf(GLOBEX_TOKEN)).body)).not.toContain(connectionIds.acme);
  // Naming another organization with a bound token is refused; an organization without a connection has none.
  expect(await statusOf(ACME_TOKEN, `?organization=${encodeURIComponent(GLOBEX)}`)).toMatchObject({ status: 403, body: { code: 'forbidden' } });
  expect(await statusOf(INITECH_TOKEN)).toMatchObject({ status: 404, body: { code: 'not_connected' } });
  const started = await call('POST', '/api/connection/connect', INITECH_TOKEN);
  expect(started).toMatchObject({ status: 200, body: { authorizeUrl: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+\/oauth\/authorize\?/) } });
  expect(Date.parse(started.body.expiresAt)).toBeGreaterThan(Date.now());
  // A token bound to no organization must name one.
  expect(await statusOf(API_TOKEN)).toMatchObject({ status: 400, body: { code: 'organization_required' } });
  expect(await call('POST', '/api/connection/connect', API_TOKEN)).toMatchObject({ status: 400, body: { code: 'organization_required' } });
  expect(await statusOf(API_TOKEN, `?organization=${encodeURIComponent(GLOBEX)}`)).toMatchObject({
    status: 200,
    body: { connection: { id: connectionIds.globex } },
  });
  expect(await statusOf(API_TOKEN, '?organization=not-a-uri')).toMatchObject({ status: 400, body: { code: 'invalid_query' } });
  expect(await statusOf(null)).toMatchObject({ status: 401, body: { code: 'unauthorized' } });
  expect(await call('POST', '/api/connection/disconnect', 'not-a-token-0123456789')).toMatchObject({ status: 401 });
});

it("sets each connection up: its own subscription in its Calendly organization, then the first sync", async () => {
  for (const [id, calendly, token] of [
    [connectionIds.acme, acmeCalendly, ACME_TOKEN],
    [connectionIds.globex, globexCalendly, GLOBEX_TOKEN],
  ] as const) {
    const connection = await eventually(
      async () => {
        const { body } = await statusOf(token);
        return body.connection.webhook.active && body.connection.lastSyncedAt ? body.connection : undefined;
      },
      45_000,
      `connection ${id} set up`,
    );
    expect(connection).toMatchObject({ webhook: { state: 'active', active: true, detail: null }, sync: { state: 'idle' } });
    const subscription = system.fake.subscriptions().find((candidate) => candidate.uri === connection.webhook.subscriptionUri);
    expect(subscription).toMatchObject({ organization: calendly.organizationUri, state: 'active' });
    expect(subscription?.callback_url.endsWith(`/calendly/webhook/${id}`)).toBe(true);
  }
});

it('refuses a completion whose state this system did not issue, or that expired, and connects nothing', async () => {
  expect(await completeConnect(system, INITECH_TOKEN, new URL(`${OAUTH_APP.redirectUri}?code=abc&state=forged`))).toMatchObject({
    status: 400,
    body: { code: 'invalid_state' },
  });
  expect(await followToCallback(system, new URL(`${OAUTH_APP.redirectUri}?state=only`))).toMatchObject({ status: 400, body: { code: 'invalid_callback' } });

  // A state changed by one character no longer opens (AES-GCM), even with Calendly's real code.
  const genuine = await consent(system, await startConnect(system, INITECH_TOKEN), initechCalendly.owner.uri);
  const state = genuine.searchParams.get('state') ?? '';
  const tampered = new URL(genuine);
  // Not the last character: its unused low bits can change without changing a byte.
  const at = state.length - 10;
  tampered.searchParams.set('state', `${state.slice(0, at)}${state[at] === 'A' ? 'B' : 'A'}${state.slice(at + 1)}`);
  expect(await completeConnect(system, INITECH_TOKEN, tampered)).toMatchObject({ status: 400, body: { code: 'invalid_state' } });

  // A flow started 11 minutes ago: its state has expired, though Calendly's code is fresh.
  const services = connectionServicesFrom(system.config, system.orm);
  if (!services) throw new Error('the test system has OAuth configured');
  const stale = await services.connect.start(INITECH, Date.now() - 11 * 60_000);
  const late = await consent(system, stale.authorizeUrl, initechCalendly.owner.uri);
  expect(await completeConnect(system, INITECH_TOKEN, late)).toMatchObject({ status: 400, body: { code: 'state_expired' } });

  expect(await statusOf(INITECH_TOKEN)).toMatchObject({ status: 404, body: { code: 'not_connected' } });
});

it('answers a declined consent with access_denied, and connects nothing', async () => {
  const declined = await consent(system, await startConnect(system, INITECH_TOKEN), null);
  expect(declined.searchParams.get('error')).toBe('access_denied');
  expect(await followToCallback(system, declined)).toMatchObject({ status: 403, body: { code: 'access_denied' } });
  expect(await statusOf(INITECH_TOKEN)).toMatchObject({ status: 404, body: { code: 'not_connected' } });
});

it('refuses a Calendly organization already connected to another organization (409), and revokes that grant', async () => {
  const acmeAdmin = system.fake.addUser(acmeCalendly.organizationUri, { name: 'Acme Admin', email: 'admin@acme.example' }, 'admin');
  const taken = await connect(INITECH_TOKEN, acmeAdmin.uri);
  expect(taken).toMatchObject({ status: 409, body: { code: 'calendly_organization_taken' } });
  expect(taken.body.error).not.toContain(acmeCalendly.organizationUri);
  expect(await statusOf(INITECH_TOKEN)).toMatchObject({ status: 404, body: { code: 'not_connected' } });
  const grants = system.fake.oauthStats().grants.filter((grant) => grant.owner === acmeAdmin.uri);
  expect(grants).toHaveLength(1);
  expect(grants[0].revokedAt).not.toBeNull();
  // Acme keeps its connection.
  expect(await statusOf(ACME_TOKEN)).toMatchObject({ status: 200, body: { connection: { id: connectionIds.acme, status: 'connected' } } });
});

it('reconnects under the same connection, replacing a set-up still running and syncing back to the last sync', async () => {
  const lastSynced = new Date(Date.now() - days(90));
  await recordSyncProgress(system.orm.em.fork(), connectionIds.acme, 'idle', {}, { startedAt: lastSynced.toISOString() });
  const workflowId = connectionWorkflowIds(connectionIds.acme).setUp;
  // Without a worker the first set-up of the reconnect keeps running, until the second one replaces it.
  await system.stopWorker();
  try {
    const first = await connect(ACME_TOKEN, acmeCalendly.owner.uri);
    expect(first).toMatchObject({ status: 200, body: { connection: { id: connectionIds.acme, status: 'connected' } } });
    const firstRun = (await system.temporal.workflow.getHandle(workflowId).describe()).runId;
    const second = await connect(ACME_TOKEN, acmeCalendly.owner.uri);
    expect(second).toMatchObject({ status: 200, body: { connection: { id: connectionIds.acme } } });
    expect((await system.temporal.workflow.getHandle(workflowId, firstRun).describe()).status.name).toBe('TERMINATED');
    const latest = await system.temporal.workflow.getHandle(workflowId).describe();
    expect(latest.runId).not.toBe(firstRun);
    expect(latest.status.name).toBe('RUNNING');
    expect(await startInput(workflowId, latest.runId)).toEqual({ connectionId: connectionIds.acme, syncFrom: lastSynced.toISOString() });
  } finally {
    await system.startWorker();
  }
});

it('disconnects: the teardown runs, the status says disconnected, the other organization stays connected', async () => {
  const answer = await call('POST', '/api/connection/disconnect', GLOBEX_TOKEN);
  expect(answer.status).toBe(200);
  expect(answer.body.connection).toMatchObject({ id: connectionIds.globex, status: 'disconnected', statusReason: expect.stringContaining('disconnect') });
  const teardown = await system.temporal.workflow.getHandle(connectionWorkflowIds(connectionIds.globex).teardown).describe();
  expect(teardown.status.name).toBe('COMPLETED');
  expect(teardown.typedSearchAttributes.get(CALENDLY_CONNECTION)).toBe(connectionIds.globex);

  expect(await statusOf(GLOBEX_TOKEN)).toMatchObject({ status: 200, body: { connection: { status: 'disconnected' } } });
  expect(await statusOf(ACME_TOKEN)).toMatchObject({ status: 200, body: { connection: { status: 'connected' } } });
  // At Calendly: its subscription is gone and its grant revoked; Acme's are untouched.
  expect(system.fake.subscriptions().filter((subscription) => subscription.callback_url.endsWith(`/${connectionIds.globex}`))).toEqual([]);
  expect(system.fake.oauthStats().grants.filter((grant) => grant.owner === globexCalendly.owner.uri && grant.revokedAt === null)).toEqual([]);
  expect(system.fake.subscriptions().filter((subscription) => subscription.callback_url.endsWith(`/${connectionIds.acme}`))).toHaveLength(1);

  // Again: nothing more to do.
  expect(await call('POST', '/api/connection/disconnect', GLOBEX_TOKEN)).toMatchObject({ status: 200, body: { connection: { status: 'disconnected' } } });
  expect(await call('POST', '/api/connection/disconnect', INITECH_TOKEN)).toMatchObject({ status: 404, body: { code: 'not_connected' } });
});

it('answers oauth_not_configured where no OAuth app is configured', async () => {
  const logger = createLogger('fatal', 'test');
  const app = createReceiverApp({
    config: { ...system.config, oauth: undefined },
    temporal: system.temporal,
    orm: system.orm,
    logger,
    apiTokens: system.apiTokens,
    refusals: new RefusalLog({ refusalsPerMinute: 1, write: () => Promise.resolve(), logger }),
  });
  const server = createServer(app.callback()).listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  try {
    const connectAnswer = await fetch(`${url}/api/connection/connect`, { method: 'POST', headers: { authorization: `Bearer ${ACME_TOKEN}` } });
    expect({ status: connectAnswer.status, body: await connectAnswer.json() }).toMatchObject({ status: 404, body: { code: 'oauth_not_configured' } });
    const callback = await fetch(`${url}/api/connections/callback?code=abc&state=def`);
    expect({ status: callback.status, body: await callback.json() }).toMatchObject({ status: 404, body: { code: 'oauth_not_configured' } });
    const complete = await fetch(`${url}/api/connection/complete`, { method: 'POST', headers: { authorization: `Bearer ${ACME_TOKEN}` }, body: '{}' });
    expect({ status: complete.status, body: await complete.json() }).toMatchObject({ status: 404, body: { code: 'oauth_not_configured' } });
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
});
