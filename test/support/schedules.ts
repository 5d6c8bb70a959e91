/** Runs a schedule's action now (as if it were due) and waits for the workflow it started; records histories. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Client } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { eventually } from './system';

export async function triggerAndWait<T>(client: Client, scheduleId: string, timeoutMs = 45_000): Promise<T> {
  const handle = client.schedule.getHandle(scheduleId);
  const { recentActions } = (await handle.describe()).info;
  // A scheduled run's workflow ID ends in its start time to the second: a second run within that second would clash.
  const lastSecond = Math.floor((recentActions.at(-1)?.takenAt.getTime() ?? 0) / 1000);
  const wait = (lastSecond + 1) * 1000 - Date.now();
  if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait + 50));

  const earlier = new Set(recentActions.map(({ action }) => action.workflow.workflowId));
  await handle.trigger();
  const started = await eventually(
    async () => (await handle.describe()).info.recentActions.find(({ action }) => !earlier.has(action.workflow.workflowId)),
    15_000,
    `a workflow started by ${scheduleId}`,
  );
  const { workflowId, firstExecutionRunId } = started.action.workflow;
  return (await Promise.race([
    client.workflow.getHandle(workflowId, firstExecutionRunId).result(),
    new Promise((_, reject) => setTimeout(() => reject(new Error(`${workflowId} did not finish within ${timeoutMs} ms`)), timeoutMs).unref()),
  ])) as T;
}

/**
 * With RECORD_HISTORY set, writes the history of a finished workflow (a schedule's latest run when given a schedule)
 * to test/workflows/histories/<file>, for the replay test (test/workflows/replay.test.ts).
 */
export async function recordHistory(client: Client, which: { workflowId: string } | { scheduleId: string }, file: string): Promise<void> {
  if (!process.env.RECORD_HISTORY) return;
  const run =
    'workflowId' in which
      ? { workflowId: which.workflowId, firstExecutionRunId: undefined }
      : (await client.schedule.getHandle(which.scheduleId).describe()).info.recentActions.at(-1)!.action.workflow;
  const history = await client.workflow.getHandle(run.workflowId, run.firstExecutionRunId).fetchHistory();
  writeFileSync(join(__dirname, '..', 'workflows', 'histories', file), `${JSON.stringify(JSON.parse(historyToJSON(history)), null, 2)}\n`);
}
