/**
 * A whole system per test file, in this process: the receiver on an ephemeral port and a worker on its own task
 * queue, against the real Temporal dev server and the real PostgreSQL of this run, with the fake Calendly API.
 * Optional TCP proxies in front of PostgreSQL and Temporal let a test cut either one.
 */
import { randomUUID } from 'node:crypto';
import { MikroORM } from '@mikro-orm/postgresql';
import { Client, Connection, defaultGrpcRetryOptions, makeGrpcRetryInterceptor } from '@temporalio/client';
import { NativeConnection, type Worker } from '@temporalio/worker';
import { ApiTokens } from '../../src/auth/api-tokens';
import { startBroadcaster } from '../../src/broadcaster/broadcaster';
import { WEBSOCKET_PATH } from '../../src/broadcaster/protocol';
import { CalendlyApiClient } from '../../src/calendly/api-client';
import { SUBSCRIBED_EVENTS } from '../../src/calendly/schemas';
import { signatureFor } from '../../src/calendly/signature';
import { loadConfig, type Config } from '../../src/config';
import { issuedApiTokenStore } from '../../src/database/api-tokens';
import { ormConfig } from '../../src/database/orm-config';
import { createLogger, type Logger } from '../../src/logger';
import { startReceiverServer } from '../../src/receiver/http-server';
import { ensurePersonalTokenConnection } from '../../src/connections/personal-token';
import { startReceiverMetrics } from '../../src/receiver/metrics';
import { temporalConnectionOptions } from '../../src/temporal/client-connection';
import { createBookingWorker } from '../../src/worker/create-worker';
import { OutboundDestinations } from '../../src/outbound-destinations';
import { SecretBox } from '../../src/connections/secret-box';
import { startOutboundDispatcher, type OutboundDispatcher } from '../../src/outbound/dispatcher';
import { connectionServicesFrom } from '../../src/connections/services';
import { startFakeCalendly, type FakeCalendly } from '../../fake-calendly';
import { freePort } from '../../scripts/lib/free-ports';
import { harness, workflowBundle } from './harness';
import { startTcpProxy, type TcpProxy } from './tcp-proxy';

export const SIGNING_KEY = 'test-signing-key-0123456789';
export const API_TOKEN = 'test-api-token-0123456789abcdef';
export const CALENDLY_TOKEN = 'calendly-personal-access-token';

/** The OAuth app the fake Calendly knows; `oauthEnvironment` configures the system with it (OAuth connections). */
export const OAUTH_APP = {
  clientId: 'test-oauth-client',
  clientSecret: 'test-oauth-client-secret',
  /** registered with the fake, which redirects there; a test replays that query on the receiver's callback (oauth-flow.ts) */
  redirectUri: 'http://127.0.0.1:3000/api/connections/callback',
  encryptionKey: Buffer.alloc(32, 7).toString('base64'),
} as const;

/** The `env` of a system whose organizations connect their own Calendly accounts through the fake's OAuth. */
export function oauthEnvironment(fake: FakeCalendly): Record<string, string> {
  return {
    CALENDLY_CLIENT_ID: OAUTH_APP.clientId,
    CALENDLY_CLIENT_SECRET: OAUTH_APP.clientSecret,
    CALENDLY_OAUTH_REDIRECT_URI: OAUTH_APP.redirectUri,
    CALENDLY_AUTH_BASE_URL: fake.url,
    CONNECTION_ENCRYPTION_KEY: OAUTH_APP.encryptionKey,
  };
}

export interface TestSystemOptions {
  /** Route the receiver's and the worker's database connections through a proxy the test can cut. */
  proxyDatabase?: boolean;
  /** Route the receiver's Temporal connection through a proxy the test can cut. */
  proxyTemporal?: boolean;
  /** Extra environment, e.g. several signing keys; a function when it names something of the fake Calendly. */
  env?: Record<string, string> | ((fake: FakeCalendly) => Record<string, string>);
  /** Another Temporal server than the shared one (e.g. one the test restarts). */
  temporalAddress?: string;
  /** The receiver's and the broadcaster's logger (e.g. one writing to a stream the test reads); silent by default. */
  logger?: Logger;
}

export interface TestSystem {
  config: Config;
  receiverUrl: string;
  /** The receiver's private metrics listener (what METRICS_PORT serves), `http://…` without /metrics. */
  metricsUrl: string;
  /** The receiver's websocket endpoint, `ws://…/ws`. */
  websocketUrl: string;
  fake: FakeCalendly;
  /** Direct connections for assertions, never through a proxy. */
  orm: MikroORM;
  temporal: Client;
  /** what the receiver and its broadcaster check API tokens with */
  apiTokens: ApiTokens;
  databaseProxy?: TcpProxy;
  temporalProxy?: TcpProxy;
  /** Stops the worker (as a crash or a deploy would); workflows wait on the server until one runs again. */
  stopWorker(): Promise<void>;
  startWorker(): Promise<void>;
  /** GET a receiver path as JSON; `token` is sent as a bearer token. */
  get(path: string, token?: string | null): Promise<{ status: number; body: any }>;
  /** Adds the receiver's refusal counts to `refused_requests` now rather than at its next flush. */
  flushRefusals(): Promise<void>;
  /** Subscribes the receiver in the fake Calendly, as an admin would, so that the fake delivers to it. */
  subscribeReceiver(): Promise<void>;
  /** POST a body to the webhook, signed with the configured key unless a signature is given. */
  deliver(body: string, options?: { signature?: string | null; contentType?: string }): Promise<{ status: number; body: any }>;
  stop(): Promise<void>;
}

export async function startTestSystem(options: TestSystemOptions = {}): Promise<TestSystem> {
  const shared = harness();
  const { namespace, databaseUrl } = shared;
  const temporalAddress = options.temporalAddress ?? shared.temporalAddress;
  const logger = options.logger ?? createLogger('fatal', 'test');
  const fake = await startFakeCalendly({
    apiToken: CALENDLY_TOKEN,
    oauth: { clientId: OAUTH_APP.clientId, clientSecret: OAUTH_APP.clientSecret, redirectUris: [OAUTH_APP.redirectUri] },
  });

  const databaseProxy = options.proxyDatabase ? await startTcpProxy('127.0.0.1', Number(new URL(databaseUrl).port || 5432)) : undefined;
  const [temporalHost, temporalPort] = temporalAddress.split(':') as [string, string];
  const temporalProxy = options.proxyTemporal ? await startTcpProxy(temporalHost, Number(temporalPort)) : undefined;
  const systemDatabaseUrl = databaseProxy ? withPort(databaseUrl, databaseProxy.port) : databaseUrl;

  // The receiver's own port in API_URL: the URLs it gives out (connection callbacks, test webhooks) reach it.
  const receiverPort = await freePort();
  const config = loadConfig({
    HOST: '127.0.0.1',
    API_URL: `http://127.0.0.1:${receiverPort}`,
    CALENDLY_WEBHOOK_SIGNING_KEY: SIGNING_KEY,
    CALENDLY_API_TOKEN: CALENDLY_TOKEN,
    CALENDLY_API_BASE_URL: fake.url,
    DATABASE_URL: systemDatabaseUrl,
    TEMPORAL_ADDRESS: temporalProxy ? `127.0.0.1:${temporalProxy.port}` : temporalAddress,
    TEMPORAL_NAMESPACE: namespace,
    TEMPORAL_TASK_QUEUE: `test-${randomUUID()}`,
    API_TOKENS: API_TOKEN,
    LOG_LEVEL: 'warn',
    // The test receivers (outbound endpoints, reminder webhook) listen on the loopback address.
    OUTBOUND_WEBHOOK_ALLOW_PRIVATE_NETWORKS: '127.0.0.1/32,::1/128',
    // Outbound endpoint secrets are sealed with it, as in a deployment that sets it.
    CONNECTION_ENCRYPTION_KEY: OAUTH_APP.encryptionKey,
    ...(typeof options.env === 'function' ? options.env(fake) : options.env),
  });

  // Short acquire timeouts so that a cut database fails fast instead of queueing for a minute.
  const poolOptions = { pool: { min: 0, max: 10, acquireTimeoutMillis: 3_000 } };
  const systemOrm = await MikroORM.init(ormConfig(systemDatabaseUrl, { connect: false, ...poolOptions }));
  const orm = await MikroORM.init(ormConfig(databaseUrl));

  // The client retries a failed call on a timer that Connection.close() does not clear: a retry due after the close
  // would throw on the closed channel, outside any test. So once stopping, no call is retried, and the connections
  // close only after the last retry already scheduled (e.g. while Temporal was cut off) has run.
  let stopping = false;
  let lastRetryDue = 0;
  const retry = defaultGrpcRetryOptions();
  const retriesUntilStopped = [
    makeGrpcRetryInterceptor({
      retryableDecider: (attempt, status) => !stopping && retry.retryableDecider(attempt, status),
      delayFunction: (attempt, status) => {
        const delay = retry.delayFunction(attempt, status);
        lastRetryDue = Math.max(lastRetryDue, Date.now() + delay);
        return delay;
      },
    }),
  ];
  const scheduledRetriesRun = () => new Promise((resolve) => setTimeout(resolve, Math.max(0, lastRetryDue - Date.now()) + 1));
  const receiverConnection = await Connection.connect({ ...temporalConnectionOptions(config.temporal), interceptors: retriesUntilStopped });
  const receiverClient = new Client({ connection: receiverConnection, namespace });
  const apiTokens = new ApiTokens(config.apiTokens, issuedApiTokenStore(systemOrm));
  // As every process does at start-up (src/connections/personal-token.ts); the test database outlives one fake
  // Calendly, so this also moves the connection to this fake's organization.
  if (config.calendly.apiToken) await ensurePersonalTokenConnection(orm, new CalendlyApiClient({ baseUrl: fake.url, token: config.calendly.apiToken }));
  const receiver = await startReceiverServer(
    { config, temporal: receiverClient, orm: systemOrm, logger, apiTokens, connections: connectionServicesFrom(config, systemOrm) },
    receiverPort,
    '127.0.0.1',
  );
  const { server, url: receiverUrl } = receiver;
  const broadcaster = startBroadcaster({ server, config, apiTokens, logger });
  const metrics = await startReceiverMetrics(0, '127.0.0.1');

  const workerConnection = await NativeConnection.connect({ address: temporalAddress });
  const activityConnection = await Connection.connect({ address: temporalAddress, interceptors: retriesUntilStopped });
  const activityClient = new Client({ connection: activityConnection, namespace });
  let worker: Worker | undefined;
  let workerRun: Promise<void> | undefined;
  let outboundDispatcher: OutboundDispatcher | undefined;
  const startWorker = async () => {
    worker = await createBookingWorker({
      connection: workerConnection,
      namespace,
      taskQueue: config.temporal.taskQueue,
      orm: systemOrm,
      personalToken: config.calendly.apiToken ? {
        calendly: new CalendlyApiClient({ baseUrl: fake.url, token: config.calendly.apiToken }),
        target: { callbackUrl: `${receiverUrl}/calendly/webhook`, signingKey: SIGNING_KEY },
      } : undefined,
      connections: connectionServicesFrom(config, systemOrm),
      temporal: activityClient,
      reminders: config.reminders,
      destinations: new OutboundDestinations(config.outboundWebhooks.destinations),
      secretBox: config.outboundWebhooks.secretKey && new SecretBox(config.outboundWebhooks.secretKey),
      schedules: config.schedules,
      workflowBundle: workflowBundle(),
      maxCachedWorkflows: config.maxCachedWorkflows,
    });
    workerRun = worker.run();
    // As in the worker process (src/worker/main.ts): it starts the outbound webhook deliveries' workflows.
    outboundDispatcher = startOutboundDispatcher({
      orm: systemOrm,
      temporal: activityClient,
      taskQueue: config.temporal.taskQueue,
      retry: config.outboundWebhooks.retry,
      databaseUrl: systemDatabaseUrl,
      logger,
      sweepIntervalSeconds: config.outboundWebhooks.sweepIntervalSeconds,
      maxInFlightPerOrganization: config.outboundWebhooks.maxInFlightPerOrganization,
    });
  };
  const stopWorker = async () => {
    await outboundDispatcher?.stop();
    worker?.shutdown();
    await workerRun;
    worker = undefined;
  };
  await startWorker();

  const assertionConnection = await Connection.connect({ address: temporalAddress, interceptors: retriesUntilStopped });
  const temporal = new Client({ connection: assertionConnection, namespace });

  return {
    config,
    receiverUrl,
    metricsUrl: metrics.url,
    websocketUrl: `${receiverUrl.replace(/^http/, 'ws')}${WEBSOCKET_PATH}`,
    fake,
    orm,
    temporal,
    apiTokens,
    databaseProxy,
    temporalProxy,
    stopWorker,
    startWorker,
    async get(path, token = null) {
      const response = await fetch(`${receiverUrl}${path}`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
      return { status: response.status, body: (await response.json()) };
    },
    flushRefusals: () => receiver.refusals.flush(),
    async subscribeReceiver() {
      const response = await fetch(`${fake.url}/webhook_subscriptions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${CALENDLY_TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify({
          url: `${receiverUrl}/calendly/webhook`,
          events: SUBSCRIBED_EVENTS,
          organization: fake.organizationUri,
          scope: 'organization',
          signing_key: SIGNING_KEY,
        }),
      });
      if (response.status !== 201) throw new Error(`subscription failed: ${response.status} ${await response.text()}`);
    },
    async deliver(body, { signature, contentType = 'application/json' } = {}) {
      const headers: Record<string, string> = { 'content-type': contentType };
      const header = signature === undefined ? signatureFor(body, SIGNING_KEY, Math.floor(Date.now() / 1000)) : signature;
      if (header !== null) headers['calendly-webhook-signature'] = header;
      const response = await fetch(`${receiverUrl}/calendly/webhook`, { method: 'POST', headers, body });
      return { status: response.status, body: (await response.json()) };
    },
    async stop() {
      stopping = true;
      await stopWorker();
      await broadcaster.stop();
      await receiver.close();
      await metrics.close();
      await scheduledRetriesRun();
      await Promise.all([receiverConnection.close(), assertionConnection.close(), activityConnection.close(), workerConnection.close()]);
      await Promise.all([systemOrm.close(), orm.close()]);
      await Promise.all([fake.close(), databaseProxy?.close(), temporalProxy?.close()]);
    },
  };
}

function withPort(url: string, port: number): string {
  const parsed = new URL(url);
  parsed.port = String(port);
  return parsed.toString();
}

/** Polls until `probe` returns a value other than undefined, or fails after `timeoutMs`. */
export async function eventually<T>(probe: () => Promise<T | undefined>, timeoutMs = 30_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = error;
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}${lastError ? `: ${(lastError as Error).message}` : ''}`);
}
