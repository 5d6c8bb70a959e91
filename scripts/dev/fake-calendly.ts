/**
 * Runs the fake Calendly API v2 on its own, for local trials:
 *   tsx scripts/dev/fake-calendly.ts --port 4010 --token <api token> [--host 127.0.0.1]
 * Everything comes from argv: only src/config.ts reads the environment.
 */
import { parseArgs } from 'node:util';
import { startFakeCalendly } from '../../fake-calendly';

const USAGE = `Usage: tsx scripts/dev/fake-calendly.ts --port <port> --token <api token> [--host <host>] [--rate-limit <per minute>]

Serves a fake of the Calendly API v2 (REST API, signed webhook deliveries) and its test controls under /_fake/.

  --port        TCP port to listen on (0 = any free port)
  --token       the bearer token the API accepts; any other token gets 401
  --host        interface to listen on (default 127.0.0.1)
  --rate-limit  requests per minute before 429 (default 500, Calendly's paid plans)
  --help        show this text

Control endpoints (no auth): POST /_fake/bookings, /_fake/invitees/cancel, /_fake/invitees/reschedule,
/_fake/invitees/mark-no-show, /_fake/invitees/unmark-no-show, /_fake/subscriptions/disable, /_fake/events/delete,
/_fake/fail-next, /_fake/webhook-deliveries, /_fake/legacy-webhook-bodies; GET /_fake/deliveries,
/_fake/subscriptions, /_fake/requests.`;

function fail(message: string): never {
  process.stderr.write(`${message}\n\n${USAGE}\n`);
  process.exit(2);
}

function integerOption(value: string | undefined, name: string, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  const number = Number(value);
  if (!/^\d+$/.test(value) || number < min || number > max) fail(`--${name} must be an integer from ${min} to ${max}`);
  return number;
}

async function main(): Promise<void> {
  let values;
  try {
    ({ values } = parseArgs({
      args: process.argv.slice(2),
      options: {
        port: { type: 'string' },
        token: { type: 'string' },
        host: { type: 'string' },
        'rate-limit': { type: 'string' },
        help: { type: 'boolean' },
      },
    }));
  } catch (error) {
    fail(error instanceof Error ? error.message : String(error));
  }
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const port = integerOption(values.port, 'port', 0, 65535);
  if (port === undefined) fail('--port is required');
  if (!values.token) fail('--token is required');

  const fake = await startFakeCalendly({
    port,
    host: values.host,
    apiToken: values.token,
    rateLimitPerMinute: integerOption(values['rate-limit'], 'rate-limit', 1, 1_000_000),
  });
  process.stdout.write(
    `Fake Calendly API listening on ${fake.url}\n  organization: ${fake.organizationUri}\n  user: ${fake.userUri}\n`,
  );

  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    process.stdout.write(`${signal}: stopping\n`);
    fake.close().then(
      () => process.exit(0),
      (error: unknown) => {
        process.stderr.write(`could not stop cleanly: ${String(error)}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
