/**
 * Every setting, once: one schema per section, each variable with its default and its description. A section
 * parses its variables straight into its part of Config, and its rules check them against each other.
 * docs/configuration.md is generated from these schemas (`npm run docs:config`); src/config.ts reads the environment
 * and runs every section.
 */
import { z } from 'zod';
import { DestinationRefused, OutboundDestinations, parseCidr, type DestinationPolicy } from './outbound-destinations';

declare module 'zod' {
  interface GlobalMeta {
    /** For the reference: what an optional setting without a default means while unset. */
    unset?: string;
  }
}

/** [variable, what is wrong and how to fix it]: one clause of the start-up error. */
type Problem = readonly [variable: string, message: string];

/** A check between variables: it runs once the variables it reads have parsed, whatever else is wrong. */
interface Rule<Values> {
  reads: readonly NoInfer<keyof Values & string>[];
  check: (values: Values) => Problem[];
}

interface SectionDefinition<Own extends z.ZodRawShape, Uses extends z.ZodRawShape, Part> {
  title: string;
  description: string;
  variables: Own;
  /** variables of other sections that this one's rules or values read (documented in their own section) */
  uses?: Uses;
  rules?: Rule<z.output<z.ZodObject<Own & Uses>>>[];
  /** the section's part of Config */
  build: (values: z.output<z.ZodObject<Own & Uses>>) => Part;
}

function section<Own extends z.ZodRawShape, Part, Uses extends z.ZodRawShape = Record<never, never>>({ title, description, variables, uses, rules = [], build }: SectionDefinition<Own, Uses, Part>) {
  let values = z.object({ ...variables, ...uses } as Own & Uses);
  for (const { reads, check } of rules) {
    values = values.superRefine(
      (parsed, context) => {
        for (const [variable, message] of check(parsed)) context.addIssue({ code: 'custom', path: [variable], message, input: undefined });
      },
      { when: ({ issues }) => !issues.some((issue) => (reads as readonly PropertyKey[]).includes(issue.path?.[0] ?? '')) },
    );
  }
  return { title, description, variables, schema: values.transform(build) };
}

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

const port = (fallback: number) => {
  const error = 'must be a port number from 1 to 65535';
  return z.coerce.number({ error }).int({ error }).min(1, { error }).max(65535, { error }).default(fallback);
};

const optionalPort = () => {
  const error = 'must be a port number from 1 to 65535, or empty for off';
  return z.coerce.number({ error }).int({ error }).min(1, { error }).max(65535, { error }).optional();
};

const wholeNumberOf = (unit: string) =>
  z.coerce
    .number({ error: `must be a whole number of ${unit}` })
    .int({ error: `must be a whole number of ${unit}` })
    .positive({ error: `must be a whole number of ${unit}, at least 1` });

const durationSeconds = (fallback: number) => wholeNumberOf('seconds').default(fallback);

const byteCount = (fallback: number) => {
  const error = 'must be a whole number of bytes, e.g. 1048576 for 1 MiB';
  return z.coerce.number({ error }).int({ error }).positive({ error }).default(fallback);
};

const path = () => z.string().trim().min(1);

/** `token` or `token:organization-uri`: a token bound to an organization only sees that organization. */
export interface ApiToken {
  token: string;
  organization?: string;
}

const AMOUNT = /^\d+(\.\d+)?$/;
const REVENUE_EXAMPLE = 'REVENUE_BY_EVENT_TYPE=https://api.calendly.com/event_types/ABC=150,https://api.calendly.com/event_types/DEF=49.90';

const UNIT_SECONDS = { s: 1, m: 60, h: 3600, d: 86_400 } as const;

function offsetSeconds(offset: string): number {
  return Number(offset.slice(0, -1)) * UNIT_SECONDS[offset.slice(-1) as keyof typeof UNIT_SECONDS];
}

/**
 * The secrets `.env.example` ships for a local trial: public, so refused wherever API_URL is not a loopback address
 * (test/config.fast.test.ts keeps .env.example in line with these).
 */
export const EXAMPLE_SECRETS = {
  CALENDLY_WEBHOOK_SIGNING_KEY: 'local-trial-signing-key',
  API_TOKENS: 'local-trial-api-token-0123456789,local-trial-demo-organization-token:https://app.example.com/organizations/demo',
  REMINDER_WEBHOOK_SECRET: 'local-trial-reminder-secret',
  CONNECTION_ENCRYPTION_KEY: 'bG9jYWwtdHJpYWwtY29ubmVjdGlvbi1rZXktMDEyMzQ=',
} as const;

/** Each token of the example API_TOKENS (an entry is `token` or `token:<organization URI>`). */
const EXAMPLE_API_TOKENS = EXAMPLE_SECRETS.API_TOKENS.split(',').map((entry) => entry.split(':')[0]);

/** Shortest signing key and API token accepted where API_URL is not a loopback address. */
const MIN_PUBLIC_SECRET_LENGTH = 32;

const GENERATE_SECRET = 'generate one with: openssl rand -hex 32';
const PUBLIC_EXAMPLE = `is the public example from .env.example, refused because API_URL is not a loopback address: ${GENERATE_SECRET}`;
const TOO_SHORT = `needs ${MIN_PUBLIC_SECRET_LENGTH}+ characters in each entry when API_URL is not a loopback address: ${GENERATE_SECRET}`;

/** 127.0.0.0/8, localhost and ::1: reachable from this machine only, where the example secrets may stay. */
function isLoopbackUrl(url: string): boolean {
  const host = new URL(url).hostname.toLowerCase();
  return host === 'localhost' || host === '[::1]' || /^127(\.\d{1,3}){3}$/.test(host);
}

function destinationPolicy(apiUrl: string, allowedNetworks: string[]): DestinationPolicy {
  return { allowedNetworks, requireHttps: !isLoopbackUrl(apiUrl) };
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

const receiver = section({
  title: 'Receiver',
  description: 'Where the receiver (webhooks, health, read API, websocket) listens, and the public URL it is reached at.',
  variables: {
    PORT: port(3000).meta({ description: 'the port the receiver listens on' }),
    HOST: z.string().default('0.0.0.0').meta({ description: 'the interface the receiver listens on' }),
    API_URL: httpUrl('API_URL=https://bookings.example.com').meta({
      description: 'public URL of this backend (http/https); the webhook URL is `API_URL` + `/calendly/webhook`',
    }),
  },
  build: (e) => ({ port: e.PORT, host: e.HOST, apiUrl: e.API_URL, webhookUrl: `${e.API_URL}/calendly/webhook` }),
});

const oauth = section({
  title: 'OAuth connections',
  description:
    'Organizations connect their own Calendly accounts (docs/connections.md): set the first four ' +
    'together, from an OAuth app registered at developer.calendly.com.',
  variables: {
    CALENDLY_CLIENT_ID: z.string().trim().min(1).optional().meta({ description: "the OAuth app's client ID" }),
    CALENDLY_CLIENT_SECRET: z.string().trim().min(1).optional().meta({ description: "the OAuth app's client secret" }),
    CALENDLY_OAUTH_REDIRECT_URI: httpUrl('CALENDLY_OAUTH_REDIRECT_URI=https://bookings.example.com/api/connections/callback')
      .optional()
      .meta({ description: "the OAuth app's redirect URI: `API_URL` + `/api/connections/callback`" }),
    CONNECTION_ENCRYPTION_KEY: z
      .string()
      .trim()
      .refine((value) => Buffer.from(value, 'base64').length === 32 && /^[A-Za-z0-9+/]{43}=$/.test(value), {
        message: 'must be 32 random bytes in base64 (44 characters): generate one with: openssl rand -base64 32',
      })
      .optional()
      .meta({
        description:
          "encrypts the connections' tokens and signing keys at rest (AES-256-GCM): 32 random bytes in base64, from " +
          '`openssl rand -base64 32`; keep it, a lost key means every organization connects again. Set (even without OAuth), ' +
          'it also seals outbound endpoint secrets',
        unset: 'required with `CALENDLY_CLIENT_ID`',
      }),
    CALENDLY_AUTH_BASE_URL: httpUrl('CALENDLY_AUTH_BASE_URL=https://auth.calendly.com')
      .default('https://auth.calendly.com')
      .meta({ description: "Calendly's OAuth host (authorize, token, revoke); the fake Calendly API plays it too, at its own URL" }),
    CONNECTION_SYNC_LOOKBACK_DAYS: wholeNumberOf('days')
      .default(30)
      .meta({ description: "a new connection's first sync reaches this far back (and everything ahead)" }),
  },
  uses: { API_URL: receiver.variables.API_URL },
  rules: [
    {
      reads: ['CALENDLY_CLIENT_ID', 'CALENDLY_CLIENT_SECRET', 'CALENDLY_OAUTH_REDIRECT_URI'],
      check: (e) =>
        e.CALENDLY_CLIENT_ID && !(e.CALENDLY_CLIENT_SECRET && e.CALENDLY_OAUTH_REDIRECT_URI)
          ? [['CALENDLY_CLIENT_ID', 'needs CALENDLY_CLIENT_SECRET and CALENDLY_OAUTH_REDIRECT_URI (API_URL + /api/connections/callback) too: the OAuth app from developer.calendly.com']]
          : [],
    },
    {
      reads: ['CALENDLY_CLIENT_ID', 'CONNECTION_ENCRYPTION_KEY'],
      check: (e) =>
        e.CALENDLY_CLIENT_ID && !e.CONNECTION_ENCRYPTION_KEY
          ? [['CONNECTION_ENCRYPTION_KEY', "is required when CALENDLY_CLIENT_ID is set: it encrypts the connections' tokens at rest; generate one with: openssl rand -base64 32"]]
          : [],
    },
    {
      // Public, the example key would open every connection's tokens and every sealed endpoint secret.
      reads: ['API_URL', 'CONNECTION_ENCRYPTION_KEY'],
      check: (e) =>
        e.CONNECTION_ENCRYPTION_KEY === EXAMPLE_SECRETS.CONNECTION_ENCRYPTION_KEY && !isLoopbackUrl(e.API_URL)
          ? [['CONNECTION_ENCRYPTION_KEY', 'is the public example from .env.example, refused because API_URL is not a loopback address: generate one with: openssl rand -base64 32']]
          : [],
    },
  ],
  build: (e) => ({
    /** Set when organizations connect their own Calendly accounts (OAuth 2.1 with PKCE, src/connections). */
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
  }),
});

const calendly = section({
  title: 'Calendly',
  description:
    "The Calendly API, and the single account served from the environment (beside or instead of OAuth connections): its token and its webhook subscription's signing key.",
  variables: {
    CALENDLY_API_TOKEN: z.string().min(1).optional().meta({
      description:
        "the single account's personal access token (or OAuth token; scopes: scheduled_events:read, users:read, webhooks:read/write); it keeps working beside OAuth connections",
      unset: 'required unless `CALENDLY_CLIENT_ID` is set',
    }),
    CALENDLY_WEBHOOK_SIGNING_KEY: z
      .string()
      .transform(commaList)
      .pipe(z.array(z.string().min(8, { message: 'each key needs at least 8 characters' })).min(1, { message: 'needs at least one key' }))
      .optional()
      .meta({
        description:
          "the signing key of the single account's webhook subscription; comma-separate several to rotate a key without downtime; 32+ characters unless `API_URL` is a loopback address",
        unset: 'required with `CALENDLY_API_TOKEN`',
      }),
    CALENDLY_SIGNATURE_TOLERANCE_SECONDS: durationSeconds(180).meta({
      description: "how old (or far ahead) a webhook signature's timestamp `t` may be; Calendly's own samples use 180",
    }),
    CALENDLY_API_BASE_URL: httpUrl('CALENDLY_API_BASE_URL=https://api.calendly.com')
      .default('https://api.calendly.com')
      .meta({ description: 'the Calendly API; for a local trial, the fake Calendly API (`http://127.0.0.1:4010`)' }),
  },
  uses: { API_URL: receiver.variables.API_URL, CALENDLY_CLIENT_ID: oauth.variables.CALENDLY_CLIENT_ID },
  rules: [
    {
      reads: ['CALENDLY_API_TOKEN', 'CALENDLY_CLIENT_ID'],
      check: (e) =>
        e.CALENDLY_API_TOKEN || e.CALENDLY_CLIENT_ID
          ? []
          : [['CALENDLY_API_TOKEN', 'is required: a Calendly personal access token (single account), unless CALENDLY_CLIENT_ID etc. are set for OAuth connections']],
    },
    {
      reads: ['CALENDLY_API_TOKEN', 'CALENDLY_WEBHOOK_SIGNING_KEY'],
      check: (e) =>
        e.CALENDLY_API_TOKEN && !e.CALENDLY_WEBHOOK_SIGNING_KEY
          ? [['CALENDLY_WEBHOOK_SIGNING_KEY', 'is required with CALENDLY_API_TOKEN: the signing key of its webhook subscription (comma-separate several to rotate)']]
          : [],
    },
    {
      reads: ['API_URL', 'CALENDLY_WEBHOOK_SIGNING_KEY'],
      check: (e) => {
        const keys = e.CALENDLY_WEBHOOK_SIGNING_KEY ?? [];
        if (isLoopbackUrl(e.API_URL)) return [];
        if (keys.includes(EXAMPLE_SECRETS.CALENDLY_WEBHOOK_SIGNING_KEY)) {
          return [['CALENDLY_WEBHOOK_SIGNING_KEY', `${PUBLIC_EXAMPLE}, then npm run subscription:reconnect -- --recreate`]];
        }
        if (keys.some((key) => key.length < MIN_PUBLIC_SECRET_LENGTH)) {
          return [['CALENDLY_WEBHOOK_SIGNING_KEY', `${TOO_SHORT}, then npm run subscription:reconnect -- --recreate`]];
        }
        return [];
      },
    },
  ],
  build: (e) => ({
    calendly: {
      /** of the environment's subscription (single-account mode); empty when only OAuth connections are used */
      signingKeys: e.CALENDLY_WEBHOOK_SIGNING_KEY ?? [],
      signatureToleranceSeconds: e.CALENDLY_SIGNATURE_TOLERANCE_SECONDS,
      /** single-account mode: the environment's token, served as one connection; unset when only OAuth is used */
      apiToken: e.CALENDLY_API_TOKEN,
      apiBaseUrl: e.CALENDLY_API_BASE_URL,
    },
  }),
});

const DEFAULT_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/calendly_bookings';

const database = section({
  title: 'Database',
  description: 'PostgreSQL, for every process; migrations need only this and `LOG_LEVEL`.',
  variables: {
    DATABASE_URL: z
      .string()
      .default(DEFAULT_DATABASE_URL)
      .refine((value) => /^postgres(ql)?:\/\/[^/]+\/[^/?]+/.test(value), {
        message: `must be a postgres:// URL with a database name, e.g. ${DEFAULT_DATABASE_URL}`,
      })
      .meta({ description: 'PostgreSQL; the database is created on first start if missing' }),
  },
  build: (e) => ({ databaseUrl: e.DATABASE_URL }),
});

const temporal = section({
  title: 'Temporal',
  description:
    'The Temporal frontend every process connects to, and for Temporal Cloud or a cluster that requires it (docs/operations.md, "Temporal Cloud"): TLS with a client certificate, or an API key. The TLS files are read and checked at start-up.',
  variables: {
    TEMPORAL_ADDRESS: z
      .string()
      .default('127.0.0.1:7233')
      .refine((value) => /^[^\s:/]+:\d+$/.test(value), { message: 'must be host:port, e.g. 127.0.0.1:7233' })
      .meta({ description: 'Temporal frontend (host:port); a local address makes `npm start` run the Temporal dev server there' }),
    TEMPORAL_NAMESPACE: z.string().min(1).default('default').meta({ description: 'the namespace of the workflows' }),
    TEMPORAL_TASK_QUEUE: z.string().min(1).default('calendly-bookings').meta({ description: 'the task queue the worker polls' }),
    TEMPORAL_WEB_UI_URL: httpUrl('TEMPORAL_WEB_UI_URL=http://127.0.0.1:8233')
      .default('http://127.0.0.1:8233')
      .meta({ description: 'where people open the Temporal Web UI (used in logs and links)' }),
    TEMPORAL_TLS_CERT_PATH: path()
      .optional()
      .meta({ description: 'a client certificate (PEM file), for a Temporal that requires mutual TLS; set with `TEMPORAL_TLS_KEY_PATH`' }),
    TEMPORAL_TLS_KEY_PATH: path()
      .optional()
      .meta({ description: "the client certificate's unencrypted key (PEM file); set with `TEMPORAL_TLS_CERT_PATH`" }),
    TEMPORAL_TLS_CA_PATH: path()
      .optional()
      .meta({ description: "the CA (PEM file) that signed Temporal's server certificate", unset: "the system's CAs" }),
    TEMPORAL_TLS_SERVER_NAME: z
      .string()
      .trim()
      .regex(/^[A-Za-z0-9.-]+$/, { message: 'must be a host name, e.g. TEMPORAL_TLS_SERVER_NAME=temporal.internal' })
      .optional()
      .meta({ description: "the name in Temporal's server certificate, when `TEMPORAL_ADDRESS`'s host differs" }),
    TEMPORAL_API_KEY: z
      .string()
      .trim()
      .min(1)
      .optional()
      .meta({ description: 'a Temporal Cloud API key, sent as a bearer token over TLS (instead of a client certificate)' }),
  },
  rules: [
    {
      reads: ['TEMPORAL_TLS_CERT_PATH', 'TEMPORAL_TLS_KEY_PATH'],
      check: ({ TEMPORAL_TLS_CERT_PATH: certPath, TEMPORAL_TLS_KEY_PATH: keyPath }) => [
        ...(certPath && !keyPath
          ? [['TEMPORAL_TLS_KEY_PATH', "is required when TEMPORAL_TLS_CERT_PATH is set: the path of the client certificate's private key (PEM)"] as const]
          : []),
        ...(keyPath && !certPath ? [['TEMPORAL_TLS_CERT_PATH', 'is required when TEMPORAL_TLS_KEY_PATH is set: the path of the client certificate (PEM)'] as const] : []),
      ],
    },
  ],
  build: (e) => ({
    temporal: {
      address: e.TEMPORAL_ADDRESS,
      namespace: e.TEMPORAL_NAMESPACE,
      taskQueue: e.TEMPORAL_TASK_QUEUE,
      webUiUrl: e.TEMPORAL_WEB_UI_URL,
      /** a Temporal Cloud API key, sent as a bearer token (always over TLS) */
      apiKey: e.TEMPORAL_API_KEY,
      /** TLS to Temporal (an API key alone means TLS with the system's CAs); the files are read by loadConfig */
      tlsFiles:
        e.TEMPORAL_TLS_CERT_PATH || e.TEMPORAL_TLS_CA_PATH || e.TEMPORAL_TLS_SERVER_NAME || e.TEMPORAL_API_KEY
          ? { certPath: e.TEMPORAL_TLS_CERT_PATH, keyPath: e.TEMPORAL_TLS_KEY_PATH, caPath: e.TEMPORAL_TLS_CA_PATH, serverName: e.TEMPORAL_TLS_SERVER_NAME }
          : undefined,
    },
  }),
});

const apiTokens = section({
  title: 'Read API tokens',
  description: 'Who may call the read API (`/api/*`) and open the websocket.',
  variables: {
    API_TOKENS: z
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
                return separator < 0 ? { token: entry } : { token: entry.slice(0, separator), organization: entry.slice(separator + 1) };
              }),
          )
          .min(1, { message: 'needs at least one token' }),
      )
      .meta({
        description:
          'bearer tokens for the read API, 16+ characters (32+ unless `API_URL` is a loopback address), comma-separated; `token:<organization URI>` binds one to an organization',
      }),
  },
  uses: { API_URL: receiver.variables.API_URL },
  rules: [
    {
      reads: ['API_URL', 'API_TOKENS'],
      check: (e) => {
        const tokens = e.API_TOKENS.map(({ token }) => token);
        if (isLoopbackUrl(e.API_URL)) return [];
        if (tokens.some((token) => EXAMPLE_API_TOKENS.includes(token))) return [['API_TOKENS', PUBLIC_EXAMPLE]];
        if (tokens.some((token) => token.length < MIN_PUBLIC_SECRET_LENGTH)) return [['API_TOKENS', TOO_SHORT]];
        return [];
      },
    },
  ],
  build: (e) => ({ apiTokens: e.API_TOKENS }),
});

const http = section({
  title: 'HTTP limits',
  description: "Limits of the receiver's HTTP server and webhook route, the proxies in front of it, and CORS.",
  variables: {
    WEBHOOK_REFUSALS_PER_MINUTE: (() => {
      const error = 'must be a whole number of refused requests per minute, e.g. 60';
      return z.coerce.number({ error }).int({ error }).positive({ error }).default(60);
    })().meta({
      description:
        'refused webhook requests (bad signature, content type or size) a client address may make per minute; the next ones get 429 without their body being read (a validly signed delivery never does)',
    }),
    HTTP_REQUEST_TIMEOUT_SECONDS: durationSeconds(30).meta({
      description: 'a request (headers and body) must arrive within this; its headers within 10 s (or this, if less)',
    }),
    HTTP_KEEP_ALIVE_TIMEOUT_SECONDS: durationSeconds(5).meta({
      description: 'an idle keep-alive connection is closed after this; keep it above the idle timeout of a proxy in front',
    }),
    HTTP_MAX_CONNECTIONS: wholeNumberOf('connections')
      .default(1000)
      .meta({
        description:
          'open connections per receiver, websockets included. One more evicts the oldest connection still sending its request head or idle, else the oldest request in flight that is not a webhook delivery; only when webhooks and websockets hold every place is it dropped',
      }),
    TRUST_PROXY_HOPS: (() => {
      const error = 'must be the number of proxies in front that append to X-Forwarded-For, e.g. TRUST_PROXY_HOPS=1; 0 ignores X-Forwarded-For';
      return z.coerce.number({ error }).int({ error }).min(0, { error }).default(0);
    })().meta({
      description:
        'proxies in front of the receiver that append to `X-Forwarded-For`; 0 = the header is ignored and the client is the connecting address (the case when the port is published directly); N = the entry the Nth proxy from the receiver appended is the client. Set it to exactly the proxies you run: one too many lets a client choose its own address and escape the refusal limit',
    }),
    CONNECTION_SIGNING_KEY_CACHE_SECONDS: durationSeconds(60).meta({
      description:
        "an OAuth connection's signing key is kept in memory this long before it is read again, so a key rotation or a disconnect takes effect within this time; while PostgreSQL is down, a key read before keeps serving, and a connection never read answers 503 (`database_unavailable`, `Retry-After`) so Calendly retries",
    }),
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
      )
      .meta({
        description:
          'browser origins (`scheme://host[:port]`, exact, comma-separated) allowed to call `/api/*` (and `/openapi.json`) cross-origin; empty = no CORS headers; never on the webhook',
      }),
  },
  build: (e) => ({
    http: {
      refusalsPerMinute: e.WEBHOOK_REFUSALS_PER_MINUTE,
      requestTimeoutSeconds: e.HTTP_REQUEST_TIMEOUT_SECONDS,
      keepAliveTimeoutSeconds: e.HTTP_KEEP_ALIVE_TIMEOUT_SECONDS,
      maxConnections: e.HTTP_MAX_CONNECTIONS,
      corsAllowedOrigins: e.CORS_ALLOWED_ORIGINS,
      trustProxyHops: e.TRUST_PROXY_HOPS,
      signingKeyCacheSeconds: e.CONNECTION_SIGNING_KEY_CACHE_SECONDS,
    },
  }),
});

const websocket = section({
  title: 'Websocket',
  description: 'The websocket (`/ws`): its pings, its buffers, and how many may be open per receiver.',
  variables: {
    WEBSOCKET_PING_INTERVAL_SECONDS: durationSeconds(30).meta({
      description: 'the websocket pings every client this often and drops one that did not answer the previous ping',
    }),
    WEBSOCKET_MAX_BUFFERED_BYTES: byteCount(1024 * 1024).meta({
      description: 'a websocket client with more than this waiting to be sent is closed (1013) and resumes with `?lastEventId=`',
    }),
    WEBSOCKET_MAX_CONNECTIONS: wholeNumberOf('websockets')
      .optional()
      .meta({
        description:
          'websockets per receiver; more get 429. Must be below `HTTP_MAX_CONNECTIONS`: the rest stay for HTTP requests, webhooks first',
        unset: '80% of `HTTP_MAX_CONNECTIONS` (`800`)',
      }),
    WEBSOCKET_MAX_PER_ORGANIZATION: wholeNumberOf('websockets')
      .default(100)
      .meta({
        description: 'websockets of one organization per receiver (a token of every organization counts as one more organization); more get 429',
      }),
    WEBSOCKET_MAX_PER_TOKEN: wholeNumberOf('websockets').default(20).meta({ description: 'websockets of one API token per receiver; more get 429' }),
  },
  uses: { HTTP_MAX_CONNECTIONS: http.variables.HTTP_MAX_CONNECTIONS },
  rules: [
    {
      reads: ['WEBSOCKET_MAX_CONNECTIONS', 'HTTP_MAX_CONNECTIONS'],
      check: (e) =>
        e.WEBSOCKET_MAX_CONNECTIONS === undefined || e.WEBSOCKET_MAX_CONNECTIONS < e.HTTP_MAX_CONNECTIONS
          ? []
          : [['WEBSOCKET_MAX_CONNECTIONS', 'must be below HTTP_MAX_CONNECTIONS, so that webhooks keep connections however many websockets are open, e.g. 800 of 1000']],
    },
  ],
  build: (e) => ({
    websocket: {
      pingIntervalSeconds: e.WEBSOCKET_PING_INTERVAL_SECONDS,
      maxBufferedBytes: e.WEBSOCKET_MAX_BUFFERED_BYTES,
      maxConnections: e.WEBSOCKET_MAX_CONNECTIONS ?? Math.floor(e.HTTP_MAX_CONNECTIONS * 0.8),
      maxPerOrganization: e.WEBSOCKET_MAX_PER_ORGANIZATION,
      maxPerToken: e.WEBSOCKET_MAX_PER_TOKEN,
    },
  }),
});

const outboundWebhooks = section({
  title: 'Outbound event webhooks',
  description:
    'Event webhooks to the endpoints organizations add (docs/outbound-webhooks.md): each delivery\'s bounded retries, where they may go, and per-organization limits.',
  variables: {
    OUTBOUND_WEBHOOK_MAX_ATTEMPTS: wholeNumberOf('attempts').default(10).meta({ description: 'attempts of a delivery before it is dead (replayable)' }),
    OUTBOUND_WEBHOOK_INITIAL_RETRY_SECONDS: durationSeconds(30).meta({
      description: 'the wait between its attempts doubles from this up to `OUTBOUND_WEBHOOK_MAX_RETRY_SECONDS`',
    }),
    OUTBOUND_WEBHOOK_MAX_RETRY_SECONDS: durationSeconds(3600).meta({ description: 'the longest wait between two attempts' }),
    OUTBOUND_WEBHOOK_SWEEP_SECONDS: durationSeconds(60).meta({
      description: 'worker: how often the dispatcher also looks for deliveries without a workflow (besides every outbox NOTIFY)',
    }),
    OUTBOUND_WEBHOOK_ALLOW_PRIVATE_NETWORKS: z
      .string()
      .default('')
      .transform(commaList)
      .pipe(z.array(z.string().refine((cidr) => parseCidr(cidr), { message: 'each entry is a CIDR, e.g. OUTBOUND_WEBHOOK_ALLOW_PRIVATE_NETWORKS=127.0.0.1/32,::1/128' })))
      .meta({
        description:
          'comma-separated CIDRs (e.g. `127.0.0.1/32,::1/128`) that outbound endpoints and `REMINDER_WEBHOOK_URL` may reach although private; development and tests only (empty in `.env.example` too). Without it only public addresses are reached (https unless `API_URL` is a loopback address), checked on the address connected to',
      }),
    OUTBOUND_WEBHOOK_MAX_ENDPOINTS_PER_ORGANIZATION: wholeNumberOf('endpoints')
      .default(25)
      .meta({
        description:
          'enabled endpoints an organization may have; adding one more answers 429 `outbound_endpoint_limit_reached` with `Retry-After: 60` (remove one to add another)',
      }),
    OUTBOUND_WEBHOOK_MAX_IN_FLIGHT_PER_ORGANIZATION: wholeNumberOf('endpoints')
      .default(10)
      .meta({
        description:
          'worker: endpoints of one organization at work at once (each sends one delivery at a time, in order), counted in the database across all workers; the others wait undispatched',
      }),
  },
  uses: { API_URL: receiver.variables.API_URL, CONNECTION_ENCRYPTION_KEY: oauth.variables.CONNECTION_ENCRYPTION_KEY },
  rules: [
    {
      reads: ['OUTBOUND_WEBHOOK_INITIAL_RETRY_SECONDS', 'OUTBOUND_WEBHOOK_MAX_RETRY_SECONDS'],
      check: (e) =>
        e.OUTBOUND_WEBHOOK_INITIAL_RETRY_SECONDS <= e.OUTBOUND_WEBHOOK_MAX_RETRY_SECONDS
          ? []
          : [['OUTBOUND_WEBHOOK_INITIAL_RETRY_SECONDS', 'must not exceed OUTBOUND_WEBHOOK_MAX_RETRY_SECONDS: the wait between attempts grows from the one up to the other']],
    },
  ],
  build: (e) => ({
    outboundWebhooks: {
      retry: {
        maximumAttempts: e.OUTBOUND_WEBHOOK_MAX_ATTEMPTS,
        initialIntervalSeconds: e.OUTBOUND_WEBHOOK_INITIAL_RETRY_SECONDS,
        maximumIntervalSeconds: e.OUTBOUND_WEBHOOK_MAX_RETRY_SECONDS,
      },
      sweepIntervalSeconds: e.OUTBOUND_WEBHOOK_SWEEP_SECONDS,
      /** where they (and the reminder webhook) may be POSTed: public addresses, https unless API_URL is loopback */
      destinations: destinationPolicy(e.API_URL, e.OUTBOUND_WEBHOOK_ALLOW_PRIVATE_NETWORKS),
      maxEndpointsPerOrganization: e.OUTBOUND_WEBHOOK_MAX_ENDPOINTS_PER_ORGANIZATION,
      maxInFlightPerOrganization: e.OUTBOUND_WEBHOOK_MAX_IN_FLIGHT_PER_ORGANIZATION,
      /** seals endpoint secrets at rest (CONNECTION_ENCRYPTION_KEY); unset: they are stored in clear */
      secretKey: e.CONNECTION_ENCRYPTION_KEY ? Buffer.from(e.CONNECTION_ENCRYPTION_KEY, 'base64') : undefined,
    },
  }),
});

const reminders = section({
  title: 'Reminders',
  description: 'Reminders before each meeting, held as durable Temporal timers, sent on the websocket and optionally to a webhook.',
  variables: {
    REMINDER_OFFSETS: z
      .string()
      .default('24h,1h,15m')
      .transform(commaList)
      .pipe(
        z
          .array(z.string().regex(/^\d+(s|m|h|d)$/, { message: 'each offset is a number with s, m, h or d, e.g. REMINDER_OFFSETS=24h,1h,15m' }))
          .min(1, { message: 'needs at least one offset, e.g. REMINDER_OFFSETS=24h,1h,15m' }),
      )
      .transform((offsets) => [...new Set(offsets.map(offsetSeconds))].sort((a, b) => b - a))
      .meta({ description: 'reminders before each meeting: numbers with `s`, `m`, `h` or `d`, comma-separated' }),
    REMINDER_WEBHOOK_URL: httpUrl('REMINDER_WEBHOOK_URL=https://crm.example.com/hooks/reminders')
      .optional()
      .meta({ description: 'also POST each reminder here, signed with `REMINDER_WEBHOOK_SECRET`', unset: 'websocket only' }),
    REMINDER_WEBHOOK_SECRET: z
      .string()
      .min(16, { message: 'needs at least 16 characters' })
      .optional()
      .meta({ description: 'key of the reminder signature, 16+ characters (only used once the URL is set)', unset: 'required with the URL' }),
  },
  uses: { API_URL: receiver.variables.API_URL, OUTBOUND_WEBHOOK_ALLOW_PRIVATE_NETWORKS: outboundWebhooks.variables.OUTBOUND_WEBHOOK_ALLOW_PRIVATE_NETWORKS },
  rules: [
    {
      reads: ['REMINDER_WEBHOOK_URL', 'REMINDER_WEBHOOK_SECRET'],
      check: (e) =>
        e.REMINDER_WEBHOOK_URL && !e.REMINDER_WEBHOOK_SECRET
          ? [['REMINDER_WEBHOOK_SECRET', 'is required when REMINDER_WEBHOOK_URL is set: the key its receiver uses to verify the signature']]
          : [],
    },
    {
      reads: ['API_URL', 'REMINDER_WEBHOOK_URL', 'REMINDER_WEBHOOK_SECRET'],
      check: (e) =>
        e.REMINDER_WEBHOOK_URL && e.REMINDER_WEBHOOK_SECRET === EXAMPLE_SECRETS.REMINDER_WEBHOOK_SECRET && !isLoopbackUrl(e.API_URL)
          ? [['REMINDER_WEBHOOK_SECRET', `${PUBLIC_EXAMPLE}, and give it to the reminder webhook's receiver`]]
          : [],
    },
    {
      reads: ['API_URL', 'REMINDER_WEBHOOK_URL', 'OUTBOUND_WEBHOOK_ALLOW_PRIVATE_NETWORKS'],
      check: (e) => {
        const refused = e.REMINDER_WEBHOOK_URL && refusedDestination(destinationPolicy(e.API_URL, e.OUTBOUND_WEBHOOK_ALLOW_PRIVATE_NETWORKS), e.REMINDER_WEBHOOK_URL);
        return refused ? [['REMINDER_WEBHOOK_URL', refused]] : [];
      },
    },
  ],
  build: (e) => ({
    reminders: {
      /** how long before a meeting's start each reminder fires, in seconds, largest first */
      offsetsSeconds: e.REMINDER_OFFSETS,
      /** where reminders are also POSTed, signed with the secret; unset = websocket only */
      webhook: e.REMINDER_WEBHOOK_URL && e.REMINDER_WEBHOOK_SECRET ? { url: e.REMINDER_WEBHOOK_URL, secret: e.REMINDER_WEBHOOK_SECRET } : undefined,
    },
  }),
});

const schedules = section({
  title: 'Schedules',
  description:
    'The self-healing Temporal Schedules the worker creates (docs/connections.md, "Schedules"): reconciling bookings from the Calendly API, checking the webhook subscription, and retention.',
  variables: {
    RECONCILE_INTERVAL_MINUTES: wholeNumberOf('minutes').default(15).meta({ description: 'how often the reconcile schedule fetches bookings from the Calendly API' }),
    RECONCILE_LOOKBACK_HOURS: wholeNumberOf('hours')
      .default(48)
      .meta({ description: 'it looks at events that started up to this long ago: the longest outage whose bookings are still found' }),
    RECONCILE_LOOKAHEAD_DAYS: wholeNumberOf('days')
      .default(60)
      .meta({ description: 'and at events starting up to this far ahead: as far as invitees may book' }),
    SUBSCRIPTION_CHECK_INTERVAL_MINUTES: wholeNumberOf('minutes')
      .default(10)
      .meta({ description: 'how often the webhook subscription is checked, and re-created when it is missing, wrong or disabled by Calendly' }),
    DELIVERY_LOG_RETENTION_DAYS: wholeNumberOf('days')
      .default(30)
      .meta({
        description:
          'the retention schedule (hourly) deletes delivery log rows and refusal counts older than this (`failed` deliveries: three times this; never `processing` or `unprocessed` ones)',
      }),
    OUTBOX_RETENTION_DAYS: wholeNumberOf('days')
      .default(7)
      .meta({ description: 'and outbox events older than this: the furthest back a websocket client can resume with `?lastEventId=`' }),
  },
  build: (e) => ({
    schedules: {
      reconcileEveryMinutes: e.RECONCILE_INTERVAL_MINUTES,
      reconcileLookBackHours: e.RECONCILE_LOOKBACK_HOURS,
      reconcileLookAheadDays: e.RECONCILE_LOOKAHEAD_DAYS,
      subscriptionCheckEveryMinutes: e.SUBSCRIPTION_CHECK_INTERVAL_MINUTES,
      deliveryLogRetentionDays: e.DELIVERY_LOG_RETENTION_DAYS,
      outboxRetentionDays: e.OUTBOX_RETENTION_DAYS,
    },
  }),
});

const revenue = section({
  title: 'Revenue',
  description:
    "What a meeting is worth in the business counters' booked and held revenue when its invitee made no successful Calendly payment (a paid meeting is worth its payment, in the payment's currency).",
  variables: {
    REVENUE_CURRENCY: z
      .string()
      .trim()
      .default('USD')
      .refine((value) => /^[A-Z]{3}$/.test(value) && Intl.supportedValuesOf('currency').includes(value), {
        message: 'must be an ISO 4217 currency code in capitals, e.g. REVENUE_CURRENCY=EUR',
      })
      .meta({ description: 'the currency of `REVENUE_PER_BOOKING` and `REVENUE_BY_EVENT_TYPE` (ISO 4217 code); amounts in other currencies are never converted' }),
    REVENUE_PER_BOOKING: z
      .string()
      .default('0')
      .refine((value) => AMOUNT.test(value.trim()), { message: 'must be a number without currency, e.g. REVENUE_PER_BOOKING=150 or 49.90' })
      .transform(Number)
      .meta({ description: 'what a meeting without a successful payment is worth when its event type is not in `REVENUE_BY_EVENT_TYPE`, in `REVENUE_CURRENCY`' }),
    REVENUE_BY_EVENT_TYPE: z
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
      .refine((rates) => new Set(rates.map((rate) => rate.eventTypeUri)).size === rates.length, { message: 'names an event type twice' })
      .meta({ description: 'the worth of meetings of some event types without a successful payment: `<event type URI>=<amount>`, comma-separated, in `REVENUE_CURRENCY`' }),
  },
  build: (e) => ({ revenue: { currency: e.REVENUE_CURRENCY, perBooking: e.REVENUE_PER_BOOKING, byEventType: e.REVENUE_BY_EVENT_TYPE } }),
});

const metrics = section({
  title: 'Metrics',
  description:
    'The Prometheus endpoints, each on its own listener bound to `METRICS_HOST`, never on `PORT` (where `/metrics` answers 404); each is off while its port is unset or empty.',
  variables: {
    METRICS_HOST: z
      .string()
      .trim()
      .min(1)
      .default('127.0.0.1')
      .meta({
        description:
          'the interface every metrics listener binds; the samples name organizations, so keep it off the public network (compose: `0.0.0.0` on its internal network, ports not published)',
      }),
    METRICS_PORT: optionalPort().meta({ description: 'receiver: its Prometheus metrics at `GET /metrics`', unset: 'off' }),
    WORKER_METRICS_PORT: optionalPort().meta({
      description: "worker: the app's Prometheus metrics at `GET /metrics`, and `GET /health` (200 while the worker runs, for a container healthcheck)",
      unset: 'off',
    }),
    TEMPORAL_METRICS_PORT: optionalPort().meta({
      description: "worker: the Temporal SDK's Prometheus exporter (`temporal_*` at `GET /metrics`); not the same as `WORKER_METRICS_PORT`",
      unset: 'off',
    }),
  },
  uses: { PORT: receiver.variables.PORT },
  rules: [
    {
      reads: ['TEMPORAL_METRICS_PORT', 'WORKER_METRICS_PORT'],
      check: (e) =>
        e.TEMPORAL_METRICS_PORT !== undefined && e.TEMPORAL_METRICS_PORT === e.WORKER_METRICS_PORT
          ? [['TEMPORAL_METRICS_PORT', 'must differ from WORKER_METRICS_PORT: both are served by the worker']]
          : [],
    },
    {
      reads: ['METRICS_PORT', 'PORT', 'WORKER_METRICS_PORT', 'TEMPORAL_METRICS_PORT'],
      check: (e) =>
        e.METRICS_PORT !== undefined && [e.PORT, e.WORKER_METRICS_PORT, e.TEMPORAL_METRICS_PORT].includes(e.METRICS_PORT)
          ? [['METRICS_PORT', 'must differ from PORT (the public port), WORKER_METRICS_PORT and TEMPORAL_METRICS_PORT']]
          : [],
    },
  ],
  build: (e) => ({
    metrics: {
      host: e.METRICS_HOST,
      /** the receiver's own listener: GET /metrics (per-organization counters, so private) */
      receiverPort: e.METRICS_PORT,
      /** the worker's own server: GET /metrics (the app's counters) and GET /health */
      workerPort: e.WORKER_METRICS_PORT,
      /** Temporal SDK's exporter (`host:port`), GET /metrics */
      temporalBindAddress:
        e.TEMPORAL_METRICS_PORT === undefined ? undefined : `${e.METRICS_HOST.includes(':') ? `[${e.METRICS_HOST}]` : e.METRICS_HOST}:${e.TEMPORAL_METRICS_PORT}`,
    },
  }),
});

const worker = section({
  title: 'Worker',
  description: 'How the worker loads its workflows and how many it keeps in memory.',
  variables: {
    WORKFLOW_BUNDLE_PATH: path()
      .optional()
      .meta({
        description: 'a prebuilt workflow bundle to load',
        unset: 'the one `npm run build` put next to the compiled worker, or (from the sources) bundled at start-up',
      }),
    WORKER_MAX_CACHED_WORKFLOWS: wholeNumberOf('workflows')
      .default(500)
      .meta({
        description:
          "workflows kept in memory between their tasks (the sticky cache); bounds the worker's memory (with the heap cap of `docker-compose.yml`, `--max-old-space-size=384`: raise both together); an evicted workflow replays its (short) history at its next task",
      }),
  },
  build: (e) => ({ workflowBundlePath: e.WORKFLOW_BUNDLE_PATH, maxCachedWorkflows: e.WORKER_MAX_CACHED_WORKFLOWS }),
});

const logging = section({
  title: 'Logging',
  description: 'The JSON logs every process writes (pino).',
  variables: {
    LOG_LEVEL: z
      .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace'], { error: 'must be fatal, error, warn, info, debug or trace' })
      .default('info').meta({ description: '`fatal`, `error`, `warn`, `info`, `debug` or `trace`' }),
  },
  build: (e) => ({ logLevel: e.LOG_LEVEL }),
});

const localTrial = section({
  title: 'Local trial',
  description: 'Only for trying the system on one machine with `npm start`.',
  variables: {
    FAKE_CALENDLY_PORT: optionalPort().meta({
      description:
        'run the bundled fake Calendly API on this port beside the system. With `CALENDLY_API_TOKEN` it delivers to the receiver; with the OAuth settings alone it is the OAuth server for connections (point `CALENDLY_AUTH_BASE_URL` and `CALENDLY_API_BASE_URL` at it)',
      unset: 'no fake, as in production (also when empty: `FAKE_CALENDLY_PORT=`)',
    }),
  },
  build: (e) => ({ fakeCalendlyPort: e.FAKE_CALENDLY_PORT }),
});

/** In the order of docs/configuration.md and of the start-up error's problems. */
export const SECTIONS = { receiver, calendly, oauth, database, temporal, apiTokens, websocket, reminders, outboundWebhooks, schedules, http, revenue, metrics, worker, logging, localTrial };
