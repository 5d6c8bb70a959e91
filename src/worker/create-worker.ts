import { Worker, type NativeConnection, type WorkflowBundle } from '@temporalio/worker';
import { createActivities, type ActivityDependencies } from '../activities';

export interface BookingWorkerOptions extends ActivityDependencies {
  connection: NativeConnection;
  namespace: string;
  /** See bundleWorkflows(): built once ahead of the worker. */
  workflowBundle: WorkflowBundle;
}

export function createBookingWorker({ connection, namespace, workflowBundle, ...dependencies }: BookingWorkerOptions): Promise<Worker> {
  return Worker.create({
    connection,
    namespace,
    taskQueue: dependencies.taskQueue,
    workflowBundle,
    activities: createActivities(dependencies),
    // Lets activities in flight finish (and be recorded) when the worker is stopped.
    shutdownGraceTime: '10 seconds',
  });
}
