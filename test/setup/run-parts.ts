/**
 * The parts a test run sets up once, whichever tiers it holds (a run of both tiers runs both global setups): the
 * databases, the workflow bundle and the Temporal dev server. Each part is written to the run's state file
 * (test/support/harness.ts reads it) and skipped when it is there already. The parts run at the same time: each
 * reads and writes the state in one synchronous step.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { dropDatabase, migrateDatabase } from '../../src/database/migrate';
import { createLogger } from '../../src/logger';
import { bundleWorkflows } from '../../src/worker/workflow-bundle';
import { bundleDashboard } from '../../scripts/dev/dashboard-bundle';
import { startTemporalDevServer, type DevServer } from '../../scripts/dev/temporal-dev-server';
import { freePort } from '../../scripts/lib/free-ports';
import { runFiles, TEST_DIR, TEST_POSTGRES_URL, type RunState } from '../support/harness';

const files = () => runFiles(process.pid);
const readState = (): RunState => (existsSync(files().state) ? (JSON.parse(readFileSync(files().state, 'utf8')) as RunState) : {});
const writeState = (state: RunState) => {
  mkdirSync(TEST_DIR, { recursive: true });
  writeFileSync(files().state, JSON.stringify(state));
};
const shared = globalThis as { temporalDevServer?: DevServer };

/**
 * A database for each jest worker, so that the files running at the same time never see each other's rows (some
 * count or prune whole tables). Migrated once, then copied: CREATE DATABASE … TEMPLATE takes a fraction of a second.
 */
export async function setUpDatabases(workers: number): Promise<void> {
  if (readState().databaseUrls) return;
  const name = `calendly_bookings_test_${randomBytes(4).toString('hex')}`;
  const templateUrl = `${TEST_POSTGRES_URL}/${name}`;
  // Written first: the teardown drops what was made even when a later step fails.
  writeState({ ...readState(), templateUrl, databaseUrls: [] });
  await migrateDatabase(templateUrl);
  const databaseUrls = Array.from({ length: Math.max(1, workers) }, (_, index) => `${TEST_POSTGRES_URL}/${name}_${index + 1}`);
  const client = new Client({ connectionString: `${TEST_POSTGRES_URL}/postgres` });
  await client.connect();
  try {
    for (const url of databaseUrls) {
      await client.query(`create database "${new URL(url).pathname.slice(1)}" template "${name}"`);
      writeState({ ...readState(), databaseUrls: [...(readState().databaseUrls ?? []), url] });
    }
  } finally {
    await client.end();
  }
}

/** The workflow code, bundled once for every worker (and replay) of the run. */
export async function setUpWorkflowBundle(): Promise<void> {
  if (existsSync(files().workflowBundle)) return;
  mkdirSync(TEST_DIR, { recursive: true });
  const { code } = await bundleWorkflows(createLogger('error', 'test-setup'));
  writeFileSync(files().workflowBundle, code);
}

/**
 * One real Temporal dev server (in memory, headless) and the dashboard's script, which the tests' receivers serve.
 * The server dies with this jest process even when it is killed (SIGKILL) before the teardown: see
 * startTemporalDevServer.
 */
export async function setUpTemporal(): Promise<void> {
  if (readState().temporal) return;
  const server = await startTemporalDevServer({ ip: '127.0.0.1', port: await freePort(), namespace: 'default', output: 'ignore' });
  shared.temporalDevServer = server;
  writeState({ ...readState(), temporal: { address: server.address, namespace: 'default' } });
  await bundleDashboard();
}

export async function tearDown(): Promise<void> {
  const state = readState();
  await shared.temporalDevServer?.stop();
  for (const url of [...(state.databaseUrls ?? []), ...(state.templateUrl ? [state.templateUrl] : [])]) await dropDatabase(url);
  rmSync(files().state, { force: true });
  rmSync(files().workflowBundle, { force: true });
}
