/**
 * CORS_ALLOWED_ORIGINS: exact origins only, a wrong one stops start-up naming the variable, and by default no CORS
 * headers at all.
 */
import { loadConfig } from '../../src/config';
import { API_TOKEN, startTestSystem, type TestSystem } from '../support/system';

const REQUIRED = {
  API_URL: 'http://127.0.0.1:3000',
  CALENDLY_WEBHOOK_SIGNING_KEY: 'signing-key-0123456789',
  CALENDLY_API_TOKEN: 'calendly-token',
  API_TOKENS: 'api-token-0123456789abcdef',
};

describe('CORS_ALLOWED_ORIGINS', () => {
  it('is empty by default', () => {
    expect(loadConfig(REQUIRED).http.corsAllowedOrigins).toEqual([]);
    expect(loadConfig({ ...REQUIRED, CORS_ALLOWED_ORIGINS: '' }).http.corsAllowedOrigins).toEqual([]);
  });

  it('takes comma-separated exact origins', () => {
    const config = loadConfig({ ...REQUIRED, CORS_ALLOWED_ORIGINS: 'https://app.example.com, http://localhost:5173,http://[::1]:8080' });
    expect(config.http.corsAllowedOrigins).toEqual(['https://app.example.com', 'http://localhost:5173', 'http://[::1]:8080']);
  });

  it.each(['*', 'app.example.com', 'https://app.example.com/', 'https://app.example.com/path', 'ftp://files.example.com', 'https://App.example.com', 'https://app.example.com:443', 'https://user@app.example.com', 'https://app.example.com?x=1'])(
    'stops start-up with one line naming the variable for %s',
    (origin) => {
      const attempt = () => loadConfig({ ...REQUIRED, CORS_ALLOWED_ORIGINS: `https://ok.example.com,${origin}` });
      expect(attempt).toThrow(/^Configuration error: CORS_ALLOWED_ORIGINS each origin must be scheme:\/\/host\[:port\][^\n]*$/);
    },
  );
});

describe('without CORS_ALLOWED_ORIGINS', () => {
  let system: TestSystem;
  beforeAll(async () => {
    system = await startTestSystem();
  });
  afterAll(() => system.stop());

  it('sends no CORS headers, whatever the origin', async () => {
    const response = await fetch(`${system.receiverUrl}/api/leads`, { headers: { origin: 'https://app.example.com', authorization: `Bearer ${API_TOKEN}` } });
    expect(response.status).toBe(200);
    for (const header of ['access-control-allow-origin', 'access-control-expose-headers', 'access-control-allow-credentials']) {
      expect(response.headers.get(header)).toBeNull();
    }
    const preflight = await fetch(`${system.receiverUrl}/api/leads`, {
      method: 'OPTIONS',
      headers: { origin: 'https://app.example.com', 'access-control-request-method': 'GET' },
    });
    expect(preflight.headers.get('access-control-allow-origin')).toBeNull();
  });
});
