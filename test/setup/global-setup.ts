/**
 * Starts what every integration test shares: one real Temporal dev server (in memory, headless) and one
 * PostgreSQL database created and migrated for this run, then bundles the dashboard's script and the workflow code
 * once. The server dies with this jest process even when it is killed (SIGKILL) before the teardown: see
 * startTemporalDevServer.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { migrateDatabase } from '../../src/database/migrate';
import { createLogger } from '../../src/logger';
import { bundleWorkflows } from '../../src/worker/workflow-bundle';
import { bundleDashboard } from '../../scripts/dev/dashboard-bundle';
import { startTemporalDevServer } from '../../scripts/dev/temporal-dev-server';
import { freePort } from '../../scripts/lib/free-ports';
import { runFiles, TEST_DIR, TEST_POSTGRES_URL, type Harness } from '../support/harness';

export default async function globalSetup(): Promise<void> {
  mkdirSync(TEST_DIR, { recursive: true });
  const port = await freePort();
  const server = await startTemporalDevServer({ ip: '127.0.0.1', port, namespace: 'default', output: 'ignore' });
  (globalThis as { temporalDevServer?: unknown }).temporalDevServer = server;

  const databaseUrl = `${TEST_POSTGRES_URL}/calendly_bookings_test_${randomBytes(4).toString('hex')}`;
  await migrateDatabase(databaseUrl);

  // The receivers of the tests serve the dashboard's script from src/receiver/dashboard/public.
  await bundleDashboard();
  const { code } = await bundleWorkflows(createLogger('error', 'test-setup'));
  const files = runFiles(process.pid);
  writeFileSync(files.workflowBundle, code);

  const harness: Harness = { temporalAddress: server.address, namespace: 'default', databaseUrl, temporalPid: server.process.pid! };
  writeFileSync(files.harness, JSON.stringify(harness));
}
