/**
 * The one place that reads the environment. Every process (receiver, worker, scripts) calls
 * `configFromEnvironment()` once at start-up; a wrong value stops it with a line that says what to fix.
 */
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { config as loadDotenv } from 'dotenv';
import { z } from 'zod';
import { DestinationRefused, OutboundDestinations, parseCidr, type DestinationPolicy } from './outbound-destinations';

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

/** `https://app.example.com` or `http://localhost:5173`: what a browser sends as its Origin header, exactly. */
function isExactOrigin(value: string): boolean {
  return /^https?:\/\/[^\s/?#@]+$/.test(value) && URL.canParse(value) && new URL(value).origin === value;
}

const port = (fallback: number) =>
  z.coerce.number({ error: 'must be a port number from 1 to 65535' }).int().min(1).max(65535, { error: 'must be a port number from 1 to 65535' }).default(fallback);

const optionalPort = z.coerce
  .number({ error: 'must be a port number from 1 to 65535, or empty for off' })
  .int({ error: 'must be a port number from 1 to 65535, or empty for off' })
  .min(1, { error: 'must be a port number from 1 to 65535, or empty for off' })
  .max(65535, { error: 'must be a port number from 1 to 65535, or empty for off' })
  .optional();

const wholeNumberOf = (unit: string, fallback: number) =>
  z.coerce
    .number({ error: `must be a whole number of ${unit}` })
    .int({ error: `must be a whole number of ${unit}` })
    .positive({ error: `must be a whole number of ${unit}, at least 1` })
    .default(fallback);

const durationSeconds = (fallback: number) => wholeNumberOf('seconds', fallback);

const byteCount = (fallback: number) => {
  const error = 'must be a whole number of bytes, e.g. 1048576 for 1 MiB';
  return z.coerce.number({ error }).int({ error }).positive({ error }).default(fallback);
};

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

const AMOUNT = /^\d+(\.\d+)?$/;
const REVENUE_EXAMPLE = 'REVENUE_BY_EVENT_TYPE=https://api.calendly.com/event_types/ABC=150,https://api.calendly.com/event_types/DEF=49.90';

/** `<event type URI>=<amount>`, comma-separated: what a held meeting of that event type is worth. */
const revenueByEventType = z
  .string()
  .default('')
  .transform(commaList)
  .pipe(
    z.array(
      z
        .string()
        .refine((entry) => /^https?:\/\/[^\s=]+$/.test(entry.slice(0, entry.lastIndexOf('='))) && AMOUNT.test(entry.slice(entry.lastIndexOf('=') + 1)), {
          message: `each entry is <event type URI>=<amount> (a number without currency), e.g. ${REVENUE_EXAMPLE}`,
        })
        .transform((entry) => ({ eventTypeUri: entry.slice(0, entry.lastIndexOf('=')), amount: Number(entry.slice(entry.lastIndexOf('=') + 1)) })),
    ),
  )
  .refine((rates) => new Set(rates.map((rate) => rate.eventTypeUri)).size === rates.length, { message: 'names an event type twice' });

const UNIT_SECONDS = { s: 1, m: 60, h: 3600, d: 86_400 } as const;

function offsetSeconds(offset: string): number {
  return Number(offset.slice(0, -1)) * UNIT_SECONDS[offset.slice(-1) as keyof typeof UNIT_SECONDS];
}

const environmentSchema = z.object({
  PORT: port(3000),
  HOST: z.string().default('0.0.0.0'),
  API_URL: httpUrl('API_URL=https://bookings.example.com'),
  CALENDLY_WEBHOOK_SIGNING_KEY: z
    .string()
    .transform(commaList)
    .pipe(z.array(z.string().min(8, { message: 'each key needs at least 8 characters' })).min(1, { message: 'needs at least one key' }))
    .optional(),
  CALENDLY_SIGNATURE_TOLERANCE_SECONDS: durationSeconds(180),
  // Both optional once OAuth is configured: organizations then connect their own accounts (src/connections).
  CALENDLY_API_TOKEN: z.string().min(1).optional(),
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
  TEMPORAL_TLS_CERT_PATH: z.string().trim().min(1).optional(),
  TEMPORAL_TLS_KEY_PATH: z.string().trim().min(1).optional(),
  TEMPORAL_TLS_CA_PATH: z.string().trim().min(1).optional(),
  TEMPORAL_TLS_SERVER_NAME: z
    .string()
    .trim()
    .regex(/^[A-Za-z0-9.-]+$/, { message: 'must be a host name, e.g. TEMPORAL_TLS_SERVER_NAME=temporal.internal' })
    .optional(),
  TEMPORAL_API_KEY: z.string().trim().min(1).optional(),
  API_TOKENS: apiTokens,
  REMINDER_OFFSETS: z
    .string()
    .default('24h,1h,15m')
    .transform(commaList)
    .pipe(
      z
        .array(z.string().regex(/^\d+(s|m|h|d)$/, { message: 'each offset is a number with s, m, h or d, e.g. REMINDER_OFFSETS=24h,1h,15m' }))
        .min(1, { message: 'needs at least one offset, e.g. REMINDER_OFFSETS=24h,1h,15m' }),
    )
    .transform((offsets) => [...new Set(offsets.map(offsetSeconds))].sort((a, b) => b - a)),
  REMINDER_WEBHOOK_URL: httpUrl('REMINDER_WEBHOOK_URL=https://crm.example.com/hooks/reminders').optional(),
  REMINDER_WEBHOOK_SECRET: z.string().min(16, { message: 'needs at least 16 characters' }).optional(),
  OUTBOUND_WEBHOOK_MAX_ATTEMPTS: wholeNumberOf('attempts', 10),
  OUTBOUND_WEBHOOK_INITIAL_RETRY_SECONDS: durationSeconds(30),
  OUTBOUND_WEBHOOK_MAX_RETRY_SECONDS: durationSeconds(3600),
  OUTBOUND_WEBHOOK_SWEEP_SECONDS: durationSeconds(60),
  OUTBOUND_WEBHOOK_ALLOW_PRIVATE_NETWORKS: z
    .string()
    .default('')
    .transform(commaList)
    .pipe(z.array(z.string().refine((cidr) => parseCidr(cidr), { message: 'each entry is a CIDR, e.g. OUTBOUND_WEBHOOK_ALLOW_PRIVATE_NETWORKS=127.0.0.1/32,::1/128' }))),
  OUTBOUND_WEBHOOK_MAX_ENDPOINTS_PER_ORGANIZATION: wholeNumberOf('endpoints', 25),
  OUTBOUND_WEBHOOK_MAX_IN_FLIGHT_PER_ORGANIZATION: wholeNumberOf('deliveries', 10),
  WEBSOCKET_PING_INTERVAL_SECONDS: durationSeconds(30),
  WEBSOCKET_MAX_BUFFERED_BYTES: byteCount(1024 * 1024),
  // Unset: 80% of HTTP_MAX_CONNECTIONS (800 of the default 1000).
  WEBSOCKET_MAX_CONNECTIONS: z.coerce
    .number({ error: 'must be a whole number of websockets' })
    .int({ error: 'must be a whole number of websockets' })
    .positive({ error: 'must be a whole number of websockets, at least 1' })
    .optional(),
  WEBSOCKET_MAX_PER_ORGANIZATION: wholeNumberOf('websockets', 100),
  WEBSOCKET_MAX_PER_TOKEN: wholeNumberOf('websockets', 20),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace']).default('info'),
  // No default: unset or empty (`FAKE_CALENDLY_PORT=`) means no fake, e.g. a trial against real Calendly with OAuth only.
  FAKE_CALENDLY_PORT: optionalPort,
  RECONCILE_INTERVAL_MINUTES: wholeNumberOf('minutes', 15),
  RECONCILE_LOOKBACK_HOURS: wholeNumberOf('hours', 48),
  RECONCILE_LOOKAHEAD_DAYS: wholeNumberOf('days', 60),
  SUBSCRIPTION_CHECK_INTERVAL_MINUTES: wholeNumberOf('minutes', 10),
  DELIVERY_LOG_RETENTION_DAYS: wholeNumberOf('days', 30),
  OUTBOX_RETENTION_DAYS: wholeNumberOf('days', 7),
  WORKFLOW_BUNDLE_PATH: z.string().trim().min(1).optional(),
  WORKER_MAX_CACHED_WORKFLOWS: wholeNumberOf('workflows', 500),
  WEBHOOK_REFUSALS_PER_MINUTE: z.coerce
    .number({ error: 'must be a whole number of refused requests per minute, e.g. 60' })
    .int({ error: 'must be a whole number of refused requests per minute, e.g. 60' })
    .positive({ error: 'must be a whole number of refused requests per minute, e.g. 60' })
    .default(60),
  HTTP_REQUEST_TIMEOUT_SECONDS: durationSeconds(30),
  HTTP_KEEP_ALIVE_TIMEOUT_SECONDS: durationSeconds(5),
  HTTP_MAX_CONNECTIONS: wholeNumberOf('connections', 1000),
  CONNECTION_SIGNING_KEY_CACHE_SECONDS: durationSeconds(60),
  TRUST_PROXY_HOPS: (() => {
    const error = 'must be the number of proxies in front that append to X-Forwarded-For, e.g. TRUST_PROXY_HOPS=1; 0 ignores X-Forwarded-For';
    return z.coerce.number({ error }).int({ error }).min(0, { error }).default(0);
  })(),
  CORS_ALLOWED_ORIGINS: z
    .string()
    .default('')
    .transform(commaList)
    .pipe(
      z.array(
        z.string().refine(isExactOrigin, {
          message: 'each origin must be scheme://host[:port] in lower case, without path or trailing slash, e.g. CORS_ALLOWED_ORIGINS=https://app.example.com',
        }),
      ),
    ),
  WORKER_METRICS_PORT: optionalPort,
  TEMPORAL_METRICS_PORT: optionalPort,
  METRICS_PORT: optionalPort,
  METRICS_HOST: z.string().trim().min(1).default('127.0.0.1'),
  CALENDLY_CLIENT_ID: z.string().trim().min(1).optional(),
  CALENDLY_CLIENT_SECRET: z.string().trim().min(1).optional(),
  CALENDLY_OAUTH_REDIRECT_URI: httpUrl('CALENDLY_OAUTH_REDIRECT_URI=https://bookings.example.com/api/connections/callback').optional(),
  CALENDLY_AUTH_BASE_URL: httpUrl('CALENDLY_AUTH_BASE_URL=https://auth.calendly.com').default('https://auth.calendly.com'),
  CONNECTION_ENCRYPTION_KEY: z
    .string()
    .trim()
    .refine((value) => Buffer.from(value, 'base64').length === 32 && /^[A-Za-z0-9+/]{43}=$/.test(value), {
      message: 'must be 32 random bytes in base64 (44 characters): generate one with: openssl rand -base64 32',
    })
    .optional(),
  CONNECTION_SYNC_LOOKBACK_DAYS: wholeNumberOf('days', 30),
  REVENUE_PER_BOOKING: z
    .string()
    .default('0')
    .refine((value) => AMOUNT.test(value.trim()), { message: 'must be a number without currency, e.g. REVENUE_PER_BOOKING=150 or 49.90' })
    .transform(Number),
  REVENUE_BY_EVENT_TYPE: revenueByEventType,
});

export interface Config {
  port: number;
  host: string;
  apiUrl: string;
  webhookUrl: string;
  calendly: {
    /** of the environment's subscription (single-account mode); empty when only OAuth connections are used */
    signingKeys: string[];
    signatureToleranceSeconds: number;
    /** single-account mode: the environment's token, served as one connection; unset when only OAuth is used */
    apiToken?: string;
    apiBaseUrl: string;
  };
  /** Set when organizations connect their own Calendly accounts (OAuth 2.1 with PKCE, src/connections). */
  oauth?: {
    clientId: string;
    clientSecret: string;
    redirectUri: string;
    authBaseUrl: string;
    /** AES-256-GCM key for tokens and signing keys at rest */
    encryptionKey: Buffer;
    /** a new connection's first sync reaches this far back (and everything ahead) */
    syncLookBackDays: number;
  };
  databaseUrl: string;
  temporal: {
    address: string;
    namespace: string;
    taskQueue: string;
    webUiUrl: string;
    /** TLS to Temporal (Temporal Cloud, or a cluster that requires it); unset: plain gRPC */
    tls?: TemporalTls;
    /** a Temporal Cloud API key, sent as a bearer token (always over TLS) */
    apiKey?: string;
  };
  apiTokens: ApiToken[];
  websocket: {
    /** a client that has not answered the previous ping when the next one is due is dropped */
    pingIntervalSeconds: number;
    /** a client that lets more than this pile up unsent is closed (1013) rather than buffered without bound */
    maxBufferedBytes: number;
    /** per receiver: open websockets in all, of one organization, of one API token; more are refused with 429 */
    maxConnections: number;
    maxPerOrganization: number;
    maxPerToken: number;
  };
  reminders: {
    /** how long before a meeting's start each reminder fires, in seconds, largest first */
    offsetsSeconds: number[];
    /** where reminders are also POSTed, signed with the secret; unset = websocket only */
    webhook?: { url: string; secret: string };
  };
  /** Outbound event webhooks (README, "Outbound event webhooks"): each delivery's bounded retry schedule. */
  outboundWebhooks: {
    /** attempts before a delivery is dead; between them the wait doubles from the initial interval up to the maximum */
    retry: { maximumAttempts: number; initialIntervalSeconds: number; maximumIntervalSeconds: number };
    /** the worker's dispatcher looks for deliveries without a workflow this often (besides every outbox NOTIFY) */
    sweepIntervalSeconds: number;
    /** where they (and the reminder webhook) may be POSTed: public addresses, https unless API_URL is loopback */
    destinations: DestinationPolicy;
    /** an organization adding more is answered 429 outbound_endpoint_limit_reached */
    maxEndpointsPerOrganization: number;
    /** deliveries of one organization with a running workflow, across all workers; the rest wait undispatched */
    maxInFlightPerOrganization: number;
    /** seals endpoint secrets at rest (CONNECTION_ENCRYPTION_KEY); unset: they are stored in clear */
    secretKey?: Buffer;
  };
  logLevel: string;
  /** The worker's prebuilt workflow bundle; unset: the one `npm run build` put next to the compiled worker, if any. */
  workflowBundlePath?: string;
  /**
   * Workflows the worker keeps in memory between their tasks (its sticky cache). Each meeting waits for months:
   * the SDK's default grows with the heap and the worker's memory with it; one evicted replays its short history.
   */
  maxCachedWorkflows: number;
  /** Set only where the bundled fake Calendly API should run beside the system (local trials). */
  fakeCalendlyPort?: number;
  /** The self-healing Temporal schedules (src/worker/schedules.ts). */
  schedules: {
    reconcileEveryMinutes: number;
    /** events that started up to this long ago: the longest outage whose bookings are still fetched */
    reconcileLookBackHours: number;
    /** events starting up to this far ahead: at least the furthest that invitees may book */
    reconcileLookAheadDays: number;
    subscriptionCheckEveryMinutes: number;
    /** the retention schedule deletes delivery log rows and refusal counts older than this (failed rows: 3 times this) */
    deliveryLogRetentionDays: number;
    /** and outbox events older than this: the furthest back a websocket client can resume */
    outboxRetentionDays: number;
  };
  /** Limits of the receiver's HTTP server and webhook route (src/receiver/http-server.ts, webhook-route.ts). */
  http: {
    /** refused webhook requests an address may make per minute before it is answered 429 without being read */
    refusalsPerMinute: number;
    /** the whole request (headers and body) must arrive within this; the headers within min(10 s, this) */
    requestTimeoutSeconds: number;
    /** an idle keep-alive connection is closed after this */
    keepAliveTimeoutSeconds: number;
    /** open connections, websockets included, beyond which new ones are dropped */
    maxConnections: number;
    /** browser origins allowed to call /api/* cross-origin (exact matches); empty = no CORS headers at all */
    corsAllowedOrigins: string[];
    /** proxies in front that append to X-Forwarded-For; 0: the header is ignored, the client is the socket's peer */
    trustProxyHops: number;
    /** a connection's signing key is read again after this; while PostgreSQL is down, one read before still serves */
    signingKeyCacheSeconds: number;
  };
  /** What a held meeting is worth, for the dashboard's revenue (src/database/business-counters.ts). */
  revenue: {
    /** of a meeting whose event type is not in `byEventType` */
    perBooking: number;
    byEventType: { eventTypeUri: string; amount: number }[];
  };
  /** The Prometheus endpoints, on their own interface (METRICS_HOST), never the public port; each off when unset. */
  metrics: {
    /** the interface every metrics listener binds: the receiver's, the worker's and Temporal's exporter */
    host: string;
    /** the receiver's own listener: GET /metrics (per-organization counters, so private) */
    receiverPort?: number;
    /** the worker's own server: GET /metrics (the app's counters) and GET /health */
    workerPort?: number;
    /** Temporal SDK's exporter (`host:port`), GET /metrics */
    temporalBindAddress?: string;
  };
}

/** What TEMPORAL_TLS_* name, read and checked at start-up (the shape of the Temporal SDK's TLSConfig). */
export interface TemporalTls {
  /** the client certificate and its key (PEM), for mutual TLS */
  clientCertPair?: { crt: Buffer; key: Buffer };
  /** the CA that signed the server's certificate (PEM); unset: the system's trusted CAs */
  serverRootCACertificate?: Buffer;
  /** the name the server's certificate must carry, when it differs from TEMPORAL_ADDRESS's host */
  serverNameOverride?: string;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/**
 * The secrets `.env.example` ships for a local trial: public, so refused wherever API_URL is not a loopback address
 * (test/config.test.ts keeps .env.example in line with these).
 */
export const EXAMPLE_SECRETS = {
  CALENDLY_WEBHOOK_SIGNING_KEY: 'local-trial-signing-key',
  API_TOKENS: 'local-trial-api-token-0123456789,local-trial-demo-organization-token:https://app.example.com/organizations/demo',
  REMINDER_WEBHOOK_SECRET: 'local-trial-reminder-secret',
  CONNECTION_ENCRYPTION_KEY: 'bG9jYWwtdHJpYWwtY29ubmVjdGlvbi1rZXktMDEyMzQ=',
} as const;

/** Shortest signing key and API token accepted where API_URL is not a loopback address. */
const MIN_PUBLIC_SECRET_LENGTH = 32;

const GENERATE_SECRET = 'generate one with: openssl rand -hex 32';

/** 127.0.0.0/8, localhost and ::1: reachable from this machine only, where the example secrets may stay. */
function isLoopbackUrl(url: string): boolean {
  const host = new URL(url).hostname.toLowerCase();
  return host === 'localhost' || host === '[::1]' || /^127(\.\d{1,3}){3}$/.test(host);
}

/** What is wrong with a destination that can be told without DNS (the worker resolves it at start-up too). */
function refusedDestination(policy: DestinationPolicy, url: string): string | undefined {
  try {
    new OutboundDestinations(policy).checkUrlSyntax(url);
    return undefined;
  } catch (error) {
    if (!(error instanceof DestinationRefused)) throw error;
    return error.code === 'https_required'
      ? 'must be https:// when API_URL is not a loopback address'
      : 'is not a public address: use a public one, or allow its network with OUTBOUND_WEBHOOK_ALLOW_PRIVATE_NETWORKS (development only)';
  }
}

/** The example secrets and short keys pass only on a loopback API_URL (a local trial): what is wrong, per variable. */
/**
 * TEMPORAL_TLS_*, read and checked now rather than at the first connection: each file is readable and holds PEM, a
 * certificate comes with its key (and that key is the certificate's). An API key alone means TLS with the system's CAs.
 */
function temporalTlsOf(e: z.infer<typeof environmentSchema>): { tls?: TemporalTls; problems: string[] } {
  const { TEMPORAL_TLS_CERT_PATH: certPath, TEMPORAL_TLS_KEY_PATH: keyPath, TEMPORAL_TLS_CA_PATH: caPath, TEMPORAL_TLS_SERVER_NAME: serverName } = e;
  const problems: string[] = [];
  if (certPath && !keyPath) problems.push("TEMPORAL_TLS_KEY_PATH is required when TEMPORAL_TLS_CERT_PATH is set: the path of the client certificate's private key (PEM)");
  if (keyPath && !certPath) problems.push('TEMPORAL_TLS_CERT_PATH is required when TEMPORAL_TLS_KEY_PATH is set: the path of the client certificate (PEM)');
  const readPem = (variable: string, path: string | undefined, what: string, parse: (pem: Buffer) => unknown): Buffer | undefined => {
    if (!path) return undefined;
    let pem: Buffer;
    try {
      pem = readFileSync(path);
    } catch (error) {
      problems.push(`${variable} cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'}: ${path}): give the path of ${what}`);
      return undefined;
    }
    try {
      parse(pem);
      return pem;
    } catch {
      problems.push(`${variable} (${path}) does not hold ${what}`);
      return undefined;
    }
  };
  const crt = readPem('TEMPORAL_TLS_CERT_PATH', certPath, 'a PEM certificate', (pem) => new X509Certificate(pem));
  const key = readPem('TEMPORAL_TLS_KEY_PATH', keyPath, 'an unencrypted PEM private key', (pem) => createPrivateKey(pem));
  const ca = readPem('TEMPORAL_TLS_CA_PATH', caPath, 'a PEM CA certificate', (pem) => new X509Certificate(pem));
  if (crt && key && !new X509Certificate(crt).checkPrivateKey(createPrivateKey(key))) {
    problems.push('TEMPORAL_TLS_KEY_PATH is not the key of the certificate in TEMPORAL_TLS_CERT_PATH: give the matching pair');
  }
  if (problems.length || !(certPath || caPath || serverName || e.TEMPORAL_API_KEY)) return { problems };
  return { tls: { clientCertPair: crt && key ? { crt, key } : undefined, serverRootCACertificate: ca, serverNameOverride: serverName }, problems };
}

function weakSecrets(e: z.infer<typeof environmentSchema>): string[] {
  if (isLoopbackUrl(e.API_URL)) return [];
  const problems: string[] = [];
  const publicExample = 'is the public example from .env.example, refused because API_URL is not a loopback address';
  const example = `${publicExample}: ${GENERATE_SECRET}`;
  const tooShort = `needs ${MIN_PUBLIC_SECRET_LENGTH}+ characters in each entry when API_URL is not a loopback address: ${GENERATE_SECRET}`;

  const keys = e.CALENDLY_WEBHOOK_SIGNING_KEY ?? [];
  if (keys.includes(EXAMPLE_SECRETS.CALENDLY_WEBHOOK_SIGNING_KEY)) {
    problems.push(`CALENDLY_WEBHOOK_SIGNING_KEY ${example}, then npm run subscription:reconnect -- --recreate`);
  } else if (keys.some((key) => key.length < MIN_PUBLIC_SECRET_LENGTH)) {
    problems.push(`CALENDLY_WEBHOOK_SIGNING_KEY ${tooShort}, then npm run subscription:reconnect -- --recreate`);
  }
  const tokens = e.API_TOKENS.map(({ token }) => token);
  const exampleTokens = apiTokens.parse(EXAMPLE_SECRETS.API_TOKENS).map(({ token }) => token);
  if (tokens.some((token) => exampleTokens.includes(token))) problems.push(`API_TOKENS ${example}`);
  else if (tokens.some((token) => token.length < MIN_PUBLIC_SECRET_LENGTH)) problems.push(`API_TOKENS ${tooShort}`);
  // Public, it would open every connection's tokens and every sealed endpoint secret.
  if (e.CONNECTION_ENCRYPTION_KEY === EXAMPLE_SECRETS.CONNECTION_ENCRYPTION_KEY) {
    problems.push(`CONNECTION_ENCRYPTION_KEY ${publicExample}: generate one with: openssl rand -base64 32`);
  }
  if (e.REMINDER_WEBHOOK_URL && e.REMINDER_WEBHOOK_SECRET === EXAMPLE_SECRETS.REMINDER_WEBHOOK_SECRET) {
    problems.push(`REMINDER_WEBHOOK_SECRET ${example}, and give it to the reminder webhook's receiver`);
  }
  return problems;
}

export function loadConfig(env: Record<string, string | undefined>): Config {
  const parsed = environmentSchema
    .refine((e) => !e.REMINDER_WEBHOOK_URL || e.REMINDER_WEBHOOK_SECRET, {
      message: 'is required when REMINDER_WEBHOOK_URL is set: the key its receiver uses to verify the signature',
      path: ['REMINDER_WEBHOOK_SECRET'],
    })
    .refine((e) => e.CALENDLY_API_TOKEN || e.CALENDLY_CLIENT_ID, {
      message: 'is required: a Calendly personal access token (single account), unless CALENDLY_CLIENT_ID etc. are set for OAuth connections',
      path: ['CALENDLY_API_TOKEN'],
    })
    .refine((e) => !e.CALENDLY_API_TOKEN || e.CALENDLY_WEBHOOK_SIGNING_KEY, {
      message: 'is required with CALENDLY_API_TOKEN: the signing key of its webhook subscription (comma-separate several to rotate)',
      path: ['CALENDLY_WEBHOOK_SIGNING_KEY'],
    })
    .refine((e) => !e.CALENDLY_CLIENT_ID || (e.CALENDLY_CLIENT_SECRET && e.CALENDLY_OAUTH_REDIRECT_URI), {
      message: 'needs CALENDLY_CLIENT_SECRET and CALENDLY_OAUTH_REDIRECT_URI (API_URL + /api/connections/callback) too: the OAuth app from developer.calendly.com',
      path: ['CALENDLY_CLIENT_ID'],
    })
    .refine((e) => !e.CALENDLY_CLIENT_ID || e.CONNECTION_ENCRYPTION_KEY, {
      message: 'is required when CALENDLY_CLIENT_ID is set: it encrypts the connections\' tokens at rest; generate one with: openssl rand -base64 32',
      path: ['CONNECTION_ENCRYPTION_KEY'],
    })
    .refine((e) => e.OUTBOUND_WEBHOOK_INITIAL_RETRY_SECONDS <= e.OUTBOUND_WEBHOOK_MAX_RETRY_SECONDS, {
      message: 'must not exceed OUTBOUND_WEBHOOK_MAX_RETRY_SECONDS: the wait between attempts grows from the one up to the other',
      path: ['OUTBOUND_WEBHOOK_INITIAL_RETRY_SECONDS'],
    })
    .refine((e) => e.WEBSOCKET_MAX_CONNECTIONS === undefined || e.WEBSOCKET_MAX_CONNECTIONS < e.HTTP_MAX_CONNECTIONS, {
      message: 'must be below HTTP_MAX_CONNECTIONS, so that webhooks keep connections however many websockets are open, e.g. 800 of 1000',
      path: ['WEBSOCKET_MAX_CONNECTIONS'],
    })
    .refine((e) => e.TEMPORAL_METRICS_PORT === undefined || e.TEMPORAL_METRICS_PORT !== e.WORKER_METRICS_PORT, {
      message: 'must differ from WORKER_METRICS_PORT: both are served by the worker',
      path: ['TEMPORAL_METRICS_PORT'],
    })
    .refine((e) => e.METRICS_PORT === undefined || ![e.PORT, e.WORKER_METRICS_PORT, e.TEMPORAL_METRICS_PORT].includes(e.METRICS_PORT), {
      message: 'must differ from PORT (the public port), WORKER_METRICS_PORT and TEMPORAL_METRICS_PORT',
      path: ['METRICS_PORT'],
    })
    .safeParse(withoutBlanks(env));
  if (!parsed.success) throw new ConfigError(`Configuration error: ${describe(parsed.error)}. Set it in .env (see .env.example).`);
  const e = parsed.data;
  const weak = weakSecrets(e);
  if (weak.length) throw new ConfigError(`Configuration error: ${weak.join('; ')}. Set it in .env (see .env.example).`);
  const destinations: DestinationPolicy = { allowedNetworks: e.OUTBOUND_WEBHOOK_ALLOW_PRIVATE_NETWORKS, requireHttps: !isLoopbackUrl(e.API_URL) };
  const reminderProblem = e.REMINDER_WEBHOOK_URL && refusedDestination(destinations, e.REMINDER_WEBHOOK_URL);
  if (reminderProblem) throw new ConfigError(`Configuration error: REMINDER_WEBHOOK_URL ${reminderProblem}. Set it in .env (see .env.example).`);
  const temporalTls = temporalTlsOf(e);
  if (temporalTls.problems.length) throw new ConfigError(`Configuration error: ${temporalTls.problems.join('; ')}. Set it in .env (see .env.example).`);
  return {
    port: e.PORT,
    host: e.HOST,
    apiUrl: e.API_URL,
    webhookUrl: `${e.API_URL}/calendly/webhook`,
    calendly: {
      signingKeys: e.CALENDLY_WEBHOOK_SIGNING_KEY ?? [],
      signatureToleranceSeconds: e.CALENDLY_SIGNATURE_TOLERANCE_SECONDS,
      apiToken: e.CALENDLY_API_TOKEN,
      apiBaseUrl: e.CALENDLY_API_BASE_URL,
    },
    oauth:
      e.CALENDLY_CLIENT_ID && e.CALENDLY_CLIENT_SECRET && e.CALENDLY_OAUTH_REDIRECT_URI && e.CONNECTION_ENCRYPTION_KEY
        ? {
            clientId: e.CALENDLY_CLIENT_ID,
            clientSecret: e.CALENDLY_CLIENT_SECRET,
            redirectUri: e.CALENDLY_OAUTH_REDIRECT_URI,
            authBaseUrl: e.CALENDLY_AUTH_BASE_URL,
            encryptionKey: Buffer.from(e.CONNECTION_ENCRYPTION_KEY, 'base64'),
            syncLookBackDays: e.CONNECTION_SYNC_LOOKBACK_DAYS,
          }
        : undefined,
    databaseUrl: e.DATABASE_URL,
    temporal: {
      address: e.TEMPORAL_ADDRESS,
      namespace: e.TEMPORAL_NAMESPACE,
      taskQueue: e.TEMPORAL_TASK_QUEUE,
      webUiUrl: e.TEMPORAL_WEB_UI_URL,
      tls: temporalTls.tls,
      apiKey: e.TEMPORAL_API_KEY,
    },
    apiTokens: e.API_TOKENS,
    websocket: {
      pingIntervalSeconds: e.WEBSOCKET_PING_INTERVAL_SECONDS,
      maxBufferedBytes: e.WEBSOCKET_MAX_BUFFERED_BYTES,
      maxConnections: e.WEBSOCKET_MAX_CONNECTIONS ?? Math.floor(e.HTTP_MAX_CONNECTIONS * 0.8),
      maxPerOrganization: e.WEBSOCKET_MAX_PER_ORGANIZATION,
      maxPerToken: e.WEBSOCKET_MAX_PER_TOKEN,
    },
    reminders: {
      offsetsSeconds: e.REMINDER_OFFSETS,
      webhook: e.REMINDER_WEBHOOK_URL && e.REMINDER_WEBHOOK_SECRET ? { url: e.REMINDER_WEBHOOK_URL, secret: e.REMINDER_WEBHOOK_SECRET } : undefined,
    },
    outboundWebhooks: {
      retry: {
        maximumAttempts: e.OUTBOUND_WEBHOOK_MAX_ATTEMPTS,
        initialIntervalSeconds: e.OUTBOUND_WEBHOOK_INITIAL_RETRY_SECONDS,
        maximumIntervalSeconds: e.OUTBOUND_WEBHOOK_MAX_RETRY_SECONDS,
      },
      sweepIntervalSeconds: e.OUTBOUND_WEBHOOK_SWEEP_SECONDS,
      destinations,
      maxEndpointsPerOrganization: e.OUTBOUND_WEBHOOK_MAX_ENDPOINTS_PER_ORGANIZATION,
      maxInFlightPerOrganization: e.OUTBOUND_WEBHOOK_MAX_IN_FLIGHT_PER_ORGANIZATION,
      secretKey: e.CONNECTION_ENCRYPTION_KEY ? Buffer.from(e.CONNECTION_ENCRYPTION_KEY, 'base64') : undefined,
    },
    logLevel: e.LOG_LEVEL,
    workflowBundlePath: e.WORKFLOW_BUNDLE_PATH,
    maxCachedWorkflows: e.WORKER_MAX_CACHED_WORKFLOWS,
    fakeCalendlyPort: e.FAKE_CALENDLY_PORT,
    schedules: {
      reconcileEveryMinutes: e.RECONCILE_INTERVAL_MINUTES,
      reconcileLookBackHours: e.RECONCILE_LOOKBACK_HOURS,
      reconcileLookAheadDays: e.RECONCILE_LOOKAHEAD_DAYS,
      subscriptionCheckEveryMinutes: e.SUBSCRIPTION_CHECK_INTERVAL_MINUTES,
      deliveryLogRetentionDays: e.DELIVERY_LOG_RETENTION_DAYS,
      outboxRetentionDays: e.OUTBOX_RETENTION_DAYS,
    },
    http: {
      refusalsPerMinute: e.WEBHOOK_REFUSALS_PER_MINUTE,
      requestTimeoutSeconds: e.HTTP_REQUEST_TIMEOUT_SECONDS,
      keepAliveTimeoutSeconds: e.HTTP_KEEP_ALIVE_TIMEOUT_SECONDS,
      maxConnections: e.HTTP_MAX_CONNECTIONS,
      corsAllowedOrigins: e.CORS_ALLOWED_ORIGINS,
      trustProxyHops: e.TRUST_PROXY_HOPS,
      signingKeyCacheSeconds: e.CONNECTION_SIGNING_KEY_CACHE_SECONDS,
    },
    revenue: { perBooking: e.REVENUE_PER_BOOKING, byEventType: e.REVENUE_BY_EVENT_TYPE },
    metrics: {
      host: e.METRICS_HOST,
      receiverPort: e.METRICS_PORT,
      workerPort: e.WORKER_METRICS_PORT,
      temporalBindAddress: e.TEMPORAL_METRICS_PORT === undefined ? undefined : `${e.METRICS_HOST.includes(':') ? `[${e.METRICS_HOST}]` : e.METRICS_HOST}:${e.TEMPORAL_METRICS_PORT}`,
    },
  };
}

const databaseOnlySchema = environmentSchema.pick({ DATABASE_URL: true, LOG_LEVEL: true });

/** For tools that only touch the database (migrations): they need none of the webhook settings. */
function loadDatabaseConfig(env: Record<string, string | undefined>): Pick<Config, 'databaseUrl' | 'logLevel'> {
  const parsed = databaseOnlySchema.safeParse(withoutBlanks(env));
  if (!parsed.success) throw new ConfigError(`Configuration error: ${describe(parsed.error)}. Set it in .env (see .env.example).`);
  return { databaseUrl: parsed.data.DATABASE_URL, logLevel: parsed.data.LOG_LEVEL };
}

/** An empty variable counts as unset, so `FOO=` in .env falls back to the default. */
function withoutBlanks(env: Record<string, string | undefined>): Record<string, string> {
  return Object.fromEntries(Object.entries(env).filter((entry): entry is [string, string] => Boolean(entry[1])));
}

function describe(error: z.ZodError): string {
  // The variable's name only: an index into a comma-separated list means nothing to someone editing .env.
  return error.issues.map((issue) => `${String(issue.path[0] ?? 'environment')} ${issue.message}`).join('; ');
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
