/**
 * The fast tier: the databases and the workflow bundle (for replay), no Temporal server. A fast test that reaches
 * for Temporal fails at once (see harness() and no-temporal-server.ts).
 */
import { setUpDatabases, setUpWorkflowBundle } from './run-parts';

export default async function fastSetup(globalConfig: { maxWorkers: number }): Promise<void> {
  await Promise.all([setUpDatabases(globalConfig.maxWorkers), setUpWorkflowBundle()]);
}
