/**
 * Temporal over mutual TLS, as Temporal Cloud or a cluster with mTLS requires. The dev server has no TLS option, so
 * a node:tls server that requires a client certificate signed by a throwaway CA (made here with the openssl CLI)
 * forwards the bytes to its plain port. The real worker process and a client connect through it from
 * TEMPORAL_TLS_* alone and run a workflow; without the certificate they are refused.
 */
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, type Server } from 'node:tls';
import { Client, type Connection } from '@temporalio/client';
import { loadConfig, type Config } from '../../src/config';
import { connectTemporal, temporalConnectionOptions } from '../../src/temporal/client-connection';
import { connectWorker } from '../../src/temporal/worker-connection';
import { pruneExpiredRecords } from '../../workflows';
import { scheduleIdsFor } from '../../src/worker/schedules';
import { harness, workflowBundle } from '../support/harness';
import { spawnGroup, waitUntilGone, type GroupProcess } from '../support/process-group';

jest.setTimeout(180_000);

const ROOT = join(__dirname, '..', '..');
const TSX = join(ROOT, 'node_modules', '.bin', 'tsx');
/** The name in the server's certificate: not the address dialled, so TEMPORAL_TLS_SERVER_NAME is needed. */
const SERVER_NAME = 'temporal.test';
const REQUIRED = {
  API_URL: 'http://127.0.0.1:3000',
  CALENDLY_WEBHOOK_SIGNING_KEY: 'test-signing-key-0123456789',
  CALENDLY_API_TOKEN: 'calendly-token',
  API_TOKENS: 'test-api-token-0123456789abcdef',
};

interface Pki {
  dir: string;
  ca: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
  /** signed by another CA: a client the proxy must not trust */
  strangerCert: string;
  strangerKey: string;
}

function openssl(dir: string, args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
}

/** A CA, a server certificate for SERVER_NAME and client certificates, v3 with the extensions rustls insists on. */
function makePki(): Pki {
  const dir = mkdtempSync(join(tmpdir(), 'temporal-tls-'));
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  const makeCa = (name: string) =>
    openssl(dir, ['req', '-x509', ...ec, '-keyout', `${name}.key`, '-out', `${name}.pem`, '-days', '1', '-subj', `/CN=${name}`,
      '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
  const issue = (name: string, ca: string, extensions: string) => {
    writeFileSync(join(dir, `${name}.ext`), extensions);
    openssl(dir, ['req', ...ec, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`]);
    openssl(dir, ['x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.pem`, '-CAkey', `${ca}.key`, '-set_serial', String(Date.now()),
      '-days', '1', '-out', `${name}.pem`, '-extfile', `${name}.ext`]);
  };
  makeCa('ca');
  makeCa('stranger-ca');
  issue('server', 'ca', `basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=DNS:${SERVER_NAME}\n`);
  const clientExtensions = 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n';
  issue('client', 'ca', clientExtensions);
  issue('stranger', 'stranger-ca', clientExtensions);
  const path = (file: string) => join(dir, file);
  return {
    dir,
    ca: path('ca.pem'),
    serverCert: path('server.pem'),
    serverKey: path('server.key'),
    clientCert: path('client.pem'),
    clientKey: path('client.key'),
    strangerCert: path('stranger.pem'),
    strangerKey: path('stranger.key'),
  };
}

/** TLS in front of the dev server's plain gRPC port: only clients with a certificate from our CA get through. */
async function startMutualTlsProxy(pki: Pki, target: string): Promise<{ server: Server; address: string; handshakes: () => number; refusals: string[] }> {
  const [host, port] = target.split(':') as [string, string];
  let handshakes = 0;
  const refusals: string[] = [];
  const server = createServer(
    {
      cert: readFileSync(pki.serverCert),
      key: readFileSync(pki.serverKey),
      ca: readFileSync(pki.ca),
      requestCert: true,
      rejectUnauthorized: true,
      ALPNProtocols: ['h2'],
    },
    (client) => {
      handshakes++;
      const upstream = createConnection({ host, port: Number(port) });
      client.pipe(upstream).pipe(client);
      client.on('error', () => upstream.destroy());
      upstream.on('error', () => client.destroy());
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    },
  );
  server.on('tlsClientError', (error) => refusals.push(error.message));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('no address');
  return { server, address: `127.0.0.1:${address.port}`, handshakes: () => handshakes, refusals };
}

describe('the Temporal TLS settings', () => {
  let pki: Pki;
  beforeAll(() => {
    pki = makePki();
  });
  afterAll(() => rmSync(pki.dir, { recursive: true, force: true }));

  it('are off unless set: plain gRPC, as to the dev server', () => {
    const { temporal } = loadConfig(REQUIRED);
    expect(temporal.tls).toBeUndefined();
    expect(temporalConnectionOptions(temporal)).toMatchObject({ address: '127.0.0.1:7233', tls: undefined });
  });

  it('read the client certificate, its key, the CA and the server name into the connection options', () => {
    const { temporal } = loadConfig({
      ...REQUIRED,
      TEMPORAL_TLS_CERT_PATH: pki.clientCert,
      TEMPORAL_TLS_KEY_PATH: pki.clientKey,
      TEMPORAL_TLS_CA_PATH: pki.ca,
      TEMPORAL_TLS_SERVER_NAME: SERVER_NAME,
    });
    expect(temporalConnectionOptions(temporal).tls).toEqual({
      clientCertPair: { crt: readFileSync(pki.clientCert), key: readFileSync(pki.clientKey) },
      serverRootCACertificate: readFileSync(pki.ca),
      serverNameOverride: SERVER_NAME,
    });
  });

  it('map an API key to a bearer token over TLS with the system CAs, routed to the namespace', () => {
    const { temporal } = loadConfig({ ...REQUIRED, TEMPORAL_ADDRESS: 'eu-west-1.aws.api.temporal.io:7233', TEMPORAL_NAMESPACE: 'bookings.a1b2c', TEMPORAL_API_KEY: 'key-123' });
    expect(temporalConnectionOptions(temporal)).toMatchObject({
      address: 'eu-west-1.aws.api.temporal.io:7233',
      tls: {},
      apiKey: 'key-123',
      metadata: { 'temporal-namespace': 'bookings.a1b2c' },
    });
  });

  it.each([
    [{ TEMPORAL_TLS_CERT_PATH: 'client' }, /^Configuration error: TEMPORAL_TLS_KEY_PATH is required when TEMPORAL_TLS_CERT_PATH is set/],
    [{ TEMPORAL_TLS_KEY_PATH: 'clientKey' }, /^Configuration error: TEMPORAL_TLS_CERT_PATH is required when TEMPORAL_TLS_KEY_PATH is set/],
    [{ TEMPORAL_TLS_CA_PATH: 'missing' }, /^Configuration error: TEMPORAL_TLS_CA_PATH cannot be read \(ENOENT: .*\/missing\.pem\): give the path of a PEM CA certificate\./],
    [{ TEMPORAL_TLS_CERT_PATH: 'clientKey', TEMPORAL_TLS_KEY_PATH: 'clientKey' }, /^Configuration error: TEMPORAL_TLS_CERT_PATH \(.*\) does not hold a PEM certificate\./],
    [{ TEMPORAL_TLS_CERT_PATH: 'client', TEMPORAL_TLS_KEY_PATH: 'strangerKey' }, /^Configuration error: TEMPORAL_TLS_KEY_PATH is not the key of the certificate in TEMPORAL_TLS_CERT_PATH/],
    [{ TEMPORAL_TLS_SERVER_NAME: 'not a name' }, /^Configuration error: TEMPORAL_TLS_SERVER_NAME must be a host name/],
  ])('stop start-up on a mistake with one line: %j', (settings, message) => {
    const files: Record<string, string> = { client: pki.clientCert, clientKey: pki.clientKey, strangerKey: pki.strangerKey, missing: join(pki.dir, 'missing.pem') };
    const env = Object.fromEntries(Object.entries(settings).map(([name, file]) => [name, files[file] ?? file]));
    let error: Error | undefined;
    try {
      loadConfig({ ...REQUIRED, ...env });
    } catch (thrown) {
      error = thrown as Error;
    }
    expect(error?.message).toMatch(message);
    expect(error?.message).not.toContain('\n');
  });
});

describe('a Temporal server that requires client certificates', () => {
  const { temporalAddress, namespace, databaseUrl } = harness();
  const taskQueue = `tls-${randomUUID()}`;
  let pki: Pki;
  let proxy: Awaited<ReturnType<typeof startMutualTlsProxy>>;
  let worker: GroupProcess | undefined;
  let connection: Connection | undefined;
  /** What a deployment with TEMPORAL_TLS_* pointing at the proxy gets. */
  const tlsConfig = (extra: Record<string, string> = {}): Config =>
    loadConfig({
      ...REQUIRED,
      TEMPORAL_ADDRESS: proxy.address,
      TEMPORAL_NAMESPACE: namespace,
      TEMPORAL_TASK_QUEUE: taskQueue,
      TEMPORAL_TLS_CA_PATH: pki.ca,
      TEMPORAL_TLS_SERVER_NAME: SERVER_NAME,
      ...extra,
    });

  beforeAll(async () => {
    pki = makePki();
    proxy = await startMutualTlsProxy(pki, temporalAddress);
  });
  afterAll(async () => {
    if (worker) {
      worker.killGroup();
      await waitUntilGone([worker.pid], [], 10_000);
    }
    if (connection) {
      const client = new Client({ connection, namespace });
      for (const scheduleId of Object.values(scheduleIdsFor(taskQueue))) await client.schedule.getHandle(scheduleId).delete().catch(() => undefined);
      await connection.close();
    }
    await new Promise((resolve) => proxy.server.close(resolve));
    rmSync(pki.dir, { recursive: true, force: true });
  });

  it('lets the worker process and a client with the certificate through, and they run a workflow', async () => {
    const bundlePath = join(pki.dir, 'workflows.bundle.js');
    writeFileSync(bundlePath, workflowBundle().code);
    worker = spawnGroup('worker', TSX, ['src/worker/main.ts'], {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        HOST: '127.0.0.1',
        ...REQUIRED,
        DATABASE_URL: databaseUrl,
        TEMPORAL_ADDRESS: proxy.address,
        TEMPORAL_NAMESPACE: namespace,
        TEMPORAL_TASK_QUEUE: taskQueue,
        TEMPORAL_TLS_CERT_PATH: pki.clientCert,
        TEMPORAL_TLS_KEY_PATH: pki.clientKey,
        TEMPORAL_TLS_CA_PATH: pki.ca,
        TEMPORAL_TLS_SERVER_NAME: SERVER_NAME,
        WORKFLOW_BUNDLE_PATH: bundlePath,
        // Present, so that a .env in the working tree cannot fill them in (dotenv never overrides).
        REMINDER_WEBHOOK_URL: '',
        REMINDER_WEBHOOK_SECRET: '',
        FAKE_CALENDLY_PORT: '',
        WORKER_METRICS_PORT: '',
        TEMPORAL_METRICS_PORT: '',
        RECONCILE_INTERVAL_MINUTES: '1000000',
        SUBSCRIPTION_CHECK_INTERVAL_MINUTES: '1000000',
        LOG_LEVEL: 'info',
      },
    });
    await worker.waitForLine(/"msg":"Worker running"/, 150_000);
    expect(worker.output().join('\n')).not.toMatch(/Temporal not reachable/);

    connection = await connectTemporal(tlsConfig({ TEMPORAL_TLS_CERT_PATH: pki.clientCert, TEMPORAL_TLS_KEY_PATH: pki.clientKey }).temporal);
    const client = new Client({ connection, namespace });
    const result = await client.workflow.execute(pruneExpiredRecords, {
      taskQueue,
      workflowId: `tls-retention-${randomUUID()}`,
      // So long ago that nothing of the other tests' data is old enough to go.
      args: [{ deliveryLogRetentionDays: 100_000, outboxRetentionDays: 100_000 }],
    });
    expect(result).toEqual(expect.objectContaining({ outboxEvents: 0 }));
    // The worker's own schedules went through TLS too: they exist.
    for (const scheduleId of Object.values(scheduleIdsFor(taskQueue))) await expect(client.schedule.getHandle(scheduleId).describe()).resolves.toBeDefined();
  });

  it('refuses a client without a certificate, with one from another CA, or a plain (non-TLS) one, with an error that says so', async () => {
    const before = proxy.handshakes();
    const clearError = new RegExp(`^Cannot connect to Temporal at ${proxy.address} \\(.+\\): check TEMPORAL_ADDRESS, .*a client certificate it accepts \\(TEMPORAL_TLS_CERT_PATH, TEMPORAL_TLS_KEY_PATH\\)`);
    const stranger = tlsConfig({ TEMPORAL_TLS_CERT_PATH: pki.strangerCert, TEMPORAL_TLS_KEY_PATH: pki.strangerKey });
    // At the same time: a client gives up only after its connect timeout (10 s).
    await Promise.all([
      expect(connectTemporal(tlsConfig().temporal)).rejects.toThrow(clearError),
      expect(connectTemporal(stranger.temporal)).rejects.toThrow(clearError),
      expect(connectWorker(stranger.temporal)).rejects.toThrow(clearError),
      expect(connectTemporal({ ...tlsConfig().temporal, tls: undefined })).rejects.toThrow(/^Cannot connect to Temporal at .*TEMPORAL_TLS_CA_PATH/),
    ]);
    // Refused in the handshake, for the certificate: none of them reached Temporal.
    expect(proxy.handshakes()).toBe(before);
    expect(proxy.refusals.some((reason) => /peer did not return a certificate/i.test(reason))).toBe(true);
    expect(proxy.refusals.some((reason) => /unable to verify|unknown ca|certificate/i.test(reason))).toBe(true);
  });
});
