/** Runs a schedule's action now (as if it were due) and waits for the workflow it started; and finds its last run. */
import type { Client } from '@temporalio/client';
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

/** The workflow a schedule started last: its ID and first run, as recordHistory takes them. */
export async function lastScheduledRun(client: Client, scheduleId: string): Promise<{ workflowId: string; firstExecutionRunId: string }> {
  const { recentActions } = (await client.schedule.getHandle(scheduleId).describe()).info;
  return recentActions.at(-1)!.action.workflow;
}
