/**
 * `npm run benchmark` (scripts/dev/benchmark.ts) as a user runs it: a real child process that starts its own
 * system, with tiny sizes. It must print the table, write JSON in which every figure is a number, and leave no
 * process and no database behind, also when interrupted. No timing is asserted: figures are the benchmark's output.
 * Both runs share one production build (`--build`), made here as `npm run build` makes it.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Client } from 'pg';
import { diesWithThisProcess } from '../../scripts/dev/temporal-dev-server';
import { isAlive } from '../support/process-group';
import { TEST_POSTGRES_URL } from '../support/harness';

const ROOT = join(__dirname, '..', '..');
const TSX_LOADER = pathToFileURL(require.resolve('tsx')).href;
/** The smallest run that still goes through every phase; --quick's sizes would add minutes of waiting. */
const TINY = [
  ...['--requests', '10', '--burst', '5', '--loaded', '3', '--rate', '2', '--seconds', '2', '--backfill', '5', '--meetings', '1'],
  ...['--probes', '1', '--probe-lead', '5', '--fairness-sync', '5', '--fairness-rate', '2', '--fairness-baseline', '2', '--actions-sample', '2'],
  '--drain-timeout', '120',
];

interface Run {
  child: ChildProcess;
  output: () => string;
  /** Every process seen below the benchmark while it ran (it starts Temporal, the worker, the receiver, …). */
  seen: Set<number>;
  exited: Promise<number | null>;
}

let build: string;
beforeAll(async () => {
  // Inside the checkout, where the compiled code finds node_modules (as the benchmark's own build is).
  build = join(ROOT, '.tools', 'benchmark', `build-test-${process.pid}`);
  await promisify(execFile)('bash', [join(ROOT, 'scripts', 'build.sh')], { env: { ...process.env, BUILD_OUT_DIR: build } });
}, 180_000);
afterAll(() => rmSync(build, { recursive: true, force: true }));

let dir: string;
beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'benchmark-test-'))));
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function runBenchmark(args: string[]): Run {
  const tied = diesWithThisProcess(process.execPath, ['--import', TSX_LOADER, join(ROOT, 'scripts', 'dev', 'benchmark.ts'), ...args]);
  const child = spawn(tied.command, tied.args, { cwd: dir, env: { PATH: process.env.PATH ?? '/usr/bin:/bin' }, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const seen = new Set<number>();
  const watch = setInterval(() => descendantsOf(child.pid!).forEach((pid) => seen.add(pid)), 100);
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code, signal) => {
      clearInterval(watch);
      resolve(code ?? (signal ? 128 : null));
    }),
  );
  return { child, output: () => output, seen, exited };
}

/** Every process below `pid`, from /proc. */
function descendantsOf(pid: number): number[] {
  const parents = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      parents.set(ppid, [...(parents.get(ppid) ?? []), Number(entry)]);
    } catch {
      // Gone meanwhile.
    }
  }
  const found: number[] = [];
  const visit = (parent: number) => (parents.get(parent) ?? []).forEach((child) => (found.push(child), visit(child)));
  visit(pid);
  return found;
}

async function databaseExists(name: string): Promise<boolean> {
  const client = new Client({ connectionString: `${TEST_POSTGRES_URL}/postgres` });
  await client.connect();
  try {
    return (await client.query('select 1 from pg_database where datname = $1', [name])).rowCount === 1;
  } finally {
    await client.end();
  }
}

/** Its children are gone once it has exited: give the kernel a moment to reap them. */
async function leftRunning(run: Run): Promise<number[]> {
  const deadline = Date.now() + 10_000;
  while ([...run.seen].some(isAlive) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
  return [...run.seen].filter(isAlive);
}

const databaseOf = (output: string) => /Creating and migrating database (\S+)/.exec(output)?.[1];

it('prints the table with every target, writes every figure as a number, and leaves nothing running', async () => {
  const out = join(dir, 'figures.json');
  const run = runBenchmark([...TINY, '--build', build, '--out', out]);
  const code = await run.exited;
  const output = run.output();
  expect({ code, output }).toEqual({ code: 0, output: expect.stringContaining('| figure') });

  const result = JSON.parse(readFileSync(out, 'utf8')) as { figures: Record<string, unknown>; targets: { key: string; met: unknown }[] };
  const figures = Object.entries(result.figures);
  expect(figures.map(([key]) => key)).toEqual(
    expect.arrayContaining([
      'startCeilingPerSecond',
      'refusalRatio',
      'acceptsBurstRatio',
      'acceptsLoadedRatio',
      'ackBurstP99Ms',
      'burstBookingsPerSecond',
      'burstCpuMsPerBookingWorker',
      'burstCpuMsPerBookingTemporal',
      'burstCpuMsPerBookingPostgres',
      'temporalOnlyBookingsPerSecond',
      'temporalOnlyBeforeBookingsPerSecond',
      'temporalOnlyShapeRatio',
      'temporalOnlyCpuMsPerBookingTemporal',
      'burstToTemporalOnlyRatio',
      'steadyMeetingCreatedP99Ms',
      'steadyAckP99Ms',
      'receiverRssIdleMb',
      'workerRssAfterBurstMb',
      'backfillBookingsPerSecond',
      'duplicateMeetings',
      'fairnessSyncBookingsPerSecond',
      'fairnessAloneMeetingCreatedP99Ms',
      'fairnessSyncingMeetingCreatedP99Ms',
      'fairnessP99Ratio',
      'fairnessForeignEvents',
      'billableActionsPerBooking',
      'billableActionsTemporalOnly',
      'billableActionsTemporalOnlyBefore',
      'billableActionsRemindersToCome',
      'billableActionsPerBookingWithReminders',
      'billableActionsOutboundPerBooking',
      'billableActionsPerBookingAloneWithReminders',
    ]),
  );
  expect(figures.filter(([, value]) => typeof value !== 'number' || !Number.isFinite(value))).toEqual([]);
  // The worker did all of the burst's processing: it cannot have used no CPU for it.
  expect(result.figures.burstCpuMsPerBookingWorker).toBeGreaterThan(0);
  // The Temporal-only baseline ran its own worker through the same workflows.
  expect(result.figures.temporalOnlyCpuMsPerBookingWorker).toBeGreaterThan(0);
  // Correctness does not depend on the machine's speed: every booking became one meeting, every event was seen.
  expect({ duplicates: result.figures.duplicateMeetings, missing: result.figures.steadyMissingEvents }).toEqual({ duplicates: 0, missing: 0 });
  // Organization B saw each of its own bookings and nothing of A's, whose sync ran meanwhile.
  expect({ missing: result.figures.fairnessMissingEvents, foreign: result.figures.fairnessForeignEvents }).toEqual({ missing: 0, foreign: 0 });
  // Each sampled booking's workflows were billed: its meeting's workflow's start, the update that handed it the
  // delivery, the activity that processed it and its first timer, and its outbound deliveries; the categories add up
  // to the total, and the reminders still to come (a sendReminder each at least) add to it.
  const billable = (key: string) => result.figures[`billableActions${key}`] as number;
  const categories = ['Workflow', 'Activity', 'Timer', 'Signal', 'Update', 'Schedule', 'Nexus'].map((category) => billable(`PerBooking${category}`));
  expect(billable('PerBooking')).toBeGreaterThan(0);
  expect(categories.reduce((sum, value) => sum + value, 0)).toBeCloseTo(billable('PerBooking'), 3);
  expect({ timer: billable('PerBookingTimer'), update: billable('PerBookingUpdate') }).toEqual({ timer: 1, update: 1 });
  // Counted the same way on the Temporal-only runs: today's shape is the meeting's workflow alone (its start, the update,
  // processDelivery and the first timer); the shape before had a delivery workflow beside it.
  expect(billable('TemporalOnly')).toBe(4);
  expect(billable('TemporalOnlyBefore')).toBeGreaterThanOrEqual(4);
  expect(billable('PerBookingWorkflow')).toBeGreaterThan(0);
  expect(billable('RemindersToCome')).toBeGreaterThanOrEqual(3);
  expect(billable('ReminderFiredMeasured')).toBeGreaterThan(0);
  expect(billable('PerBookingWithReminders')).toBeCloseTo(billable('PerBooking') + billable('RemindersToCome'), 3);
  // Outbound: a booking's two events (lead.created, meeting.created) reach the endpoint's workflow as one wake (its
  // Signal-With-Start and one pass), shared with the bookings of the same second; a workflow per event cost 4.
  expect(billable('OutboundPerBooking')).toBeGreaterThan(0);
  expect(billable('OutboundPerBooking')).toBeLessThanOrEqual(2);
  expect(billable('PerBookingAloneWithReminders') - billable('PerBookingWithReminders') + billable('OutboundPerBooking')).toBe(2);
  expect(result.targets.filter(({ met }) => typeof met !== 'boolean')).toEqual([]);
  expect(output.match(/\| +(yes|NO) \|$/gm)).toHaveLength(result.targets.length);

  expect(run.seen.size).toBeGreaterThanOrEqual(4);
  expect(await leftRunning(run)).toEqual([]);
  expect(await databaseExists(databaseOf(output)!)).toBe(false);
  // The build it was given is left in place.
  expect(existsSync(join(build, 'src', 'worker', 'workflows.bundle.js'))).toBe(true);
}, 600_000);

it('stops everything it started when interrupted (Ctrl-C) while it measures, and exits 130', async () => {
  const run = runBenchmark([...TINY, '--build', build, '--out', join(dir, 'figures.json')]);
  const deadline = Date.now() + 300_000;
  while (!run.output().includes('Raw start ceiling') && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
  expect(run.output()).toContain('Raw start ceiling');

  process.kill(run.child.pid!, 'SIGINT');
  expect(await run.exited).toBe(130);
  expect(run.seen.size).toBeGreaterThanOrEqual(3);
  expect(await leftRunning(run)).toEqual([]);
  expect(await databaseExists(databaseOf(run.output())!)).toBe(false);
}, 600_000);
