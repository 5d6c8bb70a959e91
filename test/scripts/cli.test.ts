/**
 * Every script follows one convention (scripts/lib/cli.ts): --help exits 0, wrong usage 2, a failure 1, a
 * configuration error 78. Run from an empty directory with a bare environment, so no .env is read and no
 * configured database is touched.
 */
import { runScript, type ScriptRun } from '../support/scripts';

const SCRIPTS = [
  'migrate',
  'replay-deliveries',
  'bookings-sync',
  'subscription-reconnect',
  'subscription-verify',
  'dev/fake-calendly',
  'dev/send-test-webhook',
  'dev/benchmark',
  'dev/start-system',
  'dev/docs-config',
];
/** Complete configuration whose database cannot be reached (port 1). */
const UNREACHABLE = {
  API_URL: 'https://bookings.example.com',
  CALENDLY_WEBHOOK_SIGNING_KEY: 'signing-key-0123456789abcdef0123',
  CALENDLY_API_TOKEN: 'calendly-token',
  API_TOKENS: 'api-token-0123456789abcdef012345',
  DATABASE_URL: 'postgres://postgres@127.0.0.1:1/unreachable',
  TEMPORAL_ADDRESS: '127.0.0.1:1',
};

function run(script: string, args: string[], env: Record<string, string> = {}): Promise<ScriptRun> {
  return runScript(`${script}.ts`, args, env);
}

it('each script shows its usage for --help (0) and for an unknown option (2)', async () => {
  const results = await Promise.all(
    SCRIPTS.map(async (script) => ({ script, help: await run(script, ['--help']), wrong: await run(script, ['--no-such-option']) })),
  );
  for (const { script, help, wrong } of results) {
    expect({ script, code: help.code, usage: help.stdout.startsWith('Usage: ') }).toEqual({ script, code: 0, usage: true });
    expect({ script, code: wrong.code, usage: wrong.stderr.includes('\nUsage: ') }).toEqual({ script, code: 2, usage: true });
  }
}, 60_000);

it('replay-deliveries exits 1 when it fails, 78 without configuration', async () => {
  const [failed, unconfigured] = await Promise.all([run('replay-deliveries', [], UNREACHABLE), run('replay-deliveries', [])]);
  expect(failed.code).toBe(1);
  expect(failed.stderr).toContain('replay-deliveries failed: ');
  expect(unconfigured.code).toBe(78);
  expect(unconfigured.stderr).toContain('Configuration error: ');
}, 60_000);

it('migrate exits 1 when the database cannot be reached', async () => {
  const failed = await run('migrate', [], { DATABASE_URL: UNREACHABLE.DATABASE_URL });
  expect(failed.code).toBe(1);
  expect(failed.stderr).toContain('migrate failed: ');
}, 60_000);

it('benchmark refuses a size that is not a positive integer (2)', async () => {
  const wrong = await run('dev/benchmark', ['--burst', '0']);
  expect(wrong.code).toBe(2);
  expect(wrong.stderr).toContain('--burst must be a positive integer');
}, 60_000);
