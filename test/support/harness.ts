/**
 * What the global setup started for this test run (see test/setup/run-parts.ts): a PostgreSQL database for each
 * jest worker, the workflow bundle and, for the integration tier only, a Temporal dev server.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export const TEST_DIR = join(__dirname, '..', '..', '.data', 'test');
/** The machine's PostgreSQL, trust auth; each run creates and drops its own databases there. */
export const TEST_POSTGRES_URL = 'postgres://postgres@127.0.0.1:5432';

export interface Harness {
  temporalAddress: string;
  namespace: string;
  /** This jest worker's own database: no other test file runs on it at the same time. */
  databaseUrl: string;
}

/** What the setup writes, step by step: each step is done once per run, whichever tiers the run holds. */
export interface RunState {
  /** The migrated database the workers' databases are copied from. */
  templateUrl?: string;
  /** One per jest worker, by JEST_WORKER_ID - 1. */
  databaseUrls?: string[];
  temporal?: { address: string; namespace: string };
}

/**
 * Files of one jest run, named by its main process, so that runs side by side never share a database. Tests run
 * in that process (--runInBand) or in its direct children (jest workers).
 */
export const runFiles = (jestPid: number) => ({
  state: join(TEST_DIR, `harness-${jestPid}.json`),
  workflowBundle: join(TEST_DIR, `workflow-bundle-${jestPid}.js`),
});

function thisRun() {
  const own = runFiles(process.pid);
  return existsSync(own.state) ? own : runFiles(process.ppid);
}

export function harness(): Harness {
  const state = JSON.parse(readFileSync(thisRun().state, 'utf8')) as RunState;
  // 1 when jest runs in band; 1..maxWorkers in its workers.
  const worker = Number(process.env.JEST_WORKER_ID ?? '1');
  const databaseUrl = state.databaseUrls?.[worker - 1];
  if (!databaseUrl) throw new Error(`No test database for jest worker ${worker}: the global setup made ${state.databaseUrls?.length ?? 0}`);
  const temporal = () => {
    if (!state.temporal) {
      throw new Error('This test reaches for Temporal, which the fast tier does not start: name the file *.test.ts, not *.fast.test.ts');
    }
    return state.temporal;
  };
  return {
    databaseUrl,
    get temporalAddress() {
      return temporal().address;
    },
    get namespace() {
      return temporal().namespace;
    },
  };
}

/** The run's workflow bundle, as a file: what WORKFLOW_BUNDLE_PATH of a worker process can name. */
export const workflowBundlePath = (): string => thisRun().workflowBundle;

export function workflowBundle(): { code: string } {
  return { code: readFileSync(workflowBundlePath(), 'utf8') };
}
