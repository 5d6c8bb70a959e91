/** The integration tier: the databases, the workflow bundle and a real Temporal dev server (see run-parts.ts). */
import { setUpDatabases, setUpTemporal, setUpWorkflowBundle } from './run-parts';

export default async function globalSetup(globalConfig: { maxWorkers: number }): Promise<void> {
  await Promise.all([setUpDatabases(globalConfig.maxWorkers), setUpWorkflowBundle(), setUpTemporal()]);
}
