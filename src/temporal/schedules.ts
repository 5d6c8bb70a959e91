/** Creating, updating and deleting Temporal Schedules idempotently, for the worker's schedules and each connection's. */
import { ScheduleAlreadyRunning, ScheduleNotFoundError, type Client, type ScheduleOptions } from '@temporalio/client';

/** `instanceof` can fail across module copies (e.g. under jest), so the name is checked too. */
const isError = (error: unknown, type: { name: string; prototype: object }) =>
  error instanceof (type as unknown as new () => Error) || (error as Error).name === type.name;

/** Creates it, or brings spec, action and policies up to date; its state is kept: paused by a person stays paused. */
export async function createOrUpdateSchedule(client: Client, options: ScheduleOptions): Promise<'created' | 'updated'> {
  try {
    await client.schedule.create(options);
    return 'created';
  } catch (error) {
    if (!isError(error, ScheduleAlreadyRunning)) throw error;
    await client.schedule.getHandle(options.scheduleId).update((previous) => ({
      ...previous,
      spec: options.spec,
      action: options.action,
      policies: options.policies,
    }));
    return 'updated';
  }
}

/** True when it existed. */
export async function deleteScheduleIfExists(client: Client, scheduleId: string): Promise<boolean> {
  try {
    await client.schedule.getHandle(scheduleId).delete();
    return true;
  } catch (error) {
    if (isError(error, ScheduleNotFoundError)) return false;
    throw error;
  }
}
