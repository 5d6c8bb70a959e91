/**
 * Runs the whole system in the foreground for a local trial or development: the Temporal dev server (with Web UI,
 * state kept in .data/temporal), migrations, the fake Calendly API when FAKE_CALENDLY_PORT is set (with a demo
 * Calendly account for an organization to connect, when OAuth is configured), the worker and the receiver. Ctrl-C, SIGTERM or a closed terminal (SIGHUP) stops them in order: receiver, worker, fake Calendly,
 * Temporal. No child outlives this supervisor: killed (SIGKILL), it cannot stop them, so each child gets SIGTERM from
 * the kernel when it dies (parent-death signal, see diesWithThisProcess).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { dirname, join, relative, resolve as resolvePath } from 'node:path';
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';
import { prettyFactory } from 'pino-pretty';
import { configFromEnvironment, type Config } from '../../src/config';
import { migrateDatabase } from '../../src/database/migrate';
import { startFakeCalendly, type FakeCalendly } from '../../fake-calendly';
import { SUBSCRIBED_EVENTS } from '../../src/calendly/schemas';
import { WEBHOOK_PATH } from '../../src/receiver/webhook-route';
import { runCli } from '../lib/cli';
import { CHILDREN_DIE_WITH_THIS_PROCESS, diesWithThisProcess, startTemporalDevServer, type DevServer } from './temporal-dev-server';

const USAGE = `Usage: npm start

Runs Temporal (the dev server, when TEMPORAL_ADDRESS is local), migrations, the fake Calendly API (when
FAKE_CALENDLY_PORT is set; it then prints the trial's dashboard links and how the demo organization connects a
Calendly account by OAuth), the worker and the receiver in the foreground. Ctrl-C (or SIGTERM, or closing the
terminal) stops them in order; none of them outlives this command, even when it is killed.

  --data-dir <dir>  where the Temporal dev server keeps its state (default: .data in the project)
  --help            show this help

Exit code: 0 stopped by Ctrl-C, SIGTERM or SIGHUP, 1 start-up failed or the worker or receiver exited, 2 wrong
usage, 78 configuration error.`;

const ROOT = join(__dirname, '..', '..');
/** tsx's loader, for `node --import`: the children run as one node process each, with no tsx wrapper between. */
const TSX_LOADER = pathToFileURL(require.resolve('tsx')).href;
const prettify = prettyFactory({ colorize: process.stdout.isTTY, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname,service' });
const say = (message: string) => process.stdout.write(`==> ${message}\n`);

/** How to stop what has been started, in start order; stopped in reverse. */
const stoppers: (() => Promise<void>)[] = [];
let stopping = false;

async function stopAll(): Promise<void> {
  stopping = true;
  say('Stopping: receiver, worker, fake Calendly, Temporal');
  for (const stop of stoppers.reverse()) await stop().catch((error: Error) => say(`stop failed: ${error.message}`));
}

/**
 * Runs until a signal (exit code 0) or until the worker or receiver exits (1). Whatever was started is stopped
 * before runCli exits, also when start-up fails; a second signal while stopping exits at once.
 */
runCli('start-system', USAGE, { 'data-dir': { type: 'string' } }, async (options) => {
  const config = configFromEnvironment();
  let stopWith!: (exitCode: number) => void;
  const stopRequested = new Promise<number>((resolve) => (stopWith = resolve));
  // SIGHUP: the terminal was closed. Its output is gone then, which must not break the orderly stop.
  for (const stream of [process.stdout, process.stderr]) stream.on('error', () => undefined);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => (stopping ? process.exit(0) : stopWith(0)));
  const dataDir = resolvePath(options['data-dir'] ?? join(ROOT, '.data'));
  try {
    return await Promise.race([startSystem(config, dataDir, () => stopWith(1)).then(() => stopRequested), stopRequested]);
  } finally {
    await stopAll();
  }
});

async function startSystem(config: Config, dataDir: string, onChildExit: () => void): Promise<void> {
  if (!CHILDREN_DIE_WITH_THIS_PROCESS) say('setpriv (util-linux) not found: if this command is killed (SIGKILL), its processes keep running');
  const temporal = await startLocalTemporal(config, dataDir);
  if (temporal) stoppers.push(() => temporal.stop());

  say('Applying database migrations');
  const applied = await migrateDatabase(config.databaseUrl);
  say(applied.length ? `Applied ${applied.join(', ')}` : 'Database is up to date');

  let demo: DemoAccount | undefined;
  if (config.fakeCalendlyPort) {
    const fake = await startLocalFakeCalendly(config, config.fakeCalendlyPort);
    stoppers.push(() => fake.close());
    const role = config.calendly.apiToken ? `subscribed to ${receiverWebhookUrl(config)}` : 'for OAuth connections only (CALENDLY_API_TOKEN is empty)';
    say(`Fake Calendly API on ${fake.url}, ${role} (FAKE_CALENDLY_PORT is set: local trial)`);
    if (config.oauth) demo = await addDemoAccount(fake);
  } else {
    say('No fake Calendly API (FAKE_CALENDLY_PORT is empty): the configured Calendly is used');
  }

  for (const name of ['worker', 'receiver'] as const) {
    const child = startChild(name);
    child.once('exit', (code) => {
      if (stopping) return;
      say(`The ${name} exited (code ${code}); stopping everything`);
      onChildExit();
    });
  }

  say(
    [
      'System running. Ctrl-C stops it.',
      `    Receiver:        http://${config.host === '0.0.0.0' ? '127.0.0.1' : config.host}:${config.port}  (GET /ready, GET /api/meetings)`,
      `    Webhook URL:     ${config.webhookUrl}`,
      `    Temporal Web UI: ${config.temporal.webUiUrl}`,
      ...(config.calendly.apiToken ? [`    Try it:          npm run send-test-webhook`] : []),
      ...(config.fakeCalendlyPort ? trialDashboards(config, demo) : []),
    ].join('\n'),
  );
}

/** A Calendly account of the fake for an organization to connect, with bookings for its first sync to bring in. */
interface DemoAccount {
  owner: { name: string; email: string };
  bookings: number;
}

const DEMO_OWNER = { name: 'Demo Owner', email: 'owner@demo-calendly.example' };
const DEMO_INVITEES = [
  { name: 'Ada Lovelace', email: 'ada@example.com', daysAhead: -2, eventTypeName: 'Discovery call' },
  { name: 'Grace Hopper', email: 'grace@example.com', daysAhead: 1, eventTypeName: 'Discovery call' },
  { name: 'Alan Turing', email: 'alan@example.com', daysAhead: 3, eventTypeName: 'Product demo' },
];

/** Its own Calendly organization, so that connecting it never competes with the single account's. */
async function addDemoAccount(fake: FakeCalendly): Promise<DemoAccount> {
  const { organizationUri } = fake.createOrganization({ owner: DEMO_OWNER, plan: 'standard' });
  for (const { daysAhead, ...invitee } of DEMO_INVITEES) {
    const startTime = new Date(Date.now() + daysAhead * 86_400_000);
    startTime.setUTCHours(15, 0, 0, 0);
    // Booked before anyone connected: no subscription to deliver to yet, the first sync finds them.
    await fake.bookMeeting({ ...invitee, organization: organizationUri, startTime: startTime.toISOString() }, { deliver: false });
  }
  return { owner: DEMO_OWNER, bookings: DEMO_INVITEES.length };
}

/**
 * The dashboards of the local trial's tokens, at API_URL: the OAuth flow returns to its origin, where the page kept
 * its token while the browser was on the consent page. The demo organization is the first token bound to one.
 */
function trialDashboards(config: Config, demo: DemoAccount | undefined): string[] {
  const dashboard = (token: string) => `${config.apiUrl}/#token=${encodeURIComponent(token)}`;
  const unbound = config.apiTokens.find((token) => !token.organization);
  const bound = config.apiTokens.find((token) => token.organization);
  const lines = unbound ? [`    Dashboard:       ${dashboard(unbound.token)}  (every organization)`] : [];
  // A .env copied from an older .env.example has no OAuth app: say how to see the connect flow.
  if (!config.oauth) return [...lines, '    OAuth connections are off: copy the CALENDLY_CLIENT_ID etc. and API_TOKENS lines of .env.example to .env to try them'];
  if (!demo || !bound) return lines;
  return [
    ...lines,
    `    Demo organization ${bound.organization}, connecting its Calendly account by OAuth:`,
    `      1. Open ${dashboard(bound.token)} and click "Connect Calendly".`,
    `      2. On the fake Calendly's consent page, click "Allow" beside ${demo.owner.name} <${demo.owner.email}>:`,
    `         back on the dashboard, the first sync brings in its ${demo.bookings} bookings.`,
    `      3. Book a meeting there: npm run send-test-webhook -- --organization ${bound.organization}`,
  ];
}

/** The dev server runs only when TEMPORAL_ADDRESS is local; otherwise the configured cluster is used as it is. */
async function startLocalTemporal(config: Config, dataDir: string): Promise<DevServer | undefined> {
  const [host, port] = config.temporal.address.split(':') as [string, string];
  if (!['127.0.0.1', 'localhost'].includes(host)) {
    say(`Using the Temporal cluster at ${config.temporal.address}`);
    return undefined;
  }
  const dbFilename = join(dataDir, 'temporal', 'dev.db');
  say(`Starting the Temporal dev server on ${config.temporal.address} (state kept in ${relative(process.cwd(), dirname(dbFilename)) || '.'})`);
  const server = await startTemporalDevServer({
    ip: '127.0.0.1',
    port: Number(port),
    uiPort: Number(new URL(config.temporal.webUiUrl).port || 8233),
    namespace: config.temporal.namespace,
    dbFilename,
    output: 'inherit',
  });
  say(`Temporal is ready. Web UI: ${config.temporal.webUiUrl}`);
  return server;
}

function receiverWebhookUrl(config: Config): string {
  return `http://127.0.0.1:${config.port}${WEBHOOK_PATH}`;
}

/**
 * With CALENDLY_API_TOKEN, the fake delivers to the local receiver, signed with the configured key, like a real
 * subscription would. With the OAuth settings, it also plays Calendly's auth server for their app (point
 * CALENDLY_AUTH_BASE_URL at it); with those alone, organizations connect through it and nothing is subscribed here.
 */
async function startLocalFakeCalendly(config: Config, port: number): Promise<FakeCalendly> {
  const { apiToken } = config.calendly;
  const oauth = config.oauth && { clientId: config.oauth.clientId, clientSecret: config.oauth.clientSecret, redirectUris: [config.oauth.redirectUri] };
  const fake = await startFakeCalendly({ port, apiToken, oauth });
  if (!apiToken) return fake;
  const response = await fetch(`${fake.url}/webhook_subscriptions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${apiToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      url: receiverWebhookUrl(config),
      events: SUBSCRIBED_EVENTS,
      organization: fake.organizationUri,
      scope: 'organization',
      signing_key: config.calendly.signingKeys[0],
    }),
  });
  if (response.status !== 201) throw new Error(`Could not subscribe the fake Calendly API: ${response.status} ${await response.text()}`);
  return fake;
}

function startChild(name: 'worker' | 'receiver'): ChildProcess {
  // One node process (no tsx wrapper that could be killed alone), which dies with this supervisor. It reads the
  // same environment and .env as this supervisor. Own process group: Ctrl-C and a closed terminal reach this
  // supervisor only, which then stops the children in order.
  const tied = diesWithThisProcess(process.execPath, ['--import', TSX_LOADER, join(ROOT, 'src', name, 'main.ts')]);
  const child = spawn(tied.command, tied.args, { cwd: process.cwd(), detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  stoppers.push(() => stopChild(child));
  // The processes log JSON (what production collects); here each line is made readable.
  createInterface({ input: child.stdout }).on('line', (line) => process.stdout.write(line.startsWith('{') ? prettify(line) : `${line}\n`));
  child.stderr.pipe(process.stderr);
  return child;
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  // The whole group: anything the child may have started goes with it.
  const signalGroup = (signal: NodeJS.Signals) => process.kill(-child.pid!, signal);
  signalGroup('SIGTERM');
  const timeout = setTimeout(() => signalGroup('SIGKILL'), 15_000);
  await once(child, 'exit');
  clearTimeout(timeout);
}
