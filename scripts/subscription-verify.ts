/**
 * npm run subscription:verify -- [--self-test] [--allow-others] [--connection <id>]
 * Says whether Calendly delivers bookings here, and if not, what is wrong and how to fix it.
 */
import { HANDLED_EVENTS } from '../src/calendly/schemas';
import { configFromEnvironment } from '../src/config';
import { describeSubscription } from '../src/subscriptions/inspection';
import { sendSelfTest } from '../src/subscriptions/self-test';
import { VERIFY_EXIT_CODES, verifySubscription } from '../src/subscriptions/verify';
import { CONNECTION_OPTION, CONNECTION_USAGE, scriptAccount } from './lib/account';
import { runCli } from './lib/cli';

const USAGE = `Usage: npm run subscription:verify -- [--self-test] [--allow-others] [--connection <id>]

Checks that Calendly delivers bookings here: one active subscription at API_URL + /calendly/webhook, with no
failing deliveries, listening to exactly
  ${HANDLED_EVENTS.join(', ')}
and no subscription at another URL receiving invitee events.

  --self-test     also send the running receiver a signed invitee.created delivery, built like Calendly's from a
                  real invitee (of the scheduled event with the latest start time), and check it is accepted (2xx)
  --allow-others  do not count subscriptions at other URLs as a problem (another integration owns them)
${CONNECTION_USAGE}
                     (its subscription: API_URL + /calendly/webhook/<id>; the self-test signs with its own key)
  --help          show this help

Exit code: 0 connected, ${VERIFY_EXIT_CODES.missing} no subscription here, ${VERIFY_EXIT_CODES.disabled} disabled by Calendly, ${VERIFY_EXIT_CODES['wrong-events']} wrong events, ${VERIFY_EXIT_CODES.failing} deliveries failing,
${VERIFY_EXIT_CODES['other-subscriptions']} other subscriptions receive invitee events, ${VERIFY_EXIT_CODES['self-test-failed']} self-test not accepted; 1 unexpected error, 2 wrong usage,
78 configuration error. With several problems, the code of the most urgent (listed first).`;

const OPTIONS = { 'self-test': { type: 'boolean' }, 'allow-others': { type: 'boolean' }, ...CONNECTION_OPTION } as const;

runCli('subscription:verify', USAGE, OPTIONS, async (values) => {
  const config = configFromEnvironment();
  const { calendly, target, close } = await scriptAccount(config, values.connection);
  const print = (line: string) => process.stdout.write(`${line}\n`);
  try {
    const { inspection, findings, exitCode } = await verifySubscription(calendly, target.callbackUrl, { allowOthers: values['allow-others'], connectionId: values.connection });
    print(`Organization: ${inspection.organization}`);
    print(`Webhook URL:  ${target.callbackUrl}`);
    if (inspection.ours) print(`Subscription: ${describeSubscription(inspection.ours)}`);
    for (const finding of findings) print(`PROBLEM (${finding.problem}): ${finding.message}\n  Fix: ${finding.fix}`);
    if (!findings.length) print('OK: Calendly delivers bookings here.');
    if (!values['self-test']) return exitCode;

    const selfTest = await sendSelfTest(calendly, target);
    print(`${selfTest.ok ? 'OK' : 'PROBLEM (self-test)'}: ${selfTest.message}`);
    if (selfTest.inviteeUri) print(`  about ${selfTest.inviteeUri}`);
    return exitCode || (selfTest.ok ? 0 : VERIFY_EXIT_CODES['self-test-failed']);
  } finally {
    await close();
  }
});
