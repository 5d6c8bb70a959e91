import { loadConfig, ConfigError } from '../src/config';

const valid = {
  API_URL: 'https://bookings.example.com/',
  CALENDLY_WEBHOOK_SIGNING_KEY: 'signing-key-1, signing-key-2',
  CALENDLY_API_TOKEN: 'token',
  API_TOKENS: 'frontend-token-0123456789,bound-token-0123456789:https://api.calendly.com/organizations/ORG1',
};

describe('configuration', () => {
  it('derives the webhook URL from API_URL and applies documented defaults', () => {
    const config = loadConfig(valid);
    expect(config.webhookUrl).toBe('https://bookings.example.com/calendly/webhook');
    expect(config.port).toBe(3000);
    expect(config.calendly.apiBaseUrl).toBe('https://api.calendly.com');
    expect(config.calendly.signatureToleranceSeconds).toBe(180);
    expect(config.databaseUrl).toBe('postgres://postgres@127.0.0.1:5432/calendly_bookings');
    expect(config.temporal).toMatchObject({ address: '127.0.0.1:7233', namespace: 'default', taskQueue: 'calendly-bookings' });
    expect(config.websocket).toEqual({ pingIntervalSeconds: 30, maxBufferedBytes: 1024 * 1024 });
  });

  it('reads several signing keys for rotation and tokens bound to an organization', () => {
    const config = loadConfig(valid);
    expect(config.calendly.signingKeys).toEqual(['signing-key-1', 'signing-key-2']);
    expect(config.apiTokens).toEqual([
      { token: 'frontend-token-0123456789' },
      { token: 'bound-token-0123456789', organization: 'https://api.calendly.com/organizations/ORG1' },
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
  ])('stops with a message that says how to fix %o', (override, message) => {
    const attempt = () => loadConfig({ ...valid, ...override });
    expect(attempt).toThrow(ConfigError);
    expect(attempt).toThrow(message);
    expect(attempt).toThrow(/Set it in \.env \(see \.env\.example\)/);
  });
});
