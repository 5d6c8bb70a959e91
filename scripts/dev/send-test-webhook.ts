/**
 * npm run send-test-webhook -- [--email <address>] [--name <name>] [--start <ISO time>]
 * Books a meeting in the local fake Calendly API, sends its signed invitee.created delivery to the running
 * receiver, and follows it to the read API, printing the workflow to open in the Temporal Web UI.
 */
import { configFromEnvironment } from '../../src/config';
import { workflowUrl } from '../../src/temporal/web-ui-links';
import { runCli } from '../lib/cli';
import { localTrial, NO_LOCAL_TRIAL } from './local-trial';

const USAGE = `Usage: npm run send-test-webhook -- [--email <address>] [--name <name>] [--start <ISO time>]

Needs the system started with \`npm start\` and the local fake Calendly API (FAKE_CALENDLY_PORT in .env).
  --email   invitee email (default: test.lead+<time>@example.com)
  --name    invitee name (default: Test Lead)
  --start   meeting start (default: tomorrow 10:00 UTC)
  --help    show this help

Exit code: 0 once the meeting can be read from GET /api/meetings, 1 otherwise, 2 wrong usage, 78 configuration error.`;

runCli('send-test-webhook', USAGE, { email: { type: 'string' }, name: { type: 'string' }, start: { type: 'string' } }, async (values) => {
  const config = configFromEnvironment();
  const trial = localTrial(config);
  if (!trial) {
    process.stderr.write(NO_LOCAL_TRIAL);
    return 1;
  }
  const email = values.email ?? `test.lead+${Date.now()}@example.com`;
  const startTime = values.start ?? tomorrowAtTenUtc();

  const booked = await trial.book({ email, name: values.name ?? 'Test Lead', startTime });
  process.stdout.write(`Booked ${email} for ${startTime} in the fake Calendly API\n  invitee ${booked.invitee.uri}\n`);
  const { status, ms, answer } = await trial.send(await trial.signedDelivery(booked.invitee.uri));
  process.stdout.write(`Receiver answered ${status} in ${ms.toFixed(1)} ms: ${JSON.stringify(answer)}\n`);
  if (!answer.workflowId) return 1;
  process.stdout.write(
    `Open it in the Temporal Web UI:\n  ${workflowUrl(config.temporal, answer.workflowId)}\n` +
      `  or search: CalendlyInviteeEmail = "${email.toLowerCase()}"\n`,
  );

  const token = config.apiTokens[0].token;
  for (let waited = 0; waited < 30_000; waited += 500) {
    const meetings = await fetch(`${trial.receiverUrl}/api/meetings?email=${encodeURIComponent(email)}`, {
      headers: { authorization: `Bearer ${token}` },
    }).then((result) => result.json() as Promise<{ data?: { status: string; startTime: string; name: string }[] }>);
    const meeting = meetings.data?.[0];
    if (meeting) {
      process.stdout.write(`Stored: meeting "${meeting.name}" at ${meeting.startTime}, status ${meeting.status} (GET /api/meetings)\n`);
      return 0;
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  process.stderr.write('The meeting did not appear within 30 s: check the worker logs and the workflow in the Web UI.\n');
  return 1;
});

function tomorrowAtTenUtc(): string {
  const start = new Date(Date.now() + 86_400_000);
  start.setUTCHours(10, 0, 0, 0);
  return start.toISOString();
}
