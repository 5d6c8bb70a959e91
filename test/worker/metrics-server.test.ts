/**
 * The worker's metrics endpoints: the app's server (GET /metrics, GET /health) on its own, then the real worker
 * process (src/worker/main.ts, as a child: Runtime.install can run once per process and jest's already has a
 * runtime) with WORKER_METRICS_PORT and TEMPORAL_METRICS_PORT, scraped for calendly_* and Temporal's temporal_*.
 */
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import '../../activities/metrics';
import { loadConfig } from '../../src/config';
import { startMetricsServer, type MetricsServer } from '../../src/metrics-server';
import { scheduleIdsFor } from '../../src/worker/schedules';
import { startFakeCalendly, type FakeCalendly } from '../../fake-calendly';
import { freePorts } from '../../scripts/lib/free-ports';
import { harness } from '../support/harness';
import { spawnGroup, waitUntilGone, type GroupProcess } from '../support/process-group';
import { eventually } from '../support/system';

jest.setTimeout(180_000);

const ROOT = join(__dirname, '..', '..');
const TSX = join(ROOT, 'node_modules', '.bin', 'tsx');

describe('the metrics settings', () => {
  const required = {
    API_URL: 'http://127.0.0.1:3000',
    CALENDLY_WEBHOOK_SIGNING_KEY: 'test-signing-key-0123456789',
    CALENDLY_API_TOKEN: 'calendly-token',
    API_TOKENS: 'test-api-token-0123456789abcdef',
  };

  it('are off unless set', () => {
    expect(loadConfig(required).metrics).toEqual({ host: '127.0.0.1', receiverPort: undefined, workerPort: undefined, temporalBindAddress: undefined });
    expect(loadConfig({ ...required, WORKER_METRICS_PORT: '', TEMPORAL_METRICS_PORT: '' }).metrics).toEqual({ host: '127.0.0.1' });
  });

  it('bind on METRICS_HOST (loopback by default), not on HOST', () => {
    expect(loadConfig({ ...required, HOST: '0.0.0.0', WORKER_METRICS_PORT: '9464', TEMPORAL_METRICS_PORT: '9465' }).metrics).toEqual({
      host: '127.0.0.1',
      workerPort: 9464,
      temporalBindAddress: '127.0.0.1:9465',
    });
    expect(loadConfig({ ...required, METRICS_HOST: '::', TEMPORAL_METRICS_PORT: '9465' }).metrics.temporalBindAddress).toBe('[::]:9465');
  });

  it('refuse the same port for both', () => {
    expect(() => loadConfig({ ...required, WORKER_METRICS_PORT: '9464', TEMPORAL_METRICS_PORT: '9464' })).toThrow(
      /^Configuration error: TEMPORAL_METRICS_PORT must differ from WORKER_METRICS_PORT/,
    );
  });

  it.each(['WORKER_METRICS_PORT', 'TEMPORAL_METRICS_PORT'])('refuse a %s that is not a port, naming it', (variable) => {
    for (const value of ['abc', '0', '70000', '1.5']) {
      expect(() => loadConfig({ ...required, [variable]: value })).toThrow(
        new RegExp(`^Configuration error: ${variable} must be a port number from 1 to 65535, or empty for off\\.`),
      );
    }
  });
});

describe('the metrics server', () => {
  let server: MetricsServer;
  let healthy = false;
  beforeAll(async () => {
    server = await startMetricsServer({ port: 0, host: '127.0.0.1', healthy: () => healthy });
  });
  afterAll(() => server.close());

  it('answers /health 200 only while the worker runs', async () => {
    healthy = false;
    expect((await fetch(`${server.url}/health`)).status).toBe(503);
    healthy = true;
    const response = await fetch(`${server.url}/health`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: 'ok' });
  });

  it('serves the default registry in the Prometheus text format at /metrics', async () => {
    const response = await fetch(`${server.url}/metrics`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await response.text();
    for (const name of ['calendly_bookings_saved_total', 'calendly_reminders_sent_total', 'calendly_reminder_lateness_seconds']) {
      expect(text).toContain(`# TYPE ${name}`);
    }
  });

  it('refuses other paths and methods', async () => {
    expect((await fetch(`${server.url}/other`)).status).toBe(404);
    expect((await fetch(`${server.url}/metrics`, { method: 'POST' })).status).toBe(405);
  });
});

describe('the worker process', () => {
  let fake: FakeCalendly;
  let worker: GroupProcess | undefined;
  const taskQueue = `metrics-${randomUUID()}`;
  const { temporalAddress, namespace, databaseUrl } = harness();

  beforeAll(async () => {
    fake = await startFakeCalendly({ apiToken: 'calendly-token' });
  });
  afterAll(async () => {
    if (worker) {
      worker.killGroup();
      await waitUntilGone([worker.pid], [], 10_000);
    }
    await fake.close();
    const connection = await Connection.connect({ address: temporalAddress });
    const client = new Client({ connection, namespace });
    for (const scheduleId of Object.values(scheduleIdsFor(taskQueue))) await client.schedule.getHandle(scheduleId).delete().catch(() => undefined);
    await connection.close();
  });

  it('serves calendly_* and /health on WORKER_METRICS_PORT and temporal_* on TEMPORAL_METRICS_PORT', async () => {
    const [workerPort, temporalPort] = await freePorts(2);
    worker = spawnGroup('worker', TSX, ['src/worker/main.ts'], {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        HOST: '127.0.0.1',
        API_URL: 'http://127.0.0.1:3000',
        CALENDLY_WEBHOOK_SIGNING_KEY: 'test-signing-key-0123456789',
        CALENDLY_API_TOKEN: 'calendly-token',
        CALENDLY_API_BASE_URL: fake.url,
        DATABASE_URL: databaseUrl,
        TEMPORAL_ADDRESS: temporalAddress,
        TEMPORAL_NAMESPACE: namespace,
        TEMPORAL_TASK_QUEUE: taskQueue,
        API_TOKENS: 'test-api-token-0123456789abcdef',
        // Present, so that a .env in the working tree cannot fill them in (dotenv never overrides).
        REMINDER_WEBHOOK_URL: '',
        REMINDER_WEBHOOK_SECRET: '',
        FAKE_CALENDLY_PORT: '',
        RECONCILE_INTERVAL_MINUTES: '1000000',
        SUBSCRIPTION_CHECK_INTERVAL_MINUTES: '1000000',
        WORKER_METRICS_PORT: String(workerPort),
        TEMPORAL_METRICS_PORT: String(temporalPort),
        LOG_LEVEL: 'info',
      },
    });
    await worker.waitForLine(/"msg":"Worker running"/, 150_000);

    const health = await eventually(async () => {
      const response = await fetch(`http://127.0.0.1:${workerPort}/health`);
      return response.status === 200 ? response : undefined;
    }, 10_000, 'a healthy worker');
    expect(await health.json()).toEqual({ status: 'ok' });
    const app = await (await fetch(`http://127.0.0.1:${workerPort}/metrics`)).text();
    expect(app).toContain('# TYPE calendly_reminders_sent_total counter');
    expect(app).toContain('# TYPE calendly_api_requests_total counter');
    // And the process's own: event loop lag, CPU.
    expect(app).toMatch(/^nodejs_eventloop_lag_seconds \d/m);
    expect(app).toMatch(/^process_cpu_seconds_total \d/m);

    const temporal = await eventually(async () => {
      const text = await (await fetch(`http://127.0.0.1:${temporalPort}/metrics`)).text();
      return /^temporal_\w+/m.test(text) ? text : undefined;
    }, 30_000, 'temporal_ metrics');
    expect(temporal).toMatch(new RegExp(`task_queue="${taskQueue}`));

    worker.signal('SIGTERM');
    expect(await worker.exited).toEqual({ code: 0, signal: null });
    await expect(fetch(`http://127.0.0.1:${workerPort}/health`)).rejects.toThrow();
  });
});
