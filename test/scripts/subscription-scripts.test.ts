/** The command-line scripts as an operator runs them: output and exit codes, against the fake Calendly API. */
import { MeetingSchema } from '../../src/database/entities/meeting';
import { subscriptionKit, type SubscriptionKit } from '../support/subscriptions';
import { API_TOKEN, CALENDLY_TOKEN, eventually, SIGNING_KEY, startTestSystem, type TestSystem } from '../support/system';
import { runScript, type ScriptRun } from '../support/scripts';

let system: TestSystem;
let kit: SubscriptionKit;
beforeAll(async () => {
  system = await startTestSystem();
  kit = subscriptionKit(system);
});
afterAll(() => system.stop());


function run(script: string, args: string[] = []): Promise<ScriptRun> {
  const env = {
    API_URL: system.receiverUrl,
    CALENDLY_WEBHOOK_SIGNING_KEY: SIGNING_KEY,
    CALENDLY_API_TOKEN: CALENDLY_TOKEN,
    CALENDLY_API_BASE_URL: system.fake.url,
    API_TOKENS: API_TOKEN,
    // The personal token connection is read (or saved) like any connection.
    DATABASE_URL: system.config.databaseUrl,
    TEMPORAL_ADDRESS: system.config.temporal.address,
    TEMPORAL_NAMESPACE: system.config.temporal.namespace,
    TEMPORAL_TASK_QUEUE: system.config.temporal.taskQueue,
  };
  return runScript(script, args, env);
}

it('verify fails with 3, reconnect --dry-run changes nothing, reconnect connects, then verify --self-test passes', async () => {
  const missing = await run('subscription-verify.ts');
  expect(missing.code).toBe(3);
  expect(missing.stdout).toContain('PROBLEM (missing)');
  expect(missing.stdout).toContain('Fix: run npm run subscription:reconnect');

  const plan = await run('subscription-reconnect.ts', ['--dry-run']);
  expect(plan.code).toBe(0);
  expect(plan.stdout).toContain(`Would create a subscription at ${kit.target.callbackUrl}`);
  expect(system.fake.subscriptions()).toEqual([]);

  const connect = await run('subscription-reconnect.ts');
  expect(connect.code).toBe(0);
  expect(connect.stdout).toContain('Connected: ');
  const again = await run('subscription-reconnect.ts');
  expect(again.code).toBe(0);
  expect(again.stdout).toContain('Already connected: nothing to change.');

  await system.fake.bookMeeting({ email: `cli-${Date.now()}@example.com`, startTime: '2033-01-01T10:00:00Z' }, { deliver: false });
  const verified = await run('subscription-verify.ts', ['--self-test']);
  expect(verified.stderr).toBe('');
  expect(verified.code).toBe(0);
  expect(verified.stdout).toContain('OK: Calendly delivers bookings here.');
  expect(verified.stdout).toContain('OK: The receiver accepted the signed test delivery (202)');
}, 60_000);

it('bookings:sync feeds the window once, then finds everything already known', async () => {
  const { invitee } = await system.fake.bookMeeting({ email: `cli-sync-${Date.now()}@example.com`, startTime: '2034-02-01T10:00:00Z' }, { deliver: false });
  const window = ['--from', '2034-01-01T00:00:00Z', '--to', '2035-01-01T00:00:00Z'];

  const dryRun = await run('bookings-sync.ts', [...window, '--dry-run']);
  expect(dryRun.code).toBe(0);
  expect(dryRun.stdout).toContain('Done: 1 event, 1 invitee: 1 delivery would be fed.');

  const first = await run('bookings-sync.ts', window);
  expect(first.code).toBe(0);
  expect(first.stdout).toContain('Done: 1 event, 1 invitee: 1 started, 0 already known.');
  await eventually(async () => ((await system.orm.em.fork().count(MeetingSchema, { inviteeUri: invitee.uri })) === 1 ? true : undefined));

  const second = await run('bookings-sync.ts', window);
  expect(second.stdout).toContain('Done: 1 event, 1 invitee: 0 started, 1 already known.');
}, 60_000);

it('answers wrong usage with 2 and the usage text', async () => {
  const wrong = await run('bookings-sync.ts', ['--from', 'yesterday']);
  expect(wrong.code).toBe(2);
  expect(wrong.stderr).toContain('--from must be an ISO date-time');
  expect(wrong.stderr).toContain('Usage: npm run bookings:sync');
  expect((await run('subscription-verify.ts', ['--frobnicate'])).code).toBe(2);
});
