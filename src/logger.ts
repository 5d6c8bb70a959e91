import pino, { type Logger } from 'pino';

export type { Logger };

/** Fields that hold personal data wherever they appear in a log line's object (one level deep too). */
const PERSONAL_FIELDS = ['email', 'inviteeEmail', 'phone', 'text_reminder_number', 'textReminderNumber', 'first_name', 'last_name'];
const REDACTED_PATHS = [...PERSONAL_FIELDS, ...PERSONAL_FIELDS.map((field) => `*.${field}`)];

const EMAIL = /[^\s@"'<>(),;:]+@[^\s@"'<>(),;:]+\.[A-Za-z]{2,}/g;

/** Email addresses in free text (a message, an error) become `[email]`. */
function maskPersonalData(text: string): string {
  return text.replace(EMAIL, '[email]');
}

/**
 * Errors are logged without personal data: a database error by its code, table and constraint only (its message
 * can hold the query's values and its detail `Key (email_key)=(…)`), any other by its type, message and stack
 * with emails masked, and never the fields drivers attach (detail, parameters, query, where).
 */
function serializeError(error: unknown): unknown {
  if (!(error instanceof Error)) return typeof error === 'string' ? maskPersonalData(error) : error;
  if (isDatabaseError(error)) {
    const message = describeDatabaseError(error);
    return { type: error.name, message, code: error.code ?? error.sqlState, stack: `${error.name}: ${message}` };
  }
  const serialized = pino.stdSerializers.err(error) as unknown as Record<string, unknown>;
  for (const field of ['detail', 'parameters', 'params', 'query', 'sql', 'where', 'hint', 'internalQuery']) delete serialized[field];
  for (const field of ['message', 'stack']) {
    if (typeof serialized[field] === 'string') serialized[field] = maskPersonalData(serialized[field]);
  }
  if (error.cause !== undefined) serialized.cause = serializeError(error.cause);
  return serialized;
}

// --- Database errors (PostgreSQL, through pg or MikroORM), described without the values they carry ---------------

/** What a pg / MikroORM driver error carries besides its message. */
interface DriverErrorFields {
  code?: unknown;
  sqlState?: unknown;
  constraint?: unknown;
  table?: unknown;
  column?: unknown;
  severity?: unknown;
  routine?: unknown;
}

const SQLSTATE = /^[0-9A-Z]{5}$/;

/** A PostgreSQL error (from pg, or wrapped by MikroORM): it has a SQLSTATE code. */
export function isDatabaseError(error: unknown): error is Error & DriverErrorFields {
  if (!(error instanceof Error)) return false;
  const fields = error as Error & DriverErrorFields;
  const code = fields.code ?? fields.sqlState;
  return typeof code === 'string' && SQLSTATE.test(code) && ('severity' in fields || 'routine' in fields || 'previous' in fields || error.name.endsWith('Exception'));
}

/** e.g. `database error 23505 (unique_violation) on table leads, constraint leads_email_key_unique`: no values. */
export function describeDatabaseError(error: Error & DriverErrorFields): string {
  const code = String(error.code ?? error.sqlState);
  const name = CONDITION_NAMES[code];
  const where = [
    typeof error.table === 'string' && error.table ? `table ${error.table}` : undefined,
    typeof error.column === 'string' && error.column ? `column ${error.column}` : undefined,
    typeof error.constraint === 'string' && error.constraint ? `constraint ${error.constraint}` : undefined,
  ].filter(Boolean);
  return `database error ${code}${name ? ` (${name})` : ''}${where.length ? ` on ${where.join(', ')}` : ''}`;
}

const CONDITION_NAMES: Record<string, string> = {
  '08000': 'connection_exception',
  '08003': 'connection_does_not_exist',
  '08006': 'connection_failure',
  '08P01': 'protocol_violation',
  '22001': 'string_data_right_truncation',
  '22007': 'invalid_datetime_format',
  '22008': 'datetime_field_overflow',
  '22021': 'character_not_in_repertoire',
  '22P02': 'invalid_text_representation',
  '22P05': 'untranslatable_character',
  '23502': 'not_null_violation',
  '23503': 'foreign_key_violation',
  '23505': 'unique_violation',
  '23514': 'check_violation',
  '40001': 'serialization_failure',
  '40P01': 'deadlock_detected',
  '53300': 'too_many_connections',
  '57P01': 'admin_shutdown',
};

/** Structured JSON logs; one line per event, carrying the workflowId wherever a booking is involved. */
export function createLogger(level: string, name: string, destination?: pino.DestinationStream): Logger {
  const options: pino.LoggerOptions = {
    level,
    name,
    base: { service: name },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    serializers: { err: serializeError, error: serializeError },
    hooks: {
      logMethod(args, method) {
        method.apply(this, args.map((arg) => (typeof arg === 'string' ? maskPersonalData(arg) : arg)) as Parameters<typeof method>);
      },
    },
  };
  return destination ? pino(options, destination) : pino(options);
}

/**
 * The processes' last line of defence: a rejection nobody handled is a bug, logged as one JSON line with its stack and
 * the process it happened in, and the process goes on (one request or notification must not stop every tenant's
 * webhooks). An uncaught exception may have left state half-changed: logged the same way, then the process exits 1
 * (as Node would) for its supervisor to restart it.
 */
export function logUnexpectedFailures(logger: Logger): void {
  process.on('unhandledRejection', (reason) => logger.error({ err: reason, failure: 'unhandledRejection' }, 'Unexpected rejection'));
  process.on('uncaughtException', (error, origin) => {
    logger.fatal({ err: error, failure: origin }, 'Uncaught exception: stopping');
    process.exit(1);
  });
}
