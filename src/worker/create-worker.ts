import { Worker, type NativeConnection, type WorkflowBundle } from '@temporalio/worker';
import { createActivities, type ActivityDependencies } from '../../activities';

export interface BookingWorkerOptions extends ActivityDependencies {
  connection: NativeConnection;
  namespace: string;
  /** See bundleWorkflows(): built once ahead of the worker. */
  workflowBundle: WorkflowBundle;
  /** its sticky cache: bounds the worker's memory (Config['maxCachedWorkflows']) */
  maxCachedWorkflows: number;
}

export function createBookingWorker({ connection, namespace, workflowBundle, maxCachedWorkflows, ...dependencies }: BookingWorkerOptions): Promise<Worker> {
  return Worker.create({
    connection,
    namespace,
    taskQueue: dependencies.taskQueue,
    workflowBundle,
    maxCachedWorkflows,
    activities: createActivities(dependencies),
    // Lets activities in flight finish (and be recorded) when the worker is stopped.
    shutdownGraceTime: '10 seconds',
  });
}
