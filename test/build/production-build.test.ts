/**
 * `npm run build` (scripts/build.sh), what the image ships: run into a directory of its own under dist/, then the
 * compiled code is checked as the image runs it, with plain node and no tsx: the files are there with their source
 * maps, the prebuilt workflow bundle replays the recorded histories (it is the real workflow code), the compiled
 * code needs only production dependencies, the scripts answer --help, and the compiled receiver and worker start
 * against this run's Temporal and PostgreSQL, the worker on the prebuilt bundle.
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, rmdirSync, rmSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join, relative } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { Worker } from '@temporalio/worker';
import { loadConfig } from '../../src/config';
import { createLogger } from '../../src/logger';
import { scheduleIdsFor } from '../../src/worker/schedules';
import { loadWorkflowBundle } from '../../src/worker/workflow-bundle';
import { freePort } from '../../scripts/lib/free-ports';
import { harness } from '../support/harness';
import { spawnGroup, type GroupProcess } from '../support/process-group';

const ROOT = join(__dirname, '..', '..');
const DIST = join(ROOT, 'dist');
const OUT = join(DIST, `build-test-${process.pid}`);
const BUNDLE = join(OUT, 'src', 'worker', 'workflows.bundle.js');
const HISTORIES = join(ROOT, 'test', 'workflows', 'histories');
const PRODUCTION_SCRIPTS = ['migrate', 'replay-deliveries', 'bookings-sync', 'subscription-reconnect', 'subscription-verify', 'build-workflow-bundle'];

type Run = { code: number; stdout: string; stderr: string };
function run(command: string, args: string[], options: { cwd: string; env: NodeJS.ProcessEnv }): Promise<Run> {
  return new Promise((resolve) => {
    execFile(command, args, { ...options, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) =>
      resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => relative(OUT, join(entry.parentPath, entry.name)).split('\\').join('/'));
}

let built: Run;
let files: string[];
beforeAll(async () => {
  built = await run('npm', ['run', '-s', 'build'], { cwd: ROOT, env: { ...process.env, BUILD_OUT_DIR: relative(ROOT, OUT) } });
  files = existsSync(OUT) ? filesUnder(OUT) : [];
  // A bound, not a wait: the whole project's compile takes minutes on a machine busy with other test files.
}, 240_000);

afterAll(() => {
  rmSync(OUT, { recursive: true, force: true });
  try {
    rmdirSync(DIST); // only when this test made it and nothing else is in it
  } catch {
    // not empty, or not there
  }
});

it('builds the processes, scripts and migrations as JavaScript with source maps, the dashboard and the workflow bundle', () => {
  expect({ code: built.code, stderr: built.stderr }).toEqual({ code: 0, stderr: '' });
  expect(files).toEqual(
    expect.arrayContaining([
      'src/receiver/main.js',
      'src/receiver/main.js.map',
      'src/worker/main.js',
      'src/worker/main.js.map',
      'src/receiver/dashboard/public/index.html',
      'src/worker/workflows.bundle.js',
      ...PRODUCTION_SCRIPTS.flatMap((script) => [`scripts/${script}.js`, `scripts/${script}.js.map`]),
    ]),
  );
  const migrations = readdirSync(join(ROOT, 'migrations')).filter((file) => file.endsWith('.ts'));
  expect(files.filter((file) => /^migrations\/[^/]+\.js$/.test(file))).toEqual(migrations.map((file) => `migrations/${file.replace(/\.ts$/, '.js')}`));
  // No TypeScript source, test, fake Calendly API or dev tool.
  expect(files.filter((file) => /\.ts$|^(test|fake-calendly|scripts\/dev)\//.test(file))).toEqual([]);
});

it('bundles the workflow code with an inline source map that points into workflows/', () => {
  const code = readFileSync(BUNDLE, 'utf8');
  const map = /\/\/# sourceMappingURL=data:application\/json;charset=utf-8;base64,(\S+)\s*$/.exec(code);
  expect(map).not.toBeNull();
  const { sources } = JSON.parse(Buffer.from(map![1], 'base64').toString('utf8')) as { sources: string[] };
  expect(sources).toEqual(expect.arrayContaining([join(ROOT, 'workflows', 'index.ts'), join(ROOT, 'src', 'contract.ts')]));
});

it.each(readdirSync(HISTORIES).filter((file) => file.endsWith('.json')))('the prebuilt bundle replays %s', async (file) => {
  const history: unknown = JSON.parse(readFileSync(join(HISTORIES, file), 'utf8'));
  await expect(Worker.runReplayHistory({ workflowBundle: { codePath: BUNDLE } }, history, file)).resolves.toBeUndefined();
});

it('compiled code requires only Node built-ins, production dependencies and its own files', () => {
  const { dependencies, devDependencies } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as Record<string, Record<string, string>>;
  const required = new Set<string>();
  for (const file of files.filter((name) => name.endsWith('.js') && name !== 'src/worker/workflows.bundle.js')) {
    for (const [, specifier] of readFileSync(join(OUT, file), 'utf8').matchAll(/require\("([^"]+)"\)/g)) required.add(specifier);
  }
  const packages = [...required]
    .filter((specifier) => !specifier.startsWith('.') && !specifier.startsWith('node:') && !builtinModules.includes(specifier))
    .map((specifier) => specifier.split('/').slice(0, specifier.startsWith('@') ? 2 : 1).join('/'));
  expect(packages.length).toBeGreaterThan(0);
  expect([...new Set(packages)].filter((name) => !(name in dependencies))).toEqual([]);
  expect(Object.keys(dependencies).filter((name) => name in devDependencies)).toEqual([]);
  expect(Object.keys(dependencies)).not.toContain('tsx');
});

it('each compiled production script shows its usage with plain node', async () => {
  const results = await Promise.all(
    PRODUCTION_SCRIPTS.map(async (script) => ({
      script,
      ...(await run(process.execPath, [join(OUT, 'scripts', `${script}.js`), '--help'], { cwd: OUT, env: { PATH: process.env.PATH } })),
    })),
  );
  for (const { script, code, stdout } of results) expect({ script, code, usage: stdout.startsWith('Usage: ') }).toEqual({ script, code: 0, usage: true });
});

describe('loadWorkflowBundle', () => {
  const logger = createLogger('fatal', 'test');

  it('loads WORKFLOW_BUNDLE_PATH, and refuses one that does not exist', async () => {
    const config = loadConfig({
      API_URL: 'http://127.0.0.1:3000',
      CALENDLY_WEBHOOK_SIGNING_KEY: 'signing-key-0123',
      CALENDLY_API_TOKEN: 'token',
      API_TOKENS: 'api-token-0123456789abcdef',
      WORKFLOW_BUNDLE_PATH: ` ${BUNDLE} `,
    });
    expect(config.workflowBundlePath).toBe(BUNDLE);
    await expect(loadWorkflowBundle(logger, config.workflowBundlePath)).resolves.toEqual({ code: readFileSync(BUNDLE, 'utf8') });
    await expect(loadWorkflowBundle(logger, join(OUT, 'missing.js'))).rejects.toThrow(/WORKFLOW_BUNDLE_PATH .*missing\.js does not exist/);
  });

  it('compiled, defaults to the bundle next to the compiled worker', async () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const compiled = require(join(OUT, 'src', 'worker', 'workflow-bundle.js')) as typeof import('../../src/worker/workflow-bundle');
    expect(compiled.PREBUILT_WORKFLOW_BUNDLE).toBe(BUNDLE);
    await expect(compiled.loadWorkflowBundle(logger)).resolves.toEqual({ code: readFileSync(BUNDLE, 'utf8') });
  });
});

describe('the compiled processes, with plain node', () => {
  const started: GroupProcess[] = [];
  const taskQueue = `build-test-${randomUUID()}`;

  afterAll(async () => {
    for (const child of started) child.killGroup();
    const { temporalAddress, namespace } = harness();
    const connection = await Connection.connect({ address: temporalAddress });
    try {
      const client = new Client({ connection, namespace });
      for (const scheduleId of Object.values(scheduleIdsFor(taskQueue))) await client.schedule.getHandle(scheduleId).delete().catch(() => undefined);
    } finally {
      await connection.close();
    }
  });

  async function environment(): Promise<NodeJS.ProcessEnv> {
    const { temporalAddress, namespace, databaseUrl } = harness();
    return {
      PATH: process.env.PATH,
      NODE_OPTIONS: '--enable-source-maps',
      HOST: '127.0.0.1',
      PORT: String(await freePort()),
      API_URL: 'http://127.0.0.1:3000',
      CALENDLY_WEBHOOK_SIGNING_KEY: 'test-signing-key-0123456789',
      CALENDLY_API_TOKEN: 'calendly-token',
      CALENDLY_API_BASE_URL: 'http://127.0.0.1:1',
      API_TOKENS: 'test-api-token-0123456789abcdef',
      DATABASE_URL: databaseUrl,
      TEMPORAL_ADDRESS: temporalAddress,
      TEMPORAL_NAMESPACE: namespace,
      TEMPORAL_TASK_QUEUE: taskQueue,
      LOG_LEVEL: 'info',
    };
  }

  it('the receiver answers /ready against Temporal and PostgreSQL, and serves the dashboard', async () => {
    const env = await environment();
    const receiver = spawnGroup('receiver', process.execPath, [join(OUT, 'src', 'receiver', 'main.js')], { cwd: OUT, env });
    started.push(receiver);
    await receiver.waitForLine(/Receiver listening/, 60_000);
    const response = await fetch(`http://127.0.0.1:${env.PORT}/ready`);
    expect({ status: response.status, body: await response.json() }).toEqual({ status: 200, body: { status: 'ready', failing: [] } });
    const dashboard = await fetch(`http://127.0.0.1:${env.PORT}/`, { headers: { authorization: `Bearer ${env.API_TOKENS}` } });
    expect({ status: dashboard.status, type: dashboard.headers.get('content-type') }).toEqual({ status: 200, type: 'text/html; charset=utf-8' });
    receiver.signal('SIGTERM');
    expect(await receiver.exited).toEqual({ code: 0, signal: null });
  }, 90_000);

  it('the worker runs on the prebuilt bundle, without bundling at start-up', async () => {
    const worker = spawnGroup('worker', process.execPath, [join(OUT, 'src', 'worker', 'main.js')], { cwd: OUT, env: await environment() });
    started.push(worker);
    await worker.waitForLine(/Worker running/, 60_000);
    const output = worker.output().join('\n');
    expect(output).toContain('Using the prebuilt workflow bundle');
    expect(output).not.toContain('Bundling the workflow code');
    worker.signal('SIGTERM');
    expect(await worker.exited).toEqual({ code: 0, signal: null });
  }, 90_000);
});
