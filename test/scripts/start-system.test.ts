/**
 * `npm start`'s supervisor (scripts/dev/start-system.ts) never leaves a child behind: closing its terminal (SIGHUP)
 * stops them in order like Ctrl-C, and killing it (SIGKILL, no clean-up possible) still ends every one of them.
 * Each run is the real supervisor with the settings of .env.example, on its own ports, database, task queue and
 * Temporal state, from an empty directory (so no .env is read).
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
import { TEST_POSTGRES_URL } from '../support/harness';

const ROOT = join(__dirname, '..', '..');
const TSX_LOADER = pathToFileURL(require.resolve('tsx')).href;

interface Supervisor {
  process: ChildProcess;
  pid: number;
  output: () => string;
  receiverUrl: string;
}

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
  const supervisor = { process: child, pid: child.pid!, output: () => output, receiverUrl: `http://127.0.0.1:${port}` };
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
  const supervisor = await startSupervisor();
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
  const supervisor = await startSupervisor();
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
  const supervisor = await startSupervisor();
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
