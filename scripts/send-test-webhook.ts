/**
 * npm run send-test-webhook -- [--email <address>] [--name <name>] [--start <ISO time>]
 * Books a meeting in the local fake Calendly API, sends its signed invitee.created delivery to the running
 * receiver, and follows it to the read API, printing the workflow to open in the Temporal Web UI.
 */
import { parseArgs } from 'node:util';
import { configFromEnvironment } from '../src/config';
import type { Invitee, ScheduledEvent } from '../src/calendly/schemas';
import { WEBHOOK_PATH } from '../src/receiver/webhook-route';

const USAGE = `Usage: npm run send-test-webhook -- [--email <address>] [--name <name>] [--start <ISO time>]

Needs the system started with \`npm start\` and the local fake Calendly API (FAKE_CALENDLY_PORT in .env).
  --email   invitee email (default: test.lead+<time>@example.com)
  --name    invitee name (default: Test Lead)
  --start   meeting start (default: tomorrow 10:00 UTC)
Exit code 0 once the meeting can be read from GET /api/meetings, 1 otherwise.`;

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: { email: { type: 'string' }, name: { type: 'string' }, start: { type: 'string' }, help: { type: 'boolean' } },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const config = configFromEnvironment();
  if (!config.fakeCalendlyPort) {
    process.stderr.write(
      'FAKE_CALENDLY_PORT is not set, so there is no local Calendly to book in. With real Calendly, book a meeting on\n' +
        'your scheduling page instead and watch it arrive in the logs and the Temporal Web UI.\n',
    );
    return 1;
  }
  const fakeUrl = `http://127.0.0.1:${config.fakeCalendlyPort}`;
  const receiverUrl = `http://127.0.0.1:${config.port}`;
  const email = values.email ?? `test.lead+${Date.now()}@example.com`;
  const startTime = values.start ?? tomorrowAtTenUtc();

  const booked = await postJson<{ event: ScheduledEvent; invitee: Invitee }>(`${fakeUrl}/_fake/bookings`, {
    deliver: false,
    email,
    name: values.name ?? 'Test Lead',
    startTime,
    eventTypeName: 'Test meeting',
    questionsAndAnswers: [{ question: 'What would you like to discuss?', answer: 'Trying the pipeline' }],
    tracking: { utm_source: 'send-test-webhook' },
  });
  process.stdout.write(`Booked ${email} for ${startTime} in the fake Calendly API\n  invitee ${booked.invitee.uri}\n`);

  const delivery = await postJson<{ body: string; signature: string }>(`${fakeUrl}/_fake/webhook-deliveries`, {
    event: 'invitee.created',
    inviteeUri: booked.invitee.uri,
    signingKey: config.calendly.signingKeys[0],
  });
  const sentAt = performance.now();
  const response = await fetch(`${receiverUrl}${WEBHOOK_PATH}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'calendly-webhook-signature': delivery.signature },
    body: delivery.body,
  });
  const ackMs = performance.now() - sentAt;
  const answer = (await response.json()) as { workflowId?: string; trackingId?: string; error?: string };
  process.stdout.write(`Receiver answered ${response.status} in ${ackMs.toFixed(1)} ms: ${JSON.stringify(answer)}\n`);
  if (!answer.workflowId) return 1;
  process.stdout.write(
    `Open it in the Temporal Web UI:\n  ${config.temporal.webUiUrl}/namespaces/${config.temporal.namespace}/workflows/${encodeURIComponent(answer.workflowId)}\n` +
      `  or search: CalendlyInviteeEmail = "${email.toLowerCase()}"\n`,
  );

  const token = config.apiTokens[0].token;
  for (let waited = 0; waited < 30_000; waited += 500) {
    const meetings = await fetch(`${receiverUrl}/api/meetings?email=${encodeURIComponent(email)}`, {
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
}

async function postJson<T>(url: string, body: unknown): Promise<T> {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  if (!response.ok) throw new Error(`${url} answered ${response.status}: ${await response.text()}`);
  return (await response.json()) as T;
}

function tomorrowAtTenUtc(): string {
  const start = new Date(Date.now() + 86_400_000);
  start.setUTCHours(10, 0, 0, 0);
  return start.toISOString();
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`send-test-webhook failed: ${(error as Error).message}\n`);
    process.exit(1);
  },
);
