/** What the global setup started for this test run (see test/setup/global-setup.ts). */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export const TEST_DIR = join(__dirname, '..', '..', '.data', 'test');
export const HARNESS_FILE = join(TEST_DIR, 'harness.json');
export const WORKFLOW_BUNDLE_FILE = join(TEST_DIR, 'workflow-bundle.js');
/** The machine's PostgreSQL, trust auth; each run creates and drops its own database there. */
export const TEST_POSTGRES_URL = 'postgres://postgres@127.0.0.1:5432';

export interface Harness {
  temporalAddress: string;
  namespace: string;
  databaseUrl: string;
  temporalPid: number;
}

export function harness(): Harness {
  return JSON.parse(readFileSync(HARNESS_FILE, 'utf8')) as Harness;
}

export function workflowBundle(): { code: string } {
  return { code: readFileSync(WORKFLOW_BUNDLE_FILE, 'utf8') };
}
