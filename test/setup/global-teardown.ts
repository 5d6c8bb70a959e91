import { readFileSync, rmSync } from 'node:fs';
import { dropDatabase } from '../../src/database/migrate';
import type { DevServer } from '../../scripts/dev/temporal-dev-server';
import { runFiles, type Harness } from '../support/harness';

export default async function globalTeardown(): Promise<void> {
  const files = runFiles(process.pid);
  const harness = JSON.parse(readFileSync(files.harness, 'utf8')) as Harness;
  await (globalThis as { temporalDevServer?: DevServer }).temporalDevServer?.stop();
  await dropDatabase(harness.databaseUrl);
  rmSync(files.harness, { force: true });
  rmSync(files.workflowBundle, { force: true });
}
