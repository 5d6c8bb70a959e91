import { DefaultLogger, type LogEntry } from '@temporalio/worker';
import type { Logger } from '../logger';

const LEVELS = { TRACE: 'trace', DEBUG: 'debug', INFO: 'info', WARN: 'warn', ERROR: 'error' } as const;

/**
 * Routes the SDK's workflow and activity logs into pino. The SDK adds workflowId, runId and activityType to each
 * entry's metadata, which is what lets one booking be followed from the HTTP request to the Web UI.
 */
export function temporalLoggerFor(logger: Logger): DefaultLogger {
  return new DefaultLogger('INFO', ({ level, message, meta }: LogEntry) => {
    logger[LEVELS[level]]({ ...meta }, message);
  });
}
