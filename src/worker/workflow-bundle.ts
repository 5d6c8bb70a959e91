import { bundleWorkflowCode, type WorkflowBundle } from '@temporalio/worker';
import type { Logger } from '../logger';

/** Bundles src/workflows once, ahead of the worker, with webpack's chatter kept at debug level. */
export function bundleWorkflows(logger: Logger): Promise<WorkflowBundle> {
  const log = (level: 'debug' | 'warn' | 'error') => (message: string) => logger[level](message);
  return bundleWorkflowCode({
    workflowsPath: require.resolve('../workflows'),
    logger: { trace: log('debug'), debug: log('debug'), info: log('debug'), warn: log('warn'), error: log('error'), log: log('debug') },
  });
}
