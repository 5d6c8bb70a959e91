import { readFileSync, rmSync } from 'node:fs';
import { dropDatabase } from '../../src/database/migrate';
import type { DevServer } from '../../scripts/lib/temporal-dev-server';
import { HARNESS_FILE, WORKFLOW_BUNDLE_FILE, type Harness } from '../support/harness';

export default async function globalTeardown(): Promise<void> {
  const harness = JSON.parse(readFileSync(HARNESS_FILE, 'utf8')) as Harness;
  await (globalThis as { temporalDevServer?: DevServer }).temporalDevServer?.stop();
  await dropDatabase(harness.databaseUrl);
  rmSync(HARNESS_FILE, { force: true });
  rmSync(WORKFLOW_BUNDLE_FILE, { force: true });
}
