import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'dotenv';
import { loadConfig, ConfigError, EXAMPLE_SECRETS } from '../src/config';
import { SECTIONS } from '../src/config-sections';

const SIGNING_KEY_1 = 'signing-key-1-0123456789abcdef0123';
const SIGNING_KEY_2 = 'signing-key-2-0123456789abcdef0123';
const valid = {
  API_URL: 'https://bookings.example.com/',
  CALENDLY_WEBHOOK_SIGNING_KEY: `${SIGNING_KEY_1}, ${SIGNING_KEY_2}`,
  CALENDLY_API_TOKEN: 'token',
  API_TOKENS: 'frontend-token-0123456789abcdef0123,bound-token-0123456789abcdef01234:https://api.calendly.com/organizations/ORG1',
};
/** What `npm start` copies to .env on first run. */
const example = parse(readFileSync(join(__dirname, '..', '.env.example')));

/** The ConfigError's message, or '' when the environment is accepted. */
function refusal(env: Record<string, string | undefined>): string {
  try {
    loadConfig(env);
    return '';
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
}

describe('configuration', () => {
  it('derives the webhook URL from API_URL and applies documented defaults', () => {
    const config = loadConfig(valid);
    expect(config.webhookUrl).toBe('https://bookings.example.com/calendly/webhook');
    expect(config.port).toBe(3000);
    expect(config.calendly.apiBaseUrl).toBe('https://api.calendly.com');
    expect(config.calendly.signatureToleranceSeconds).toBe(180);
    expect(config.databaseUrl).toBe('postgres://postgres@127.0.0.1:5432/calendly_bookings');
    expect(config.temporal).toMatchObject({ address: '127.0.0.1:7233', namespace: 'default', taskQueue: 'calendly-bookings' });
    expect(config.websocket).toEqual({ pingIntervalSeconds: 30, maxBufferedBytes: 1024 * 1024, maxConnections: 800, maxPerOrganization: 100, maxPerToken: 20 });
  });

  it('gets each part of its Config from one section, so that no section overwrites another', () => {
    const parts = Object.values(SECTIONS).flatMap(({ schema }) => Object.keys(schema.parse(valid)));
    expect(parts.filter((part, index) => parts.indexOf(part) !== index)).toEqual([]);
    expect(parts.sort()).toEqual(Object.keys(loadConfig(valid)).sort());
  });

  it('refuses websocket caps that would leave webhooks no connection', () => {
    expect(() => loadConfig({ ...valid, WEBSOCKET_MAX_CONNECTIONS: '1000' })).toThrow(/WEBSOCKET_MAX_CONNECTIONS must be below HTTP_MAX_CONNECTIONS/);
    expect(() => loadConfig({ ...valid, WEBSOCKET_MAX_CONNECTIONS: '50', HTTP_MAX_CONNECTIONS: '40' })).toThrow(/WEBSOCKET_MAX_CONNECTIONS must be below/);
    expect(() => loadConfig({ ...valid, WEBSOCKET_MAX_PER_TOKEN: '0' })).toThrow(/WEBSOCKET_MAX_PER_TOKEN must be a whole number of websockets, at least 1/);
    expect(loadConfig({ ...valid, WEBSOCKET_MAX_CONNECTIONS: '50', HTTP_MAX_CONNECTIONS: '60' }).websocket.maxConnections).toBe(50);
    // Unset, it follows HTTP_MAX_CONNECTIONS: 80% of it.
    expect(loadConfig({ ...valid, HTTP_MAX_CONNECTIONS: '500' }).websocket.maxConnections).toBe(400);
  });

  describe('OAuth connections', () => {
    const oauth = {
      API_URL: valid.API_URL,
      API_TOKENS: valid.API_TOKENS,
      CALENDLY_CLIENT_ID: 'client-id',
      CALENDLY_CLIENT_SECRET: 'client-secret',
      CALENDLY_OAUTH_REDIRECT_URI: 'https://bookings.example.com/api/connections/callback',
      CONNECTION_ENCRYPTION_KEY: Buffer.alloc(32, 9).toString('base64'),
    };

    it('serves organizations without an environment account when the OAuth app is configured', () => {
      const config = loadConfig(oauth);
      expect(config.calendly.apiToken).toBeUndefined();
      expect(config.calendly.signingKeys).toEqual([]);
      expect(config.oauth).toMatchObject({ clientId: 'client-id', authBaseUrl: 'https://auth.calendly.com', syncLookBackDays: 30 });
      expect(config.oauth?.encryptionKey).toHaveLength(32);
    });

    it('refuses to start without a valid encryption key, or with neither an account nor an OAuth app', () => {
      const { CONNECTION_ENCRYPTION_KEY: _key, ...withoutKey } = oauth;
      expect(() => loadConfig(withoutKey)).toThrow(/CONNECTION_ENCRYPTION_KEY is required when CALENDLY_CLIENT_ID is set.*openssl rand -base64 32/);
      expect(() => loadConfig({ ...oauth, CONNECTION_ENCRYPTION_KEY: 'too-short' })).toThrow(/CONNECTION_ENCRYPTION_KEY must be 32 random bytes in base64/);
      const { CALENDLY_CLIENT_SECRET: _secret, ...withoutSecret } = oauth;
      expect(() => loadConfig(withoutSecret)).toThrow(/CALENDLY_CLIENT_ID needs CALENDLY_CLIENT_SECRET and CALENDLY_OAUTH_REDIRECT_URI/);
      expect(() => loadConfig({ API_URL: valid.API_URL, API_TOKENS: valid.API_TOKENS })).toThrow(/CALENDLY_API_TOKEN is required/);
      expect(() => loadConfig({ ...valid, CALENDLY_WEBHOOK_SIGNING_KEY: undefined })).toThrow(/CALENDLY_WEBHOOK_SIGNING_KEY is required with CALENDLY_API_TOKEN/);
    });
  });

  it('reads several signing keys for rotation and tokens bound to an organization', () => {
    const config = loadConfig(valid);
    expect(config.calendly.signingKeys).toEqual([SIGNING_KEY_1, SIGNING_KEY_2]);
    expect(config.apiTokens).toEqual([
      { token: 'frontend-token-0123456789abcdef0123' },
      { token: 'bound-token-0123456789abcdef01234', organization: 'https://api.calendly.com/organizations/ORG1' },
    ]);
  });

  it('reads reminder offsets in s, m, h or d, largest first, and the reminder webhook with its secret', () => {
    expect(loadConfig(valid).reminders).toEqual({ offsetsSeconds: [86_400, 3_600, 900], webhook: undefined });
    const custom = loadConfig({
      ...valid,
      REMINDER_OFFSETS: '15m, 2d,30s',
      REMINDER_WEBHOOK_URL: 'https://crm.example.com/hooks/reminders',
      REMINDER_WEBHOOK_SECRET: 'reminder-secret-0123',
    });
    expect(custom.reminders).toEqual({
      offsetsSeconds: [172_800, 900, 30],
      webhook: { url: 'https://crm.example.com/hooks/reminders', secret: 'reminder-secret-0123' },
    });
  });

  it.each([
    [{ API_URL: undefined }, /API_URL is required/],
    [{ API_URL: 'bookings.example.com' }, /API_URL must be an http\(s\) URL, e.g. API_URL=https:\/\/bookings.example.com/],
    [{ API_URL: 'ftp://bookings.example.com' }, /API_URL must be an http\(s\) URL/],
    [{ CALENDLY_WEBHOOK_SIGNING_KEY: '' }, /CALENDLY_WEBHOOK_SIGNING_KEY is required/],
    [{ API_TOKENS: 'short' }, /API_TOKENS.*16\+ characters/],
    [{ PORT: 'eighty' }, /PORT/],
    [{ TEMPORAL_ADDRESS: 'localhost' }, /TEMPORAL_ADDRESS must be host:port/],
    [{ DATABASE_URL: 'mysql://x/y' }, /DATABASE_URL must be a postgres:\/\/ URL/],
    [{ REMINDER_OFFSETS: '24 hours' }, /REMINDER_OFFSETS each offset is a number with s, m, h or d/],
    [{ REMINDER_WEBHOOK_URL: 'https://crm.example.com/hooks' }, /REMINDER_WEBHOOK_SECRET is required when REMINDER_WEBHOOK_URL is set/],
    [{ WEBSOCKET_PING_INTERVAL_SECONDS: 'often' }, /WEBSOCKET_PING_INTERVAL_SECONDS must be a whole number of seconds/],
    [{ WEBSOCKET_MAX_BUFFERED_BYTES: '1.5MB' }, /WEBSOCKET_MAX_BUFFERED_BYTES must be a whole number of bytes/],
    [{ WEBSOCKET_MAX_BUFFERED_BYTES: '0.5' }, /WEBSOCKET_MAX_BUFFERED_BYTES must be a whole number of bytes/],
    [{ WORKER_MAX_CACHED_WORKFLOWS: 'lots' }, /WORKER_MAX_CACHED_WORKFLOWS must be a whole number of workflows/],
    [{ WORKER_MAX_CACHED_WORKFLOWS: '0' }, /WORKER_MAX_CACHED_WORKFLOWS must be a whole number of workflows, at least 1/],
    [{ REVENUE_CURRENCY: 'euro' }, /REVENUE_CURRENCY must be an ISO 4217 currency code in capitals, e.g. REVENUE_CURRENCY=EUR/],
  ])('stops with a message that says how to fix %o', (override, message) => {
    const attempt = () => loadConfig({ ...valid, ...override });
    expect(attempt).toThrow(ConfigError);
    expect(attempt).toThrow(message);
    expect(attempt).toThrow(/Set it in \.env \(see \.env\.example\)/);
  });

  describe('a start-up with several mistakes', () => {
    it('names the problems of every section in one line, each with how to fix it', () => {
      const message = refusal({ ...valid, PORT: 'eighty', REMINDER_OFFSETS: '24 hours', OUTBOUND_WEBHOOK_INITIAL_RETRY_SECONDS: '7200' });
      expect(message).toBe(
        'Configuration error: PORT must be a port number from 1 to 65535; ' +
          'REMINDER_OFFSETS each offset is a number with s, m, h or d, e.g. REMINDER_OFFSETS=24h,1h,15m; ' +
          'OUTBOUND_WEBHOOK_INITIAL_RETRY_SECONDS must not exceed OUTBOUND_WEBHOOK_MAX_RETRY_SECONDS: the wait between attempts grows from the one up to the other. ' +
          'Set it in .env (see .env.example).',
      );
    });

    it("checks a rule between variables although another of its section's variables is wrong", () => {
      const message = refusal({ ...valid, REMINDER_OFFSETS: '24 hours', REMINDER_WEBHOOK_URL: 'https://crm.example.com/hooks/reminders' });
      expect(message).toMatch(/REMINDER_OFFSETS each offset is a number/);
      expect(message).toMatch(/REMINDER_WEBHOOK_SECRET is required when REMINDER_WEBHOOK_URL is set/);
    });

    it('names a wrong variable once although several sections read it, and skips the rules that need it', () => {
      const message = refusal({ ...valid, API_URL: 'bookings.example.com', API_TOKENS: 'short-token-0123' });
      expect(message).toBe('Configuration error: API_URL must be an http(s) URL, e.g. API_URL=https://bookings.example.com. Set it in .env (see .env.example).');
    });

    it('reports a TLS file that cannot be read beside the other problems, with its path', () => {
      const dir = mkdtempSync(join(tmpdir(), 'config-'));
      try {
        const message = refusal({ ...valid, TEMPORAL_TLS_CA_PATH: join(dir, 'ca.pem'), LOG_LEVEL: 'loud' });
        expect(message).toBe(
          `Configuration error: LOG_LEVEL must be fatal, error, warn, info, debug or trace; TEMPORAL_TLS_CA_PATH cannot be read (ENOENT: ${join(dir, 'ca.pem')}): ` +
            'give the path of a PEM CA certificate. Set it in .env (see .env.example).',
        );
        expect(refusal({ ...valid, TEMPORAL_TLS_CA_PATH: dir })).toBe(
          `Configuration error: TEMPORAL_TLS_CA_PATH cannot be read (EISDIR: ${dir}): give the path of a PEM CA certificate. Set it in .env (see .env.example).`,
        );
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });

  describe('the public example secrets of .env.example', () => {
    const GENERATE = /generate one with: openssl rand -(hex|base64) 32/;

    it('are the ones .env.example ships, and run a local trial as copied', () => {
      for (const [variable, value] of Object.entries(EXAMPLE_SECRETS)) expect({ variable, value: example[variable] }).toEqual({ variable, value });
      const config = loadConfig(example);
      expect(config.apiUrl).toBe('http://127.0.0.1:3000');
      expect(config.calendly.signingKeys).toEqual([EXAMPLE_SECRETS.CALENDLY_WEBHOOK_SIGNING_KEY]);
      // Organizations connect by OAuth too, at the bundled fake Calendly's consent page.
      expect(config.oauth?.authBaseUrl).toBe(`http://127.0.0.1:${config.fakeCalendlyPort}`);
    });

    it.each(['http://127.0.0.1:3000', 'http://127.1.2.3', 'http://localhost:3000', 'http://[::1]:3000'])(
      'are accepted, as are short keys, while API_URL is the loopback address %s',
      (apiUrl) => {
        expect(() => loadConfig({ ...example, API_URL: apiUrl })).not.toThrow();
        expect(() => loadConfig({ ...example, API_URL: apiUrl, CALENDLY_WEBHOOK_SIGNING_KEY: 'short-key', API_TOKENS: 'short-token-0123' })).not.toThrow();
      },
    );

    it.each(['https://bookings.example.com', 'http://0.0.0.0:3000', 'http://10.0.0.5:3000', 'http://127.0.0.1.nip.io', 'http://[::2]'])(
      'are refused, each with one line naming what to change, when API_URL is %s',
      (apiUrl) => {
        const attempt = () => loadConfig({ ...example, API_URL: apiUrl, REMINDER_WEBHOOK_URL: 'https://crm.example.com/hooks/reminders' });
        expect(attempt).toThrow(ConfigError);
        const message = (() => {
          try {
            attempt();
          } catch (error) {
            return (error as Error).message;
          }
          return '';
        })();
        expect(message).not.toContain('\n');
        for (const variable of Object.keys(EXAMPLE_SECRETS)) {
          const generate = variable === 'CONNECTION_ENCRYPTION_KEY' ? 'base64' : 'hex';
          expect(message).toMatch(new RegExp(`${variable} is the public example from \\.env\\.example, refused because API_URL is not a loopback address: generate one with: openssl rand -${generate} 32`));
        }
        // Never shows the secret itself.
        for (const value of Object.values(EXAMPLE_SECRETS)) expect(message).not.toContain(value);
      },
    );

    it.each([
      [{ CALENDLY_WEBHOOK_SIGNING_KEY: EXAMPLE_SECRETS.CALENDLY_WEBHOOK_SIGNING_KEY }, /^Configuration error: CALENDLY_WEBHOOK_SIGNING_KEY is the public example/],
      [{ CALENDLY_WEBHOOK_SIGNING_KEY: `${SIGNING_KEY_1},${EXAMPLE_SECRETS.CALENDLY_WEBHOOK_SIGNING_KEY}` }, /^Configuration error: CALENDLY_WEBHOOK_SIGNING_KEY is the public example/],
      [{ CALENDLY_WEBHOOK_SIGNING_KEY: 'a'.repeat(31) }, /^Configuration error: CALENDLY_WEBHOOK_SIGNING_KEY needs 32\+ characters in each entry/],
      [{ CALENDLY_WEBHOOK_SIGNING_KEY: `${SIGNING_KEY_1},signing-key-0123` }, /^Configuration error: CALENDLY_WEBHOOK_SIGNING_KEY needs 32\+ characters/],
      [{ API_TOKENS: EXAMPLE_SECRETS.API_TOKENS }, /^Configuration error: API_TOKENS is the public example/],
      [{ API_TOKENS: 'local-trial-api-token-0123456789:https://api.calendly.com/organizations/ORG1' }, /^Configuration error: API_TOKENS is the public example/],
      [{ API_TOKENS: 'frontend-token-0123456789abcdef0123,local-trial-demo-organization-token:https://app.example.com/organizations/demo' }, /^Configuration error: API_TOKENS is the public example/],
      [{ API_TOKENS: 'frontend-token-0123456789abcdef0123,short-token-0123456789' }, /^Configuration error: API_TOKENS needs 32\+ characters in each entry/],
      [{ CONNECTION_ENCRYPTION_KEY: EXAMPLE_SECRETS.CONNECTION_ENCRYPTION_KEY }, /^Configuration error: CONNECTION_ENCRYPTION_KEY is the public example.*: generate one with: openssl rand -base64 32/],
      [
        { REMINDER_WEBHOOK_URL: 'https://crm.example.com/hooks/reminders', REMINDER_WEBHOOK_SECRET: EXAMPLE_SECRETS.REMINDER_WEBHOOK_SECRET },
        /^Configuration error: REMINDER_WEBHOOK_SECRET is the public example/,
      ],
    ])('are refused on a public API_URL, like keys shorter than 32 characters: %o', (override, message) => {
      const attempt = () => loadConfig({ ...valid, ...override });
      expect(attempt).toThrow(ConfigError);
      expect(attempt).toThrow(message);
      expect(attempt).toThrow(GENERATE);
      expect(attempt).toThrow(/\. Set it in \.env \(see \.env\.example\)\.$/);
    });

    it('leave the example reminder secret alone while no REMINDER_WEBHOOK_URL uses it', () => {
      expect(loadConfig({ ...valid, REMINDER_WEBHOOK_SECRET: EXAMPLE_SECRETS.REMINDER_WEBHOOK_SECRET }).reminders.webhook).toBeUndefined();
    });

    it('accept 32-character keys and tokens on a public API_URL', () => {
      const config = loadConfig({ ...valid, CALENDLY_WEBHOOK_SIGNING_KEY: 'k'.repeat(32), API_TOKENS: 't'.repeat(32) });
      expect(config.calendly.signingKeys).toEqual(['k'.repeat(32)]);
      expect(config.apiTokens).toEqual([{ token: 't'.repeat(32) }]);
    });
  });
  it('runs no fake Calendly unless FAKE_CALENDLY_PORT names a port (empty in .env means none)', () => {
    expect(loadConfig(valid).fakeCalendlyPort).toBeUndefined();
    expect(loadConfig({ ...valid, FAKE_CALENDLY_PORT: '' }).fakeCalendlyPort).toBeUndefined();
    expect(loadConfig({ ...valid, FAKE_CALENDLY_PORT: '4010' }).fakeCalendlyPort).toBe(4010);
  });

  it('ignores X-Forwarded-For unless TRUST_PROXY_HOPS says how many proxies are in front', () => {
    expect(loadConfig(valid).http.trustProxyHops).toBe(0);
    expect(loadConfig({ ...valid, TRUST_PROXY_HOPS: '2' }).http.trustProxyHops).toBe(2);
    for (const wrong of ['-1', '1.5', 'yes']) {
      expect(() => loadConfig({ ...valid, TRUST_PROXY_HOPS: wrong })).toThrow(/^Configuration error: TRUST_PROXY_HOPS must be .*0 ignores X-Forwarded-For\. Set it in \.env/);
    }
  });

  it('serves metrics on their own listener, on loopback unless METRICS_HOST says otherwise, never on PORT', () => {
    expect(loadConfig(valid).metrics).toMatchObject({ host: '127.0.0.1', receiverPort: undefined });
    expect(loadConfig({ ...valid, METRICS_PORT: '9466', METRICS_HOST: '0.0.0.0', TEMPORAL_METRICS_PORT: '9465' }).metrics).toMatchObject({
      host: '0.0.0.0',
      receiverPort: 9466,
      temporalBindAddress: '0.0.0.0:9465',
    });
    expect(() => loadConfig({ ...valid, PORT: '3000', METRICS_PORT: '3000' })).toThrow(/^Configuration error: METRICS_PORT must differ from PORT/);
    expect(() => loadConfig({ ...valid, METRICS_PORT: 'abc' })).toThrow(/^Configuration error: METRICS_PORT must be a port number/);
  });

  it("keeps a connection's signing key 60 s by default before reading it again", () => {
    expect(loadConfig(valid).http.signingKeyCacheSeconds).toBe(60);
    expect(loadConfig({ ...valid, CONNECTION_SIGNING_KEY_CACHE_SECONDS: '5' }).http.signingKeyCacheSeconds).toBe(5);
    expect(() => loadConfig({ ...valid, CONNECTION_SIGNING_KEY_CACHE_SECONDS: '0' })).toThrow(/CONNECTION_SIGNING_KEY_CACHE_SECONDS must be a whole number of seconds, at least 1/);
  });
});
