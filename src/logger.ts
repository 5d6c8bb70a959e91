import pino, { type Logger } from 'pino';

export type { Logger };

/** Structured JSON logs; one line per event, carrying the workflowId wherever a booking is involved. */
export function createLogger(level: string, name: string): Logger {
  return pino({ level, name, base: { service: name }, timestamp: pino.stdTimeFunctions.isoTime });
}
