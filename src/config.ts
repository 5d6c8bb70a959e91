/**
 * The one place that reads the environment. Every process (receiver, worker, scripts) calls
 * `configFromEnvironment()` once at start-up; a wrong value stops it with a line that says what to fix.
 */
import { config as loadDotenv } from 'dotenv';
import { z } from 'zod';

const DEFAULT_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/calendly_bookings';

const commaList = (value: string) =>
  value
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean);

const httpUrl = (example: string) =>
  z
    .string({ error: `is required, e.g. ${example}` })
    .trim()
    .refine((value) => /^https?:\/\/[^\s/]+/.test(value) && URL.canParse(value), {
      message: `must be an http(s) URL, e.g. ${example}`,
    })
    .transform((value) => value.replace(/\/+$/, ''));

const port = (fallback: number) =>
  z.coerce.number({ error: 'must be a port number from 1 to 65535' }).int().min(1).max(65535, { error: 'must be a port number from 1 to 65535' }).default(fallback);

const durationSeconds = (fallback: number) => z.coerce.number({ error: 'must be a whole number of seconds' }).int().positive().default(fallback);

/** `token` or `token:organization-uri`: a token bound to an organization only sees that organization. */
export interface ApiToken {
  token: string;
  organization?: string;
}

const apiTokens = z
  .string({ error: 'is required: a comma-separated list of bearer tokens (16+ characters each) for the read API' })
  .transform(commaList)
  .pipe(
    z
      .array(
        z
          .string()
          .regex(/^[A-Za-z0-9._~+/-]{16,}(:https?:\/\/\S+)?$/, {
            message: 'each token needs 16+ characters of [A-Za-z0-9._~+/-], optionally followed by :<organization URI>',
          })
          .transform((entry): ApiToken => {
            const separator = entry.indexOf(':');
            return separator < 0
              ? { token: entry }
              : { token: entry.slice(0, separator), organization: entry.slice(separator + 1) };
          }),
      )
      .min(1, { message: 'needs at least one token' }),
  );

const environmentSchema = z.object({
  PORT: port(3000),
  HOST: z.string().default('0.0.0.0'),
  API_URL: httpUrl('API_URL=https://bookings.example.com'),
  CALENDLY_WEBHOOK_SIGNING_KEY: z
    .string({ error: 'is required: the signing key of the Calendly webhook subscription (comma-separate several to rotate)' })
    .transform(commaList)
    .pipe(z.array(z.string().min(8, { message: 'each key needs at least 8 characters' })).min(1, { message: 'needs at least one key' })),
  CALENDLY_SIGNATURE_TOLERANCE_SECONDS: durationSeconds(180),
  CALENDLY_API_TOKEN: z.string({ error: 'is required: a Calendly personal access token or OAuth token' }).min(1),
  CALENDLY_API_BASE_URL: httpUrl('CALENDLY_API_BASE_URL=https://api.calendly.com').default('https://api.calendly.com'),
  DATABASE_URL: z
    .string()
    .default(DEFAULT_DATABASE_URL)
    .refine((value) => /^postgres(ql)?:\/\/[^/]+\/[^/?]+/.test(value), {
      message: `must be a postgres:// URL with a database name, e.g. ${DEFAULT_DATABASE_URL}`,
    }),
  TEMPORAL_ADDRESS: z
    .string()
    .default('127.0.0.1:7233')
    .refine((value) => /^[^\s:/]+:\d+$/.test(value), { message: 'must be host:port, e.g. 127.0.0.1:7233' }),
  TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
  TEMPORAL_TASK_QUEUE: z.string().min(1).default('calendly-bookings'),
  TEMPORAL_WEB_UI_URL: httpUrl('TEMPORAL_WEB_UI_URL=http://127.0.0.1:8233').default('http://127.0.0.1:8233'),
  API_TOKENS: apiTokens,
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace']).default('info'),
  FAKE_CALENDLY_PORT: port(4010).optional(),
});

export interface Config {
  port: number;
  host: string;
  apiUrl: string;
  webhookUrl: string;
  calendly: {
    signingKeys: string[];
    signatureToleranceSeconds: number;
    apiToken: string;
    apiBaseUrl: string;
  };
  databaseUrl: string;
  temporal: {
    address: string;
    namespace: string;
    taskQueue: string;
    webUiUrl: string;
  };
  apiTokens: ApiToken[];
  logLevel: string;
  /** Set only where the bundled fake Calendly API should run beside the system (local trials). */
  fakeCalendlyPort?: number;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

export function loadConfig(env: Record<string, string | undefined>): Config {
  const parsed = environmentSchema.safeParse(withoutBlanks(env));
  if (!parsed.success) throw new ConfigError(`Configuration error: ${describe(parsed.error)}. Set it in .env (see .env.example).`);
  const e = parsed.data;
  return {
    port: e.PORT,
    host: e.HOST,
    apiUrl: e.API_URL,
    webhookUrl: `${e.API_URL}/calendly/webhook`,
    calendly: {
      signingKeys: e.CALENDLY_WEBHOOK_SIGNING_KEY,
      signatureToleranceSeconds: e.CALENDLY_SIGNATURE_TOLERANCE_SECONDS,
      apiToken: e.CALENDLY_API_TOKEN,
      apiBaseUrl: e.CALENDLY_API_BASE_URL,
    },
    databaseUrl: e.DATABASE_URL,
    temporal: {
      address: e.TEMPORAL_ADDRESS,
      namespace: e.TEMPORAL_NAMESPACE,
      taskQueue: e.TEMPORAL_TASK_QUEUE,
      webUiUrl: e.TEMPORAL_WEB_UI_URL,
    },
    apiTokens: e.API_TOKENS,
    logLevel: e.LOG_LEVEL,
    fakeCalendlyPort: e.FAKE_CALENDLY_PORT,
  };
}

const databaseOnlySchema = environmentSchema.pick({ DATABASE_URL: true, LOG_LEVEL: true });

/** For tools that only touch the database (migrations): they need none of the webhook settings. */
export function loadDatabaseConfig(env: Record<string, string | undefined>): Pick<Config, 'databaseUrl' | 'logLevel'> {
  const parsed = databaseOnlySchema.safeParse(withoutBlanks(env));
  if (!parsed.success) throw new ConfigError(`Configuration error: ${describe(parsed.error)}. Set it in .env (see .env.example).`);
  return { databaseUrl: parsed.data.DATABASE_URL, logLevel: parsed.data.LOG_LEVEL };
}

/** An empty variable counts as unset, so `FOO=` in .env falls back to the default. */
function withoutBlanks(env: Record<string, string | undefined>): Record<string, string> {
  return Object.fromEntries(Object.entries(env).filter((entry): entry is [string, string] => Boolean(entry[1])));
}

function describe(error: z.ZodError): string {
  return error.issues.map((issue) => `${issue.path.join('.') || 'environment'} ${issue.message}`).join('; ');
}

/** Reads `.env` (if present) and the process environment; exits with one clear line on a mistake. */
export function configFromEnvironment(): Config {
  return exitOnConfigError(() => loadConfig(readEnvironment()));
}

export function databaseConfigFromEnvironment(): Pick<Config, 'databaseUrl' | 'logLevel'> {
  return exitOnConfigError(() => loadDatabaseConfig(readEnvironment()));
}

function readEnvironment(): Record<string, string | undefined> {
  loadDotenv({ quiet: true });
  return process.env;
}

function exitOnConfigError<T>(load: () => T): T {
  try {
    return load();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(78); // EX_CONFIG
    }
    throw error;
  }
}
