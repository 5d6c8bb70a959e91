/**
 * npm run send-test-webhook -- [--organization <organization URI>] [--email <address>] [--name <name>] [--start <ISO time>]
 * Books a meeting in the local fake Calendly API and follows it to the read API. For the single account
 * (CALENDLY_API_TOKEN), it sends the booking's signed invitee.created delivery to the receiver itself and prints the
 * workflow to open in the Temporal Web UI; for an organization's OAuth connection, it books in the connected Calendly
 * account, whose subscription the fake then delivers to, as Calendly would.
 */
import { configFromEnvironment } from '../../src/config';
import { workflowUrl } from '../../src/temporal/web-ui-links';
import { runCli } from '../lib/cli';
import { localTrial, NO_LOCAL_TRIAL, type LocalTrial } from './local-trial';

const USAGE = `Usage: npm run send-test-webhook -- [--organization <organization URI>] [--email <address>] [--name <name>]
         [--start <ISO time>]

Needs the system started with \`npm start\` and the local fake Calendly API (FAKE_CALENDLY_PORT in .env).
  --organization  book in the Calendly account this organization connected (OAuth; see its dashboard), e.g. the
                  demo organization of .env.example: https://app.example.com/organizations/demo. Without it: the
                  single account of CALENDLY_API_TOKEN
  --email         invitee email (default: test.lead+<time>@example.com)
  --name          invitee name (default: Test Lead)
  --start         meeting start (default: tomorrow 10:00 UTC)
  --help          show this help

Exit code: 0 once the meeting can be read from GET /api/meetings, 1 otherwise, 2 wrong usage, 78 configuration error.`;

const OPTIONS = { organization: { type: 'string' }, email: { type: 'string' }, name: { type: 'string' }, start: { type: 'string' } } as const;

runCli('send-test-webhook', USAGE, OPTIONS, async (values) => {
  const config = configFromEnvironment();
  const trial = localTrial(config);
  if (!trial) {
    process.stderr.write(NO_LOCAL_TRIAL);
    return 1;
  }
  const booking = { email: values.email ?? `test.lead+${Date.now()}@example.com`, name: values.name ?? 'Test Lead', startTime: values.start ?? tomorrowAtTenUtc() };
  const organization = values.organization;
  if (organization === undefined && !config.calendly.apiToken) {
    process.stderr.write(
      'CALENDLY_API_TOKEN is empty (OAuth only), so there is no single account to book in. Book in the Calendly account\n' +
        'an organization connected instead: npm run send-test-webhook -- --organization <organization URI>\n' +
        '(the demo organization of .env.example is https://app.example.com/organizations/demo).\n',
    );
    return 1;
  }
  const booked = organization === undefined ? await bookInTheSingleAccount(trial, config, booking) : await bookInTheConnection(trial, organization, booking);
  if (!booked) return 1;

  for (let waited = 0; waited < 30_000; waited += 500) {
    const [meeting] = await trial.meetingsOf(booking.email, organization);
    if (meeting) {
      process.stdout.write(`Stored: meeting "${meeting.name}" at ${meeting.startTime}, status ${meeting.status} (GET /api/meetings)\n`);
      return 0;
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  process.stderr.write('The meeting did not appear within 30 s: check the worker logs and the workflow in the Web UI.\n');
  return 1;
});

type Booking = { email: string; name: string; startTime: string };

/** Signs and sends the delivery here; false when the receiver did not start its workflow. */
async function bookInTheSingleAccount(trial: LocalTrial, config: ReturnType<typeof configFromEnvironment>, booking: Booking): Promise<boolean> {
  const booked = await trial.book(booking);
  process.stdout.write(`Booked ${booking.email} for ${booking.startTime} in the fake Calendly API\n  invitee ${booked.invitee.uri}\n`);
  const { status, ms, answer } = await trial.send(await trial.signedDelivery(booked.invitee.uri));
  process.stdout.write(`Receiver answered ${status} in ${ms.toFixed(1)} ms: ${JSON.stringify(answer)}\n`);
  if (!answer.workflowId) return false;
  process.stdout.write(
    `Open it in the Temporal Web UI:\n  ${workflowUrl(config.temporal, answer.workflowId)}\n` +
      `  or search: CalendlyInviteeEmail = "${booking.email.toLowerCase()}"\n`,
  );
  return true;
}

/** Books in the connected Calendly account, which the fake delivers to the connection's webhook URL. */
async function bookInTheConnection(trial: LocalTrial, organization: string, booking: Booking): Promise<boolean> {
  const found = await trial.connectionOf(organization);
  const connection = 'connection' in found ? found.connection : undefined;
  const calendlyOrganization = connection?.status === 'connected' ? connection.calendlyOrganization : null;
  if (!connection || !calendlyOrganization) {
    const why = connection ? `its connection is ${connection.status}` : (found as { error: string }).error;
    process.stderr.write(`${organization} has no Calendly account to book in (${why}): connect it on its dashboard first.\n`);
    return false;
  }
  const booked = await trial.book({ ...booking, organization: calendlyOrganization });
  process.stdout.write(`Booked ${booking.email} for ${booking.startTime} in ${calendlyOrganization} (fake Calendly)\n  invitee ${booked.invitee.uri}\n`);
  for (const attempt of booked.deliveries) process.stdout.write(`The fake delivered invitee.created to ${attempt.url}: ${attempt.status}\n`);
  process.stdout.write(`The connection's workflows in the Temporal Web UI:\n  ${connection.workflowsUrl}\n`);
  if (!booked.deliveries.some((attempt) => attempt.status === 200 || attempt.status === 202)) {
    process.stderr.write(`Not delivered (webhook ${connection.webhook.state}): the booking arrives with the connection's next reconcile instead.\n`);
    return false;
  }
  return true;
}

function tomorrowAtTenUtc(): string {
  const start = new Date(Date.now() + 86_400_000);
  start.setUTCHours(10, 0, 0, 0);
  return start.toISOString();
}
