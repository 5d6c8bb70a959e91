/** What the global setup started for this test run (see test/setup/global-setup.ts). */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export const TEST_DIR = join(__dirname, '..', '..', '.data', 'test');
/** The machine's PostgreSQL, trust auth; each run creates and drops its own database there. */
export const TEST_POSTGRES_URL = 'postgres://postgres@127.0.0.1:5432';

export interface Harness {
  temporalAddress: string;
  namespace: string;
  databaseUrl: string;
  temporalPid: number;
}

/**
 * Files of one jest run, named by its main process, so that runs side by side never share a database. Tests run
 * in that process (--runInBand) or in its direct children (jest workers).
 */
export const runFiles = (jestPid: number) => ({
  harness: join(TEST_DIR, `harness-${jestPid}.json`),
  workflowBundle: join(TEST_DIR, `workflow-bundle-${jestPid}.js`),
});

function thisRun() {
  const own = runFiles(process.pid);
  return existsSync(own.harness) ? own : runFiles(process.ppid);
}

export function harness(): Harness {
  return JSON.parse(readFileSync(thisRun().harness, 'utf8')) as Harness;
}

export function workflowBundle(): { code: string } {
  return { code: readFileSync(thisRun().workflowBundle, 'utf8') };
}
