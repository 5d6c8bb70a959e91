/**
 * `npm start`'s supervisor (scripts/dev/start-system.ts) never leaves a child behind: closing its terminal (SIGHUP)
 * stops them in order like Ctrl-C, and killing it (SIGKILL, no clean-up possible) still ends every one of them. The
 * trial it starts shows the product: the demo organization connects a Calendly account of the fake by OAuth, as its
 * start-up output says, the first sync brings that account's bookings in, and send-test-webhook books live ones.
 * Each run is the real supervisor with the settings of .env.example, on its own ports, database, task queue and
 * Temporal state, from an empty directory (so no .env is read). The runs about signals and OAuth-only settings name
 * the test run's prebuilt workflow bundle (WORKFLOW_BUNDLE_PATH, as a deployment does), so that their worker runs in
 * seconds; the run killed while bundling and the demo's run bundle at start-up, as `npm start` on a fresh clone does.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parse } from 'dotenv';
import { dropDatabase } from '../../src/database/migrate';
import { diesWithThisProcess } from '../../scripts/dev/temporal-dev-server';
import { freePorts } from '../../scripts/lib/free-ports';
import { isAlive } from '../support/process-group';
import { runScript } from '../support/scripts';
import { TEST_POSTGRES_URL, workflowBundlePath } from '../support/harness';

const ROOT = join(__dirname, '..', '..');
const TSX_LOADER = pathToFileURL(require.resolve('tsx')).href;

interface Supervisor {
  process: ChildProcess;
  pid: number;
  output: () => string;
  receiverUrl: string;
  fakeUrl: string;
  /** what it was started with: the settings a script run beside it reads too */
  env: Record<string, string>;
}

/** The setting that spares a worker its bundling at start-up. */
const prebuiltBundle = () => ({ WORKFLOW_BUNDLE_PATH: workflowBundlePath() });

const started: { supervisor: Supervisor; databaseUrl: string; dir: string; pids: number[] }[] = [];

/** `settings` replace what .env.example and the test's ports give, a function when it names those ports. */
async function startSupervisor(settings: (ports: { port: number; fakePort: number }) => Record<string, string> = () => ({})): Promise<Supervisor> {
  const [port, temporalPort, uiPort, fakePort] = await freePorts(4);
  const dir = mkdtempSync(join(tmpdir(), 'start-system-test-'));
  const databaseUrl = `${TEST_POSTGRES_URL}/calendly_bookings_start_${randomBytes(4).toString('hex')}`;
  const env = {
    ...parse(readFileSync(join(ROOT, '.env.example'))),
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOST: '127.0.0.1',
    PORT: String(port),
    API_URL: `http://127.0.0.1:${port}`,
    FAKE_CALENDLY_PORT: String(fakePort),
    CALENDLY_API_BASE_URL: `http://127.0.0.1:${fakePort}`,
    CALENDLY_AUTH_BASE_URL: `http://127.0.0.1:${fakePort}`,
    CALENDLY_OAUTH_REDIRECT_URI: `http://127.0.0.1:${port}/api/connections/callback`,
    DATABASE_URL: databaseUrl,
    TEMPORAL_ADDRESS: `127.0.0.1:${temporalPort}`,
    TEMPORAL_WEB_UI_URL: `http://127.0.0.1:${uiPort}`,
    TEMPORAL_TASK_QUEUE: `start-system-test-${randomBytes(4).toString('hex')}`,
    LOG_LEVEL: 'info',
    ...settings({ port, fakePort }),
  };
  // Tied to this test process too: a killed jest run must not leave a supervisor behind either.
  const tied = diesWithThisProcess(process.execPath, ['--import', TSX_LOADER, join(ROOT, 'scripts', 'dev', 'start-system.ts'), '--data-dir', join(dir, '.data')]);
  const child = spawn(tied.command, tied.args, { cwd: dir, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const supervisor = { process: child, pid: child.pid!, output: () => output, receiverUrl: `http://127.0.0.1:${port}`, fakeUrl: `http://127.0.0.1:${fakePort}`, env };
  started.push({ supervisor, databaseUrl, dir, pids: [child.pid!] });
  return supervisor;
}

/** Every process below `pid`, from /proc: the dev server, the worker and the receiver (each one node process). */
function descendantsOf(pid: number): { pid: number; command: string }[] {
  const parents = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // The command name may contain spaces and parentheses: the parent PID is the 2nd field after the last ')'.
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      parents.set(ppid, [...(parents.get(ppid) ?? []), Number(entry)]);
    } catch {
      // Gone meanwhile.
    }
  }
  const found: { pid: number; command: string }[] = [];
  const visit = (parent: number) => {
    for (const child of parents.get(parent) ?? []) {
      found.push({ pid: child, command: commandOf(child) });
      visit(child);
    }
  };
  visit(pid);
  return found;
}

function commandOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
  } catch {
    return '';
  }
}


async function waitFor<T>(what: string | (() => string), timeoutMs: number, check: () => Promise<T | undefined> | T | undefined, supervisor: Supervisor): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const result = await check();
    if (result !== undefined) return result;
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${typeof what === 'string' ? what : what()}. Output:\n${supervisor.output()}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** Started completely (the receiver answers /health and the worker runs), or only until /health; every process below it. */
async function runningChildren(supervisor: Supervisor, { workerRunning = true } = {}): Promise<number[]> {
  await waitFor(
    'the receiver to answer /health',
    90_000,
    async () => {
      if (supervisor.process.exitCode !== null) throw new Error(`The supervisor exited early (${supervisor.process.exitCode}):\n${supervisor.output()}`);
      const response = await fetch(`${supervisor.receiverUrl}/health`).catch(() => undefined);
      return response?.ok ? true : undefined;
    },
    supervisor,
  );
  if (workerRunning) await waitFor('the worker to run', 90_000, () => (supervisor.output().includes('Worker running') ? true : undefined), supervisor);
  const children = descendantsOf(supervisor.pid);
  started.at(-1)!.pids.push(...children.map((child) => child.pid));
  const find = (pattern: RegExp) => children.find((child) => pattern.test(child.command))?.pid;
  const found = { temporal: find(/temporal server start-dev/), worker: find(/src\/worker\/main\.ts/), receiver: find(/src\/receiver\/main\.ts/) };
  expect({ children: children.map((child) => child.command), found }).toEqual({
    children: expect.any(Array),
    found: { temporal: expect.any(Number), worker: expect.any(Number), receiver: expect.any(Number) },
  });
  return children.map((child) => child.pid);
}

afterEach(async () => {
  for (const { pids, databaseUrl, dir } of started.splice(0)) {
    for (const pid of pids.reverse()) if (isAlive(pid)) process.kill(pid, 'SIGKILL');
    await dropDatabase(databaseUrl);
    rmSync(dir, { recursive: true, force: true });
  }
});

/** Waits until every one of the supervisor's children has ended, naming those still running if they do not. */
function childrenEnd(pids: number[], supervisor: Supervisor): Promise<unknown> {
  return waitFor(
    () => `every child to end (still running: ${pids.filter(isAlive).map(commandOf).join(', ')})`,
    30_000,
    () => (pids.some(isAlive) ? undefined : true),
    supervisor,
  );
}

it('stops every child, in order, when its terminal is closed (SIGHUP)', async () => {
  const supervisor = await startSupervisor(prebuiltBundle);
  const pids = await runningChildren(supervisor);
  const exited = new Promise<number | null>((resolve) => supervisor.process.once('exit', resolve));

  process.kill(supervisor.pid, 'SIGHUP');
  await childrenEnd(pids, supervisor);
  expect(await exited).toBe(0);
  const output = supervisor.output();
  expect(output).toContain('Stopping: receiver, worker, fake Calendly, Temporal');
  expect(output.indexOf('Receiver stopped')).toBeGreaterThan(-1);
  expect(output.indexOf('Worker stopped')).toBeGreaterThan(output.indexOf('Receiver stopped'));
}, 150_000);

it('ends every child when it is killed (SIGKILL), without a chance to stop them', async () => {
  const supervisor = await startSupervisor(prebuiltBundle);
  const pids = await runningChildren(supervisor);

  process.kill(supervisor.pid, 'SIGKILL');
  await childrenEnd(pids, supervisor);
  expect(existsSync(`/proc/${supervisor.pid}`) && isAlive(supervisor.pid)).toBe(false);
}, 150_000);

it('ends every child when it is killed during start-up, while the worker is still bundling its workflows', async () => {
  const supervisor = await startSupervisor();
  const pids = await runningChildren(supervisor, { workerRunning: false });

  process.kill(supervisor.pid, 'SIGKILL');
  await childrenEnd(pids, supervisor);
}, 150_000);

it('has the worker and the receiver each stop in order on SIGHUP, like on SIGTERM (run from a terminal of their own)', async () => {
  const supervisor = await startSupervisor(prebuiltBundle);
  const pids = await runningChildren(supervisor);
  const [worker, receiver] = [/src\/worker\/main\.ts/, /src\/receiver\/main\.ts/].map((pattern) => pids.find((pid) => pattern.test(commandOf(pid)))!);
  const exited = new Promise<number | null>((resolve) => supervisor.process.once('exit', resolve));

  process.kill(worker, 'SIGHUP');
  process.kill(receiver, 'SIGHUP');
  await waitFor('both to stop', 30_000, () => (isAlive(worker) || isAlive(receiver) ? undefined : true), supervisor);
  expect(supervisor.output()).toMatch(/Receiver stopping[\s\S]*signal: "SIGHUP"[\s\S]*Receiver stopped/);
  expect(supervisor.output()).toContain('Worker stopped');
  // The supervisor notices, and stops the rest.
  expect(await exited).toBe(1);
  await waitFor('every child to end', 30_000, () => (pids.some(isAlive) ? undefined : true), supervisor);
}, 150_000);

const ORGANIZATION_TOKEN = 'trial-organization-token-0123456789';

it('runs OAuth-only, without the fake Calendly, when FAKE_CALENDLY_PORT and CALENDLY_API_TOKEN are empty', async () => {
  let fakeUrl = '';
  const supervisor = await startSupervisor(({ port, fakePort }) => {
    fakeUrl = `http://127.0.0.1:${fakePort}`;
    return {
      ...prebuiltBundle(),
      FAKE_CALENDLY_PORT: '',
      CALENDLY_API_TOKEN: '',
      CALENDLY_WEBHOOK_SIGNING_KEY: '',
      CALENDLY_CLIENT_ID: 'trial-oauth-client',
      CALENDLY_CLIENT_SECRET: 'trial-oauth-client-secret',
      CALENDLY_OAUTH_REDIRECT_URI: `http://127.0.0.1:${port}/api/connections/callback`,
      CONNECTION_ENCRYPTION_KEY: Buffer.alloc(32, 9).toString('base64'),
      CALENDLY_AUTH_BASE_URL: 'https://auth.calendly.example',
      API_TOKENS: `${ORGANIZATION_TOKEN}:https://api.calendly.com/organizations/TRIAL`,
    };
  });
  await runningChildren(supervisor);
  expect(supervisor.output()).toContain('No fake Calendly API (FAKE_CALENDLY_PORT is empty)');
  await expect(fetch(`${fakeUrl}/users/me`)).rejects.toThrow();
  // An organization can start connecting its own Calendly account, at the configured auth server.
  const connect = await fetch(`${supervisor.receiverUrl}/api/connection/connect`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ORGANIZATION_TOKEN}` },
  });
  expect(connect.status).toBe(200);
  expect(((await connect.json()) as { authorizeUrl: string }).authorizeUrl).toMatch(/^https:\/\/auth\.calendly\.example\/oauth\/authorize\?/);
}, 150_000);

/** What the start-up output tells a person to open and run for the demo organization. */
function demoOrganizationOf(supervisor: Supervisor): { organization: string; token: string; owner: string; sendTestWebhook: string[] } {
  const output = supervisor.output();
  const organization = /Demo organization (\S+), connecting its Calendly account by OAuth/.exec(output)?.[1];
  const token = /1\. Open http:\/\/127\.0\.0\.1:\d+\/#token=(\S+) and click "Connect Calendly"/.exec(output)?.[1];
  const owner = /click "Allow" beside [^<]+<([^>]+)>/.exec(output)?.[1];
  const command = /3\. Book a meeting there: npm run send-test-webhook -- (.+)/.exec(output)?.[1];
  if (!organization || !token || !owner || !command) throw new Error(`No demo organization steps in the output:\n${output}`);
  return { organization, token: decodeURIComponent(token), owner, sendTestWebhook: command.trim().split(/\s+/) };
}

async function api(supervisor: Supervisor, method: 'GET' | 'POST', path: string, token: string, body?: object): Promise<{ status: number; body: any }> {
  const response = await fetch(`${supervisor.receiverUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body && JSON.stringify(body),
  });
  return { status: response.status, body: await response.json() };
}

/**
 * The demo organization connects as a person would from its dashboard: Connect, the fake Calendly's consent page
 * (Allow beside the demo account's owner), back through the callback to the dashboard, which completes with its token.
 */
async function connectTheDemoOrganization(supervisor: Supervisor): Promise<void> {
  const demo = demoOrganizationOf(supervisor);
  const started = await api(supervisor, 'POST', '/api/connection/connect', demo.token);
  expect(started.status).toBe(200);
  const authorizeUrl = started.body.authorizeUrl as string;
  expect(authorizeUrl.startsWith(`${supervisor.fakeUrl}/oauth/authorize?`)).toBe(true);

  const consentPage = await (await fetch(authorizeUrl)).text();
  const ownerRow = consentPage.split('<li>').find((row) => row.includes(demo.owner));
  const user = /name="user" value="([^"]+)"/.exec(ownerRow ?? '')?.[1];
  expect({ ownerOnTheConsentPage: user !== undefined }).toEqual({ ownerOnTheConsentPage: true });
  const form = new URLSearchParams(new URL(authorizeUrl).searchParams);
  form.set('user', user!);
  form.set('decision', 'allow');
  const allowed = await fetch(`${supervisor.fakeUrl}/oauth/authorize`, { method: 'POST', body: form, redirect: 'manual' });
  const callback = allowed.headers.get('location') ?? '';
  expect({ status: allowed.status, callback: callback.split('?')[0] }).toEqual({ status: 302, callback: `${supervisor.receiverUrl}/api/connections/callback` });
  const landed = await fetch(callback, { redirect: 'manual' });
  const dashboard = landed.headers.get('location') ?? '';
  expect({ status: landed.status, dashboard: dashboard.split('#')[0] }).toEqual({ status: 303, dashboard: '/?connection=authorized' });
  const completed = await api(supervisor, 'POST', '/api/connection/complete', demo.token, Object.fromEntries(new URLSearchParams(dashboard.split('#')[1])));
  expect({ status: completed.status, connected: completed.body.connection?.status }).toEqual({ status: 200, connected: 'connected' });

  // The set-up subscribes the webhook, and the first sync brings in the demo account's bookings.
  const connection = await waitFor(
    'the first sync to complete',
    120_000,
    async () => {
      const { body } = await api(supervisor, 'GET', '/api/connection', demo.token);
      return body.connection?.sync.state === 'idle' && body.connection.lastSyncedAt ? body.connection : undefined;
    },
    supervisor,
  );
  expect({ webhook: connection.webhook.state, found: connection.sync.progress.invitees, new: connection.sync.progress.started }).toEqual({ webhook: 'active', found: 3, new: 3 });
  const synced = await waitFor(
    'the synced meetings to be readable',
    60_000,
    async () => {
      const { body } = await api(supervisor, 'GET', '/api/meetings', demo.token);
      return body.data?.length === 3 ? (body.data as { lead: { email: string } }[]) : undefined;
    },
    supervisor,
  );
  expect(synced.map((meeting) => meeting.lead.email).sort()).toEqual(['ada@example.com', 'alan@example.com', 'grace@example.com']);

  // A live booking in the connected account arrives through the connection's webhook.
  const email = `demo.lead+${Date.now()}@example.com`;
  const booked = await runScript('dev/send-test-webhook.ts', [...demo.sendTestWebhook, '--email', email], supervisor.env);
  expect({ code: booked.code, stderr: booked.stderr }).toEqual({ code: 0, stderr: '' });
  expect(booked.stdout).toMatch(new RegExp(`The fake delivered invitee.created to ${supervisor.receiverUrl}/calendly/webhook/${connection.id}: 202`));
  const live = await api(supervisor, 'GET', `/api/meetings?email=${encodeURIComponent(email)}`, demo.token);
  expect(live.body.data).toHaveLength(1);
}

it('lets the demo organization of .env.example connect through the fake Calendly, sync, and receive a booking, beside the single account', async () => {
  const supervisor = await startSupervisor();
  await runningChildren(supervisor);

  // The single account, as before.
  expect(supervisor.output()).toContain('Try it:          npm run send-test-webhook');
  const email = `single.account+${Date.now()}@example.com`;
  const single = await runScript('dev/send-test-webhook.ts', ['--email', email], supervisor.env);
  expect({ code: single.code, stderr: single.stderr }).toEqual({ code: 0, stderr: '' });
  expect(single.stdout).toContain('Stored: meeting');

  await connectTheDemoOrganization(supervisor);
  // The demo organization's token sees its own meetings only.
  const { token } = demoOrganizationOf(supervisor);
  expect((await api(supervisor, 'GET', `/api/meetings?email=${encodeURIComponent(email)}`, token)).body.data).toEqual([]);
}, 300_000);

it('runs OAuth-only beside the fake Calendly when CALENDLY_API_TOKEN is empty: the demo organization connects, send-test-webhook asks for one', async () => {
  const supervisor = await startSupervisor(() => ({ ...prebuiltBundle(), CALENDLY_API_TOKEN: '', CALENDLY_WEBHOOK_SIGNING_KEY: '' }));
  await runningChildren(supervisor);
  expect(supervisor.output()).toContain('for OAuth connections only (CALENDLY_API_TOKEN is empty)');
  expect(supervisor.output()).not.toContain('Try it:');

  const withoutOrganization = await runScript('dev/send-test-webhook.ts', [], supervisor.env);
  expect(withoutOrganization.code).toBe(1);
  expect(withoutOrganization.stderr).toContain('CALENDLY_API_TOKEN is empty (OAuth only), so there is no single account to book in');
  expect(withoutOrganization.stderr).toContain('npm run send-test-webhook -- --organization <organization URI>');

  await connectTheDemoOrganization(supervisor);
}, 300_000);
