/**
 * The fault suite: real processes (a file-backed Temporal dev server of its own, the worker and the receiver as
 * child processes, PostgreSQL behind a TCP proxy) take a load of unique signed deliveries, cancels, reschedules and
 * duplicates, while the test
 *
 *   - SIGKILLs the worker (its whole process group) while activities run, twice, and starts a new one each time,
 *   - restarts the Temporal dev server (SIGTERM, then again on the same port and state file),
 *   - cuts PostgreSQL for 15 s (every connection through the proxy dropped, new ones refused), while Calendly also
 *     delivers to two OAuth connections' URLs: the one whose signing key the receiver read before keeps being
 *     accepted, the other (and, after the receiver's restart, both) get 503, never 500, and Calendly's retries get
 *     them stored once the database is back,
 *   - restarts the receiver (SIGTERM, then a new one on the same port),
 *   - sends a 20x duplicate storm of already accepted deliveries, all at once,
 *
 * while an outbound endpoint of the organization (a local server) receives its `meeting.*` and `lead.*` events.
 *
 * The load client behaves like Calendly: each attempt signed anew, anything but a 2xx retried with back-off (bounded).
 * Reminders are 45 s and 90 s ahead (REMINDER_OFFSETS=90s,45s) for a few meetings booked first, so that they fall
 * due during the faults. Afterwards (bounded wait): every accepted delivery's booking stored once, every cancel and
 * reschedule applied, no duplicate row or outbox event, each due reminder sent exactly once, every event received by
 * the outbound endpoint (at least once, each time with its delivery's Idempotency-Key), no process left.
 * The figures are printed.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pool } from 'pg';
import { Client as TemporalClient, Connection } from '@temporalio/client';
import { temporal as proto } from '@temporalio/proto';
import { startFakeCalendly, type FakeCalendly } from '../../fake-calendly';
import { startTemporalDevServer, type DevServer } from '../../scripts/dev/temporal-dev-server';
import type { WebhookEventName } from '../../src/calendly/schemas';
import { signatureFor } from '../../src/calendly/signature';
import { dropDatabase, migrateDatabase } from '../../src/database/migrate';
import { freePorts } from '../../scripts/lib/free-ports';
import { TEST_POSTGRES_URL, workflowBundlePath } from '../support/harness';
import { describeProcess, spawnGroup, waitUntilGone, type GroupProcess } from '../support/process-group';
import { connectionWorkflowIds } from '../../src/workflow-ids';
import { connectThroughCalendly } from '../support/oauth-flow';
import { API_TOKEN, CALENDLY_TOKEN, OAUTH_APP, oauthEnvironment, SIGNING_KEY } from '../support/system';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy';
import { postOnce, sendUntilAccepted, type SendResult } from '../support/webhook-sender';
import { startOutboundEndpoint, type OutboundEndpointServer } from '../support/outbound-endpoint';

jest.setTimeout(330_000);

const ROOT = join(__dirname, '..', '..');
const TSX = join(ROOT, 'node_modules', '.bin', 'tsx');
const RUN = randomBytes(3).toString('hex');
const LOAD_SCENARIOS = 72;
/** Bookings arrive in bursts, so that faults meet activities that are running. */
const BURST_SIZE = 6;
const BURST_EVERY_MS = 3_000;
const REMINDER_MEETINGS = 10;
const OFFSETS_SECONDS = [90, 45];
/** The reminder meetings start this long after they are planned, this far apart: their reminders fire from 20 s on. */
const REMINDER_MEETINGS_START_MS = 110_000;
const REMINDER_MEETINGS_APART_MS = 2_500;
const DATABASE_OUTAGE_MS = 15_000;
const STORM_DELIVERIES = 10;
const STORM_COPIES = 20;
/** Two organizations of ours, each connected to a Calendly organization of its own through OAuth (the fake's). */
const TENANTS = (['acme', 'globex'] as const).map((name) => ({
  name,
  organization: `https://app.example.com/organizations/${name}-${RUN}`,
  token: `${name}-fault-suite-token-${RUN}-0123456789`,
}));
/** Short, so that the key read before the outage is due for a re-read (which fails) when Calendly delivers during it. */
const SIGNING_KEY_CACHE_SECONDS = 3;
const OUTBOUND_EVENT_TYPES = ['meeting.*', 'lead.*'];

const seconds = (ms: number) => Math.round(ms / 100) / 10;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// ---- what runs ----
let stateDir: string;
let databaseUrl: string;
let db: Pool;
let fake: FakeCalendly;
let proxy: TcpProxy;
let temporalPort: number;
let temporal: DevServer;
let receiverPort: number;
let receiver: GroupProcess;
let worker: GroupProcess;
let outbound: OutboundEndpointServer;
const groups: GroupProcess[] = [];
const temporalPids: number[] = [];

const startTemporal = async () => {
  temporal = await startTemporalDevServer({
    ip: '127.0.0.1',
    port: temporalPort,
    namespace: 'default',
    dbFilename: join(stateDir, 'temporal.db'),
    output: 'ignore',
  });
  temporalPids.push(temporal.process.pid!);
};

function childEnvironment(): NodeJS.ProcessEnv {
  const proxied = new URL(databaseUrl);
  proxied.port = String(proxy.port);
  return {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    NODE_ENV: 'production',
    HOST: '127.0.0.1',
    PORT: String(receiverPort),
    API_URL: `http://127.0.0.1:${receiverPort}`,
    CALENDLY_WEBHOOK_SIGNING_KEY: SIGNING_KEY,
    CALENDLY_SIGNATURE_TOLERANCE_SECONDS: '180',
    CALENDLY_API_TOKEN: CALENDLY_TOKEN,
    CALENDLY_API_BASE_URL: fake.url,
    DATABASE_URL: proxied.toString(),
    TEMPORAL_ADDRESS: `127.0.0.1:${temporalPort}`,
    TEMPORAL_NAMESPACE: 'default',
    TEMPORAL_TASK_QUEUE: `fault-suite-${RUN}`,
    // Prebuilt, as a deployment's worker (npm run build): a killed worker is back in seconds, not after bundling.
    WORKFLOW_BUNDLE_PATH: workflowBundlePath(),
    TEMPORAL_WEB_UI_URL: '',
    API_TOKENS: [API_TOKEN, ...TENANTS.map(({ token, organization }) => `${token}:${organization}`)].join(','),
    ...oauthEnvironment(fake),
    CONNECTION_SIGNING_KEY_CACHE_SECONDS: String(SIGNING_KEY_CACHE_SECONDS),
    REMINDER_OFFSETS: OFFSETS_SECONDS.map((offset) => `${offset}s`).join(','),
    // Blank = unset; present, so that a .env in the working tree cannot fill them in (dotenv never overrides).
    REMINDER_WEBHOOK_URL: '',
    REMINDER_WEBHOOK_SECRET: '',
    FAKE_CALENDLY_PORT: '',
    WEBSOCKET_PING_INTERVAL_SECONDS: '',
    WEBSOCKET_MAX_BUFFERED_BYTES: '',
    RECONCILE_LOOKBACK_HOURS: '',
    RECONCILE_LOOKAHEAD_DAYS: '',
    // The schedules must not run during the suite: the reconcile job would store lost bookings and hide a loss.
    RECONCILE_INTERVAL_MINUTES: '1000000',
    // The outbound endpoint is a local server; its retries are quick, and no delivery runs out of attempts here.
    OUTBOUND_WEBHOOK_ALLOW_PRIVATE_NETWORKS: '127.0.0.1/32',
    OUTBOUND_WEBHOOK_INITIAL_RETRY_SECONDS: '1',
    OUTBOUND_WEBHOOK_MAX_RETRY_SECONDS: '2',
    OUTBOUND_WEBHOOK_MAX_ATTEMPTS: '1000',
    OUTBOUND_WEBHOOK_SWEEP_SECONDS: '5',
    SUBSCRIPTION_CHECK_INTERVAL_MINUTES: '1000000',
    LOG_LEVEL: 'info',
  };
}

async function startWorker(): Promise<number> {
  const started = Date.now();
  worker = spawnGroup(`worker#${groups.filter((group) => group.name.startsWith('worker')).length + 1}`, TSX, ['src/worker/main.ts'], {
    cwd: ROOT,
    env: childEnvironment(),
  });
  groups.push(worker);
  await worker.waitForLine(/"msg":"Worker running"/, 120_000);
  return Date.now() - started;
}

async function startReceiver(): Promise<number> {
  const started = Date.now();
  receiver = spawnGroup(`receiver#${groups.filter((group) => group.name.startsWith('receiver')).length + 1}`, TSX, ['src/receiver/main.ts'], {
    cwd: ROOT,
    env: childEnvironment(),
  });
  groups.push(receiver);
  await receiver.waitForLine(/"msg":"Receiver listening"/, 60_000);
  return Date.now() - started;
}

/** SIGTERM to the launched process, as a deploy would; what is still alive after `timeoutMs` is a finding. */
async function stopGracefully(process_: GroupProcess, timeoutMs: number): Promise<{ ms: number; leftover: string[] }> {
  const started = Date.now();
  process_.signal('SIGTERM');
  const left = await waitUntilGone([process_.pid], [], timeoutMs);
  const leftover = left.map(describeProcess);
  if (left.length) process_.killGroup();
  await waitUntilGone([process_.pid], [], 5_000);
  return { ms: Date.now() - started, leftover };
}

// ---- what the test observes ----
type DeliveryKind = 'reminder-booking' | 'booking' | 'cancel' | 'reschedule-cancel' | 'reschedule-booking' | 'resend';

interface Tracked {
  kind: DeliveryKind;
  event: WebhookEventName;
  inviteeUri: string;
  body: string;
  result: SendResult;
}

interface Expected {
  role: 'booking' | 'canceled' | 'rescheduled-old' | 'rescheduled-new' | 'reminder';
  email: string;
  status: 'active' | 'canceled' | 'rescheduled';
  oldInviteeUri?: string;
  newInviteeUri?: string;
  reminders: boolean;
}

const tracked: Tracked[] = [];
const expected = new Map<string, Expected>();
const emails = new Set<string>();
const faults: { fault: string; at: number; ms: number; detail: string }[] = [];
const findings: string[] = [];
let loadStart = 0;
let loadDeadline = Infinity;

const webhookUrl = () => `http://127.0.0.1:${receiverPort}/calendly/webhook`;

async function deliver(kind: DeliveryKind, event: WebhookEventName, inviteeUri: string): Promise<Tracked> {
  const { body } = fake.webhookDelivery(event, inviteeUri, SIGNING_KEY);
  const result = await sendUntilAccepted(webhookUrl(), body, { signingKey: SIGNING_KEY, deadline: loadDeadline, maxAttempts: 60 });
  const entry = { kind, event, inviteeUri, body, result };
  tracked.push(entry);
  return entry;
}

async function resend(original: Tracked): Promise<void> {
  const result = await sendUntilAccepted(webhookUrl(), original.body, { signingKey: SIGNING_KEY, deadline: loadDeadline, maxAttempts: 60 });
  tracked.push({ ...original, kind: 'resend', result });
}

/** One booking of the load, and what happens to it next: nothing, a cancel, or a reschedule; some are resent. */
async function scenario(index: number): Promise<void> {
  // Every ninth booking is by an earlier invitee again, with the email in other letter case: still one lead.
  const email = index % 9 === 8 ? `Fault-${index - 4}-${RUN}@Example.COM` : `fault-${index}-${RUN}@example.com`;
  emails.add(email.toLowerCase());
  const { invitee } = await fake.bookMeeting(
    { email, name: `Fault Load ${index}`, startTime: new Date(Date.now() + 2 * 86_400_000 + index * 3_600_000).toISOString() },
    { deliver: false },
  );
  expected.set(invitee.uri, { role: 'booking', email: email.toLowerCase(), status: 'active', reminders: false });
  const booking = await deliver('booking', 'invitee.created', invitee.uri);
  if (!booking.result.accepted) return;
  if (index % 5 === 1) await resend(booking);

  if (index % 7 === 3) {
    await fake.cancelInvitee(invitee.uri, { reason: 'fault suite' }, { deliver: false });
    Object.assign(expected.get(invitee.uri)!, { role: 'canceled', status: 'canceled' });
    await deliver('cancel', 'invitee.canceled', invitee.uri);
  } else if (index % 7 === 5) {
    const { oldInvitee, newInvitee } = await fake.rescheduleInvitee(
      invitee.uri,
      { startTime: new Date(Date.now() + 3 * 86_400_000 + index * 3_600_000).toISOString() },
      { deliver: false },
    );
    Object.assign(expected.get(oldInvitee.uri)!, { role: 'rescheduled-old', status: 'rescheduled', newInviteeUri: newInvitee.uri });
    expected.set(newInvitee.uri, { role: 'rescheduled-new', email: email.toLowerCase(), status: 'active', oldInviteeUri: oldInvitee.uri, reminders: false });
    // Calendly sends both at about the same time, in no documented order.
    await Promise.all([deliver('reschedule-cancel', 'invitee.canceled', oldInvitee.uri), deliver('reschedule-booking', 'invitee.created', newInvitee.uri)]);
  }
}

const count = async (sql: string, params: unknown[] = []) => Number((await db.query<{ n: string }>(sql, params)).rows[0].n);

let temporalConnection: Connection | undefined;

/** Activities a worker has started and not finished, in the delivery workflows that run now. */
async function startedActivities(): Promise<{ workflows: number; activities: string[] }> {
  temporalConnection ??= await Connection.connect({ address: `127.0.0.1:${temporalPort}` });
  const client = new TemporalClient({ connection: temporalConnection, namespace: 'default' });
  const running = { workflows: 0, activities: [] as string[] };
  for await (const execution of client.workflow.list({ query: `WorkflowType = 'processInviteeDelivery' AND ExecutionStatus = 'Running'`, pageSize: 50 })) {
    if (++running.workflows > 50) break;
    const { raw } = await client.workflow.getHandle(execution.workflowId, execution.runId).describe();
    for (const activity of raw.pendingActivities ?? []) {
      if (activity.state === proto.api.enums.v1.PendingActivityState.PENDING_ACTIVITY_STATE_STARTED) running.activities.push(activity.activityType?.name ?? '?');
    }
  }
  return running;
}

/** Delivery workflows that have not completed yet. */
async function runningDeliveryWorkflows(): Promise<number> {
  temporalConnection ??= await Connection.connect({ address: `127.0.0.1:${temporalPort}` });
  const client = new TemporalClient({ connection: temporalConnection, namespace: 'default' });
  const { count: running } = await client.workflow.count(`WorkflowType = 'processInviteeDelivery' AND ExecutionStatus = 'Running'`);
  return running;
}

async function killWorker(when: string): Promise<void> {
  // Wait (bounded) for the moment a worker runs activities, then kill it there.
  let running = await startedActivities();
  for (const until = Date.now() + 5_000; !running.activities.length && Date.now() < until; ) {
    await sleep(50);
    running = await startedActivities();
  }
  const at = Date.now();
  const killed = worker;
  const pids = killed.alive();
  killed.killGroup();
  await killed.exited;
  const left = await waitUntilGone([killed.pid], [], 5_000);
  if (left.length) findings.push(`SIGKILLed worker group ${killed.pid} left ${left.map(describeProcess).join('; ')}`);
  const startMs = await startWorker();
  faults.push({
    fault: 'worker SIGKILL',
    at: at - loadStart,
    ms: Date.now() - at,
    detail: `${when}: ${pids.length} processes killed while ${running.workflows} delivery workflows ran, with ${running.activities.length} activities started (${[...new Set(running.activities)].join(', ')}); new worker running after ${seconds(startMs)} s`,
  });
}

async function restartTemporal(): Promise<void> {
  const at = Date.now();
  await temporal.stop();
  await sleep(2_000);
  await startTemporal();
  faults.push({ fault: 'Temporal dev server restart', at: at - loadStart, ms: Date.now() - at, detail: 'SIGTERM, 2 s down, same port and state file' });
}

async function restartReceiver(): Promise<void> {
  const at = Date.now();
  const stopped = await stopGracefully(receiver, 15_000);
  if (stopped.leftover.length) {
    // What it logged since it was told to stop (messages and error codes only: no personal data).
    const told = receiver.output().findIndex((line) => line.includes('"msg":"Receiver stopping"'));
    const since = receiver
      .output()
      .slice(told)
      .map((line) => line.match(/"msg":"([^"]*)"/)?.[1] ?? line.slice(0, 80))
      .join(' | ');
    findings.push(`receiver still alive ${seconds(stopped.ms)} s after SIGTERM: ${stopped.leftover.join('; ')}; it logged: ${since}`);
  }
  // A stop held up past the receiver's deadline (it exits then, saying what it waited for): shown, not a failure.
  const overran = receiver.output().find((line) => line.includes('"msg":"Receiver did not stop in time'))?.match(/"waitingFor":"([^"]*)"/)?.[1];
  const startMs = await startReceiver();
  faults.push({
    fault: 'receiver restart',
    at: at - loadStart,
    ms: Date.now() - at,
    detail: `SIGTERM (gone after ${seconds(stopped.ms)} s${stopped.leftover.length ? ', had to be killed' : ''}${overran ? `, at its stop deadline: ${overran}` : ''}), new receiver listening after ${seconds(startMs)} s`,
  });
}

// ---- OAuth connections' URLs while PostgreSQL is down ----
interface ConnectedTenant {
  name: string;
  organization: string;
  token: string;
  id: string;
  calendlyOrganization: string;
}

interface ConnectionBooking {
  tenant: ConnectedTenant;
  /** when in the run it was booked */
  when: string;
  inviteeUri: string;
  /** the receiver's answer to Calendly's first attempt, and the one promised then */
  first: number | 'network-error' | undefined;
  want: number;
  /** for a 503: the Retry-After of the same delivery sent again at once */
  retryAfter?: string | null;
  /** when a 202 was promised and the first attempt got a 503: the answers to Calendly's next attempts during the outage */
  retries?: string[];
}

const connected: ConnectedTenant[] = [];
const connectionBookings: ConnectionBooking[] = [];

/** Each tenant connects a Calendly organization of its own, as its admin would; resolves once each is set up. */
async function connectTenants(): Promise<void> {
  temporalConnection ??= await Connection.connect({ address: `127.0.0.1:${temporalPort}` });
  const client = new TemporalClient({ connection: temporalConnection, namespace: 'default' });
  for (const tenant of TENANTS) {
    const { organizationUri, owner } = fake.createOrganization({ owner: { name: tenant.name, email: `${tenant.name}-${RUN}@calendly-${tenant.name}.test` } });
    const callback = await connectThroughCalendly({ receiverUrl: `http://127.0.0.1:${receiverPort}`, fake }, tenant.token, owner.uri);
    if (callback.status !== 200) throw new Error(`connecting ${tenant.name} answered ${callback.status}: ${JSON.stringify(callback.body)}`);
    const { id } = (callback.body as { connection: { id: string } }).connection;
    await client.workflow.getHandle(connectionWorkflowIds(id).setUp).result();
    connected.push({ ...tenant, id, calendlyOrganization: organizationUri });
  }
}

/** A booking in the tenant's Calendly, which delivers it to the connection's URL (and retries anything but a 2xx). */
let connectionBookingsMade = 0;
async function connectionBooking(tenant: ConnectedTenant, when: string, want: number): Promise<void> {
  // Numbered before the first await: two run at once.
  const index = connectionBookingsMade++;
  const { invitee, deliveries } = await fake.bookMeeting({
    email: `connection-${index}-${RUN}@example.com`,
    name: `Connection ${tenant.name} ${when}`,
    startTime: new Date(Date.now() + 4 * 86_400_000 + index * 3_600_000).toISOString(),
    organization: tenant.calendlyOrganization,
  });
  const [first] = deliveries;
  const booking: ConnectionBooking = { tenant, when, inviteeUri: invitee.uri, first: first?.status, want };
  const again = async () => {
    const answer = await fetch(first.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'calendly-webhook-signature': first.signature ?? '' },
      body: first.body,
      signal: AbortSignal.timeout(10_000),
    });
    const { code } = (await answer.json()) as { code?: string };
    return { status: answer.status, code, retryAfter: answer.headers.get('retry-after') };
  };
  if (first && want === 503) {
    const answer = await again();
    booking.retryAfter = answer.status === 503 ? answer.retryAfter : `answered ${answer.status}`;
  }
  // A delivery about an invitee is acknowledged once a worker took it into its meeting's workflow: one still catching
  // up after Temporal's restart may make Calendly's first attempt wait past the receiver's 5 s (503
  // temporal_unavailable, retried). What is promised is that the database is not needed: an attempt during the
  // outage is taken.
  if (first && want === 202 && first.status !== 202) {
    booking.retries = [];
    for (let attempt = 0; attempt < 3 && !booking.retries.some((answer) => answer.startsWith('2')); attempt++) {
      await sleep(1_000);
      const answer = await again();
      booking.retries.push(`${answer.status}${answer.code ? ` ${answer.code}` : ''}`);
    }
  }
  connectionBookings.push(booking);
}

const storm = { requests: 0, statuses: {} as Record<string, number>, notDuplicate: 0 };
async function duplicateStorm(): Promise<void> {
  const at = Date.now();
  const accepted = tracked.filter((entry) => entry.kind !== 'resend' && entry.result.accepted);
  const chosen = Array.from({ length: STORM_DELIVERIES }, (_, index) => accepted[Math.floor((index * accepted.length) / STORM_DELIVERIES)]);
  const now = Math.floor(Date.now() / 1000);
  const answers = await Promise.all(
    chosen.flatMap((entry) =>
      Array.from({ length: STORM_COPIES }, () => postOnce(webhookUrl(), entry.body, signatureFor(entry.body, SIGNING_KEY, now), 20_000)),
    ),
  );
  for (const answer of answers) {
    storm.requests++;
    storm.statuses[String(answer.status)] = (storm.statuses[String(answer.status)] ?? 0) + 1;
    if (answer.status !== 200 || answer.body?.duplicate !== true) storm.notDuplicate++;
  }
  faults.push({
    fault: 'duplicate storm',
    at: at - loadStart,
    ms: Date.now() - at,
    detail: `${STORM_DELIVERIES} accepted deliveries x ${STORM_COPIES} at once: ${JSON.stringify(storm.statuses)}`,
  });
}

beforeAll(async () => {
  stateDir = mkdtempSync(join(tmpdir(), 'fault-suite-'));
  databaseUrl = `${TEST_POSTGRES_URL}/calendly_faults_${RUN}`;
  const log = console.log;
  console.log = () => undefined; // the migrator reports every step
  try {
    await migrateDatabase(databaseUrl);
  } finally {
    console.log = log;
  }
  db = new Pool({ connectionString: databaseUrl, max: 4 });
  // An idle connection ended by the server: a finding during the run; at teardown, the database dropped under a connection still closing.
  db.on('error', (error) => findings.push(`the suite's own database connection: ${error.message}`));
  fake = await startFakeCalendly({
    apiToken: CALENDLY_TOKEN,
    rateLimitPerMinute: 1_000_000,
    oauth: { clientId: OAUTH_APP.clientId, clientSecret: OAUTH_APP.clientSecret, redirectUris: [OAUTH_APP.redirectUri] },
  });
  proxy = await startTcpProxy('127.0.0.1', Number(new URL(databaseUrl).port || 5432));
  [temporalPort, receiverPort] = await freePorts(2);
  await startTemporal();
  await Promise.all([startWorker(), startReceiver()]);
  outbound = await startOutboundEndpoint();
  const subscribed = await fetch(`http://127.0.0.1:${receiverPort}/api/outbound-endpoints?organization=${encodeURIComponent(fake.organizationUri)}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${API_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ url: outbound.url, eventTypes: OUTBOUND_EVENT_TYPES }),
  });
  if (subscribed.status !== 201) throw new Error(`adding the outbound endpoint answered ${subscribed.status}`);
});

afterAll(async () => {
  // Whatever the test left (it stops everything itself when it gets that far).
  for (const group of groups) group.killGroup();
  await temporal?.stop();
  proxy?.restore();
  await Promise.all([fake?.close(), proxy?.close(), db?.end(), temporalConnection?.close(), outbound?.close()]);
  if (databaseUrl) await dropDatabase(databaseUrl);
  if (stateDir) rmSync(stateDir, { recursive: true, force: true });
});

it('stores every accepted booking once and sends each due reminder once through worker kills, a Temporal restart, a database outage, a receiver restart and a duplicate storm', async () => {
  const suiteStart = Date.now();

  // 1. Meetings whose reminders fall due during the faults; they are planned before the faults begin.
  const planned = Date.now();
  const reminderBookings = await Promise.all(
    Array.from({ length: REMINDER_MEETINGS }, async (_, index) => {
      const email = `reminder-${index}-${RUN}@example.com`;
      emails.add(email);
      const { invitee } = await fake.bookMeeting(
        { email, name: `Reminder ${index}`, startTime: new Date(planned + REMINDER_MEETINGS_START_MS + index * REMINDER_MEETINGS_APART_MS).toISOString() },
        { deliver: false },
      );
      expected.set(invitee.uri, { role: 'reminder', email, status: 'active', reminders: true });
      return deliver('reminder-booking', 'invitee.created', invitee.uri);
    }),
  );
  expect(reminderBookings.every((entry) => entry.result.accepted)).toBe(true);
  const reminderUris = reminderBookings.map((entry) => entry.inviteeUri);
  const scheduledReminders = `select count(*) as n from reminders r join meetings m on m.id = r.meeting_id where m.invitee_uri = any($1) and r.state = 'scheduled'`;
  for (let waited = 0; (await count(scheduledReminders, [reminderUris])) < REMINDER_MEETINGS * OFFSETS_SECONDS.length; waited += 250) {
    if (waited > 30_000) throw new Error('the reminder meetings were not planned within 30 s');
    await sleep(250);
  }

  // The two connections, and a first delivery to one of them: the receiver reads (and keeps) its signing key.
  await connectTenants();
  await connectionBooking(connected[0], 'before the outage', 202);

  // 2. The load, with the faults on a fixed timeline beside it.
  loadStart = Date.now();
  loadDeadline = loadStart + 200_000;
  const at = (ms: number) => sleep(Math.max(0, loadStart + ms - Date.now()));
  const load = Promise.all(
    Array.from({ length: LOAD_SCENARIOS }, async (_, index) => {
      await at(Math.floor(index / BURST_SIZE) * BURST_EVERY_MS + (index % BURST_SIZE) * 50);
      await scenario(index);
    }),
  );
  const injected = (async () => {
    await at(BURST_EVERY_MS + 100);
    await killWorker('mid-load, just after a burst');
    await at(13_000);
    await restartTemporal();
    await at(18_000);
    const cutAt = Date.now();
    proxy.cut();
    // Calendly delivers to both connections' URLs: the key read before serves, the one never read cannot be checked.
    await at(18_000 + SIGNING_KEY_CACHE_SECONDS * 1000 + 500);
    await Promise.all([connectionBooking(connected[0], 'during the outage', 202), connectionBooking(connected[1], 'during the outage', 503)]);
    await at(23_000);
    await restartReceiver();
    // The new receiver has read no key yet, and the database is still down.
    await connectionBooking(connected[0], 'during the outage, after the receiver restart', 503);
    await sleep(Math.max(0, cutAt + DATABASE_OUTAGE_MS - Date.now()));
    proxy.restore();
    faults.push({ fault: 'PostgreSQL cut (TCP proxy)', at: cutAt - loadStart, ms: Date.now() - cutAt, detail: 'every connection dropped, new ones refused' });
    await sleep(1_000);
    await killWorker('while the activities held up by the outage ran again');
    await at(40_000);
    await duplicateStorm();
  })();
  await Promise.all([load, injected]);
  const loadMs = Date.now() - loadStart;

  // 3. Bounded wait until everything is processed and every reminder that is due has fired.
  const drainStart = Date.now();
  const lastFireAt = planned + REMINDER_MEETINGS_START_MS + (REMINDER_MEETINGS - 1) * REMINDER_MEETINGS_APART_MS - Math.min(...OFFSETS_SECONDS) * 1000;
  const drainDeadline = Math.max(Date.now() + 60_000, lastFireAt + 60_000);
  const settled = async () => {
    const { rows } = await db.query<{ invitee_uri: string; status: string }>(`select invitee_uri, status from meetings`);
    const status = new Map(rows.map((row) => [row.invitee_uri, row.status]));
    const meetingsDone = [...expected].every(([uri, want]) => status.get(uri) === want.status);
    const processing = await count(`select count(*) as n from webhook_deliveries where outcome = 'processing'`);
    const overdue = await count(`select count(*) as n from reminders where state = 'scheduled' and fire_at < now() - interval '2 seconds'`);
    const connectionsDone = connectionBookings.every((booking) => status.has(booking.inviteeUri));
    const outboundPending = await count(`select count(*) as n from outbound_deliveries where state = 'pending'`);
    return (
      meetingsDone &&
      connectionsDone &&
      processing === 0 &&
      overdue === 0 &&
      outboundPending === 0 &&
      (await runningDeliveryWorkflows()) === 0 &&
      Date.now() > lastFireAt + 5_000
    );
  };
  while (!(await settled()) && Date.now() < drainDeadline) await sleep(500);
  const drainMs = Date.now() - drainStart;

  // 4. What is stored.
  const meetings = (
    await db.query<{ id: string; invitee_uri: string; status: string; old_invitee_uri: string | null; new_invitee_uri: string | null; organization: string | null }>(
      `select id, invitee_uri, status, old_invitee_uri, new_invitee_uri, organization from meetings`,
    )
  ).rows;
  const meetingsByUri = new Map<string, typeof meetings>();
  for (const row of meetings) meetingsByUri.set(row.invitee_uri, [...(meetingsByUri.get(row.invitee_uri) ?? []), row]);
  const leads = (await db.query<{ email_key: string }>(`select email_key from leads`)).rows;
  const duplicateQueries = {
    'meetings per invitee_uri': `select invitee_uri as k from meetings group by 1 having count(*) > 1`,
    'leads per email_key': `select email_key as k from leads group by 1 having count(*) > 1`,
    'reminders per meeting and offset': `select meeting_id || ':' || offset_seconds as k from reminders group by 1 having count(*) > 1`,
    'meeting.created events per meeting': `select payload->'meeting'->>'id' as k from outbox_events where type = 'meeting.created' group by 1 having count(*) > 1`,
    'meeting.canceled events per meeting': `select payload->'meeting'->>'id' as k from outbox_events where type = 'meeting.canceled' group by 1 having count(*) > 1`,
    'meeting.rescheduled events per meeting': `select payload->'meeting'->>'id' as k from outbox_events where type = 'meeting.rescheduled' group by 1 having count(*) > 1`,
    'lead.created events per lead': `select payload->'lead'->>'id' as k from outbox_events where type = 'lead.created' group by 1 having count(*) > 1`,
    'reminder.sent events per reminder': `select payload->'reminder'->>'id' as k from outbox_events where type = 'reminder.sent' group by 1 having count(*) > 1`,
  };
  const duplicates: Record<string, string[]> = {};
  for (const [what, sql] of Object.entries(duplicateQueries)) {
    const keys = (await db.query<{ k: string }>(sql)).rows.map((row) => row.k);
    if (keys.length) duplicates[what] = keys;
  }
  // Which meetings the duplicated meeting.created events are about (for the report).
  const roleOfMeeting = (id: string) => {
    const uri = meetings.find((row) => row.id === id)?.invitee_uri;
    return uri ? (expected.get(uri)?.role ?? 'unexpected') : 'no meeting';
  };
  // When the events of a duplicated meeting.created were written (seconds after the load began), for the report.
  const duplicatedCreatedTimes = (
    await db.query<{ k: string; at: number[] }>(
      `select payload->'meeting'->>'id' as k, array_agg(round(extract(epoch from created_at)::numeric * 1000 - $2::numeric) / 1000 order by id) as at
         from outbox_events where type = 'meeting.created' and payload->'meeting'->>'id' = any($1) group by 1`,
      [duplicates['meeting.created events per meeting'] ?? [], loadStart],
    )
  ).rows.map((row) => `${roleOfMeeting(row.k)} ${row.k}: L+${row.at.map(Number).join(' s, L+')} s`);
  const duplicatedCreatedRoles = (duplicates['meeting.created events per meeting'] ?? []).reduce<Record<string, number>>(
    (all, id) => ({ ...all, [roleOfMeeting(id)]: (all[roleOfMeeting(id)] ?? 0) + 1 }),
    {},
  );
  const reminders = (
    await db.query<{ id: string; invitee_uri: string; offset_seconds: number; state: string; fire_at: Date; start_time: Date; events: string }>(
      `select r.id, m.invitee_uri, r.offset_seconds, r.state, r.fire_at, m.start_time,
              (select count(*) from outbox_events o where o.type = 'reminder.sent' and o.payload->'reminder'->>'id' = r.id::text) as events
         from reminders r join meetings m on m.id = r.meeting_id`,
    )
  ).rows;
  const stillRunning = await runningDeliveryWorkflows();
  // The outbound endpoint: every event of its organization and types, received; each request with its delivery's key.
  const outboundStates = (await db.query<{ state: string; n: string }>(`select state, count(*) as n from outbound_deliveries group by 1`)).rows;
  const outboundExpected = (
    await db.query<{ id: string; delivery_id: string }>(
      `select e.id::text as id, d.id::text as delivery_id from outbox_events e left join outbound_deliveries d on d.outbox_event_id = e.id
        where e.organization = $1 and split_part(e.type, '.', 1) = any($2)`,
      [fake.organizationUri, OUTBOUND_EVENT_TYPES.map((type) => type.split('.')[0])],
    )
  ).rows;
  const outboundReceived = new Map<string, Set<string>>();
  for (const request of outbound.accepted()) outboundReceived.set(String(request.body.id), new Set([...(outboundReceived.get(String(request.body.id)) ?? []), request.idempotencyKey]));
  const outboundMissing = outboundExpected.filter((event) => !outboundReceived.get(event.id)?.has(event.delivery_id ?? '')).map((event) => `event ${event.id}`);
  const deliveryOutcomes = (await db.query<{ outcome: string; n: string }>(`select outcome, count(*) as n from webhook_deliveries group by 1`)).rows;

  // 5. Everything stops; nothing may be left.
  const stopStart = Date.now();
  const receiverStop = await stopGracefully(receiver, 15_000);
  const workerStop = await stopGracefully(worker, 30_000);
  await temporal.stop();
  const leftover = (await waitUntilGone(groups.map((group) => group.pid), temporalPids, 5_000)).map(describeProcess);
  for (const group of groups) group.killGroup();
  const stopMs = Date.now() - stopStart;

  // ---- figures ----
  const acceptedEntries = tracked.filter((entry) => entry.result.accepted);
  const unique = tracked.filter((entry) => entry.kind !== 'resend');
  const statuses: Record<string, number> = {};
  for (const entry of tracked) for (const attempt of entry.result.attempts) statuses[String(attempt.status)] = (statuses[String(attempt.status)] ?? 0) + 1;
  const lost = acceptedEntries.filter((entry) => (meetingsByUri.get(entry.inviteeUri)?.length ?? 0) === 0).map((entry) => `${entry.kind} ${entry.inviteeUri}`);
  const storedTwice = [...meetingsByUri].filter(([, rows]) => rows.length > 1).map(([uri]) => uri);
  const wrongStatus = [...expected]
    .filter(([uri, want]) => {
      const row = meetingsByUri.get(uri)?.[0];
      return (
        !row ||
        row.status !== want.status ||
        (want.newInviteeUri !== undefined && row.new_invitee_uri !== want.newInviteeUri) ||
        (want.oldInviteeUri !== undefined && row.old_invitee_uri !== want.oldInviteeUri)
      );
    })
    .map(([uri, want]) => `${uri}: want ${want.status}, got ${meetingsByUri.get(uri)?.[0]?.status ?? 'nothing'}`);
  const leadCounts = new Map<string, number>();
  for (const lead of leads) leadCounts.set(lead.email_key, (leadCounts.get(lead.email_key) ?? 0) + 1);
  const leadsNotOnce = [...emails].filter((email) => leadCounts.get(email) !== 1).map((email) => `${email}: ${leadCounts.get(email) ?? 0}`);
  const reminderRows = reminders.filter((row) => reminderUris.includes(row.invitee_uri));
  const dueNotSentOnce = reminderRows
    .filter((row) => row.state !== 'sent' || Number(row.events) !== 1)
    .map((row) => `${row.invitee_uri} -${row.offset_seconds}s (fire ${row.fire_at.toISOString()}): ${row.state}, ${row.events} reminder.sent events`);
  const sentNotOnce = reminders.filter((row) => (row.state === 'sent') !== (Number(row.events) === 1) || Number(row.events) > 1);
  const endedWithPendingReminders = reminders.filter(
    (row) => row.state === 'scheduled' && ['canceled', 'rescheduled'].includes(meetingsByUri.get(row.invitee_uri)?.[0]?.status ?? ''),
  );
  const takenOnRetry = (booking: ConnectionBooking) =>
    booking.first === 503 && booking.retries?.every((answer) => answer.startsWith('2') || answer === '503 temporal_unavailable') && booking.retries.some((answer) => answer.startsWith('2'));
  const connectionAnswers = connectionBookings
    .filter((booking) => (booking.first !== booking.want && !(booking.want === 202 && takenOnRetry(booking))) || (booking.want === 503 && !/^\d+$/.test(booking.retryAfter ?? '')))
    .map((booking) => `${booking.tenant.name} ${booking.when}: ${booking.first} (Retry-After ${booking.retryAfter}; then ${booking.retries?.join(', ') ?? '-'}), want ${booking.want}`);
  const connectionBookingsNotStored = connectionBookings
    .filter((booking) => {
      const rows = meetingsByUri.get(booking.inviteeUri) ?? [];
      return rows.length !== 1 || rows[0].organization !== booking.tenant.organization;
    })
    .map((booking) => `${booking.tenant.name} ${booking.when}: ${(meetingsByUri.get(booking.inviteeUri) ?? []).map((row) => row.organization).join(', ') || 'not stored'}`);
  const fiveHundreds = Object.entries(statuses).filter(([status]) => Number(status) >= 500 && status !== '503');
  const refusedValid = Object.entries(statuses).filter(([status]) => Number(status) >= 400 && Number(status) < 500);
  const unprocessedAnswers = acceptedEntries.filter((entry) => entry.result.answer?.body?.unprocessed !== undefined);

  const figures = {
    run: RUN,
    durations_s: {
      total: seconds(Date.now() - suiteStart),
      load: seconds(loadMs),
      drain: seconds(drainMs),
      stop: seconds(stopMs),
      receiverStop: seconds(receiverStop.ms),
      workerStop: seconds(workerStop.ms),
    },
    deliveries: {
      unique: unique.length,
      resentDuplicates: tracked.length - unique.length,
      requests: tracked.reduce((sum, entry) => sum + entry.result.attempts.length, 0) + storm.requests,
      accepted: acceptedEntries.length,
      acceptedFirstTry: acceptedEntries.filter((entry) => entry.result.attempts.length === 1).length,
      retried: tracked.filter((entry) => entry.result.attempts.length > 1).length,
      notAccepted: tracked.length - acceptedEntries.length,
      maxAttempts: Math.max(...tracked.map((entry) => entry.result.attempts.length)),
      answers: statuses,
      byKind: Object.fromEntries(
        (['reminder-booking', 'booking', 'cancel', 'reschedule-cancel', 'reschedule-booking', 'resend'] as const).map((kind) => [
          kind,
          tracked.filter((entry) => entry.kind === kind).length,
        ]),
      ),
    },
    storm,
    connectionUrls: connectionBookings.map((booking) => ({
      tenant: booking.tenant.name,
      when: booking.when,
      firstAnswer: booking.first,
      retryAfter: booking.retryAfter,
      retries: booking.retries,
    })),
    faults: faults.map(({ fault, at, ms, detail }) => ({ fault, at: `L+${seconds(at)} s`, took: `${seconds(ms)} s`, detail })),
    stored: {
      meetings: meetings.length,
      expectedMeetings: expected.size,
      leads: leads.length,
      expectedLeads: emails.size,
      lost: lost.length,
      duplicated: storedTwice.length + Object.values(duplicates).reduce((sum, keys) => sum + keys.length, 0),
      duplicatedByKind: Object.fromEntries(Object.entries(duplicates).map(([what, keys]) => [what, keys.length])),
      duplicatedMeetingCreatedByRole: duplicatedCreatedRoles,
      duplicatedMeetingCreatedAt: duplicatedCreatedTimes,
      meetingsByRole: [...expected.values()].reduce<Record<string, number>>((all, want) => ({ ...all, [want.role]: (all[want.role] ?? 0) + 1 }), {}),
      wrongStatus: wrongStatus.length,
      runningDeliveryWorkflows: stillRunning,
      deliveryOutcomes: Object.fromEntries(deliveryOutcomes.map((row) => [row.outcome, Number(row.n)])),
    },
    outbound: {
      events: outboundExpected.length,
      requests: outbound.received.length,
      accepted: outbound.accepted().length,
      receivedMoreThanOnce: outbound.accepted().length - outboundReceived.size,
      deliveries: Object.fromEntries(outboundStates.map((row) => [row.state, Number(row.n)])),
    },
    reminders: {
      due: reminderRows.length,
      sentOnce: reminderRows.length - dueNotSentOnce.length,
      states: reminders.reduce<Record<string, number>>((all, row) => ({ ...all, [row.state]: (all[row.state] ?? 0) + 1 }), {}),
      reminderSentEvents: reminders.reduce((sum, row) => sum + Number(row.events), 0),
    },
    processesLeft: leftover.length,
  };
  process.stdout.write(`\nFault suite figures:\n${JSON.stringify(figures, null, 2)}\n`);
  if (findings.length) process.stdout.write(`Findings during the run:\n${findings.join('\n')}\n`);

  // ---- assertions: every broken promise is listed at once, each by what it promises ----
  const failing = (checks: Record<string, unknown[]>) => Object.fromEntries(Object.entries(checks).filter(([, found]) => found.length > 0));
  expect(
    failing({
      'findings during the run (processes left by a fault)': findings,
      'valid deliveries answered 5xx other than 503': fiveHundreds,
      'valid deliveries refused with 4xx': refusedValid,
      "connection URLs not answered as promised while PostgreSQL was down (a key read before: 202, or taken at a retry during the outage; none read: 503 with Retry-After)":
        connectionAnswers,
      'connection bookings not stored once, in their organization, after Calendly retried': connectionBookingsNotStored,
      'valid deliveries kept as unprocessed': unprocessedAnswers.map((entry) => entry.inviteeUri),
      'deliveries never accepted within the retries': tracked
        .filter((entry) => !entry.result.accepted)
        .map((entry) => `${entry.kind} ${entry.inviteeUri}: ${entry.result.attempts.map((attempt) => attempt.status).join(',')}`),
      'redeliveries not answered 200 duplicate': tracked.filter((entry) => entry.kind === 'resend' && entry.result.answer?.status !== 200).map((entry) => entry.inviteeUri),
      'storm answers not 200 duplicate': storm.notDuplicate ? [storm.statuses] : [],
      'accepted bookings lost': lost,
      'bookings stored twice': storedTwice,
      'duplicate rows or outbox events': Object.entries(duplicates).map(([what, keys]) => `${keys.length} x ${what}`),
      'cancels or reschedules not applied': wrongStatus,
      'leads not stored exactly once': leadsNotOnce,
      'delivery log rows failed or still processing': deliveryOutcomes.filter((row) => ['failed', 'processing'].includes(row.outcome)),
      'delivery workflows still running': stillRunning ? [stillRunning] : [],
      'accepted deliveries without exactly one processed row': (() => {
        const processed = Number(deliveryOutcomes.find((row) => row.outcome === 'processed')?.n ?? 0);
        // Each connection booking once too, those answered 503 by Calendly's retry.
        const accepted = unique.filter((entry) => entry.result.accepted).length + connectionBookings.length;
        return processed === accepted ? [] : [`${accepted} accepted, ${processed} processed rows`];
      })(),
      'outbound events not received by the endpoint with their delivery key': outboundMissing,
      'outbound deliveries not delivered': outboundStates.filter((row) => row.state !== 'delivered').map((row) => `${row.n} ${row.state}`),
      'due reminders missing': reminderRows.length === REMINDER_MEETINGS * OFFSETS_SECONDS.length ? [] : [`${reminderRows.length} reminder rows`],
      'due reminders not sent exactly once': dueNotSentOnce,
      'reminders whose sent state and reminder.sent events disagree': sentNotOnce.map((row) => `${row.id}: ${row.state}, ${row.events} events`),
      'reminders still scheduled for ended meetings': endedWithPendingReminders.map((row) => row.id),
      'receiver processes left after SIGTERM': receiverStop.leftover,
      'worker processes left after SIGTERM': workerStop.leftover,
      'processes left after the suite': leftover,
    }),
  ).toEqual({});
});
