/**
 * The receiver's metrics are private (issue 18, item 4): their samples name every organization (organization
 * labels) and their volumes, so the public port answers 404 for /metrics, and Prometheus scrapes the receiver's own
 * listener, METRICS_PORT on METRICS_HOST (loopback unless set). The real receiver process (src/receiver/main.ts),
 * then an in-process system with two organizations connected through OAuth.
 */
import { randomUUID } from 'node:crypto';
import { freePort } from '../../scripts/lib/free-ports';
import { scrapeMetrics } from '../support/metrics';
import { connectAndSetUp } from '../support/oauth-flow';
import { startReceiverProcess, type ReceiverProcess } from '../support/receiver-process';
import { API_TOKEN, eventually, oauthEnvironment, startTestSystem, type TestSystem } from '../support/system';

jest.setTimeout(120_000);

describe('the receiver process', () => {
  let receiver: ReceiverProcess | undefined;
  afterAll(() => receiver?.stop());

  it('answers 404 for /metrics on its public port and serves them on METRICS_PORT, on loopback by default', async () => {
    const metricsPort = await freePort();
    // METRICS_HOST present and empty, so that a .env in the working tree cannot fill it in: the default applies.
    receiver = await startReceiverProcess({ METRICS_PORT: String(metricsPort), METRICS_HOST: '' });
    const listening = JSON.parse(await receiver.process.waitForLine(/"msg":"Receiver listening"/, 60_000)) as { metricsUrl: string };
    expect(listening.metricsUrl).toBe(`http://127.0.0.1:${metricsPort}/metrics`);

    const publicUrl = receiver.url;
    const refused = await fetch(`${publicUrl}/calendly/webhook`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(refused.status).toBe(401);

    const onPublicPort = await fetch(`${publicUrl}/metrics`);
    expect(onPublicPort.status).toBe(404);
    expect(await onPublicPort.json()).toMatchObject({ code: 'not_found' });
    const document = (await (await fetch(`${publicUrl}/openapi.json`)).json()) as { paths: Record<string, unknown> };
    expect(Object.keys(document.paths)).not.toContain('/metrics');

    const samples = await scrapeMetrics(`http://127.0.0.1:${metricsPort}`);
    expect(samples.get('calendly_webhook_refusals_total{reason="signature_missing"}')).toBe(1);
    expect([...samples.keys()].some((key) => key.startsWith('nodejs_eventloop_lag_seconds'))).toBe(true);

    receiver.process.signal('SIGTERM');
    expect(await receiver.process.exited).toEqual({ code: 0, signal: null });
    await expect(fetch(`http://127.0.0.1:${metricsPort}/metrics`)).rejects.toThrow();
  });
});

describe('organizations on the metrics', () => {
  const tenant = (name: string) => ({
    organization: `https://app.example.com/organizations/${name}-${randomUUID()}`,
    token: `${name}-api-token-${randomUUID().replaceAll('-', '')}`,
  });
  const ACME = tenant('acme');
  const GLOBEX = tenant('globex');
  let system: TestSystem;
  beforeAll(async () => {
    system = await startTestSystem({
      env: (fake) => ({ ...oauthEnvironment(fake), API_TOKENS: [ACME, GLOBEX].map(({ token, organization }) => `${token}:${organization}`).join(',') }),
    });
  });
  afterAll(() => system.stop());

  it('are named on the private listener only: neither an anonymous client nor an organization reads them on the public port', async () => {
    for (const [who, name] of [[ACME, 'Acme'], [GLOBEX, 'Globex']] as const) {
      const { organizationUri, owner } = system.fake.createOrganization({ owner: { name, email: `${randomUUID()}@calendly-${name.toLowerCase()}.test` } });
      await connectAndSetUp(system, who.token, owner.uri);
      const { deliveries } = await system.fake.bookMeeting({ email: `${randomUUID()}@metrics.test`, startTime: new Date(Date.now() + 86_400_000).toISOString(), organization: organizationUri });
      expect(deliveries[0]?.status).toBe(202);
    }
    const labelled = await eventually(async () => {
      const keys = [...(await scrapeMetrics(system.metricsUrl)).keys()];
      return [ACME, GLOBEX].every(({ organization }) => keys.some((key) => key.includes(`organization="${organization}"`))) ? keys : undefined;
    }, 10_000, 'both organizations on the metrics');
    expect(labelled.length).toBeGreaterThan(0);

    for (const token of [null, ACME.token, GLOBEX.token, API_TOKEN]) {
      const response = await fetch(`${system.receiverUrl}/metrics`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
      expect(response.status).toBe(404);
      const text = await response.text();
      for (const { organization } of [ACME, GLOBEX]) expect(text).not.toContain(organization);
    }
  });
});
