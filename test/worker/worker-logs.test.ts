/**
 * Every line the worker process writes to stdout is one JSON object, the Temporal SDK's native (core) lines
 * included: they are forwarded to pino instead of being printed raw. The real worker (src/worker/main.ts) runs as a
 * child, as Runtime.install can run once per process and jest's has a runtime already.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { scheduleIdsFor } from '../../src/worker/schedules';
import { harness, workflowBundle } from '../support/harness';
import { spawnGroup, waitUntilGone, type GroupProcess } from '../support/process-group';

jest.setTimeout(180_000);

const ROOT = join(__dirname, '..', '..');
const TSX = join(ROOT, 'node_modules', '.bin', 'tsx');

describe('the worker process logs', () => {
  const { temporalAddress, namespace, databaseUrl } = harness();
  const taskQueue = `logs-${randomUUID()}`;
  const dir = mkdtempSync(join(tmpdir(), 'worker-logs-'));
  let worker: GroupProcess | undefined;

  afterAll(async () => {
    if (worker) {
      worker.killGroup();
      await waitUntilGone([worker.pid], [], 10_000);
    }
    const connection = await Connection.connect({ address: temporalAddress });
    const client = new Client({ connection, namespace });
    for (const scheduleId of Object.values(scheduleIdsFor(taskQueue))) await client.schedule.getHandle(scheduleId).delete().catch(() => undefined);
    await connection.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('are JSON on every stdout line, core lines included', async () => {
    const bundlePath = join(dir, 'workflows.bundle.js');
    writeFileSync(bundlePath, workflowBundle().code);
    worker = spawnGroup('worker', TSX, ['src/worker/main.ts'], {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        HOST: '127.0.0.1',
        API_URL: 'http://127.0.0.1:3000',
        CALENDLY_WEBHOOK_SIGNING_KEY: 'test-signing-key-0123456789',
        CALENDLY_API_TOKEN: 'calendly-token',
        API_TOKENS: 'test-api-token-0123456789abcdef',
        DATABASE_URL: databaseUrl,
        TEMPORAL_ADDRESS: temporalAddress,
        TEMPORAL_NAMESPACE: namespace,
        TEMPORAL_TASK_QUEUE: taskQueue,
        WORKFLOW_BUNDLE_PATH: bundlePath,
        // Present, so that a .env in the working tree cannot fill them in (dotenv never overrides).
        REMINDER_WEBHOOK_URL: '',
        REMINDER_WEBHOOK_SECRET: '',
        FAKE_CALENDLY_PORT: '',
        WORKER_METRICS_PORT: '',
        TEMPORAL_METRICS_PORT: '',
        RECONCILE_INTERVAL_MINUTES: '1000000',
        SUBSCRIPTION_CHECK_INTERVAL_MINUTES: '1000000',
        // Core says little at info; debug makes it speak on every poll.
        LOG_LEVEL: 'debug',
      },
    });
    let stdout = '';
    worker.child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    // The SDK's own line: the worker polls (past "Worker running", a SIGTERM now is a shutdown, not an abort).
    await worker.waitForLine(/"state":"RUNNING","msg":"Worker state changed"/, 150_000);
    await worker.waitForLine(/"sdkComponent":"core"/, 30_000);
    worker.signal('SIGTERM');
    expect(await worker.exited).toEqual({ code: 0, signal: null });

    const lines = stdout.split('\n').filter((line) => line !== '');
    const notJson = lines.filter((line) => {
      try {
        return typeof JSON.parse(line) !== 'object';
      } catch {
        return true;
      }
    });
    expect(notJson).toEqual([]);
    const entries = lines.map((line) => JSON.parse(line) as { sdkComponent?: string; level: number; msg: string; name?: string });
    const core = entries.filter((entry) => entry.sdkComponent === 'core');
    expect(core.length).toBeGreaterThan(0);
    // Each with pino's fields: a level and a message, in the worker's logger.
    for (const entry of core) expect(entry).toEqual(expect.objectContaining({ level: expect.any(Number), msg: expect.any(String) }));
    expect(entries.map((entry) => entry.msg)).toEqual(expect.arrayContaining(['Worker running', 'Worker stopped']));
  });
});
