import { DefaultLogger, type LogEntry, type LogLevel } from '@temporalio/worker';
import type { Logger } from '../logger';

const LEVELS = { TRACE: 'trace', DEBUG: 'debug', INFO: 'info', WARN: 'warn', ERROR: 'error' } as const;

/** LOG_LEVEL in the SDK's terms (it has no fatal: only errors then). */
export function temporalLogLevel(level: string): LogLevel {
  return level === 'fatal' ? 'ERROR' : (level.toUpperCase() as LogLevel);
}

/**
 * Routes the SDK's logs into pino: the workflow and activity logs, whose metadata (workflowId, runId, activityType)
 * lets one booking be followed from the HTTP request to the Web UI, and core's (the Rust part: connections,
 * pollers) once the runtime forwards them (`sdkComponent: "core"`), which would otherwise print raw text.
 */
export function temporalLoggerFor(logger: Logger): DefaultLogger {
  return new DefaultLogger(temporalLogLevel(logger.level), ({ level, message, meta }: LogEntry) => {
    logger[LEVELS[level]]({ ...meta }, message);
  });
}
