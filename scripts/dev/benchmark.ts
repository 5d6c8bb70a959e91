/**
 * npm run benchmark -- [--quick] [sizes...] [--out <file>] [--cpu-prof <dir>]
 * Throughput and latency of the whole system against the targets of the throughput issue, every figure measured in
 * the same run on the same machine: the system runs headless as separate processes on its own fresh database,
 * file-backed Temporal state and task queue, with the fake Calendly API in this process. Timing goals live here,
 * never in tests. Nothing it starts outlives it: children die with it (parent-death signal) and are stopped on
 * Ctrl-C, SIGTERM and errors.
 */
import { execFile } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { dirname, join, resolve as resolvePath } from 'node:path';
import { promisify } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import WebSocket from 'ws';
import { WEBSOCKET_PATH } from '../../src/broadcaster/protocol';
import { SIGNATURE_HEADER } from '../../src/calendly/signature';
import { dropDatabase, migrateDatabase } from '../../src/database/migrate';
import { CONNECTION_CALLBACK_PATH } from '../../src/receiver/connection-routes';
import { WEBHOOK_PATH } from '../../src/receiver/webhook-route';
import { connectionWorkflowIds, meetingWorkflowId, PERSONAL_TOKEN_CONNECTION_ID } from '../../src/workflow-ids';
import { startDeliveryWorkflow } from '../../src/deliveries/intake';
import { inviteeDelivery, workflowIdFor } from '../../src/deliveries/parse';
import { processInviteeDelivery } from '../../workflows';
import { startFakeCalendly, type FakeCalendly } from '../../fake-calendly';
import { runCli, UsageError } from '../lib/cli';
import { summariseCpuProfile, type ProfileSummary } from './benchmark/cpu-profile';
import { closeAgent, closedLoop, openLoop, percentile, post, type LoopResult } from './benchmark/load';
import { connectThroughOAuth, newTenant, OAUTH_APP } from './benchmark/organizations';
import { measureBillableActions, measureShapeActions, SAMPLE_EVENT_TYPES } from './benchmark/billable-sample';
import { ACTION_CATEGORIES } from './benchmark/billable-actions';
import { cpuSeconds, cpuSecondsOfCommand, machineBusySeconds, rssMegabytes, startNodeChild, type BenchmarkChild } from './benchmark/processes';
import { freePorts } from '../lib/free-ports';
import { startTemporalDevServer } from './temporal-dev-server';

const USAGE = `Usage: npm run benchmark -- [--quick] [options]

Starts its own system headless (Temporal dev server with file-backed state, a fresh PostgreSQL database, the worker
and the receiver from the production build, a bare Koa refusal baseline and the fake Calendly API), measures it,
prints a table with each target of the throughput issue and whether it is met, writes the figures as JSON, and
stops everything it started.

  --quick              a run of about 5 minutes: --requests 300 --burst 150 --loaded 75 --rate 10 --seconds 15
                       --backfill 300 --meetings 600 --probes 10 --fairness-sync 300 --fairness-baseline 10 (options
                       given as well override these)
  --requests <n>       starts for the raw start ceiling, and forged deliveries for each refusal figure (1000)
  --concurrency <n>    requests in flight for the ceiling, refusals and accepts (20)
  --burst <n>          unique deliveries sent at once to the running worker (accepts/s, ack latency) (1000); CPU per
                       booking of each process is measured from the burst's start until it is readable. As many
                       again then go through the same workflows on a queue of their own whose activities make only
                       their Temporal calls (Temporal only), in today's shape and in the one before
  --loaded <n>         unique deliveries sent right after, while the worker still processes the burst (500)
  --rate <n>           deliveries per second of the steady phase (20)
  --seconds <n>        length of the steady phase (60)
  --backfill <n>       invitees created in the fake Calendly API and fed by \`bookings:sync\` (10000)
  --meetings <n>       meeting workflows holding reminder timers while the probe reminders fire; the phases before
                       leave about burst + loaded + rate × seconds + backfill, and \`bookings:sync\` tops them up
                       to this (20000)
  --probes <n>         meetings booked so that their first reminder fires --probe-lead seconds later, half a second
                       apart; each reminder's lateness is its sent time minus its fire time (20)
  --probe-lead <s>     how far ahead of its first reminder a probe meeting is booked (40)
  --fairness-sync <n>  bookings organization A already has in Calendly when it connects through OAuth, fed by its
                       connection's first sync (2000)
  --fairness-rate <n>  live bookings/s of organization B, delivered by the fake Calendly API to B's connection and
                       timed to meeting.created on B's websocket: alone, then while A's first sync runs (5)
  --fairness-baseline <s>
                       length of B's run alone, with no sync running (20)
  --actions-sample <n> bookings made, at the end, with one outbound endpoint of their organization subscribed to
                       meeting.* and lead.*, whose workflows' histories give the Temporal Cloud billable actions
                       per booking (20)
  --drain-timeout <s>  how long to wait for bookings to become readable after each phase (900)
  --postgres <url>     PostgreSQL server to create the benchmark's database in (postgres://postgres@127.0.0.1:5432)
  --out <file>         where to write the JSON (.tools/benchmark/latest.json)
  --cpu-prof <dir>     also write CPU profiles of the worker and the receiver there (node --cpu-prof) and print
                       their hot spots
  --build <dir>        run this production build (what \`BUILD_OUT_DIR=<dir> npm run build\` made, inside this
                       checkout) instead of making one; it is left in place
  --help               show this help

Exit code: 0 measured (whether or not the targets are met), 1 failed, 2 wrong usage, 130 interrupted.`;

const ROOT = join(__dirname, '..', '..');
const SIGNING_KEY = 'benchmark-signing-key-0123456789abcdef';
const FORGED_KEY = 'benchmark-forged-key-0123456789abcdefgh';
const CALENDLY_TOKEN = 'benchmark-calendly-token-0123456789';
const API_TOKEN = 'benchmark-api-token-0123456789abcdef';
const DAY_MS = 86_400_000;

const QUICK = {
  requests: '300',
  burst: '150',
  loaded: '75',
  rate: '10',
  seconds: '15',
  backfill: '300',
  meetings: '600',
  probes: '10',
  'fairness-sync': '300',
  'fairness-baseline': '10',
};
const DEFAULTS = {
  requests: '1000',
  concurrency: '20',
  burst: '1000',
  loaded: '500',
  rate: '20',
  seconds: '60',
  backfill: '10000',
  meetings: '20000',
  probes: '20',
  'probe-lead': '40',
  'fairness-sync': '2000',
  'fairness-rate': '5',
  'fairness-baseline': '20',
  'actions-sample': '20',
  'drain-timeout': '900',
};
/** What the worker runs with (the default): a probe meeting starts just over the first of them from now. */
const REMINDER_OFFSETS = '24h,1h,15m';
const FIRST_OFFSET_MS = DAY_MS;
const SIZE_OPTIONS = Object.keys(DEFAULTS) as (keyof typeof DEFAULTS)[];

type Sizes = Record<keyof typeof DEFAULTS, number>;

interface Figure {
  key: string;
  label: string;
  value: number;
  unit: string;
  /** e.g. ">= 0.9"; none for a figure measured for comparison only. */
  target?: { op: '>=' | '<='; value: number };
}

const say = (message: string) => process.stdout.write(`==> ${message}\n`);
const round = (value: number, digits = 1) => Number(value.toFixed(digits));
/** NaN for none, so that a target is not met by nothing measured. */
const maximum = (values: number[]) => (values.length ? Math.max(...values) : Number.NaN);

/** What to undo, in start order; undone in reverse, once, by a normal end, an error or a signal. */
const cleanups: { what: string; undo: () => unknown }[] = [];
let cleaning: Promise<void> | undefined;
function cleanUp(): Promise<void> {
  cleaning ??= (async () => {
    closeAgent();
    for (const { what, undo } of cleanups.reverse()) await Promise.resolve().then(undo).catch((error: Error) => say(`could not stop ${what}: ${error.message}`));
  })();
  return cleaning;
}

runCli(
  'benchmark',
  USAGE,
  {
    quick: { type: 'boolean' },
    ...Object.fromEntries(SIZE_OPTIONS.map((name) => [name, { type: 'string' as const }])),
    postgres: { type: 'string', default: 'postgres://postgres@127.0.0.1:5432' },
    out: { type: 'string', default: join(ROOT, '.tools', 'benchmark', 'latest.json') },
    'cpu-prof': { type: 'string' },
    build: { type: 'string' },
  },
  async (values) => {
    const given = values as unknown as Record<string, string | undefined>;
    const sizes = Object.fromEntries(
      SIZE_OPTIONS.map((name) => [name, positiveInteger(given[name] ?? (values.quick ? (QUICK as Record<string, string>)[name] : undefined) ?? DEFAULTS[name], name)]),
    ) as Sizes;
    const prebuilt = values.build && resolvePath(values.build);
    if (prebuilt && !existsSync(join(prebuilt, 'src', 'worker', 'workflows.bundle.js'))) {
      throw new UsageError(`--build ${prebuilt} is not a production build (npm run build): it has no src/worker/workflows.bundle.js`);
    }
    // Ctrl-C, SIGTERM or a closed terminal: stop what was started, then exit 130; a second signal exits at once
    // (the children still end: they die with this process).
    for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
      process.on(signal, () => {
        if (cleaning) process.exit(130);
        say(`${signal}: stopping what the benchmark started`);
        void cleanUp().finally(() => process.exit(130));
      });
    }
    try {
      const result = await benchmark(sizes, values.postgres, values['cpu-prof'] && resolvePath(values['cpu-prof']), prebuilt);
      const out = resolvePath(values.out);
      mkdirSync(dirname(out), { recursive: true });
      writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);
      process.stdout.write(`\n${table(result.table)}\n`);
      say(`Figures written to ${out}`);
      return 0;
    } finally {
      await cleanUp();
    }
  },
);

function positiveInteger(value: string, name: string): number {
  if (!/^[1-9]\d*$/.test(value)) throw new UsageError(`--${name} must be a positive integer; got "${value}"`);
  return Number(value);
}

async function benchmark(sizes: Sizes, postgres: string, cpuProfDir: string | undefined, prebuilt: string | undefined) {
  const machine = { cpus: cpus().length, cpuModel: cpus()[0]?.model ?? 'unknown', memoryGb: round(totalmem() / 2 ** 30), node: process.version, loadAverageAtStart: loadavg().map((load) => round(load, 2)) };
  say(`Machine: ${machine.cpus} × ${machine.cpuModel}, ${machine.memoryGb} GB, node ${machine.node}, load average ${machine.loadAverageAtStart.join(' ')}`);
  const id = randomBytes(4).toString('hex');
  const dir = mkdtempSync(join(tmpdir(), 'benchmark-'));
  cleanups.push({ what: 'the temporary directory', undo: () => rmSync(dir, { recursive: true, force: true }) });
  const [temporalPort, receiverPort, barePort] = await freePorts(3);
  const receiverUrl = `http://127.0.0.1:${receiverPort}`;

  say('Starting the Temporal dev server (headless, state in a new file)');
  const temporalServer = await startTemporalDevServer({ ip: '127.0.0.1', port: temporalPort, namespace: 'default', dbFilename: join(dir, 'temporal', 'dev.db'), output: 'ignore' });
  cleanups.push({ what: 'Temporal', undo: () => temporalServer.stop() });
  const databaseUrl = `${postgres.replace(/\/$/, '')}/calendly_bookings_benchmark_${id}`;
  say(`Creating and migrating database ${new URL(databaseUrl).pathname.slice(1)}`);
  cleanups.push({ what: 'the database', undo: () => dropDatabase(databaseUrl) });
  await migrateDatabase(databaseUrl);
  // The fake's rate limit would be what is measured otherwise (the worker reads the invitee and its event).
  const redirectUri = `${receiverUrl}${CONNECTION_CALLBACK_PATH}`;
  const fake = await startFakeCalendly({
    apiToken: CALENDLY_TOKEN,
    rateLimitPerMinute: 1_000_000_000,
    oauth: { clientId: OAUTH_APP.clientId, clientSecret: OAUTH_APP.clientSecret, redirectUris: [redirectUri] },
  });
  cleanups.push({ what: 'the fake Calendly API', undo: () => fake.close() });
  // The fairness phase's two organizations, each connecting its own Calendly organization through OAuth.
  const tenants = { a: newTenant(fake, 'a'), b: newTenant(fake, 'b') };
  // What production runs: compiled JavaScript (no tsx loader, whose thread and compiler cost memory) and the
  // workflow bundle built once, next to the compiled worker; inside the repository, where it finds node_modules.
  const build = prebuilt ?? join(ROOT, '.tools', 'benchmark', `build-${id}`);
  if (prebuilt) {
    say(`Running the production build in ${build}`);
  } else {
    say(`Building the production build (npm run build) into ${build}`);
    cleanups.push({ what: 'the build', undo: () => rmSync(build, { recursive: true, force: true }) });
    await promisify(execFile)('bash', [join(ROOT, 'scripts', 'build.sh')], { env: { ...process.env, BUILD_OUT_DIR: build } });
  }
  const compiled = (file: string) => join(build, file.replace(/\.ts$/, '.js'));

  const env: NodeJS.ProcessEnv = {
    HOST: '127.0.0.1',
    PORT: String(receiverPort),
    API_URL: receiverUrl,
    CALENDLY_WEBHOOK_SIGNING_KEY: SIGNING_KEY,
    CALENDLY_API_TOKEN: CALENDLY_TOKEN,
    CALENDLY_API_BASE_URL: fake.url,
    DATABASE_URL: databaseUrl,
    TEMPORAL_ADDRESS: temporalServer.address,
    TEMPORAL_NAMESPACE: 'default',
    TEMPORAL_TASK_QUEUE: `benchmark-${id}`,
    API_TOKENS: [API_TOKEN, ...Object.values(tenants).map(({ token, organization }) => `${token}:${organization}`)].join(','),
    CALENDLY_CLIENT_ID: OAUTH_APP.clientId,
    CALENDLY_CLIENT_SECRET: OAUTH_APP.clientSecret,
    CALENDLY_OAUTH_REDIRECT_URI: redirectUri,
    CALENDLY_AUTH_BASE_URL: fake.url,
    CONNECTION_ENCRYPTION_KEY: OAUTH_APP.encryptionKey,
    LOG_LEVEL: 'info',
    // The schedules must not feed or check anything while it measures.
    RECONCILE_INTERVAL_MINUTES: '1440',
    SUBSCRIPTION_CHECK_INTERVAL_MINUTES: '1440',
    REMINDER_OFFSETS,
    // The billable actions sample's outbound endpoint is a local server.
    OUTBOUND_WEBHOOK_ALLOW_PRIVATE_NETWORKS: '127.0.0.1/32',
  };
  const profiled = (name: string) => (cpuProfDir ? ['--cpu-prof', `--cpu-prof-dir=${cpuProfDir}`, `--cpu-prof-name=${name}.cpuprofile`] : []);
  const startChild = (name: string, file: string, args: string[] = [], nodeOptions: string[] = []) => {
    const child = startNodeChild(name, file, { env, cwd: dir, args, nodeOptions });
    cleanups.push({ what: `the ${name}`, undo: () => child.stop() });
    return child;
  };

  say('Starting the receiver and the bare Koa refusal baseline');
  // Run as docker-compose.yml runs it, with its smaller young generation.
  const receiver = startChild('receiver', compiled('src/receiver/main.ts'), [], ['--max-semi-space-size=4', ...profiled('receiver')]);
  const bare = startChild('bare Koa app', 'scripts/dev/benchmark/bare-refusal-app.ts', [String(barePort), SIGNING_KEY]);
  await Promise.all([receiver.waitForLine(/Receiver listening/, 120_000), bare.waitForLine(/^listening$/, 120_000)]);
  const connection = await Connection.connect({ address: temporalServer.address });
  cleanups.push({ what: 'the Temporal client', undo: () => connection.close() });
  const temporal = new Client({ connection, namespace: 'default' });

  const figures: Figure[] = [];
  const figure = (key: string, label: string, value: number, unit: string, target?: Figure['target']) => figures.push({ key, label, value, unit, target });
  const webhookUrl = `${receiverUrl}${WEBHOOK_PATH}`;
  const windows = { burst: 10, steady: 20, backfill: 30, topUp: 40, fairnessSync: 50, fairnessLive: 60, billable: 70 };
  const sign = (inviteeUri: string, key = SIGNING_KEY) => fake.webhookDelivery('invitee.created', inviteeUri, key);
  const deliver = ({ body, signature }: { body: string; signature: string }, url = webhookUrl) =>
    post(url, body, { 'content-type': 'application/json', [SIGNATURE_HEADER]: signature }).catch(() => ({ status: 0, ms: Number.NaN, body: '' }));
  const readable = (window?: number) => meetingCount(receiverUrl, window);

  await new Promise((resolve) => setTimeout(resolve, 2_000));
  const receiverIdleRss = rssMegabytes(receiver.pid);
  let receiverLoadedRss = receiverIdleRss;
  const sampler = setInterval(() => (receiverLoadedRss = Math.max(receiverLoadedRss, rssMegabytes(receiver.pid) || 0)), 500);
  cleanups.push({ what: 'the RSS sampler', undo: () => clearInterval(sampler) });

  say(`Raw start ceiling: ${sizes.requests} starts of a no-op workflow on an unpolled task queue, ${sizes.concurrency} in flight`);
  const ceiling = await closedLoop(sizes.requests, sizes.concurrency, async (index) => {
    const startedAt = performance.now();
    try {
      await temporal.workflow.start('benchmarkNoop', { taskQueue: `benchmark-unpolled-${id}`, workflowId: `benchmark-noop-${id}-${index}`, args: [] });
      return { status: 201, ms: performance.now() - startedAt };
    } catch {
      return { status: 0, ms: performance.now() - startedAt };
    }
  });
  report('ceiling', ceiling);
  figure('startCeilingPerSecond', 'raw start ceiling (starts/s)', ceiling.perSecond, '/s');

  const [forgedInvitee] = await book(fake, 1, windows.burst - 1);
  say(`Refusals: ${sizes.requests} forged deliveries to the bare Koa app, then to the receiver`);
  const bareRefusals = await closedLoop(sizes.requests, sizes.concurrency, () => deliver(sign(forgedInvitee, FORGED_KEY), `http://127.0.0.1:${barePort}/`));
  report('bare Koa', bareRefusals);
  const receiverRefusals = await closedLoop(sizes.requests, sizes.concurrency, () => deliver(sign(forgedInvitee, FORGED_KEY)));
  report('receiver', receiverRefusals);
  figure('bareKoaRefusalsPerSecond', 'bare Koa refusals (HMAC, 401)', succeeded(bareRefusals, [401]), '/s');
  figure('receiverRefusalsPerSecond', 'receiver refusals of forged deliveries', succeeded(receiverRefusals, [401, 429]), '/s');
  figure('refusalRatio', '  ratio receiver / bare Koa', succeeded(receiverRefusals, [401, 429]) / succeeded(bareRefusals, [401]), '', { op: '>=', value: 0.9 });

  say(`Burst: booking ${sizes.burst + sizes.loaded} invitees in the fake Calendly API`);
  const burstInvitees = await book(fake, sizes.burst + sizes.loaded, windows.burst);
  // A delivery is acknowledged once its meeting's workflow took it, which takes a worker: the burst is sent to a running one.
  say('Starting the worker');
  // Run as docker-compose.yml runs it, with its heap capped.
  const worker = startChild('worker', compiled('src/worker/main.ts'), [], ['--max-old-space-size=384', ...profiled('worker')]);
  await worker.waitForLine(/Worker running/, 180_000);
  const burstStartedAt = performance.now();
  // Where the burst's CPU goes, per booking: what to make cheaper next.
  const cpuUsers = [
    { key: 'Worker', label: 'worker', used: () => cpuSeconds(worker.pid) },
    { key: 'Receiver', label: 'receiver', used: () => cpuSeconds(receiver.pid) },
    { key: 'Temporal', label: 'Temporal dev server', used: () => cpuSeconds(temporalServer.process.pid!) },
    { key: 'Postgres', label: 'PostgreSQL (all its processes)', used: () => cpuSecondsOfCommand('postgres') },
    { key: 'Benchmark', label: 'this process (load, fake Calendly API)', used: () => cpuSeconds(process.pid) },
    { key: 'Machine', label: 'whole machine', used: machineBusySeconds },
  ];
  const cpuAtBurstStart = cpuUsers.map(({ used }) => used());
  say(`Burst: ${sizes.burst} unique deliveries, ${sizes.concurrency} in flight, the worker processing them as they come`);
  const burstAccepts = await closedLoop(sizes.burst, sizes.concurrency, (index) => deliver(sign(burstInvitees[index])));
  report('accepts, burst', burstAccepts);
  const acceptsBurst = succeeded(burstAccepts, [202]);
  figure('acceptsBurstPerSecond', 'receiver accepts/s, burst', acceptsBurst, '/s');
  figure('acceptsBurstRatio', '  ratio to the start ceiling', acceptsBurst / ceiling.perSecond, '', { op: '>=', value: 0.8 });
  figure('ackBurstP50Ms', 'ack p50, burst', percentile(burstAccepts.latenciesMs, 0.5), 'ms');
  figure('ackBurstP99Ms', 'ack p99, burst', percentile(burstAccepts.latenciesMs, 0.99), 'ms');

  say(`Accepts while the worker processes: ${sizes.loaded} more unique deliveries, ${sizes.concurrency} in flight`);
  const loadedAccepts = await closedLoop(sizes.loaded, sizes.concurrency, (index) => deliver(sign(burstInvitees[sizes.burst + index])));
  report('accepts, worker busy', loadedAccepts);
  const acceptsLoaded = succeeded(loadedAccepts, [202]);
  figure('acceptsLoadedPerSecond', 'receiver accepts/s, worker processing', acceptsLoaded, '/s');
  figure('acceptsLoadedRatio', '  ratio to the start ceiling', acceptsLoaded / ceiling.perSecond, '', { op: '>=', value: 0.8 });
  const burstTotal = (burstAccepts.statuses[202] ?? 0) + (loadedAccepts.statuses[202] ?? 0);
  const burstSeconds = await untilReadable('burst', burstTotal, () => readable(windows.burst), burstStartedAt, sizes['drain-timeout'], [worker, receiver]);
  figure('burstBookingsPerSecond', `burst: ${burstTotal} bookings readable`, burstTotal / burstSeconds, '/s', { op: '>=', value: 50 });
  cpuUsers.forEach(({ key, label, used }, index) =>
    figure(`burstCpuMsPerBooking${key}`, `burst: CPU per booking, ${label}`, ((used() - cpuAtBurstStart[index]) * 1000) / burstTotal, 'ms'),
  );
  const workerRssAfterBurst = rssMegabytes(worker.pid);

  // The same workflows with nothing but their Temporal calls, right after the burst on the same machine: how fast
  // Temporal alone goes here, and how much of the two cores it takes, next to what the burst reached. Both shapes,
  // the same way: today's (a delivery handed to its meeting's workflow) and the one before December 2026 (a delivery
  // workflow whose last step starts the meeting's), so that the ratio between them is of one run.
  const template = await fake.bookMeeting({ email: 'template@example.com', startTime: new Date(Date.now() + 60 * DAY_MS).toISOString() }, { deliver: false });
  const templateFile = join(dir, 'booking-template.json');
  writeFileSync(templateFile, JSON.stringify({ invitee: template.invitee, event: template.event }));
  const temporalOnly = async (shape: 'before' | 'now') => {
    const onlyQueue = `benchmark-temporal-only-${shape}-${id}`;
    const onlyWorker = startChild(`Temporal-only worker (${shape})`, 'scripts/dev/benchmark/temporal-only-worker.ts', [
      onlyQueue,
      join(build, 'src', 'worker', 'workflows.bundle.js'),
      templateFile,
    ]);
    // Each booking's meeting handed to its reminders; the worker counts them (see temporal-only-worker.ts).
    let onlyMeetings = 0;
    onlyWorker.onLine((line) => {
      const kept = /^meetings kept: (\d+)$/.exec(line);
      if (kept) onlyMeetings = Math.max(onlyMeetings, Number(kept[1]));
    });
    await onlyWorker.waitForLine(/^running$/, 120_000);
    const label = shape === 'now' ? 'one workflow per booking' : 'before: a delivery workflow, then the meeting\'s';
    say(`Temporal only (${label}): ${sizes.burst} deliveries, ${sizes.concurrency} in flight`);
    const onlyCpuUsers = [
      { key: 'Worker', label: 'its worker', used: () => cpuSeconds(onlyWorker.pid) },
      ...cpuUsers.filter(({ key }) => key === 'Temporal' || key === 'Machine'),
    ];
    const cpuAtOnlyStart = onlyCpuUsers.map(({ used }) => used());
    const onlyStartedAt = performance.now();
    const sampled: { workflowIds: string[]; meetingWorkflowId: string }[] = [];
    const onlyStarts = await closedLoop(sizes.burst, sizes.concurrency, async (index) => {
      const eventUri = `${fake.url}/scheduled_events/temporal-only-${shape}-${id}-${index}`;
      const parsed = inviteeDelivery('invitee.created', 'current', eventUri, `${eventUri}/invitees/temporal-only-${id}-${index}`, template.invitee.email, null, PERSONAL_TOKEN_CONNECTION_ID);
      const meetingId = meetingWorkflowId(parsed.delivery.inviteeUri, PERSONAL_TOKEN_CONNECTION_ID);
      const workflowIds = shape === 'now' ? [meetingId] : [workflowIdFor(parsed.delivery.dedupKey), meetingId];
      sampled[index] = { workflowIds, meetingWorkflowId: meetingId };
      const startedAt = performance.now();
      const delivery = { ...parsed.delivery, deliveryId: randomUUID(), receivedAt: new Date().toISOString(), source: 'webhook' as const };
      const handed =
        shape === 'now'
          ? startDeliveryWorkflow(parsed, { client: temporal, taskQueue: onlyQueue, deliveryId: delivery.deliveryId, receivedAt: new Date(), source: 'webhook' })
          : temporal.workflow.start(processInviteeDelivery, { workflowId: workflowIdFor(delivery.dedupKey), taskQueue: onlyQueue, args: [delivery] });
      const status = await handed.then(() => 201, () => 0);
      return { status, ms: performance.now() - startedAt };
    });
    report(`Temporal-only deliveries (${shape})`, onlyStarts);
    const onlyStarted = onlyStarts.statuses[201] ?? 0;
    const onlyDone = () => Promise.resolve(onlyMeetings);
    const onlySeconds = await untilReadable(`Temporal only (${shape})`, onlyStarted, onlyDone, onlyStartedAt, sizes['drain-timeout'], [onlyWorker], 'meetings kept');
    const key = shape === 'now' ? '' : 'Before';
    onlyCpuUsers.forEach(({ key: user, label: userLabel, used }, index) =>
      figure(`temporalOnly${key}CpuMsPerBooking${user}`, `Temporal only (${shape}): CPU per booking, ${userLabel}`, ((used() - cpuAtOnlyStart[index]) * 1000) / onlyStarted, 'ms'),
    );
    // The first bookings' workflows, counted as Temporal Cloud would bill them (billable-sample.ts).
    const counted = sampled.slice(0, sizes['actions-sample']);
    const actions = await measureShapeActions(temporal, counted, sizes['drain-timeout']);
    figure(`billableActionsTemporalOnly${key}`, `Temporal only (${shape}): billable actions per booking at booking, no outbound (${counted.length} bookings)`, actions.total, '');
    await onlyWorker.stop();
    return { perSecond: onlyStarted / onlySeconds, started: onlyStarted };
  };
  const onlyBefore = await temporalOnly('before');
  figure('temporalOnlyBeforeBookingsPerSecond', `Temporal only (before): ${onlyBefore.started} deliveries to meetings kept`, onlyBefore.perSecond, '/s');
  const onlyNow = await temporalOnly('now');
  figure('temporalOnlyBookingsPerSecond', `Temporal only (now): ${onlyNow.started} deliveries to meetings kept`, onlyNow.perSecond, '/s');
  figure('temporalOnlyShapeRatio', '  ratio now / before, same run', onlyNow.perSecond / onlyBefore.perSecond, '', { op: '>=', value: 1.5 });
  const onlyPerSecond = onlyNow.perSecond;
  figure('burstToTemporalOnlyRatio', '  ratio burst / Temporal only (now)', burstTotal / burstSeconds / onlyPerSecond, '', { op: '>=', value: 0.9 });

  const steadyTotal = sizes.rate * sizes.seconds;
  say(`Steady: booking ${steadyTotal} invitees; then ${sizes.rate} deliveries/s for ${sizes.seconds} s, watched on the websocket`);
  const steadyInvitees = await book(fake, steadyTotal, windows.steady);
  const steady = await steadyRun(
    receiverUrl,
    { phase: 'steady', token: API_TOKEN, rate: sizes.rate, seconds: sizes.seconds, drainTimeoutSeconds: sizes['drain-timeout'] },
    async (index) => ({ inviteeUri: steadyInvitees[index], ...(await deliver(sign(steadyInvitees[index]))) }),
  );
  figure('steadyMeetingCreatedP50Ms', `steady ${sizes.rate}/s: delivery -> meeting.created p50`, percentile(steady.eventLatenciesMs, 0.5), 'ms');
  figure('steadyMeetingCreatedP99Ms', `steady ${sizes.rate}/s: delivery -> meeting.created p99`, percentile(steady.eventLatenciesMs, 0.99), 'ms', { op: '<=', value: 1000 });
  figure('steadyAckP99Ms', `steady ${sizes.rate}/s: ack p99`, percentile(steady.ackLatenciesMs, 0.99), 'ms', { op: '<=', value: 100 });
  figure('steadyMissingEvents', 'steady: meeting.created never seen', steady.missing, '', { op: '<=', value: 0 });
  const steadyAccepted = steady.accepted;
  const sent = sizes.burst + sizes.loaded + steadyTotal;
  figure('deliveriesNotAccepted', `unique deliveries not answered 202 (of ${sent})`, sent - burstTotal - steadyAccepted, '', { op: '<=', value: 0 });
  clearInterval(sampler);

  /** Books `count` invitees starting `window` days ahead and feeds them by bookings:sync: seconds until all are readable. */
  const backfill = async (phase: string, count: number, window: number) => {
    say(`${phase}: booking ${count} invitees in the fake Calendly API (not delivered)`);
    await book(fake, count, window);
    const from = new Date(Date.now() + window * DAY_MS - 3_600_000).toISOString();
    const to = new Date(Date.now() + (window + 9) * DAY_MS).toISOString();
    say(`${phase}: running bookings:sync --from ${from} --to ${to}`);
    const startedAt = performance.now();
    const sync = startChild('bookings:sync', compiled('scripts/bookings-sync.ts'), ['--from', from, '--to', to]);
    const seconds = await untilReadable(phase, count, () => readable(window), startedAt, sizes['drain-timeout'], [worker, receiver]);
    const exit = await sync.exited;
    if (exit !== 0) throw new Error(`bookings:sync exited with code ${exit}:\n${sync.lastLines()}`);
    return seconds;
  };
  const backfillSeconds = await backfill('backfill', sizes.backfill, windows.backfill);
  figure('backfillBookingsPerSecond', `backfill: bookings:sync of ${sizes.backfill} invitees`, sizes.backfill / backfillSeconds, '/s', { op: '>=', value: 50 });
  const waiting = () => settledWorkflowCount(temporal, `TaskQueue = "${env.TEMPORAL_TASK_QUEUE}" AND WorkflowType = "keepMeetingReminders" AND ExecutionStatus = "Running"`);
  const topUp = Math.max(0, sizes.meetings - (await waiting()));
  if (topUp > 0) await backfill('top-up', topUp, windows.topUp);
  const expected = burstTotal + steady.stored + sizes.backfill + topUp;
  figure('duplicateMeetings', `meetings beyond the ${expected} booked`, (await readable()) - expected, '', { op: '<=', value: 0 });

  const holdingTimers = await waiting();
  say(`Reminders: ${holdingTimers} meeting workflows hold their timers; ${sizes.probes} probe meetings whose first reminder fires in about ${sizes['probe-lead']} s`);
  const probe = await reminderProbe(receiverUrl, sizes.probes, sizes['probe-lead'], (startTime) => fake.bookMeeting({ email: `probe-${Date.parse(startTime)}@example.com`, startTime }, { deliver: false }).then(({ invitee }) => invitee.uri), (inviteeUri) => deliver(sign(inviteeUri)));
  figure('meetingsHoldingTimers', 'meeting workflows holding reminder timers', holdingTimers, '', { op: '>=', value: 20_000 });
  figure('reminderLatenessP50Ms', `reminders: sent after their time, p50 of ${sizes.probes}`, percentile(probe.latenessMs, 0.5), 'ms');
  figure('reminderLatenessMaxMs', `reminders: sent after their time, max of ${sizes.probes}`, maximum(probe.latenessMs), 'ms', { op: '<=', value: 1000 });
  figure('reminderOnWebsocketMaxMs', 'reminders: fire time -> reminder.sent on the websocket, max', maximum(probe.seenAfterMs), 'ms');
  figure('reminderProbesMissing', 'reminders: probe reminders never seen sent', sizes.probes - probe.latenessMs.length, '', { op: '<=', value: 0 });

  const workerRssAfterAll = rssMegabytes(worker.pid);

  // Fairness: organization B's live bookings alone, then while organization A's first sync feeds its bookings.
  const { a, b } = tenants;
  const fairness = { rate: sizes['fairness-rate'], drainTimeoutSeconds: sizes['drain-timeout'], token: b.token, organization: b.organization };
  say(`Fairness: organizations A and B connect through OAuth; A has ${sizes['fairness-sync']} bookings in Calendly`);
  await book(fake, sizes['fairness-sync'], windows.fairnessSync, a.calendlyOrganization);
  await temporal.workflow.getHandle(connectionWorkflowIds(await connectThroughOAuth(receiverUrl, fake, b)).setUp).result();
  // B's bookings are delivered by the fake as Calendly would: signed with its subscription's key, to its connection's URL.
  const bookAtB = (run: string) => async (index: number) => {
    const startTime = new Date(Date.now() + windows.fairnessLive * DAY_MS + index * 1_000).toISOString();
    const sendingAt = performance.now();
    const { invitee, deliveries } = await fake.bookMeeting({ email: `fairness-${run}-${index}@example.com`, startTime, organization: b.calendlyOrganization });
    const status = deliveries.length === 1 && typeof deliveries[0].status === 'number' ? deliveries[0].status : 0;
    return { inviteeUri: invitee.uri, status, ms: performance.now() - sendingAt };
  };
  say(`Fairness: B alone, ${fairness.rate} bookings/s for ${sizes['fairness-baseline']} s`);
  const alone = await steadyRun(receiverUrl, { ...fairness, phase: 'fairness, B alone', seconds: sizes['fairness-baseline'] }, bookAtB('alone'));
  say(`Fairness: A connects, its first sync runs; B books ${fairness.rate}/s until all of A's bookings are readable`);
  const synced = new AbortController();
  const whileSyncing = steadyRun(receiverUrl, { ...fairness, phase: 'fairness, B while A syncs', seconds: sizes['drain-timeout'], stop: synced.signal }, bookAtB('syncing'));
  // Awaited below, once A's sync is done: a failure meanwhile must not end the process before the clean-up.
  whileSyncing.catch(() => undefined);
  let aConnection: string;
  let syncSeconds: number;
  try {
    const connectedAt = performance.now();
    aConnection = await connectThroughOAuth(receiverUrl, fake, a);
    const readableByA = () => meetingCount(receiverUrl, undefined, a.token);
    syncSeconds = await untilReadable("fairness: A's first sync", sizes['fairness-sync'], readableByA, connectedAt, sizes['drain-timeout'], [worker, receiver]);
  } finally {
    synced.abort();
  }
  const during = await whileSyncing;
  await temporal.workflow.getHandle(connectionWorkflowIds(aConnection).setUp).result();
  const p99Alone = percentile(alone.eventLatenciesMs, 0.99);
  const p99During = percentile(during.eventLatenciesMs, 0.99);
  const bLabel = (when: string, measured: typeof alone, p: string) => `fairness: B ${when} (${measured.eventLatenciesMs.length}), delivery -> meeting.created ${p}`;
  figure('fairnessSyncBookingsPerSecond', `fairness: A's first sync, ${sizes['fairness-sync']} bookings readable`, sizes['fairness-sync'] / syncSeconds, '/s');
  figure('fairnessAloneMeetingCreatedP50Ms', bLabel('alone', alone, 'p50'), percentile(alone.eventLatenciesMs, 0.5), 'ms');
  figure('fairnessAloneMeetingCreatedP99Ms', bLabel('alone', alone, 'p99'), p99Alone, 'ms');
  figure('fairnessSyncingMeetingCreatedP50Ms', bLabel('while A syncs', during, 'p50'), percentile(during.eventLatenciesMs, 0.5), 'ms');
  figure('fairnessSyncingMeetingCreatedP99Ms', bLabel('while A syncs', during, 'p99'), p99During, 'ms', { op: '<=', value: 1000 });
  figure('fairnessP99Ratio', "  ratio B's p99 while A syncs / alone", p99During / p99Alone, '');
  figure('fairnessMissingEvents', "fairness: B's meeting.created never seen", alone.missing + during.missing, '', { op: '<=', value: 0 });
  figure('fairnessForeignEvents', "fairness: other organizations' events on B's websocket", alone.foreignEvents + during.foreignEvents, '', { op: '<=', value: 0 });

  // Last, so that its endpoint's deliveries weigh on no other figure.
  const reminders = REMINDER_OFFSETS.split(',').length;
  say(`Billable actions: ${sizes['actions-sample']} bookings with one outbound endpoint on ${SAMPLE_EVENT_TYPES.join(' and ')}; counted from their workflows' histories`);
  const sampleUris = await book(fake, sizes['actions-sample'] + 1, windows.billable);
  const billable = await measureBillableActions({
    temporal,
    receiverUrl,
    apiToken: API_TOKEN,
    organization: fake.organizationUri,
    bookings: sampleUris.slice(0, -1).map((inviteeUri, index) => ({ inviteeUri, email: benchEmail(windows.billable, index) })),
    loneBooking: sampleUris.at(-1)!,
    deliver: (inviteeUri) => deliver(sign(inviteeUri)),
    probeInviteeUri: probe.inviteeUris[0],
    reminders,
    timeoutSeconds: sizes['drain-timeout'],
    say,
  });
  const sampleLabel = `${billable.bookings} bookings, ${billable.outboundDeliveriesPerBooking} outbound deliveries each`;
  figure('billableActionsPerBooking', `billable actions per booking, at booking (${sampleLabel})`, billable.atBooking.total, '');
  for (const category of ACTION_CATEGORIES) {
    figure(`billableActionsPerBooking${category[0].toUpperCase()}${category.slice(1)}`, `  ${category}`, billable.atBooking.byCategory[category], '');
  }
  figure('billableActionsReminderFiredMeasured', '  one reminder firing, measured on a probe meeting (its activity, the next timer)', billable.firstReminderMeasured.total, '');
  figure('billableActionsRemindersToCome', `  its ${reminders} reminders still to come, from the plan (${reminders} activities, ${reminders - 1} more timers)`, billable.remindersToCome.total, '');
  figure('billableActionsPerBookingWithReminders', 'billable actions per booking, with its reminders', billable.withReminders.total, '', { op: '<=', value: 10 });
  figure('billableActionsOutboundPerBooking', `  of which outbound: the endpoint's workflow, ${billable.outboundRuns} runs for the sample`, billable.byWorkflow.outbound.total, '');
  const loneBooking = billable.withReminders.total - billable.byWorkflow.outbound.total + billable.outboundAlone.total;
  figure('billableActionsPerBookingAloneWithReminders', 'billable actions of a booking alone on its endpoint (its own wake), with its reminders', loneBooking, '');

  figure('receiverRssIdleMb', 'receiver RSS idle', receiverIdleRss, 'MB', { op: '<=', value: 120 });
  figure('receiverRssLoadedMb', 'receiver RSS loaded (max)', receiverLoadedRss, 'MB');
  figure('workerRssAfterBurstMb', `worker RSS after the burst (${burstTotal})`, workerRssAfterBurst, 'MB');
  figure('workerRssAfterAllMb', `worker RSS after all ${expected} bookings and the probes`, workerRssAfterAll, 'MB');

  let profiles: Record<string, ProfileSummary> | undefined;
  if (cpuProfDir) {
    // The profiles are written when the processes exit.
    await Promise.all([worker.stop(), receiver.stop()]);
    profiles = { worker: summariseCpuProfile(join(cpuProfDir, 'worker.cpuprofile')), receiver: summariseCpuProfile(join(cpuProfDir, 'receiver.cpuprofile')) };
    for (const [name, summary] of Object.entries(profiles)) {
      say(`CPU profile of the ${name} (${summary.seconds.toFixed(0)} s): self time by package, then by function`);
      for (const spot of [...summary.packages, ...summary.functions]) process.stdout.write(`    ${spot.percent.toFixed(1).padStart(5)} %  ${spot.name}\n`);
    }
  }
  return {
    measuredAt: new Date().toISOString(),
    machine,
    sizes,
    figures: Object.fromEntries(figures.map(({ key, value }) => [key, round(value, 3)])),
    targets: figures.filter((f) => f.target).map(({ key, target }) => ({ key, ...target!, met: met(figures.find((f) => f.key === key)!) })),
    table: figures,
    billableActions: billable,
    profiles,
  };
}

/** Invitees booked in the fake (not delivered), starting `startInDays` from now, one a second apart; in the fake's default organization unless another is named. */
async function book(fake: FakeCalendly, count: number, startInDays: number, organization?: string): Promise<string[]> {
  const base = Date.now() + startInDays * DAY_MS;
  const uris: string[] = [];
  for (let index = 0; index < count; index++) {
    const { invitee } = await fake.bookMeeting(
      { email: benchEmail(startInDays, index), name: `Bench ${index}`, startTime: new Date(base + index * 1_000).toISOString(), organization },
      { deliver: false },
    );
    uris.push(invitee.uri);
  }
  return uris;
}

/** The email of `book`'s invitee `index` of the window `startInDays` (its lead's). */
function benchEmail(startInDays: number, index: number): string {
  return `bench-${startInDays}-${index}@example.com`;
}

/** Visibility lags the starts a little: counted until two counts a second apart agree (at most 30 s). */
async function settledWorkflowCount(temporal: Client, query: string): Promise<number> {
  let last = -1;
  for (let attempt = 0; attempt < 30; attempt++) {
    const { count } = await temporal.workflow.count(query);
    if (count === last) return count;
    last = count;
    await new Promise((resolve) => setTimeout(resolve, 1_000));
  }
  return last;
}

/** Meetings the read API shows to `token` (the benchmark's own sees every organization): all, or those starting in the day window of a phase. */
async function meetingCount(receiverUrl: string, startInDays?: number, token = API_TOKEN): Promise<number> {
  const query = new URLSearchParams({ limit: '1' });
  if (startInDays !== undefined) {
    query.set('startFrom', new Date(Date.now() + startInDays * DAY_MS - 3_600_000).toISOString());
    query.set('startTo', new Date(Date.now() + (startInDays + 9) * DAY_MS).toISOString());
  }
  const response = await fetch(`${receiverUrl}/api/meetings?${query.toString()}`, { headers: { authorization: `Bearer ${token}` } });
  if (!response.ok) throw new Error(`GET /api/meetings answered ${response.status}`);
  return ((await response.json()) as { pagination: { total: number } }).pagination.total;
}

/** Seconds from `startedAt` until `count` are readable (or in `state`, as `probe` counts); progress every 5 s; fails after the drain timeout or when a part exits. */
async function untilReadable(
  phase: string,
  count: number,
  probe: () => Promise<number>,
  startedAt: number,
  timeoutSeconds: number,
  parts: BenchmarkChild[],
  state = 'readable',
): Promise<number> {
  let lastReport = performance.now();
  let failedProbes = 0;
  for (;;) {
    // A probe that fails once (a connection reset under load) is asked again; the receiver's exit is caught below.
    const seen = await probe().catch((error: Error) => {
      failedProbes += 1;
      if (failedProbes === 1 || failedProbes % 20 === 0) say(`${phase}: counting failed (${failedProbes} so far): ${error.message} ${String((error.cause as Error | undefined)?.message ?? '')}`);
      return 0;
    });
    const seconds = (performance.now() - startedAt) / 1000;
    if (seen >= count) {
      say(`${phase}: all ${count} ${state} after ${seconds.toFixed(1)} s (${(count / seconds).toFixed(1)}/s)`);
      return seconds;
    }
    const exited = parts.find((part) => part.exitCode() !== null);
    if (seconds > timeoutSeconds || exited) {
      const why = exited ? `when the ${exited.name} exited (code ${exited.exitCode()})` : `after ${timeoutSeconds} s (--drain-timeout)`;
      const lines = parts.map((part) => `the ${part.name}'s last lines:\n${part.lastLines()}`).join('\n');
      throw new Error(`${phase}: only ${seen} of ${count} ${state} ${why}; ${lines}`);
    }
    if (performance.now() - lastReport > 5_000) {
      lastReport = performance.now();
      say(`${phase}: ${seen}/${count} ${state} after ${seconds.toFixed(0)} s (${(seen / seconds).toFixed(1)}/s)`);
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

interface ReceivedEvent {
  type: string;
  organization?: string | null;
  data?: { meeting?: { inviteeUri: string }; reminder?: { fireAt: string; sentAt: string } };
}

/**
 * A real websocket client of the receiver with `token` (the benchmark's own sees every organization): open once its
 * welcome has arrived. The one place that knows how a client authenticates.
 */
async function eventClient(receiverUrl: string, token: string, onEvent: (message: ReceivedEvent) => void): Promise<WebSocket> {
  const socket = new WebSocket(`${receiverUrl.replace(/^http/, 'ws')}${WEBSOCKET_PATH}`, { headers: { authorization: `Bearer ${token}` } });
  cleanups.push({ what: 'a websocket client', undo: () => socket.terminate() });
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.on('message', (data) => {
      const message = JSON.parse((data as Buffer).toString('utf8')) as ReceivedEvent;
      if (message.type === 'welcome') resolve();
      else onEvent(message);
    });
  });
  return socket;
}

interface LiveRun {
  /** names the run in progress lines */
  phase: string;
  /** whose websocket client watches */
  token: string;
  rate: number;
  seconds: number;
  drainTimeoutSeconds: number;
  /** no more deliveries are sent once it aborts */
  stop?: AbortSignal;
  /** the organization `token` is bound to: an event of any other one on its websocket is counted as foreign */
  organization?: string;
}

/**
 * Sends at a fixed rate and times each delivery to its `meeting.created` on a real websocket client. `send` says
 * which invitee it delivered; its event may arrive before `send` resolves (the fake Calendly API answers once the
 * receiver has), so sends and events are matched whichever comes first.
 */
async function steadyRun(receiverUrl: string, run: LiveRun, send: (index: number) => Promise<{ inviteeUri: string; status: number; ms: number }>) {
  const sentAt = new Map<string, number>();
  const seenAt = new Map<string, number>();
  const eventLatenciesMs: number[] = [];
  let foreignEvents = 0;
  let allSeen!: () => void;
  /** the invitees whose delivery was acknowledged (202): the ones promised a meeting.created */
  const acceptedUris = new Set<string>();
  let sendingDone = false;
  const seenAll = new Promise<void>((resolve) => (allSeen = resolve));
  // A delivery answered 503 (not taken within the receiver's time) may still be processed, and Calendly would send it
  // again: only the acknowledged ones are timed and counted.
  const match = (inviteeUri: string) => {
    const sent = sentAt.get(inviteeUri);
    const seen = seenAt.get(inviteeUri);
    if (sent === undefined || seen === undefined || !acceptedUris.has(inviteeUri)) return;
    eventLatenciesMs.push(seen - sent);
    if (sendingDone && eventLatenciesMs.length >= acceptedUris.size) allSeen();
  };
  const socket = await eventClient(receiverUrl, run.token, (message) => {
    if (run.organization !== undefined && message.organization !== run.organization) foreignEvents += 1;
    const inviteeUri = message.type === 'meeting.created' ? message.data!.meeting!.inviteeUri : undefined;
    if (inviteeUri === undefined || seenAt.has(inviteeUri)) return;
    seenAt.set(inviteeUri, performance.now());
    match(inviteeUri);
  });
  const ackLatenciesMs: number[] = [];
  const statuses: Record<string, number> = {};
  const startedAt = performance.now();
  const progress = setInterval(() => say(`${run.phase}: ${sentAt.size} sent, ${eventLatenciesMs.length} meeting.created seen`), 10_000);
  try {
    await openLoop(
      run.rate,
      run.seconds,
      async (index) => {
        const sendingAt = performance.now();
        const { inviteeUri, status, ms } = await send(index);
        sentAt.set(inviteeUri, sendingAt);
        if (status === 202) acceptedUris.add(inviteeUri);
        match(inviteeUri);
        ackLatenciesMs.push(ms);
        statuses[status] = (statuses[status] ?? 0) + 1;
      },
      run.stop,
    );
    sendingDone = true;
    if (eventLatenciesMs.length >= acceptedUris.size) allSeen();
    say(`${run.phase}: all ${sentAt.size} sent in ${((performance.now() - startedAt) / 1000).toFixed(1)} s, statuses ${JSON.stringify(statuses)}; waiting for their events`);
    const timeout = new Promise((resolve) => setTimeout(resolve, run.drainTimeoutSeconds * 1000).unref());
    await Promise.race([seenAll, timeout]);
  } finally {
    clearInterval(progress);
    socket.terminate();
  }
  const unseen = [...acceptedUris].filter((inviteeUri) => !seenAt.has(inviteeUri));
  if (unseen.length) say(`${run.phase}: no meeting.created for ${unseen.length} acknowledged invitees, e.g. ${unseen.slice(0, 3).join(' ')}`);
  if (foreignEvents) say(`${run.phase}: ${foreignEvents} events of another organization on ${run.organization}'s websocket`);
  say(
    `${run.phase}: ${eventLatenciesMs.length}/${acceptedUris.size} meeting.created seen, p50 ${percentile(eventLatenciesMs, 0.5).toFixed(0)} ms, ` +
      `p99 ${percentile(eventLatenciesMs, 0.99).toFixed(0)} ms`,
  );
  // `stored`: the invitees that became meetings as far as the websocket showed, a 503-answered one processed included
  return { eventLatenciesMs, ackLatenciesMs, accepted: acceptedUris.size, missing: unseen.length, stored: seenAt.size, foreignEvents };
}

/**
 * Books meetings whose first reminder fires about 40 s from now, half a second apart, delivers them, and watches a
 * real websocket client for their `reminder.sent`: lateness is the reminder's sent time minus its fire time (both
 * from its row), `seenAfterMs` how long after its fire time the client was told.
 */
async function reminderProbe(
  receiverUrl: string,
  count: number,
  leadSeconds: number,
  bookAt: (startTime: string) => Promise<string>,
  deliver: (inviteeUri: string) => Promise<{ status: number }>,
) {
  const probes = new Set<string>();
  const latenessMs: number[] = [];
  const seenAfterMs: number[] = [];
  let allSeen!: () => void;
  const seenAll = new Promise<void>((resolve) => (allSeen = resolve));
  const socket = await eventClient(receiverUrl, API_TOKEN, (message) => {
    if (message.type !== 'reminder.sent' || !probes.has(message.data!.meeting!.inviteeUri)) return;
    const { fireAt, sentAt } = message.data!.reminder!;
    latenessMs.push(Date.parse(sentAt) - Date.parse(fireAt));
    seenAfterMs.push(Date.now() - Date.parse(fireAt));
    if (latenessMs.length === count) allSeen();
  });
  try {
    const firstFiresAt = Date.now() + leadSeconds * 1000;
    for (let index = 0; index < count; index++) {
      const inviteeUri = await bookAt(new Date(firstFiresAt + FIRST_OFFSET_MS + index * 500).toISOString());
      probes.add(inviteeUri);
      const { status } = await deliver(inviteeUri);
      if (status !== 202) throw new Error(`a probe delivery was answered ${status}`);
    }
    const timeout = new Promise((resolve) => setTimeout(resolve, leadSeconds * 1000 + count * 500 + 60_000).unref());
    await Promise.race([seenAll, timeout]);
  } finally {
    socket.terminate();
  }
  say(`reminders: ${latenessMs.length}/${count} probe reminders sent, lateness p50 ${percentile(latenessMs, 0.5).toFixed(0)} ms, max ${maximum(latenessMs).toFixed(0)} ms`);
  return { latenessMs, seenAfterMs, inviteeUris: [...probes] };
}

/** Requests per second of the loop that got one of `statuses`. */
function succeeded(result: LoopResult, statuses: number[]): number {
  return statuses.reduce((sum, status) => sum + (result.statuses[status] ?? 0), 0) / result.seconds;
}

function report(what: string, result: LoopResult): void {
  say(
    `${what}: ${result.count} in ${result.seconds.toFixed(1)} s (${result.perSecond.toFixed(1)}/s), p50 ${percentile(result.latenciesMs, 0.5).toFixed(0)} ms, ` +
      `p99 ${percentile(result.latenciesMs, 0.99).toFixed(0)} ms, statuses ${JSON.stringify(result.statuses)}`,
  );
}

function met({ value, target }: Figure): boolean | undefined {
  if (!target) return undefined;
  return target.op === '>=' ? value >= target.value : value <= target.value;
}

function table(figures: Figure[]): string {
  const rows = [
    ['figure', 'value', 'target', 'met?'],
    ...figures.map((f) => {
      const digits = f.unit === '' && !Number.isInteger(f.value) ? 2 : f.unit === 'ms' || f.unit === 'MB' || f.unit === '' ? 0 : 1;
      const isMet = met(f);
      return [f.label, `${f.value.toFixed(digits)} ${f.unit}`.trim(), f.target ? `${f.target.op} ${f.target.value} ${f.unit}`.trim() : '', isMet === undefined ? '' : isMet ? 'yes' : 'NO'];
    }),
  ];
  const widths = rows[0].map((_, column) => Math.max(...rows.map((row) => row[column].length)));
  const line = (row: string[]) => `| ${row.map((cell, column) => (column === 0 ? cell.padEnd(widths[column]) : cell.padStart(widths[column]))).join(' | ')} |`;
  return [line(rows[0]), `|${widths.map((width, column) => `${column === 0 ? '-' : '-'}${'-'.repeat(width)}${column === 0 ? '-' : ':'}`).join('|')}|`, ...rows.slice(1).map(line)].join('\n');
}
