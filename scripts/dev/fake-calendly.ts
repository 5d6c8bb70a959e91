/**
 * Runs the fake Calendly API v2 on its own, for local trials:
 *   tsx scripts/dev/fake-calendly.ts --port 4010 --token <api token> [--host 127.0.0.1]
 * Everything comes from argv: only src/config.ts reads the environment.
 */
import { startFakeCalendly } from '../../fake-calendly';
import { runCli, UsageError } from '../lib/cli';

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
/_fake/subscriptions, /_fake/requests.

Runs until SIGINT or SIGTERM. Exit code: 0 stopped cleanly, 1 failed, 2 wrong usage.`;

function integerOption(value: string | undefined, name: string, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  const number = Number(value);
  if (!/^\d+$/.test(value) || number < min || number > max) throw new UsageError(`--${name} must be an integer from ${min} to ${max}`);
  return number;
}

const OPTIONS = { port: { type: 'string' }, token: { type: 'string' }, host: { type: 'string' }, 'rate-limit': { type: 'string' } } as const;

runCli('fake-calendly', USAGE, OPTIONS, async (values) => {
  const port = integerOption(values.port, 'port', 0, 65535);
  if (port === undefined) throw new UsageError('--port is required');
  if (!values.token) throw new UsageError('--token is required');

  const fake = await startFakeCalendly({
    port,
    host: values.host,
    apiToken: values.token,
    rateLimitPerMinute: integerOption(values['rate-limit'], 'rate-limit', 1, 1_000_000),
  });
  process.stdout.write(
    `Fake Calendly API listening on ${fake.url}\n  organization: ${fake.organizationUri}\n  user: ${fake.userUri}\n`,
  );

  // Serves until a signal; a second signal while stopping is ignored rather than cutting the close short.
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.on('SIGINT', resolve);
    process.on('SIGTERM', resolve);
  });
  process.stdout.write(`${signal}: stopping\n`);
  await fake.close();
  return 0;
});
